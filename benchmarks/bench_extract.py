"""Speed and accuracy of ``imaging extract`` (disc localisation and per-disc volumes) on a CPU (not a test).

Six parts, all at the paper's volume sizes (axial 360x360x8, sagittal 160x320x25):

1. extraction without the network: ``--n`` synthetic studies with their ground-truth vertebrae (``vertebrae_dir``);
   seconds per study for read, resample, write, qc and total (target: under 1 s per study);
2. the paper's segmentation network (512 px input, 32 features, depth 5) with random weights on the same studies:
   seconds per study for the network step; random weights find no bodies, so the levels fail at once and the
   projected per-study total with the network is network seconds + the extraction seconds of part 1
   (target: under 3 s per study);
2b. workers: the same extraction with ``-j 1`` and ``-j --workers`` (wall time, fresh output folders; target
   speedup >= 1.6 with 2 workers on 12 studies), fair only on a quiet machine (the load average is reported);
3. end to end with a small segmentation model trained for ``--seg-epochs`` epochs on another synthetic cohort
   (cpu preset, input 128, features 8, depth 4): fraction of (study, level) extracted, per level, studies with
   all 6 levels, disc-centre and normal-angle error against the synthetic truth (target: every level in >= 95%);
4. QC pictures of two real sagittal MRI volumes (/work/shared/data/vertebrae-mri; VB1: Chu et al., PLoS ONE 2015;
   VB2: Zukic et al., CGF 2014; as redistributed by FastCleverSeg) with vertebrae from their ground-truth masks on
   the mid-sagittal slice (no axial series: the axial volumes come from the sagittal one and are flagged);
5. a summary table (``--json PATH`` writes it).

    .venv/bin/python benchmarks/bench_extract.py [--n 8] [--seg-epochs 200] \
        [--real-dir /work/shared/data/vertebrae-mri] [--out /tmp/bench_extract] [--json PATH]

Latest figures (2026-11-27, the 2-core CPU with nothing else running, torch CPU, 2 threads;
``--n 12``, 4.2 min wall):

* [1] no network, 12 studies, mean / median s per study: read 0.105 / 0.103, resample 0.376 / 0.360, write
  0.081 / 0.081, qc 0.274 / 0.213, total 0.85 / 0.79 (target < 1 s: met).
* [2] paper U-Net (512 px, 32 features, depth 5), random weights: network 1.39 s per study (1.85 s for the first,
  with the checkpoint load); projected total with the network 1.39 + 0.85 = 2.25 s (target < 3 s: met).
* [3] cpu preset (128 px, 8 features, depth 4), 200 epochs on 14 synthetic studies (validation Dice 0.991):
  every level of the 12 held-out studies extracted (100%, target >= 95%); disc centre 1.63 / 3.16 / 4.32 mm
  (mean / p95 / max), normal 1.50 / 4.14 / 5.98 degrees from the truth; 0.91 s per study with this network.
  With a time limit instead of epochs, on a CPU shared with other jobs, the same network got only 40 epochs
  (Dice 0.51): a mislocated S1 shifted the level names and T12-L1 / L1-L2 were never extracted. Hence a fixed
  number of epochs here.
* [4] real scans with ground-truth vertebrae: VB2_02 T12-L1..L4-L5 flagged (no axial series: axial volumes from
  the sagittal one), L5-S1 failed (the VB2 masks stop at L5). The QC pictures look right: curve through the
  centroids, disc points in the disc spaces, planes parallel to the endplates, discs and canal in the strips.
  (VB1_02 was run with its lowest label named L5 then; looking at it, it is S1: see bench_disc_planes.py, which
  measures the disc planes on all 17 scans.)
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from imaging.extract import ExtractConfig, extract
from imaging.segment import build_model, preset_config, save_checkpoint, train
from imaging.synth import SynthConfig, synth_cohort
from spinecore.schema import LEVELS, STATUS_FLAGGED, STATUS_OK

from bench_disc_planes import LOWEST, real_bodies  # noqa: E402 - this folder is on sys.path when run as a script

EVAL_SEED = 0
TRAIN_SEED = 1001
STEPS = ("read", "vertebrae", "resample", "write", "qc", "total")


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {"mean": float("nan"), "median": float("nan"), "max": float("nan")}
    return {"mean": statistics.mean(values), "median": statistics.median(values), "max": max(values)}


def _step_seconds(summary) -> dict[str, dict[str, float]]:
    return {s: _stats([r.seconds[s] for r in summary.records if s in r.seconds]) for s in STEPS}


def _print_steps(title: str, steps: dict[str, dict[str, float]]) -> None:
    print(title)
    print(f"  {'step':<10} {'mean s':>8} {'median s':>9} {'max s':>8}")
    for s, v in steps.items():
        print(f"  {s:<10} {v['mean']:8.3f} {v['median']:9.3f} {v['max']:8.3f}")


def _synth(out: Path, n: int, seed: int) -> Path:
    if not (out / "truth").is_dir() or len(list((out / "truth").glob("*.json"))) != n:
        shutil.rmtree(out, ignore_errors=True)
        synth_cohort(out, SynthConfig(n=n, seed=seed))
    return out


def _studies(cohort: Path) -> list[Path]:
    return sorted(p for p in (cohort / "dicom").iterdir() if p.is_dir())


# ----------------------------------------------------------------------------------------------------- part 1 and 2
def part_speed(cohort: Path, out: Path, threads: int) -> dict[str, Any]:
    studies = _studies(cohort)
    no_net = extract(studies, out / "extract_truth", ExtractConfig(), vertebrae_dir=cohort / "truth", workers=1,
                     resume=False)
    steps1 = _step_seconds(no_net)
    _print_steps(f"[1] extraction without the network, {len(studies)} studies, paper sizes "
                 f"(the 'vertebrae' step only reads the truth JSON):", steps1)
    # (2) the paper's network with random weights
    cfg = preset_config("paper")
    torch.manual_seed(0)
    model = build_model(cfg)
    ck = out / "paper_random.pt"
    save_checkpoint(ck, model, cfg, None, epoch=0, best_metric=0.0)
    net = extract(studies, out / "extract_paper_net", ExtractConfig(), model_path=ck, workers=1, resume=False)
    steps2 = _step_seconds(net)
    _print_steps(f"[2] whole extract with the paper's U-Net (512 px, 32 features, depth 5, random weights, "
                 f"{threads} torch threads):", steps2)
    # the first study also loads the checkpoint (load_checkpoint is lazy, inside the 'vertebrae' step)
    net_steady = [r.seconds["vertebrae"] for r in net.records[1:]] or [net.records[0].seconds["vertebrae"]]
    extraction = steps1["total"]["mean"] - steps1["vertebrae"]["mean"]
    projected = statistics.mean(net_steady) + steps1["total"]["mean"]
    print(f"  network step: mean {steps2['vertebrae']['mean']:.2f} s (first study, with checkpoint load: "
          f"{net.records[0].seconds['vertebrae']:.2f} s; others mean {statistics.mean(net_steady):.2f} s)")
    print(f"  random weights find no bodies, so every level fails at once: the measured total "
          f"({steps2['total']['mean']:.2f} s) lacks resampling/writing; projected per-study total with the "
          f"network = network {statistics.mean(net_steady):.2f} s + extraction of part 1 "
          f"{steps1['total']['mean']:.2f} s = {projected:.2f} s (target < 3 s)")
    return {"studies": len(studies), "no_network": steps1, "extraction_s_without_vertebrae_step": extraction,
            "paper_network": steps2, "network_s_steady_mean": statistics.mean(net_steady),
            "network_s_first_study": net.records[0].seconds["vertebrae"],
            "projected_total_with_network_s": projected}


# ------------------------------------------------------------------------------------------------------- workers
def part_workers(cohort: Path, out: Path, workers: int) -> dict[str, Any]:
    """Wall time of ``extract`` with 1 and with ``workers`` processes (no network: truth vertebrae), each from a
    fresh output folder after one warm-up study; the load average before each run says whether the machine was
    quiet enough to compare."""
    import os

    studies = _studies(cohort)
    cores = os.cpu_count() or 1
    res: dict[str, Any] = {"studies": len(studies), "cores": cores}
    # warm this process first (lazy imports, font cache), so that neither timed run pays for it
    extract(studies[:1], out / "extract_warm", ExtractConfig(), vertebrae_dir=cohort / "truth", resume=False)
    for j in (1, workers):
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        extract(studies, out / f"extract_j{j}", ExtractConfig(), vertebrae_dir=cohort / "truth", workers=j,
                resume=False)
        res[f"j{j}"] = {"wall_s": time.perf_counter() - t0, "load_before": load}
    res["speedup"] = res["j1"]["wall_s"] / res[f"j{workers}"]["wall_s"]
    res["quiet"] = max(res["j1"]["load_before"], res[f"j{workers}"]["load_before"]) < 0.5
    print(f"[workers] {len(studies)} studies, {cores} cores: -j 1 {res['j1']['wall_s']:.1f} s, -j {workers} "
          f"{res[f'j{workers}']['wall_s']:.1f} s, speedup {res['speedup']:.2f} (load average before the runs "
          f"{res['j1']['load_before']:.1f} / {res[f'j{workers}']['load_before']:.1f}"
          + ("" if res["quiet"] else "; NOT a fair comparison: other work was running") + ")")
    return res


# ------------------------------------------------------------------------------------------------------------ part 3
def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    c = abs(float(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    return math.degrees(math.acos(min(1.0, c)))


def part_end_to_end(eval_cohort: Path, out: Path, n_train: int, epochs: int) -> dict[str, Any]:
    train_cohort = _synth(out / "train_cohort", n_train, TRAIN_SEED)
    # a fixed number of epochs (cosine schedule over them), not a time limit: the result must not depend on load
    cfg = preset_config("cpu", input_size=128, features=8, depth=4, epochs=epochs, time_limit_s=None)
    model_path = out / "seg_cpu128.pt"
    print(f"[3] training the cpu preset (input 128, features 8, depth 4) on {n_train} synthetic studies "
          f"(seed {TRAIN_SEED}) for {epochs} epochs ...", flush=True)
    tsum = train(train_cohort, model_path, cfg)
    print(f"  trained {tsum.epochs_run} epochs in {tsum.seconds:.0f} s; best epoch {tsum.best_epoch}, "
          f"validation Dice {tsum.best_metric:.3f} (validation studies {tsum.val_pairs})")
    studies = _studies(eval_cohort)
    res = extract(studies, out / "extract_trained", ExtractConfig(), model_path=model_path, workers=1,
                  resume=False)
    per_level = {lv: 0 for lv in LEVELS}
    all_six = 0
    centre_err: list[float] = []
    angle_err: list[float] = []
    per_level_centre: dict[str, list[float]] = {lv: [] for lv in LEVELS}
    failures: list[str] = []
    for rec in res.records:
        truth = json.loads((eval_cohort / "truth" / f"{rec.study_id}.json").read_text())
        got = 0
        for row in rec.rows:
            lv = row["level"]
            if row["status"] not in (STATUS_OK, STATUS_FLAGGED):
                failures.append(f"{rec.study_id} {lv}: {row['reason']}")
                continue
            got += 1
            per_level[lv] += 1
            c = np.array([row["centre_x"], row["centre_y"], row["centre_z"]], float)
            nrm = np.array([row["normal_x"], row["normal_y"], row["normal_z"]], float)
            t = truth["discs"][lv]
            e = float(np.linalg.norm(c - np.asarray(t["centre"], float)))
            centre_err.append(e)
            per_level_centre[lv].append(e)
            angle_err.append(_angle_deg(nrm, np.asarray(t["normal"], float)))
        all_six += got == len(LEVELS)
    n = len(res.records)
    total = sum(per_level.values())
    frac_level = {lv: per_level[lv] / n for lv in LEVELS}
    seconds = _step_seconds(res)
    out_d = {"train_studies": n_train, "train_seconds": tsum.seconds, "epochs": tsum.epochs_run,
             "val_dice": tsum.best_metric, "studies": n, "extracted_fraction": total / (n * len(LEVELS)),
             "extracted_fraction_per_level": frac_level, "studies_all_levels": all_six / n,
             "centre_err_mm": {"mean": float(np.mean(centre_err)) if centre_err else float("nan"),
                               "p95": float(np.percentile(centre_err, 95)) if centre_err else float("nan"),
                               "max": float(np.max(centre_err)) if centre_err else float("nan")},
             "centre_err_mm_per_level": {lv: float(np.mean(v)) if v else float("nan")
                                         for lv, v in per_level_centre.items()},
             "angle_err_deg": {"mean": float(np.mean(angle_err)) if angle_err else float("nan"),
                               "p95": float(np.percentile(angle_err, 95)) if angle_err else float("nan"),
                               "max": float(np.max(angle_err)) if angle_err else float("nan")},
             "seconds": seconds, "failures": failures, "qc": [str(res.out_dir / r.study_id / "qc.png")
                                                                for r in res.records]}
    print(f"  extracted (ok or flagged) {total}/{n * len(LEVELS)} = {out_d['extracted_fraction']:.1%} of "
          f"(study, level); studies with all {len(LEVELS)} levels {all_six}/{n}")
    print("  per level: " + "  ".join(f"{lv} {f:.0%}" for lv, f in frac_level.items()))
    ce, ae = out_d["centre_err_mm"], out_d["angle_err_deg"]
    print(f"  disc-centre error mm: mean {ce['mean']:.2f} p95 {ce['p95']:.2f} max {ce['max']:.2f}; "
          f"normal angle error deg: mean {ae['mean']:.2f} p95 {ae['p95']:.2f} max {ae['max']:.2f}")
    print("  centre error per level (mm): " + "  ".join(
        f"{lv} {v:.2f}" for lv, v in out_d["centre_err_mm_per_level"].items()))
    print(f"  per-study seconds with the trained network: vertebrae {seconds['vertebrae']['mean']:.2f}, "
          f"total {seconds['total']['mean']:.2f}")
    for f in failures:
        print(f"  failed: {f}")
    return out_d


# ------------------------------------------------------------------------------------------------------------ part 4
def part_real(real_dir: Path, out: Path, names: list[str]) -> dict[str, Any]:
    if not real_dir.is_dir():
        print(f"[4] real scans: {real_dir} not found; skipped")
        return {"skipped": True}
    verts_dir = out / "real_verts"
    verts_dir.mkdir(parents=True, exist_ok=True)
    images, info = [], {}
    for name in names:
        image, mask = real_dir / f"{name}_image.nii.gz", real_dir / f"{name}_vertebrae.nii.gz"
        if not (image.exists() and mask.exists()):
            print(f"[4] {name}: not in {real_dir}; skipped")
            continue
        group = name.split("_")[0]
        doc, missing = real_bodies(image, mask, LOWEST[name])
        sid = image.name[: -len(".nii.gz")]
        (verts_dir / f"{sid}.json").write_text(json.dumps(doc, indent=1))
        images.append(image)
        info[sid] = {"group": group, "names": [v["name"] for v in doc["vertebrae"]], "missing_on_slice": missing,
                     "slice_index": doc["slice_index"]}
    if not images:
        return {"skipped": True}
    res = extract(images, out / "extract_real", ExtractConfig(), vertebrae_dir=verts_dir, workers=1, resume=False)
    print("[4] real scans, vertebrae from the ground-truth masks on the mid-sagittal slice "
          "(no axial series: axial volumes resampled from the sagittal one, flagged):")
    for rec in res.records:
        i = info[rec.study_id]
        qc = res.out_dir / rec.study_id / "qc.png"
        copy = Path(f"/tmp/bench_extract_qc_{rec.study_id}.png")
        if qc.exists():
            shutil.copyfile(qc, copy)
        i.update(qc=str(qc), qc_copy=str(copy), seconds=rec.seconds,
                 levels={r["level"]: r["status"] for r in rec.rows},
                 reasons={r["level"]: r["reason"] for r in rec.rows if r["status"] != STATUS_OK})
        note = ("labels T11..L5 (README)" if i["group"] == "VB2" else
                "lowest label named S1 after looking (benchmarks/bench_disc_planes.py)")
        print(f"  {rec.study_id}: bodies {i['names']} on slice {i['slice_index']} ({note})"
              + (f"; labels absent on that slice: {i['missing_on_slice']}" if i["missing_on_slice"] else ""))
        print("    " + "  ".join(f"{lv} {st}" for lv, st in i["levels"].items())
              + f"  ({rec.seconds.get('total', float('nan')):.2f} s)")
        for lv, why in i["reasons"].items():
            print(f"    {lv}: {why}")
        print(f"    QC: {qc}  (copy: {copy})")
    return {"skipped": False, "cases": info}


# ------------------------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=8, help="synthetic studies to extract (seed 0)")
    ap.add_argument("--n-train", type=int, default=14, help="synthetic studies to train the segmentation on")
    ap.add_argument("--seg-epochs", type=int, default=200, help="segmentation training epochs (part 3)")
    ap.add_argument("--real-dir", type=Path, default=Path("/work/shared/data/vertebrae-mri"))
    ap.add_argument("--real", nargs="*", default=["VB2_02", "VB1_02"], choices=sorted(LOWEST),
                    help="real volumes for the QC pictures")
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench_extract"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2, help="processes for the workers comparison (with 1)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["speed", "workers", "e2e", "real"])
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    eval_cohort = _synth(args.out / "eval_cohort", args.n, EVAL_SEED)
    report: dict[str, Any] = {"n": args.n, "threads": args.threads, "torch": torch.__version__}
    if "speed" not in args.skip:
        report["speed"] = part_speed(eval_cohort, args.out, args.threads)
    if "workers" not in args.skip:
        report["workers"] = part_workers(eval_cohort, args.out, args.workers)
    if "e2e" not in args.skip:
        report["end_to_end"] = part_end_to_end(eval_cohort, args.out, args.n_train, args.seg_epochs)
    if "real" not in args.skip:
        report["real"] = part_real(args.real_dir, args.out, args.real)
    report["wall_s"] = time.time() - t0

    print("\nsummary")
    rows: list[tuple[str, str, str]] = []
    if "speed" in report:
        s = report["speed"]
        no = s["no_network"]
        for st in ("read", "resample", "write", "qc", "total"):
            rows.append((f"no network: {st} s/study (mean / median)", f"{no[st]['mean']:.3f} / {no[st]['median']:.3f}",
                         "total < 1 s" if st == "total" else ""))
        rows.append(("paper U-Net: network s/study (steady mean)", f"{s['network_s_steady_mean']:.2f}", ""))
        rows.append(("paper U-Net: network s, first study (+ load)", f"{s['network_s_first_study']:.2f}", ""))
        rows.append(("projected total with network s/study", f"{s['projected_total_with_network_s']:.2f}", "< 3 s"))
    if "workers" in report:
        w = report["workers"]
        rows.append((f"-j {args.workers} vs -j 1 speedup ({w['studies']} studies)", f"{w['speedup']:.2f}",
                     ">= 1.6" + ("" if w["quiet"] else " (machine busy: not fair)")))
    if "end_to_end" in report:
        e = report["end_to_end"]
        rows.append(("trained seg: epochs / val Dice", f"{e['epochs']} / {e['val_dice']:.3f}", ""))
        rows.append(("(study, level) extracted", f"{e['extracted_fraction']:.1%}", ""))
        for lv, f in e["extracted_fraction_per_level"].items():
            rows.append((f"  {lv} extracted", f"{f:.0%}", ">= 95%"))
        rows.append(("studies with all 6 levels", f"{e['studies_all_levels']:.0%}", ""))
        ce, ae = e["centre_err_mm"], e["angle_err_deg"]
        rows.append(("disc-centre error mm (mean / p95 / max)", f"{ce['mean']:.2f} / {ce['p95']:.2f} / {ce['max']:.2f}", ""))
        rows.append(("normal angle error deg (mean / p95 / max)", f"{ae['mean']:.2f} / {ae['p95']:.2f} / {ae['max']:.2f}", ""))
        rows.append(("trained net: total s/study (mean)", f"{e['seconds']['total']['mean']:.2f}", ""))
    if report.get("real") and not report["real"].get("skipped"):
        for sid, i in report["real"]["cases"].items():
            c = list(i["levels"].values())
            counts = f"{c.count('ok')} / {c.count('flagged')} / {c.count('failed')}"
            rows.append((f"real {sid}: ok / flagged / failed", counts, ""))
    w = max(len(r[0]) for r in rows) if rows else 10
    for name, val, target in rows:
        print(f"  {name:<{w}}  {val:>22}  {target}")
    print(f"  wall time {report['wall_s'] / 60:.1f} min")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, default=float))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
