"""Segmentation robustness on synthetic data: augmentation, synthetic T1/T2 training slices, post-processing of
implausible detections, level naming that never guesses, and the training pipeline's S1 handling."""

from __future__ import annotations

import json
from dataclasses import asdict, replace

import numpy as np
import pytest
import torch

from imaging.segment import (AugmentConfig, BodyRules, Component, SegConfig, SegmentationError, TrainCase, bce_loss,
                             assign_levels, components_from_labels, dice_loss, draw_sample, plausible_bodies,
                             read_levels, training_cases, true_names)
from imaging.segment.config import MAX_INFER_SIDE
from imaging.segment.data import TISSUE_FLOOR, normalise, standardise_tissue
from imaging.segment.augment import (augment_batch, bias_field, choose_slice, gaussian_blur, intensity_curve,
                                     random_crop, spatial_grid)
from imaging.synth import VERTEBRAE, training_slice

OFF = AugmentConfig.none()


def square_batch(size: int = 64, half: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.zeros(1, 1, size, size)
    c = size // 2
    y[..., c - half:c + half, c - half:c + half] = 1.0
    return y.clone(), y


# ------------------------------------------------------------------------------------------------- augmentation
def test_presets_nested_settings_are_not_shared_between_configs():
    from imaging.segment import preset_config

    cfg = preset_config("default")
    assert cfg.train_augmentation == AugmentConfig(gamma=0.7)  # the shipped model's recipe: gamma over 0.5-2
    cfg.augmentation.gamma = 0.1  # changing one config's augmentation leaves the preset as it is
    assert preset_config("default").augmentation.gamma == 0.7
    assert preset_config("cpu").augmentation == AugmentConfig()


def test_augment_config_problems_reach_segconfig_validation():
    assert AugmentConfig().problems() == []
    bad = AugmentConfig(scale=(1.4, 0.7), crop_p=1.5)
    assert {name for name, _, _ in bad.problems()} == {"scale", "crop_p"}
    with pytest.raises(SegmentationError, match=r"\[S007\].*augmentation\.(scale|crop_p)"):
        SegConfig(augmentation=bad).validate()


def test_zoom_stays_in_the_configured_range_and_warps_image_and_target_alike():
    gen = torch.Generator().manual_seed(0)
    ratios = []
    for _ in range(40):
        x, y = square_batch()
        cfg = replace(OFF, scale=(0.7, 1.4))
        xa, ya = augment_batch(x, y, AugmentConfig.from_dict(asdict(cfg)), gen)
        ratios.append(float(ya.sum() / y.sum()))
        assert ((xa > 0.5).float() == ya).float().mean() > 0.999  # no intensity change: the image is the target
    ratios = np.array(ratios)
    assert ratios.min() >= 0.45 and ratios.max() <= 2.2  # area scales as zoom**2: 1/1.4**2 .. 1/0.7**2
    assert ratios.min() < 0.7 and ratios.max() > 1.4  # the range is used, both ways


def test_rotation_shear_and_elastic_warp_move_pixels_but_keep_targets_aligned():
    gen = torch.Generator().manual_seed(1)
    x, y = square_batch()
    cfg = replace(OFF, rotate_deg=30.0, shear=0.1, elastic=0.03)
    xa, ya = augment_batch(x.repeat(8, 1, 1, 1), y.repeat(8, 1, 1, 1), cfg, gen)
    moved = [(ya[i] != y[0]).float().mean().item() for i in range(8)]
    assert min(moved) > 0.005  # every sample is warped
    agree = ((xa > 0.5).float() == ya).float().mean().item()
    assert agree > 0.99
    grid = spatial_grid(2, 64, replace(OFF, elastic=0.05), gen)
    d = grid - spatial_grid(2, 64, OFF, gen)
    step = (d[:, 1:, :] - d[:, :-1, :]).abs().max()
    assert d.abs().max() > 0.02 and step < 0.2 * d.abs().max()  # a smooth field, not pixel noise


def test_bias_field_is_smooth_and_bounded():
    f = bias_field(4, 64, 0.35, torch.Generator().manual_seed(2))
    assert f.shape == (4, 1, 64, 64)
    assert f.min() > np.exp(-0.35 * 5) and f.max() < np.exp(0.35 * 5)
    assert (f[..., 1:] - f[..., :-1]).abs().max() < 0.1
    assert f.std() > 0.02


def test_intensity_curve_is_monotone_and_can_invert_contrast():
    x = torch.linspace(0, 1, 101).view(1, 1, 1, 101)
    gen = torch.Generator().manual_seed(3)
    up = intensity_curve(x, False, gen).flatten()
    down = intensity_curve(x, True, gen).flatten()
    assert (up[1:] >= up[:-1]).all() and up[0] == 0 and up[-1] == 1
    assert (down[1:] <= down[:-1]).all() and down[0] == 1 and down[-1] == 0


def test_blur_removes_noise_and_noise_is_added():
    gen = torch.Generator().manual_seed(4)
    noisy = 0.5 + 0.1 * torch.randn((1, 1, 64, 64), generator=gen)
    assert gaussian_blur(noisy, 1.5).std() < 0.5 * noisy.std()
    x, y = square_batch()
    xa, _ = augment_batch(x, y, replace(OFF, noise=0.2), gen)
    assert (xa - x).abs().mean() > 0.005


def test_gamma_and_contrast_change_intensities_not_geometry():
    gen = torch.Generator().manual_seed(5)
    x = torch.rand(4, 1, 32, 32)
    y = (x > 0.5).float()
    xa, ya = augment_batch(x, y, replace(OFF, gamma=0.5, contrast=0.4), gen)
    assert torch.equal(ya, y)
    assert (xa - x).abs().mean() > 0.01
    # monotone per sample: gamma and a linear contrast keep the intensity order
    for i in range(4):
        order = torch.argsort(x[i].flatten())
        assert (xa[i].flatten()[order].diff() >= -1e-5).all()


def test_slice_choice_stays_near_the_midline_and_thick_slices_average_neighbours():
    vol = np.broadcast_to(np.arange(21, dtype=np.float32), (8, 8, 21)).copy()  # slice k has value k
    lab = np.broadcast_to(np.arange(21, dtype=np.int32), (8, 8, 21)).copy()
    rng = np.random.default_rng(6)
    cfg = AugmentConfig(slice_mm=4.0, thick_p=0.0)
    picks = {int(choose_slice(vol, lab, 10, 2.0, rng, cfg)[1][0, 0]) for _ in range(200)}
    assert picks == {8, 9, 10, 11, 12}  # +-4 mm at 2 mm slices
    thick = AugmentConfig(slice_mm=0.0, thick_p=1.0, thick_mm=8.0)
    means = {float(choose_slice(vol, lab, 10, 2.0, rng, thick)[0][0, 0]) for _ in range(100)}
    assert means == {10.0}  # symmetric slabs around slice 10 average to 10
    img, l2 = choose_slice(vol + np.arange(8, dtype=np.float32)[:, None, None] ** 2, lab, 10, 1.0, rng, thick)
    assert l2[0, 0] == 10 and img.shape == (8, 8)


def test_random_crop_narrows_the_field_of_view_and_cuts_bodies_at_the_edges():
    ts = training_slice(0, 3)
    rng = np.random.default_rng(7)
    cfg = AugmentConfig(crop_p=1.0, crop_min=0.5)
    cut = 0
    for _ in range(30):
        img, lab = random_crop(ts.image, ts.labels, rng, cfg)
        assert img.shape == lab.shape
        assert 0.5 * ts.image.shape[0] - 1 <= img.shape[0] <= ts.image.shape[0]
        for v in np.unique(lab[lab > 0]):
            if (lab == v).sum() < (ts.labels == v).sum():
                cut += 1
    assert cut > 5
    same = random_crop(ts.image, ts.labels, rng, AugmentConfig(crop_p=0.0))
    assert same[0] is ts.image


# ------------------------------------------------------------------------------------------- synthetic training data
def canal_vs_body(ts) -> float:
    """Mean intensity just behind the bodies (the CSF of the canal) over the mean inside them."""
    body, canal = [], []
    mm = 1.0 / ts.pixel_mm
    for v in np.unique(ts.labels[ts.labels > 0]):
        rows, cols = np.nonzero(ts.labels == v)
        r = int(np.median(rows))
        c = int(cols[rows == r].max() + 8 * mm)
        if c < ts.image.shape[1]:
            body.append(ts.image[ts.labels == v].mean())
            canal.append(ts.image[r, c])
    return float(np.mean(canal) / np.mean(body))


def test_training_slices_come_in_t1_and_t2_contrast():
    t2 = training_slice(0, 1, contrast="t2")
    t1 = training_slice(0, 1, contrast="t1")
    assert t2.contrast == "t2" and t1.contrast == "t1"
    assert np.array_equal(t2.labels, t1.labels)  # same anatomy
    assert canal_vs_body(t2) > 1.3  # bright CSF on T2
    assert canal_vs_body(t1) < 0.7  # dark CSF, bright fatty marrow on T1
    with pytest.raises(Exception, match="I023"):
        training_slice(0, 1, contrast="pd")


def test_training_slices_vary_resolution_thickness_and_field_of_view():
    slices = [training_slice(1, i) for i in range(16)]
    pixels = [s.pixel_mm for s in slices]
    thick = [s.thickness_mm for s in slices]
    assert min(pixels) < 0.8 and max(pixels) > 1.0
    assert min(thick) < 2.5 and max(thick) > 4.0
    assert {s.contrast for s in slices} == {"t1", "t2"}
    assert any("S1" not in s.names for s in slices)  # thoracolumbar views
    assert any("T12" not in s.names for s in slices)  # lumbosacral views
    edge = [s for s in slices if (s.labels[0] > 0).any() or (s.labels[-1] > 0).any()]
    assert edge  # bodies cut by the image edge
    for s in slices:
        assert s.names == [n for n in VERTEBRAE if n in s.names]  # cranial -> caudal
        assert set(np.unique(s.labels)) == set(range(len(s.names) + 1))
    assert training_slice(1, 5).image.tobytes() == slices[5].image.tobytes()  # deterministic


# -------------------------------------------------------------------------------------------------- post-processing
def spine(n: int = 7, size: int = 200) -> np.ndarray:
    """A label map of ``n`` 16 x 24 bodies stacked along a gently curved line, 28 px apart."""
    lab = np.zeros((size, size), np.int32)
    for i in range(n):
        r0 = 10 + 28 * i
        c0 = 80 + int(0.002 * (r0 - 100) ** 2)
        lab[r0:r0 + 16, c0:c0 + 24] = i + 1
    return lab


def test_plausible_bodies_keep_a_clean_spine():
    comps = components_from_labels(spine())
    kept, notes = plausible_bodies(comps, (200, 200))
    assert len(kept) == 7 and notes == []


@pytest.mark.parametrize("extra, reason", [
    ((slice(100, 103), slice(10, 13)), "fragment"),
    ((slice(40, 80), slice(130, 170)), "not one body"),
    ((slice(0, 5), slice(84, 108)), "partial body cut by the image border"),
    ((slice(120, 124), slice(130, 190)), "elongated"),
])
def test_plausible_bodies_drop_fragments_blobs_partial_and_elongated_detections(extra, reason):
    comps = components_from_labels(spine(6))
    m = np.zeros((200, 200), bool)
    m[extra] = True
    kept, notes = plausible_bodies(comps + [Component(m)], (200, 200))
    assert len(kept) == 6 and len(notes) == 1 and reason in notes[0], notes


def test_plausible_bodies_drop_ragged_shapes_off_line_and_duplicates():
    comps = components_from_labels(spine())
    ragged = np.zeros((200, 200), bool)
    ragged[100:120, 20:44:3] = True  # a comb, not a body
    ragged[100:102, 20:44] = True
    kept, notes = plausible_bodies(comps + [Component(ragged)], (200, 200))
    assert len(kept) == 7 and "ragged" in notes[0]
    off = np.zeros((200, 200), bool)
    off[95:111, 160:184] = True  # body-sized, beside the spine
    kept, notes = plausible_bodies(comps + [Component(off)], (200, 200))
    assert len(kept) == 7 and "off the line of the spine" in notes[0]
    dup = np.zeros((200, 200), bool)
    dup[68:78, 84:100] = True  # between two bodies, too close to both
    kept, notes = plausible_bodies(comps[:3] + [Component(dup)] + comps[3:], (200, 200))
    assert len(kept) == 7 and "duplicate" in notes[0]
    assert not any(k.mask is dup for k in kept)


def test_a_stray_detection_below_the_spine_goes_rather_than_the_s1_it_pulls_off_the_line():
    # a real scan's case: the lumbar output fired on a small blob in the pelvis, in front of and below S1. The line
    # through all detections bends toward it, so S1, at the end of the chain and set back by the lumbosacral angle,
    # lay farthest from that line and was dropped, and the scan lost its level names
    lab = spine(7, size=260)
    stray = np.zeros(lab.shape, bool)
    stray[226:238, 2:20] = True  # 0.6 x a body, about 4 body widths in front of the spine, below S1
    comps = components_from_labels(lab, ["", "", "", "", "", "", "S1"])
    lab[lab == 7] = 0
    s1 = np.zeros(lab.shape, bool)
    s1[178:194, 110:134] = True  # S1 set back (posterior) by the lumbosacral angle
    comps = comps[:6] + [Component(s1, "s1"), Component(stray)]
    kept, notes = plausible_bodies(comps, lab.shape)
    assert len(kept) == 7 and not any(k.mask is stray for k in kept), notes
    assert any(k.channel == "s1" for k in kept) and "off the line of the spine" in notes[0], notes
    names = dict((n, c) for c, n in assign_levels(kept)[0])
    assert names.get("S1") is not None and names["S1"].channel == "s1"


def test_a_partial_s1_at_the_border_is_kept_as_the_naming_anchor():
    lab = spine(7, size=196)  # the 7th body ends at row 194: move it to the border
    lab[lab == 7] = 0
    lab[186:196, 80 + int(0.002 * 86 ** 2):104 + int(0.002 * 86 ** 2)] = 7
    comps = components_from_labels(lab, ["", "", "", "", "", "", "S1"])
    kept, notes = plausible_bodies(comps, lab.shape, rules=BodyRules())
    assert len(kept) == 7 and notes == []
    ordered, warnings = assign_levels(kept)
    assert [n for _, n in ordered] == ["T12", "L1", "L2", "L3", "L4", "L5", "S1"]
    top = np.zeros(lab.shape, bool)
    top[0:6, 84:108] = True  # an "S1" cut by the top edge is no anchor: dropped as a partial body
    kept, notes = plausible_bodies(comps + [Component(top, "s1")], lab.shape)
    assert len(kept) == 7 and "partial body" in notes[0]


# ------------------------------------------------------------------------------------------------------- level names
def test_an_s1_far_below_the_lowest_lumbar_body_leaves_levels_unnamed_with_the_reason():
    comps = components_from_labels(spine(), ["", "", "", "", "", "", "S1"])
    gap = [c for c in comps[:5]] + [comps[6]]  # L5 missed: S1 two spacings below the lowest lumbar body
    ordered, warnings = assign_levels(gap)
    assert [n for _, n in ordered] == [None] * 6
    assert any("left unnamed" in w and "missed" in w for w in warnings)
    ordered, _ = assign_levels(comps)
    assert [n for _, n in ordered] == ["T12", "L1", "L2", "L3", "L4", "L5", "S1"]


def scored_spine(scores: list[float]) -> list[Component]:
    """Lumbar-detector components of :func:`spine` with the given S1 scores, cranial -> caudal."""
    comps = components_from_labels(spine(len(scores), size=40 + 28 * len(scores)))
    for c, s in zip(comps, scores):
        c.s1_score = s
    return comps


def test_s1_is_the_body_whose_s1_score_singles_it_out_from_either_detector():
    # S1 found by the lumbar detector only, but the S1 output singles it out: it anchors the names
    ordered, warnings = assign_levels(scored_spine([0.01, 0.0, 0.02, 0.01, 0.03, 0.08, 0.42]))
    assert [n for _, n in ordered] == ["T12", "L1", "L2", "L3", "L4", "L5", "S1"] and warnings == []
    # the S1 output fires on L5 nearly as much: no guess, the scores are in the reason
    ordered, warnings = assign_levels(scored_spine([0.01, 0.0, 0.02, 0.01, 0.03, 0.2, 0.42]))
    assert [n for _, n in ordered] == [None] * 7
    assert any("no single S1" in w and "0.42" in w and "0.20" in w and "left unnamed" in w for w in warnings)
    # the margin is a rule (BodyRules), not a constant
    ordered, _ = assign_levels(scored_spine([0.01, 0.0, 0.02, 0.01, 0.03, 0.2, 0.42]),
                               rules=BodyRules(s1_dominance=2.0))
    assert [n for _, n in ordered][-1] == "S1"
    # a weak best score is no anchor at all
    ordered, warnings = assign_levels(scored_spine([0.01] * 6 + [0.25]))
    assert [n for _, n in ordered] == [None] * 7 and any("S1 not detected" in w and "0.25" in w for w in warnings)
    # the S1 output firing on a sacral segment below S1 (S2) leaves S1 the anchor; the segment is dropped
    comps = scored_spine([0.0] * 6 + [0.9, 0.7])
    comps[-1].channel = "s1"
    ordered, warnings = assign_levels(comps)
    assert [n for _, n in ordered] == ["T12", "L1", "L2", "L3", "L4", "L5", "S1"]
    assert any("below S1 (sacral segments" in w for w in warnings)
    # ...but a body above the best one scoring more than a third of it (unsure between L5 and S1) is refused
    ordered, warnings = assign_levels(scored_spine([0.0] * 5 + [0.7, 0.9]))
    assert [n for _, n in ordered] == [None] * 7 and any("no single S1" in w for w in warnings)
    # the highest score on a body with a whole body below it (S1 output on L5, S1 missed by it) is refused
    ordered, warnings = assign_levels(scored_spine([0.01] * 5 + [0.5, 0.02]))
    assert [n for _, n in ordered] == [None] * 7 and any("below the S1" in w for w in warnings)


def test_names_stop_at_a_missed_body_instead_of_shifting():
    comps = scored_spine([0.0] * 7 + [0.6])
    missed = comps[:2] + comps[3:]  # the third body is not detected
    ordered, warnings = assign_levels(missed)
    assert [n for _, n in ordered] == [None, None, "L2", "L3", "L4", "L5", "S1"]
    assert any("may be missed" in w and "2 bodies from there up are left unnamed" in w for w in warnings)
    merged = comps[:2] + [Component(comps[2].mask | comps[3].mask, s1_score=0.0)] + comps[4:]
    ordered, warnings = assign_levels(merged)  # two bodies detected as one: its name and those above are unsure
    assert [n for _, n in ordered] == [None, None, None, "L3", "L4", "L5", "S1"]
    assert any("two merged bodies" in w and "3 bodies from there up" in w for w in warnings)
    ordered, warnings = assign_levels(comps)
    assert [n for _, n in ordered] == ["T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1"]


def test_no_names_when_bodies_are_missed_throughout_and_their_spacing_is_no_yardstick():
    # a poorly trained model found only T12 and L3 above S1: every step spans three bodies, so the steps agree with
    # each other and counting upward from S1 would call L3 "L5" and T12 "L4". Each step is over twice a body's size
    comps = scored_spine([0.0] * 7 + [0.6])
    sparse = [comps[1], comps[4], comps[7]]
    ordered, warnings = assign_levels(sparse)
    assert [n for _, n in ordered] == [None, None, None], warnings
    assert any("may be missed" in w and "at most" in w for w in warnings), warnings
    one_missed = comps[:6] + comps[7:]  # L5 missed: the S1 step is two bodies long
    assert [n for _, n in assign_levels(one_missed)[0]] == [None] * 7


def test_true_names_count_upward_from_s1():
    assert true_names(["", "", "S1"], 3) == ["L4", "L5", "S1"]
    assert true_names(None, 2) == [None, None]
    assert true_names([""] * 8 + ["S1"], 9)[:2] == ["T10", "T11"]
    assert true_names([""] * 6 + ["L5"], 7) == ["T11", "T12", "L1", "L2", "L3", "L4", "L5"]  # lowest_labelled


# -------------------------------------------------------------------------------------------- training with S1 known
def test_unknown_s1_targets_are_left_out_of_the_loss():
    cfg = SegConfig(input_size=32, features=2, depth=1)
    lab = spine(7, size=200)[::5, ::5][:, :, None]
    known = TrainCase("a", lab.astype(np.float32), lab, 0, 1.0, (1.0, 1.0), [""] * 6 + ["S1"], True)
    unknown = TrainCase("b", lab.astype(np.float32), lab, 0, 1.0, (1.0, 1.0), None, False)
    rng = np.random.default_rng(8)
    a, b = draw_sample(known, cfg, OFF, rng), draw_sample(unknown, cfg, OFF, rng)
    assert a.weight.amin((1, 2)).tolist() == [1.0, 1.0] and b.weight.amax((1, 2)).tolist() == [1.0, 0.0]
    assert a.target[1].any() and not b.target[1].any()  # b: S1 counted as background would be wrong...
    pred = torch.full((1, 2, 32, 32), 0.5, requires_grad=True)
    loss = dice_loss(pred, b.target[None], 1.0, b.weight[None])
    loss.backward()
    assert pred.grad[0, 1].abs().max() == 0  # ...so its S1 channel teaches nothing
    assert pred.grad[0, 0].abs().max() > 0


def test_bodies_known_to_lie_above_an_unlabelled_s1_teach_the_s1_output_where_it_is_not():
    cfg = SegConfig(input_size=40, features=2, depth=1)
    lab = spine(7, size=200)[::5, ::5]
    lab[lab == 7] = 0  # S1 in view but unlabelled: labels 1..6 are known to be above it
    case = TrainCase("vb2", lab[:, :, None].astype(np.float32), lab[:, :, None], 0, 1.0, (1.0, 1.0), None, False,
                     bodies_not_s1=True)
    s = draw_sample(case, cfg, OFF, np.random.default_rng(0))
    assert not s.target[1].any()
    assert s.weight[0].all() and torch.equal(s.weight[1].bool(), torch.as_tensor(lab > 0))
    pred = torch.full((1, 2, 40, 40), 0.5, requires_grad=True)
    for loss in (dice_loss(pred, s.target[None], 1.0, s.weight[None]), bce_loss(pred, s.target[None], s.weight[None])):
        pred.grad = None
        loss.backward()
        grad = pred.grad[0, 1].abs()
        assert (grad[torch.as_tensor(lab > 0)] > 0).all()  # S1 pushed down on the labelled bodies...
        assert grad[torch.as_tensor(lab == 0)].max() == 0  # ...and untaught where S1 may be
    unknown = replace(case, bodies_not_s1=False)
    assert not draw_sample(unknown, cfg, OFF, np.random.default_rng(0)).weight[1].any()


def test_level_annotations_name_s1_and_exclusions_are_checked(tmp_path):
    import SimpleITK as sitk

    data = tmp_path / "data"
    data.mkdir()
    lab = np.repeat(spine(7, size=200)[:, :, None], 3, axis=2).astype(np.uint8)
    for name in ("A", "B"):
        for arr, suffix in ((lab * 20, "image"), (lab, "vertebrae")):
            sitk.WriteImage(sitk.GetImageFromArray(arr), str(data / f"{name}_{suffix}.nii.gz"))
    levels = tmp_path / "levels.json"
    levels.write_text(json.dumps({"cases": {"A": {"s1_label": 7, "s1_in_view": True},
                                            "B": {"s1_label": None, "s1_in_view": True}}}))
    assert read_levels(levels) == {"A": (7, True, None, None), "B": (None, True, None, None)}  # no lowest_labelled
    levels.write_text(json.dumps({"cases": {"A": {"s1_label": 7, "s1_in_view": True},
                                            "B": {"s1_label": None, "s1_in_view": True, "lowest_labelled": "L5"}}}))
    assert read_levels(levels)["B"].lowest_labelled == "L5"
    cfg = SegConfig(input_size=32, features=2, depth=1, val_fraction=0.0)
    train, synthetic, val, excluded = training_cases(data, cfg, levels=levels)
    assert synthetic == [] and val == [] and excluded == []
    by_name = {c.name: c for c in train}
    assert by_name["A"].s1_known and by_name["A"].names[-1] == "S1"
    assert not by_name["B"].s1_known and by_name["B"].bodies_not_s1 and by_name["B"].names == [""] * 6 + ["L5"]
    assert not by_name["A"].bodies_not_s1
    train, _, _, excluded = training_cases(data, cfg, levels=levels, exclude=["B"])
    assert [c.name for c in train] == ["A"] and excluded == ["B"]
    with pytest.raises(SegmentationError, match=r"\[S011\].*'C'"):
        training_cases(data, cfg, levels=levels, exclude=["C"])
    for case, problem in (({"s1_label": 0, "s1_in_view": True}, "not a label"),
                          ({"s1_label": None, "s1_in_view": True, "lowest": "L5"}, "unknown key.*'lowest'"),
                          ({"s1_label": 7, "s1_in_view": True, "lowest_labelled": "L5"}, "only when s1_label"),
                          ({"s1_label": None, "s1_in_view": True, "lowest_labelled": "S1"}, "'S1' must be one of")):
        levels.write_text(json.dumps({"cases": {"A": case}}))
        with pytest.raises(SegmentationError, match=rf"\[S010\].*{problem}"):
            read_levels(levels)


def test_an_outline_drawn_inside_an_unlabelled_s1_makes_it_a_target_with_an_unknown_edge_band(tmp_path):
    import SimpleITK as sitk

    data = tmp_path / "data"
    data.mkdir()
    lab = spine(7, size=200)
    s1_box = lab == 7  # rows 178-193, columns 92-115
    lab[s1_box] = 0  # S1 in view but unlabelled: labels 1..6 are T12..L5
    vol = np.repeat(lab[:, :, None], 3, axis=2).astype(np.uint8)
    for arr, suffix in ((vol * 20 + 10 * np.repeat(s1_box[:, :, None], 3, axis=2), "image"), (vol, "vertebrae")):
        sitk.WriteImage(sitk.GetImageFromArray(arr.astype(np.uint8)), str(data / f"B_{suffix}.nii.gz"))
    outline = [[181, 95], [181, 112], [191, 112], [191, 95]]  # inside S1, 3 px short of its edges
    levels = tmp_path / "levels.json"
    levels.write_text(json.dumps({"cases": {"B": {"s1_label": None, "s1_in_view": True, "lowest_labelled": "L5",
                                                  "s1_outline": outline}}}))
    assert read_levels(levels)["B"].s1_outline == tuple((float(r), float(c)) for r, c in outline)
    cfg = SegConfig(input_size=200, features=2, depth=1, val_fraction=0.0)
    (case,), _, _, _ = training_cases(data, cfg, levels=levels)
    assert case.s1_known and case.s1_outlined and case.names[-2:] == ["L5", "S1"]
    painted = case.lab == 7
    assert painted.any(axis=(0, 1)).all() and not (painted & ~s1_box[:, :, None]).any()  # every slice, inside S1
    s = draw_sample(case, cfg, OFF, np.random.default_rng(0))
    inside = torch.as_tensor(painted[:, :, case.k_mid])
    assert s.target[1][inside].all() and s.target[1].sum() == inside.sum()
    known = s.weight[1].bool()
    assert known[inside].all() and known[torch.as_tensor(lab > 0)].all()  # S1 taught inside, 0 on the bodies
    assert not known[184, 92] and not known[196, 104]  # S1's true edge, beyond the outline: unknown
    assert known[120, 20] and known[199, 199]  # far from it: S1 is known to be absent
    for case_json, problem in (({"s1_label": None, "s1_in_view": True, "s1_outline": outline}, "only with"),
                               ({"s1_label": None, "s1_in_view": True, "lowest_labelled": "L5",
                                 "s1_outline": outline[:2]}, "at least 3")):
        levels.write_text(json.dumps({"cases": {"B": case_json}}))
        with pytest.raises(SegmentationError, match=rf"\[S010\].*{problem}"):
            read_levels(levels)


def test_cross_entropy_term_ignores_unknown_targets_and_is_validated():
    pred = torch.full((2, 2, 8, 8), 0.3, requires_grad=True)
    target = torch.zeros(2, 2, 8, 8)
    weight = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    bce_loss(pred, target, weight).backward()
    assert pred.grad[0, 1].abs().max() == 0 and pred.grad[1, 1].abs().max() > 0
    assert bce_loss(pred.detach(), target, weight).item() == pytest.approx(-np.log(0.7), rel=1e-5)
    with pytest.raises(SegmentationError, match=r"\[S007\].*loss"):
        SegConfig(loss="focal").validate()


def test_inference_sizes_follow_the_field_of_view_in_millimetres():
    cfg = SegConfig(input_size=192, depth=4, infer_scales=(1.0, 1.5), infer_mm=2.0)
    assert cfg.slice_sides((380, 300), (1.0, 1.0)) == (192, 288)  # 380 mm / 2 mm = 190 -> 192
    assert cfg.slice_sides((760, 600), (1.0, 1.0)) == (384, 576)  # twice the field of view: twice the input
    assert cfg.slice_sides((380, 300), (2.0, 2.0)) == (384, 576)  # the same in millimetres, coarser pixels
    assert cfg.slice_sides((200, 500), (1.0, 0.76)) == (192, 288)  # the longer side in millimetres (columns here)
    assert max(cfg.slice_sides((4000, 4000), (1.0, 1.0))) == MAX_INFER_SIDE
    assert replace(cfg, infer_mm=None).slice_sides((760, 600), (1.0, 1.0)) == cfg.infer_sizes == (192, 288)
    with pytest.raises(SegmentationError, match="infer_mm"):
        replace(cfg, infer_mm=0.0).validate()


def test_tissue_standardisation_leaves_training_like_slices_and_undoes_a_strong_brightness_curve():
    rng = np.random.default_rng(3)
    img = np.zeros((120, 100), np.float32)  # air around a body of tissue of many intensities
    img[20:100, 20:80] = 250 * rng.uniform(0.2, 1, (80, 60))
    x = normalise(img)
    lo, hi = 0.35, 0.75
    median = float(np.median(x[x > TISSUE_FLOOR]))
    assert lo <= median <= hi
    assert np.array_equal(standardise_tissue(img, (lo, hi)), x)  # inside the range: the slice as it is
    for g, end in ((3.0, lo), (0.3, hi)):  # much darker / brighter tissue: brought to the nearer end of the range
        y = standardise_tissue(img ** g, (lo, hi))
        assert np.median(y[y > TISSUE_FLOOR]) == pytest.approx(end, abs=0.01)
        assert np.array_equal(np.argsort(y, axis=None, kind="stable")[-50:],  # the order of intensities is kept
                              np.argsort(normalise(img ** g), axis=None, kind="stable")[-50:])
        assert np.abs(y - x).mean() < np.abs(normalise(img ** g) - x).mean()  # closer to the slice as scanned
    with pytest.raises(SegmentationError, match="infer_tissue_range"):
        SegConfig(infer_tissue_range=(0.3, 0.1)).validate()


def test_inference_averages_input_sizes_and_neighbouring_slices():
    from imaging.segment import build_model, predict_slice, predict_volume_slice, preset_config

    cfg = SegConfig(input_size=32, features=2, depth=2, infer_scales=(1.0, 1.3, 1.7), infer_neighbours=1)
    cfg.validate()
    assert cfg.infer_sizes == (32, 40, 56)  # multiples of 2**depth
    torch.manual_seed(0)
    model = build_model(cfg)
    rng = np.random.default_rng(0)
    vol = rng.random((40, 30, 5)).astype(np.float32)
    mm = (1.2, 1.2)  # the slice's pixel size (no infer_mm here: the sizes come from input_size)
    one = replace(cfg, infer_scales=(1.0,), infer_neighbours=0)
    at = {k: predict_slice(model, vol[:, :, k], cfg, mm) for k in range(5)}
    assert np.allclose(at[2], np.mean([predict_slice(model, vol[:, :, 2], replace(one, input_size=s), mm)
                                       for s in cfg.infer_sizes], axis=0), atol=1e-6)
    assert np.allclose(predict_volume_slice(model, vol, 2, cfg, mm), (at[1] + at[2] + at[3]) / 3, atol=1e-6)
    # at the edge, only the slices inside the volume
    assert np.allclose(predict_volume_slice(model, vol, 0, cfg, mm), (at[0] + at[1]) / 2, atol=1e-6)
    assert np.allclose(predict_volume_slice(model, vol, 2, one, mm), predict_slice(model, vol[:, :, 2], one, mm))
    assert preset_config("default").infer_sizes == (192, 256, 320)
    for name, value in (("infer_scales", ()), ("infer_scales", (3.0,)), ("infer_neighbours", 4)):
        with pytest.raises(SegmentationError, match=rf"\[S007\].*{name}"):
            replace(cfg, **{name: value}).validate()
