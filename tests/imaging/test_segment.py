"""Vertebral-body segmentation and labelling (``imaging.unet``, ``imaging.segment``) on tiny CPU networks."""

import json
import random

import numpy as np
import pytest
import SimpleITK as sitk
import torch
from typer.testing import CliRunner

from imaging.cli import app
from imaging.segment import (AugmentConfig, Component, Letterbox, SegConfig, SegmentationError, SliceSample, TrainCase,
                             assign_levels, bodies_found, build_model, build_optimizer, components,
                             components_from_labels, dice_loss, evaluate, evaluate_case, find_pairs, load_checkpoint,
                             preset_config, read_corners, save_checkpoint, split_touching, targets_from_labels, train,
                             train_one_epoch)
from imaging.unet import UNet

NAMES = ["T12", "L1", "L2", "L3", "L4", "L5", "S1"]


def synthetic_slice(rng: np.random.Generator, size: int = 64, n_lumbar: int = 6, s1: bool = True
                    ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A noisy sagittal-like slice with stacked rectangular bodies and a trapezoidal S1 at the bottom.

    Returns ``(image (size, size), positional label map, names cranial->caudal)``.
    """
    img = rng.normal(0.2, 0.05, (size, size)).astype(np.float32)
    lab = np.zeros((size, size), np.int32)
    height, gap = 5, 2
    top = int(rng.integers(2, 5))
    col = int(rng.integers(size // 2 - 12, size // 2 - 6))
    names = NAMES[6 - n_lumbar:6] + (["S1"] if s1 else [])
    for i, name in enumerate(names, 1):
        r0 = top + (i - 1) * (height + gap)
        if name == "S1":
            for r in range(r0, min(r0 + height + 1, size)):
                shrink = (r - r0) // 2
                lab[r, col + shrink:col + 16 - shrink] = i
        else:
            lab[r0:r0 + height, col:col + 16] = i
    img[lab > 0] += 0.6
    img += rng.normal(0, 0.05, img.shape).astype(np.float32)
    return img, lab, names


# ------------------------------------------------------------------------------------------------------------ loss
def test_dice_loss_matches_hand_computed_value_and_monai():
    from monai.losses import DiceLoss

    p = torch.tensor([[[[0.5, 1.0], [0.0, 0.25]]], [[[1.0, 0.0], [0.0, 0.0]]]])
    g = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]], [[[1.0, 0.0], [0.0, 1.0]]]])
    # batch-level sums: intersection 0.5 + 1 + 1 = 2.5; sum p = 1.75 + 1 = 2.75; sum g = 2 + 2 = 4
    expected = -(2 * 2.5 + 1.0) / (2.75 + 4 + 1.0)
    assert dice_loss(p, g, eps=1.0).item() == pytest.approx(expected)
    monai = DiceLoss(smooth_nr=1.0, smooth_dr=1.0, batch=True)(p, g).item()
    assert dice_loss(p, g, eps=1.0).item() == pytest.approx(monai - 1.0)


def test_dice_loss_averages_channels_and_is_minus_one_when_perfect():
    g = torch.zeros(2, 2, 8, 8)
    g[:, 0, 2:5, 2:6] = 1
    assert dice_loss(g, g).item() == pytest.approx(-1.0)
    # prediction all zero: channel 0 has 2 x 12 GT pixels -> -1/25; channel 1 empty on both sides -> -1
    assert dice_loss(torch.zeros_like(g), g).item() == pytest.approx(-(1 / 25 + 1) / 2)


# ------------------------------------------------------------------------------------------------------------ U-Net
@pytest.mark.parametrize("depth,features,size,out", [(1, 4, 16, 1), (2, 4, 32, 2), (3, 8, 32, 2), (5, 2, 64, 2)])
def test_unet_output_shape_for_depth_and_width(depth, features, size, out):
    model = UNet(in_channels=1, out_channels=out, features=features, depth=depth).eval()
    y = model(torch.rand(2, 1, size, size))
    assert y.shape == (2, out, size, size)
    y = y.detach()
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0  # sigmoid output
    assert model.stem[0].out_channels == features
    assert model.downs[-1][1][0].out_channels == features * 2 ** depth
    assert len(model.downs) == len(model.ups) == depth


def test_unet_rejects_sizes_not_divisible_by_two_to_the_depth():
    with pytest.raises(ValueError, match="divisible by 8"):
        UNet(features=2, depth=3)(torch.rand(1, 1, 20, 20))


def test_paper_preset_is_the_papers_network():
    cfg = preset_config("paper")
    assert (cfg.input_size, cfg.features, cfg.depth, cfg.optimizer, cfg.lr, cfg.dice_eps) == (512, 32, 5, "sgd",
                                                                                               0.01, 1.0)
    with pytest.raises(SegmentationError, match=r"\[S006\]"):
        preset_config("gpu")
    with pytest.raises(SegmentationError, match=r"\[S007\].*input_size"):
        preset_config("cpu", input_size=100, depth=4)


# --------------------------------------------------------------------------------------------------------- training
def make_samples(rng, n, cfg):
    out = []
    for i in range(n):
        img, lab, names = synthetic_slice(rng)
        box = Letterbox(*lab.shape, cfg.input_size)
        out.append(SliceSample(f"s{i}", box.forward(img[None]),
                               (box.forward(targets_from_labels(lab, names, cfg.with_s1)) > 0.5).float(), lab,
                               (1.0, 1.0), torch.ones(len(cfg.channels), cfg.input_size, cfg.input_size)))
    return out


def test_short_training_run_raises_dice_well_above_start():
    torch.manual_seed(0)
    cfg = SegConfig(input_size=32, features=4, depth=2, optimizer="adam", lr=0.03, batch_size=4, augment=False)
    rng = np.random.default_rng(0)
    train_s, val_s = make_samples(rng, 8, cfg), make_samples(rng, 2, cfg)
    model = build_model(cfg)
    opt = build_optimizer(model, cfg)
    start = evaluate(model, val_s, cfg)
    gen, prng = torch.Generator().manual_seed(0), random.Random(0)
    for _ in range(15):
        train_one_epoch(model, opt, train_s, cfg, gen, prng)
    end = evaluate(model, val_s, cfg)
    assert end > 0.7 and end > start + 0.4, (start, end)


# -------------------------------------------------------------------------------------------------------- labelling
def test_labelling_names_ground_truth_upward_from_s1():
    _, lab, names = synthetic_slice(np.random.default_rng(1))
    ordered, warnings = assign_levels(components_from_labels(lab, names))
    assert [n for _, n in ordered] == NAMES
    assert warnings == []
    # positions: every name sits on the GT body of that name
    for comp, name in ordered:
        assert (lab[comp.mask] == names.index(name) + 1).all()


def test_labelling_warns_when_the_count_is_off_and_does_not_guess_without_s1():
    rng = np.random.default_rng(2)
    _, lab, names = synthetic_slice(rng, n_lumbar=5)
    ordered, warnings = assign_levels(components_from_labels(lab, names))
    assert [n for _, n in ordered] == ["L1", "L2", "L3", "L4", "L5", "S1"]
    assert any("found 5 lumbar bodies, expected 6" in w for w in warnings)
    _, lab, names = synthetic_slice(rng, s1=False)
    ordered, warnings = assign_levels(components_from_labels(lab, names))
    assert [n for _, n in ordered] == [None] * 6
    assert any("S1 not detected" in w for w in warnings)


def test_a_small_lumbar_detection_inside_s1_is_part_of_s1():
    """Both detectors fire on the top of S1: a lumbar fragment a fifth of S1's size inside the S1 detection is S1,
    not a body between L5 and S1 (a body-sized one stays ambiguous: the test below)."""
    _, lab, names = synthetic_slice(np.random.default_rng(4))
    comps = components_from_labels(lab, names)
    s1 = comps[6].mask
    rows = np.flatnonzero(s1.any(axis=1))
    fragment = s1.copy()
    fragment[rows[0] + max(1, len(rows) // 5):] = False
    ordered, warnings = assign_levels(comps[:6] + [Component(fragment, "lumbar"), comps[6]])
    assert [n for _, n in ordered] == names and len(ordered) == 7
    assert any("taken as part of S1" in w for w in warnings)


def test_labelling_does_not_guess_when_s1_is_ambiguous():
    _, lab, names = synthetic_slice(np.random.default_rng(3))
    comps = components_from_labels(lab, names)
    l5 = comps[5]
    # the S1 detector fires on L5 as well as S1: which body is S1?
    ordered, warnings = assign_levels(comps[:6] + [Component(comps[6].mask | l5.mask, "s1")])
    assert [n for _, n in ordered] == [None] * 6 and any("covers a lumbar body and more" in w for w in warnings)
    # the S1 output fires on L5 as much as on S1 (its S1 detection there is folded into the lumbar body)
    fires = [Component(c.mask, c.channel, 0.9 if c is l5 else None) for c in comps]
    ordered, warnings = assign_levels(fires + [Component(l5.mask.copy(), "s1")])
    assert set(n for _, n in ordered) == {None} and any("no single S1" in w for w in warnings)
    assert len(ordered) == 7 and any("reported once" in w for w in warnings)  # L5 once, not twice
    # S1 detected on L4: L5, a whole body, lies below it
    ordered, warnings = assign_levels(comps[:4] + comps[5:6] + [Component(comps[4].mask, "s1")])
    assert set(n for _, n in ordered) == {None} and any("below the S1 detection" in w for w in warnings)
    # a detection that only touches S1 leaves the names (criterion 3 is reported)
    touch = comps[6].mask.copy()
    rows = np.nonzero(l5.mask.any(1))[0]
    touch[rows[-1], l5.mask[rows[-1]]] = True
    ordered, warnings = assign_levels(comps[:6] + [Component(touch, "s1")])
    assert [n for _, n in ordered] == NAMES and any("touches" in w for w in warnings)


def test_touching_bodies_are_split():
    mask = np.zeros((70, 30), bool)
    mask[5:15, 5:25] = True
    mask[17:27, 5:25] = True  # two 10 x 20 bodies...
    mask[15:17, 12:18] = True  # ...joined by a bridge across the disc space
    parts = split_touching(mask, ref_area=200)
    assert len(parts) == 2
    assert sum(p.sum() for p in parts) == mask.sum()
    assert all(180 <= p.sum() <= 232 for p in parts)
    others = np.zeros_like(mask)
    for top in (30, 43, 56):  # three separate bodies set the reference (median) area
        others[top:top + 10, 5:25] = True
    others[67:69, 10:12] = True  # a speck, dropped
    comps = components(mask | others, "lumbar")
    assert len(comps) == 5


def test_evaluate_case_criteria():
    _, lab, names = synthetic_slice(np.random.default_rng(4))
    gt = components_from_labels(lab, names)
    perfect = evaluate_case("a", gt, gt)
    assert perfect.success and perfect.identified == 7 and perfect.dice == [1.0] * 7
    assert perfect.centroid_mm == [0.0] * 7
    merged = [Component(gt[0].mask | gt[1].mask)] + gt[2:]
    bad = evaluate_case("b", merged, gt)
    assert not bad.solitary and not bad.count_ok and bad.identified == 5


def test_corners_json_rasterises_rectangles_and_trapezoids(tmp_path):
    doc = {"slice": 1, "vertebrae": [
        {"name": "S1", "corners": [[20, 10], [20, 20], [26, 18], [26, 12]]},
        {"name": "L5", "corners": [[10, 10], [10, 19], [15, 19], [15, 10]]}]}
    path = tmp_path / "x_corners.json"
    path.write_text(json.dumps(doc))
    k, lab, names = read_corners(path, (32, 32))
    assert k == 1 and names == ["L5", "S1"]
    assert (lab == 1).sum() == 6 * 10
    assert 6 * 7 < (lab == 2).sum() < 7 * 11
    path.write_text(json.dumps({"vertebrae": [{"name": "L5", "corners": [[1, 2]]}]}))
    with pytest.raises(SegmentationError, match=r"\[S004\]"):
        read_corners(path, (32, 32))


def test_letterbox_round_trip_on_non_square_slice():
    arr = np.zeros((1, 30, 50), np.float32)
    arr[0, 10:20, 20:40] = 1
    box = Letterbox(30, 50, 32)
    back = box.inverse(box.forward(arr))
    assert back.shape == (1, 30, 50)
    assert np.abs((back > 0.5) - arr).mean() < 0.03


# ------------------------------------------------------------------------------------------------------- checkpoint
def test_checkpoint_round_trip_restores_config_and_weights(tmp_path):
    cfg = SegConfig(input_size=32, features=4, depth=2, with_s1=True, repeats=3, lr=0.05)
    model = build_model(cfg)
    opt = build_optimizer(model, cfg)
    model(torch.rand(2, 1, 32, 32)).mean().backward()
    opt.step()
    save_checkpoint(tmp_path / "m.pt", model, cfg, opt, epoch=7, best_metric=0.81)
    ck = load_checkpoint(tmp_path / "m.pt")
    assert ck.config == cfg and ck.epoch == 7 and ck.best_metric == pytest.approx(0.81)
    assert ck.optimizer_state is not None and ck.optimizer_state["state"]
    assert ck.config.augmentation == cfg.augmentation and ck.config.augmentation.scale == (0.7, 1.4)
    for k, v in model.state_dict().items():
        assert torch.equal(v, ck.model.state_dict()[k]), k
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(SegmentationError, match=r"\[S003\]"):
        load_checkpoint(tmp_path / "junk.pt")


# -------------------------------------------------------------------------------------------------------------- CLI
def write_pair(folder, name, rng, n_slices=3):
    img2, lab2, _ = synthetic_slice(rng)
    vol = np.repeat(((img2 - img2.min()) * 200).astype(np.uint8)[:, :, None], n_slices, axis=2)
    lab = np.repeat(lab2.astype(np.uint8)[:, :, None], n_slices, axis=2)
    for arr, suffix in ((vol, "image"), (lab, "vertebrae")):
        im = sitk.GetImageFromArray(arr)
        im.SetSpacing((1.0, 1.1, 1.1))
        sitk.WriteImage(im, str(folder / f"{name}_{suffix}.nii.gz"))


def test_cli_train_seg_segment_and_eval_seg(tmp_path):
    rng = np.random.default_rng(5)
    data = tmp_path / "pairs"
    data.mkdir()
    for i in range(3):
        write_pair(data, f"case{i}", rng)
    (data / "notes.txt").write_text("ignored")
    assert [p.name for p in find_pairs(data)] == ["case0", "case1", "case2"]
    model = tmp_path / "model.pt"
    runner = CliRunner()
    res = runner.invoke(app, ["train-seg", "--data", str(data), "-o", str(model), "--preset", "cpu", "--input-size",
                              "64", "--features", "4", "--depth", "2", "--epochs", "3", "--optimizer", "adam",
                              "--lr", "0.02", "--allow-low-dice"])
    assert res.exit_code == 0, res.output
    ck = load_checkpoint(model)
    assert ck.config.input_size == 64 and ck.config.channels == ("lumbar", "s1") and 1 <= ck.epoch <= 3
    out = tmp_path / "out"
    res = runner.invoke(app, ["segment", "--seg-model", str(model), str(data / "case0_image.nii.gz"), "-o", str(out)])
    assert res.exit_code == 0, res.output
    seg = sitk.ReadImage(str(out / "segmentation.nii.gz"))
    ref = sitk.ReadImage(str(data / "case0_image.nii.gz"))
    assert seg.GetSize() == ref.GetSize() and seg.GetSpacing() == pytest.approx(ref.GetSpacing())
    arr = sitk.GetArrayFromImage(seg)
    assert not arr[:, :, 0].any() and not arr[:, :, 2].any()  # only the mid-sagittal slice is labelled
    doc = json.loads((out / "vertebrae.json").read_text())
    assert doc["slice_index"] == 1 and isinstance(doc["vertebrae"], list) and "warnings" in doc
    assert any("S1" in w for w in doc["warnings"])  # masks without S1 semantics: S1 never learnt, said so
    for v in doc["vertebrae"]:
        assert set(v) >= {"name", "centroid_voxel", "centroid_mm", "bbox", "area_mm2"}
    assert (out / "qc.png").stat().st_size > 1000
    res = runner.invoke(app, ["eval-seg", "--seg-model", str(model), "--data", str(data), "-o", str(tmp_path / "e.json")])
    assert res.exit_code == 0, res.output
    assert len(json.loads((tmp_path / "e.json").read_text())["cases"]) == 3


def pairs_folder(folder, n, seed):
    """A folder of ``n`` synthetic image/label pairs."""
    folder.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(n):
        write_pair(folder, f"case{i}", rng)
    return folder


def test_cli_train_seg_fails_loudly_when_the_model_does_not_learn(tmp_path):
    data = pairs_folder(tmp_path / "pairs", 2, 6)
    args = ["train-seg", "--data", str(data), "-o", str(tmp_path / "m.pt"), "--preset", "cpu", "--input-size", "32",
            "--features", "2", "--depth", "1", "--epochs", "1", "--lr", "0", "--val-fraction", "0"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 1 and "did not learn" in res.output, res.output
    assert (tmp_path / "m.pt").exists()  # the model is still written, for inspection
    assert CliRunner().invoke(app, args + ["--allow-low-dice"]).exit_code == 0


def test_cli_train_seg_init_starts_from_a_checkpoint_and_records_it(tmp_path):
    data = pairs_folder(tmp_path / "pairs", 2, 7)
    base = ["train-seg", "--data", str(data), "--preset", "cpu", "--input-size", "32", "--features", "2", "--depth",
            "1", "--epochs", "1", "--val-fraction", "0", "--allow-low-dice"]
    runner = CliRunner()
    assert runner.invoke(app, base + ["-o", str(tmp_path / "a.pt"), "--seed", "1"]).exit_code == 0
    frozen = base + ["--lr", "0", "--seed", "2"]  # no update: the weights are where training started
    res = runner.invoke(app, frozen + ["-o", str(tmp_path / "b.pt"), "--init", str(tmp_path / "a.pt")])
    assert res.exit_code == 0, res.output
    assert runner.invoke(app, frozen + ["-o", str(tmp_path / "c.pt")]).exit_code == 0
    a, b, c = (dict(load_checkpoint(tmp_path / f"{n}.pt").model.named_parameters()) for n in "abc")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)  # without --init: fresh weights
    assert json.loads((tmp_path / "b.json").read_text())["init"] == str(tmp_path / "a.pt")
    assert json.loads((tmp_path / "c.json").read_text())["init"] == ""
    res = runner.invoke(app, base + ["--features", "4", "-o", str(tmp_path / "d.pt"), "--init", str(tmp_path / "a.pt")])
    assert res.exit_code == 2 and "S013" in res.output and "features 2 (training: 4)" in res.output, res.output


def test_cli_train_seg_augment_settings_are_checked_and_stored_in_the_checkpoint(tmp_path):
    data = pairs_folder(tmp_path / "pairs", 2, 8)
    base = ["train-seg", "--data", str(data), "--preset", "cpu", "--input-size", "32", "--features", "2", "--depth",
            "1", "--epochs", "1", "--val-fraction", "0", "--allow-low-dice", "-o", str(tmp_path / "m.pt")]
    runner = CliRunner()
    res = runner.invoke(app, base + ["--augment", "gamma=0.7", "--augment", "scale=[0.8, 1.25]"])
    assert res.exit_code == 0, res.output
    aug = load_checkpoint(tmp_path / "m.pt").config.augmentation
    assert aug.gamma == 0.7 and aug.scale == (0.8, 1.25) and aug.rotate_deg == AugmentConfig().rotate_deg
    (tmp_path / "m.pt").unlink()
    for bad, code, words in ((["--augment", "gamma 0.7"], "S014", ["'gamma 0.7'", "gamma=0.7", "rotate_deg"]),
                             (["--augment", "gama=0.7"], "C010", ["'gama'", "'gamma'"]),
                             (["--augment", "gamma=-1"], "S007", ["augmentation.gamma", "-1", ">= 0"]),
                             (["--augment", "scale=[1.4, 0.7]"], "S007", ["augmentation.scale", "low <= high"])):
        res = runner.invoke(app, base + bad)
        assert res.exit_code == 2 and code in res.output and all(w in res.output for w in words), res.output
        assert not (tmp_path / "m.pt").exists()  # refused before any work


class _Bright(torch.nn.Module):
    """A stand-in network that marks the bright pixels as lumbar body (and nothing as S1)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lumbar = torch.sigmoid(40.0 * (x - 0.6))
        return torch.cat([lumbar, torch.zeros_like(lumbar)], 1)


@pytest.mark.parametrize("disc, found", [(0.2, 1.0), (1.0, 0.0)])
def test_bodies_found_counts_bodies_found_alone_not_a_good_dice(disc, found):
    # five labelled bodies between dark discs, or between discs as bright as they are: a network that marks the
    # bright pixels then scores the same high Dice on the bodies, but in the second case it bridges every disc
    # and finds no body alone, which is what a failed training run looks like (bodies_found, train's check)
    vol = np.full((220, 140, 3), 0.3, np.float32)
    lab = np.zeros(vol.shape, np.int16)
    vol[15:200, 40:80] = disc
    for k in range(5):
        rows = slice(20 + 36 * k, 46 + 36 * k)
        vol[rows, 40:80], lab[rows, 40:80] = 1.0, k + 1
    case = TrainCase("case", vol, lab, 1, 1.0, (1.0, 1.0), None, False)
    assert bodies_found(_Bright(), [case], SegConfig(input_size=64, depth=2)) == found


def test_train_checks_that_the_kept_model_finds_the_bodies(tmp_path, caplog):
    data = pairs_folder(tmp_path / "pairs", 2, 9)
    for need, merged in ((1.0, True), (0.0, False)):  # a 1-epoch network finds some bodies at best, never all
        cfg = SegConfig(input_size=32, features=2, depth=1, epochs=1, val_fraction=0.0, min_dice=0.0,
                        min_identification=need)
        summary = train(data, tmp_path / f"m{need}.pt", cfg)
        assert summary.merged is merged and 0.0 <= summary.identification < 1.0
        assert json.loads((tmp_path / f"m{need}.json").read_text())["merged"] is merged
    assert "merges neighbouring bodies or misses them" in caplog.text


def test_learning_rate_warms_up_then_follows_the_schedule():
    from imaging.segment.training import learning_rate

    cosine = SegConfig(lr=0.003, epochs=10, schedule="cosine")
    assert learning_rate(cosine, 1) == pytest.approx(0.003)  # no warm-up: the schedule from the first epoch
    assert learning_rate(cosine, 6) == pytest.approx(0.0015)
    assert learning_rate(cosine, 6, elapsed_s=100.0) == pytest.approx(0.0015)  # no time limit: the clock is ignored
    warm = SegConfig(lr=0.003, epochs=10, schedule="cosine", lr_warmup_epochs=4)
    rates = [learning_rate(warm, e) for e in range(1, 11)]
    assert rates[:4] == pytest.approx([learning_rate(cosine, e) * e / 4 for e in range(1, 5)])
    assert rates[4:] == pytest.approx([learning_rate(cosine, e) for e in range(5, 11)])
    assert rates.index(max(rates)) == 3  # rises to the schedule, then decays
    flat = SegConfig(lr=0.01, epochs=5, lr_warmup_epochs=2)  # the paper's constant rate, warmed up
    assert [learning_rate(flat, e) for e in range(1, 6)] == pytest.approx([0.005, 0.01, 0.01, 0.01, 0.01])
    with pytest.raises(SegmentationError, match=r"\[S007\].*lr_warmup_epochs"):
        SegConfig(epochs=5, lr_warmup_epochs=5).validate()


def test_cli_train_seg_reports_coded_error_for_empty_folder(tmp_path):
    res = CliRunner().invoke(app, ["train-seg", "--data", str(tmp_path), "-o", str(tmp_path / "m.pt")])
    assert res.exit_code == 2
    assert "S001" in res.output


def test_segment_reads_a_dicom_study_through_imaging_io(tmp_path):
    synth = pytest.importorskip("imaging.synth")
    cfg = synth.SynthConfig(n=1, seed=3, sag_slices=5, sag_size=64, sag_pixel=4.8, ax_slices_per_level=2,
                            ax_size=32)
    synth.synth_cohort(tmp_path / "studies", cfg)
    study = tmp_path / "studies" / "dicom" / synth.study_id(3, 0)
    seg_cfg = SegConfig(input_size=32, features=2, depth=2)
    model = build_model(seg_cfg)
    save_checkpoint(tmp_path / "m.pt", model, seg_cfg, None, epoch=0, best_metric=0.0)
    from imaging.io import read_study
    from imaging.segment import segment_study

    res = segment_study(tmp_path / "m.pt", study, tmp_path / "out")
    vol = read_study(study).sagittal_t2
    seg = sitk.ReadImage(str(tmp_path / "out" / "segmentation.nii.gz"))
    assert seg.GetSize() == vol.to_sitk().GetSize()
    assert seg.GetDirection() == pytest.approx(vol.to_sitk().GetDirection())
    assert res.slice_index == vol.shape[0] // 2
    assert (tmp_path / "out" / "vertebrae.json").exists() and (tmp_path / "out" / "qc.png").exists()
    # a synthetic cohort is also a training folder: truth corners (patient mm) projected on the mid slice
    from imaging.segment import read_pair

    pairs = find_pairs(tmp_path / "studies")
    assert [p.name for p in pairs] == [study.name]
    data = read_pair(pairs[0])
    assert data.names == NAMES and data.vol.shape == (64, 64, 5)
    assert all((data.lab2 == i).sum() > 10 for i in range(1, 8))
    targets = targets_from_labels(data.lab2, data.names, with_s1=True)
    assert targets[1].sum() == (data.lab2 == 7).sum()  # S1 goes to the sacral detector


def test_read_array_brings_any_orientation_to_si_ap_lr(tmp_path):
    """A volume stored sagittal-first (as dcm2niix writes sagittal series) reads back in the canonical layout."""
    import SimpleITK as sitk

    from imaging.segment import read_array

    rng = np.random.default_rng(0)
    canonical = sitk.GetImageFromArray(rng.integers(0, 255, (12, 10, 6)).astype(np.uint8))  # (SI, AP, LR)
    canonical.SetDirection((1, 0, 0, 0, 1, 0, 0, 0, -1))  # index axes toward L, P, I
    sitk.WriteImage(canonical, str(tmp_path / "canonical.nii.gz"))
    sitk.WriteImage(sitk.DICOMOrient(canonical, "PIL"), str(tmp_path / "sagittal_first.nii.gz"))
    a, _ = read_array(tmp_path / "canonical.nii.gz")
    b, _ = read_array(tmp_path / "sagittal_first.nii.gz")
    assert a.shape == (12, 10, 6) and np.array_equal(a, b)
