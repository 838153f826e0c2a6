"""Real-image check of vertebral-body segmentation and level naming, on scans the model never saw (not a test).

The 17 sagittal lumbar MRI volumes of /work/shared/data/vertebrae-mri (VB1: Chu et al., PLoS ONE 2015; VB2: Zukic
et al., Computer Graphics Forum 2014; as redistributed by FastCleverSeg, Ramos et al., MRI 2024). Four VB1 scans
whose lowest labelled body is S1 (imaging/models/vertebrae-mri-levels.json) are held out: VB1_10 and VB1_11 (the
same geometry, so held out together), VB1_12 and VB1_17. Train the leave-4-out model with the default recipe
(README, model card: two networks, each a Dice run and a fine-tuning with these ``--exclude`` options, one of them
with ``--augment gamma=0.4``, then ``imaging ensemble-seg``), e.g. the first run of one network:

    imaging train-seg --data DATA --preset default -o l4o-dice.pt --exclude VB1_10 --exclude VB1_11 \\
        --exclude VB1_12 --exclude VB1_17

then score it here:

    .venv/bin/python benchmarks/bench_segmentation.py --seg-model l4o.pt [--data DIR] [--out /tmp/bench_seg]

Reported: the paper's three success criteria, identification, false detections (detections containing no
labelled body's centroid), mean Dice and centroid error on the mid-sagittal slice, the fraction of labelled bodies
carrying their true level name (counted upward from S1) and wrong names, and the disc levels T12-L1..L5-S1 that
``imaging extract`` writes (ok / flagged / failed) with that model. The volumes say 1.0 mm voxels but are closer to
1.1 mm, so millimetre figures are approximate.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import torch

from imaging.extract import ExtractConfig, extract
from imaging.segment import evaluate_folder

HELD_OUT = ("VB1_10", "VB1_11", "VB1_12", "VB1_17")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seg-model", type=Path, default=None, help="checkpoint to score (default: the shipped model, "
                    "which was trained on every scan: then the figures are not held-out)")
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data/vertebrae-mri"))
    ap.add_argument("--case", action="append", default=None, help="held-out case (repeat); default: " +
                    ", ".join(HELD_OUT))
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench_seg"))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(args.threads)
    cases = tuple(args.case or HELD_OUT)
    args.out.mkdir(parents=True, exist_ok=True)
    ev = evaluate_folder(args.seg_model, args.data, names=cases)
    t0 = time.time()
    ext = extract([args.data / f"{c}_image.nii.gz" for c in cases], args.out / "extract", ExtractConfig(),
                  model_path=args.seg_model, resume=False)
    extract_s = time.time() - t0
    levels = {rec.study_id: {r["level"]: r["status"] for r in rec.rows} for rec in ext.records}
    report = {"seg_model": str(args.seg_model or "shipped default"), "held_out": list(cases), **ev.to_dict(),
              "extract_levels": levels, "extract_counts": ext.counts, "extract_seconds": extract_s}
    (args.out / "report.json").write_text(json.dumps(report, indent=2))
    for c in ev.cases:
        dist = sum(c.centroid_mm) / len(c.centroid_mm) if c.centroid_mm else float("nan")
        print(f"{c.name}: GT {c.gt} detected {c.detected} identified {c.identified} false {c.false_detections} "
              f"criteria {c.solitary}/{c.count_ok}/{c.s1_ok} Dice {sum(c.dice) / max(len(c.dice), 1):.3f} "
              f"centroid {dist:.2f} mm names {c.named_true}/{c.gt_named} ({c.named_wrong} wrong)")
        for w in c.warnings:
            print(f"    {w}")
    print(f"identification {ev.identification:.1%}  paper's criteria {ev.success_rate:.0%} of scans  "
          f"false detections {ev.false_detections}  mean Dice {ev.mean_dice:.3f} (identified only "
          f"{ev.mean_dice_identified:.3f})  centroid error {ev.mean_centroid_mm:.2f} mm  true names "
          f"{ev.naming:.1%} ({ev.wrong_names} wrong)")
    total = sum(ext.counts.values())
    print(f"imaging extract: {ext.counts['ok']} ok, {ext.counts['flagged']} flagged, {ext.counts['failed']} failed "
          f"of {total} levels ({(ext.counts['ok'] + ext.counts['flagged']) / max(total, 1):.0%} extracted)")
    for sid, lv in levels.items():
        print(f"    {sid}: " + ", ".join(f"{k} {v}" for k, v in lv.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
