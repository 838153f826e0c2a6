"""Tests for grading.model: shapes, structure, configs, errors and a short overfitting run on tiny networks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from torch import nn

from grading.errors import GradingError
from grading.loss import weighted_cross_entropy
from grading.model import (
    Bottleneck,
    ConvNormAct,
    GradingNet,
    ModelConfig,
    ResNeXt,
    count_parameters,
    layer_type,
    preset,
)
from spinecore.errors import CoreError


@pytest.fixture(autouse=True, scope="module")
def single_thread() -> Iterator[None]:
    """The tiny networks run many small ops, for which intra-op threads cost more than they give (10x on a busy
    2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny(**overrides: object) -> ModelConfig:
    return preset("tiny", **overrides)


def inputs(batch: int = 2, axial_hw: tuple[int, int] = (32, 32),
           sagittal_dhw: tuple[int, int, int] = (5, 16, 32)) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return (torch.randn(batch, 8, *axial_hw, generator=g), torch.randn(batch, 1, *sagittal_dhw, generator=g))


@pytest.mark.parametrize("use_axial,use_sagittal", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("axial_hw,sagittal_dhw", [((32, 32), (5, 16, 32)), ((45, 23), (25, 20, 40)),
                                                    ((1, 1), (1, 1, 1))])
def test_output_shapes_per_variant_and_size(use_axial: bool, use_sagittal: bool, axial_hw: tuple[int, int],
                                            sagittal_dhw: tuple[int, int, int]) -> None:
    net = GradingNet(tiny(use_axial=use_axial, use_sagittal=use_sagittal)).eval()
    axial, sagittal = inputs(3, axial_hw, sagittal_dhw)
    with torch.no_grad():
        out = net(axial, sagittal)
    assert list(out) == ["scs", "rfs", "lfs"]
    assert all(v.shape == (3, 4) and torch.isfinite(v).all() for v in out.values())
    assert (net.axial is not None) == use_axial and (net.sagittal is not None) == use_sagittal
    assert net.feature_dim == 256 * (use_axial + use_sagittal)  # tiny: 8 * 2**3 * 4 per branch


def test_switched_off_branch_ignores_its_input() -> None:
    axial, sagittal = inputs()
    net = GradingNet(tiny(use_sagittal=False)).eval()
    with torch.no_grad():
        a = net(axial, None)["scs"]
        b = net(axial, sagittal)["scs"]
    torch.testing.assert_close(a, b)


def test_sagittal_depth_25_reaches_a_single_voxel() -> None:
    trunk = ResNeXt(3, 1, stem_channels=8, layers=(1, 1, 1, 1), cardinality=4, base_width=2)
    x = torch.randn(1, 1, 25, 160, 320)
    with torch.no_grad():
        features = trunk.stages(trunk.stem(x))
    assert features.shape == (1, 256, 1, 5, 10)


def test_2d_and_3d_branches_share_one_block_class() -> None:
    net = GradingNet(tiny())
    for branch, dims in ((net.axial, 2), (net.sagittal, 3)):
        blocks = [m for m in branch.modules() if isinstance(m, Bottleneck)]
        assert len(blocks) == 4
        convs = [m for m in branch.modules() if isinstance(m, (nn.Conv2d, nn.Conv3d))]
        assert {type(c) for c in convs} == {layer_type("conv", dims)}
    assert type(net.axial) is type(net.sagittal) is ResNeXt
    with pytest.raises(GradingError) as err:
        layer_type("conv", 1)
    assert err.value.code == "G107"


def test_grouped_convs_have_cardinality_groups() -> None:
    cfg = tiny(cardinality=8, base_width=1)
    net = GradingNet(cfg)
    blocks = [m for m in net.modules() if isinstance(m, Bottleneck)]
    for block in blocks:
        conv = block.grouped[0]
        assert conv.groups == 8 and conv.kernel_size in ((3, 3), (3, 3, 3))
        assert conv.in_channels % 8 == 0
    assert {b.grouped[0].in_channels for b in blocks} == {8, 16, 32, 64}  # cardinality * base_width * 2**i


def test_every_conv_is_followed_by_batch_norm_and_leaky_relu() -> None:
    net = GradingNet(tiny(negative_slope=0.05))
    n_conv = 0
    for unit in (m for m in net.modules() if isinstance(m, ConvNormAct)):
        conv, norm = unit[0], unit[1]
        assert isinstance(conv, (nn.Conv2d, nn.Conv3d)) and conv.bias is None
        assert isinstance(norm, (nn.BatchNorm2d, nn.BatchNorm3d)) and norm.num_features == conv.out_channels
        n_conv += 1
    assert n_conv == sum(isinstance(m, (nn.Conv2d, nn.Conv3d)) for m in net.modules())
    blocks = [m for m in net.modules() if isinstance(m, Bottleneck)]
    for block in blocks:
        # reduce and grouped convolutions end with their own activation, the expansion and shortcut with the
        # block's activation after the residual addition
        assert isinstance(block.reduce[2], nn.LeakyReLU) and isinstance(block.grouped[2], nn.LeakyReLU)
        assert len(block.expand) == 2 and isinstance(block.act, nn.LeakyReLU)
    relus = [m for m in net.modules() if isinstance(m, nn.LeakyReLU)]
    assert relus and all(r.negative_slope == 0.05 for r in relus)
    # the block's output is the leaky ReLU of (residual branch + shortcut)
    block = blocks[0].eval()
    x = torch.randn(2, 8, 9, 9)
    with torch.no_grad():
        pre = block.expand(block.grouped(block.reduce(x.clone()))) + block.shortcut(x.clone())
        y = block(x.clone())
    assert pre.min() < 0
    torch.testing.assert_close(y, nn.functional.leaky_relu(pre, 0.05))


def test_projection_shortcut_only_when_shape_changes() -> None:
    same = Bottleneck(2, 32, 8, 32, cardinality=4)
    assert isinstance(same.shortcut, nn.Identity)
    strided = Bottleneck(3, 32, 8, 32, cardinality=4, stride=2)
    assert isinstance(strided.shortcut, ConvNormAct) and strided.shortcut[0].stride == (2, 2, 2)
    assert strided(torch.randn(1, 32, 5, 6, 7)).shape == (1, 32, 3, 3, 4)


def test_weight_init() -> None:
    net = GradingNet(tiny())
    for m in net.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0)
    conv = net.sagittal.stages[3][0].expand[0]  # 1x1x1, fan_out = 256
    gain = (2 / (1 + 0.01**2)) ** 0.5
    assert conv.weight.std().item() == pytest.approx(gain / 256**0.5, rel=0.1)


def test_paper_preset_parameter_count() -> None:
    net = GradingNet(preset("paper"))
    n_axial, n_sagittal = count_parameters(net.axial), count_parameters(net.sagittal)
    # resnext50_32x4d without fc: 22,979,904, plus 5 more stem input channels (5 * 64 * 7 * 7)
    assert n_axial == 22_979_904 + 5 * 64 * 49
    # the 3-D trunk adds the third kernel dimension to the grouped 3x3 and the 7x7 stem convolutions
    assert 25_000_000 < n_sagittal < 27_000_000
    assert net.feature_dim == 4096
    assert count_parameters(net) == n_axial + n_sagittal + 3 * (4096 * 4 + 4)
    assert [len(s) for s in net.axial.stages] == [3, 4, 6, 3]
    assert net.axial.stages[0][0].grouped[0].groups == 32 and net.axial.stages[0][0].grouped[0].in_channels == 128
    net.requires_grad_(False)
    assert count_parameters(net) == 0 and count_parameters(net, trainable_only=False) > 48_000_000


def test_dropout_only_in_train_mode() -> None:
    axial, sagittal = inputs(4)
    torch.manual_seed(0)
    net = GradingNet(tiny(dropout=0.5))
    assert isinstance(net.dropout, nn.Dropout) and net.dropout.p == 0.5
    net.train()
    with torch.no_grad():
        a, b = net(axial, sagittal)["scs"], net(axial, sagittal)["scs"]
    assert not torch.allclose(a, b)
    net.eval()
    with torch.no_grad():
        torch.testing.assert_close(net(axial, sagittal)["scs"], net(axial, sagittal)["scs"])
    no_dropout = GradingNet(tiny(dropout=0.0)).train()
    with torch.no_grad():
        torch.testing.assert_close(no_dropout(axial, sagittal)["scs"], no_dropout(axial, sagittal)["scs"])


def test_tiny_model_overfits_eight_discs() -> None:
    torch.manual_seed(0)
    cfg = tiny()
    net = GradingNet(cfg).train()
    axial, sagittal = inputs(8, (32, 32), (5, 16, 16))
    targets = torch.randint(0, 4, (8, 3), generator=torch.Generator().manual_seed(1))
    weights = torch.ones(3, 4)
    opt = torch.optim.Adadelta(net.parameters(), lr=1.0, rho=0.95)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = weighted_cross_entropy(net(axial, sagittal), targets, weights, cfg.tasks)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]
    net.eval()
    with torch.no_grad():
        out = net(axial, sagittal)
    accuracy = torch.stack([out[t].argmax(1) == targets[:, i] for i, t in enumerate(cfg.tasks)]).float().mean()
    assert accuracy >= 0.75


@pytest.mark.parametrize("use_axial,use_sagittal,missing", [(True, True, "axial"), (True, True, "sagittal"),
                                                           (False, True, "sagittal")])
def test_missing_input_raises_coded_error(use_axial: bool, use_sagittal: bool, missing: str) -> None:
    net = GradingNet(tiny(use_axial=use_axial, use_sagittal=use_sagittal))
    axial, sagittal = inputs()
    given = {"axial": axial, "sagittal": sagittal, missing: None}
    with pytest.raises(GradingError, match=f"no {missing} input") as err:
        net(**given)
    assert err.value.code == "G104"


def test_bad_input_shapes_raise_coded_errors() -> None:
    net = GradingNet(tiny())
    axial, sagittal = inputs()
    with pytest.raises(GradingError) as err:
        net(axial[:, :4], sagittal)
    assert err.value.code == "G105" and "(2, 4, 32, 32)" in str(err.value)
    with pytest.raises(GradingError) as err:
        net(axial, sagittal[:, 0])
    assert err.value.code == "G105"
    with pytest.raises(GradingError) as err:
        net(axial, sagittal[:1])
    assert err.value.code == "G106"


def test_config_round_trip_and_unknown_keys() -> None:
    cfg = tiny(tasks=("scs",), dropout=0.1)
    d = cfg.to_dict()
    assert d["layers"] == [1, 1, 1, 1] and d["tasks"] == ["scs"]
    assert ModelConfig.from_dict(d) == cfg
    assert ModelConfig.from_dict({}) == ModelConfig() == preset("paper")
    with pytest.raises(CoreError) as err:
        ModelConfig.from_dict({**d, "widht": 3})
    assert err.value.code == "C010" and "'widht'" in str(err.value) and "'base_width'" in str(err.value)
    with pytest.raises(GradingError) as err:
        preset("huge")
    assert err.value.code == "G103"
    net = GradingNet(cfg)
    assert list(net.heads) == ["scs"]


@pytest.mark.parametrize("overrides,code", [
    ({"use_axial": False, "use_sagittal": False}, "G102"),
    ({"layers": ()}, "G101"),
    ({"layers": (1, 0)}, "G101"),
    ({"cardinality": 0}, "G101"),
    ({"base_width": 2.5}, "G101"),
    ({"dropout": 1.0}, "G101"),
    ({"n_classes": 1}, "G101"),
    ({"tasks": ("scs", "scs")}, "G101"),
    ({"negative_slope": -0.1}, "G101"),
])
def test_invalid_configs_raise_coded_errors(overrides: dict, code: str) -> None:
    with pytest.raises(GradingError) as err:
        tiny(**overrides)
    assert err.value.code == code
    cfg = ModelConfig(**{**ModelConfig().to_dict(), **overrides})
    with pytest.raises(GradingError):
        GradingNet(cfg)
