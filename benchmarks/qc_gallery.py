"""QC gallery of a segmentation model: the mid-sagittal slice of each case with its bodies and level names.

Synthetic cases the shipped model never saw (T2 studies of ``imaging synth`` seed 101, and T1 / T2 training slices
of seed 101, a seed the training did not draw), or the real scans of a folder of image/label pairs:

    .venv/bin/python benchmarks/qc_gallery.py docs/segmentation-qc-synthetic.png [--seg-model SEG.pt]
    .venv/bin/python benchmarks/qc_gallery.py /tmp/qc-real.png --data ../shared/data/vertebrae-mri

The real-scan gallery stays outside the repository: the shared data's README asks that its files not be copied
into it and states no licence for derived images.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch


def cases(data: Path | None, n: int) -> list[tuple[str, np.ndarray, tuple[float, float]]]:
    """``(title, slice (SI, AP), spacing)`` per case."""
    from imaging.segment import find_pairs, read_pair
    from imaging.synth import SynthConfig, make_study, training_slice

    if data is not None:
        out = []
        for pair in find_pairs(data)[:n]:
            d = read_pair(pair)
            out.append((pair.name, d.vol[:, :, d.k_mid], d.spacing))
        return out
    out = []
    for i in range(n // 2):
        st = make_study(101, i, SynthConfig(sag_slices=7))
        sag = st.sagittal.pixels  # (slices, rows SI, cols AP)
        px = st.sagittal.pixel_spacing
        out.append((f"synth T2 study {i}", sag[sag.shape[0] // 2].astype(np.float32), (px[0], px[1])))
    for i in range(n - n // 2):
        ts = training_slice(101, i, contrast="t1" if i % 2 == 0 else "t2")
        out.append((f"synth {ts.contrast.upper()} slice {i}, {ts.pixel_mm:.1f} mm", ts.image,
                    (ts.pixel_mm, ts.pixel_mm)))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("output", type=Path)
    ap.add_argument("--seg-model", type=Path, default=None, help="default: the shipped model")
    ap.add_argument("--data", type=Path, default=None, help="a folder of image/label pairs (default: synthetic)")
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--dpi", type=int, default=45)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from imaging.segment import load_checkpoint, segment_array

    ck = load_checkpoint(args.seg_model)
    items = cases(args.data, args.n)
    cols = 4
    rows = (len(items) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.6 * rows))
    for ax, (title, image, spacing) in zip(np.ravel(axes), items):
        res = segment_array(ck.model, ck.config, image[:, :, None], (spacing[0], spacing[1], 1.0))
        ax.imshow(image, cmap="gray")
        ax.imshow(np.ma.masked_equal(res.label_slice, 0), cmap="autumn", alpha=0.35, interpolation="nearest")
        for v in res.vertebrae:
            ax.text(v.centroid_voxel[1], v.centroid_voxel[0], v.name or "?", color="cyan", fontsize=7,
                    ha="center", va="center")
        named = sum(v.name is not None for v in res.vertebrae)
        ax.set_title(f"{title}\n{len(res.vertebrae)} bodies, {named} named", fontsize=7)
        print(f"{title}: {len(res.vertebrae)} bodies, {named} named ("
              + " ".join(v.name or "?" for v in res.vertebrae) + ")")
    for ax in np.ravel(axes):
        ax.axis("off")
    fig.tight_layout()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.output, dpi=args.dpi)
    print(f"wrote {args.output} ({args.output.stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
