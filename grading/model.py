"""The two-branch ResNeXt stenosis-grading network of DeepSPINE (section 3.2 and Figure 4 of the paper).

One disc level is seen through two volumes:

* the **axial branch**, a 2-D ResNeXt whose input channels are the ``axial_slices`` axial slices through the disc,
  ``(B, 8, 360, 360)`` in the paper;
* the **sagittal branch**, a 3-D ResNeXt on the sagittal volume cropped around the disc, ``(B, 1, 25, 160, 320)``
  in the paper (depth = slices).

Each branch ends with global average pooling; the pooled features are concatenated, passed through dropout and
then through one linear head per task (central canal ``scs``, right and left foraminal ``rfs``/``lfs``), each
giving ``n_classes`` logits. The network returns **logits**: the softmax is applied by the loss
(:func:`grading.loss.weighted_cross_entropy`) and at inference (``logits.softmax(-1)``).

The ResNeXt is written once for 2-D and 3-D: every block takes ``dims`` and picks ``Conv{dims}d``,
``BatchNorm{dims}d`` and the pooling layers accordingly. Every convolution is followed by batch normalisation;
a leaky ReLU follows the stem, the first two convolutions of each bottleneck and each residual addition (the
paper: "each convolution is followed by batch normalization and leaky ReLU").

Widths follow ``resnext50_32x4d``: stage ``i`` (strides 1, 2, 2, 2) has ``planes_i = stem_channels * 2**i``
output planes before the 4x expansion and a grouped convolution of width ``cardinality * base_width * 2**i``
(torchvision's ``int(planes * base_width / 64) * cardinality`` with ``stem_channels=64``), so the width is always
a multiple of the cardinality. With the paper preset, the 2-D branch has 22,995,584 parameters (torchvision's
resnext50_32x4d without its fc layer, plus the stem weights of 5 more input channels) and the 3-D branch
25,821,760 (3x3x3 grouped and 7x7x7 stem kernels); the whole network 48.9 M.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from spinecore.config import Config
from spinecore.cpu import configure_cpu_kernels
from spinecore.schema import LOCATIONS

from .errors import Errors, GradingError

logger = logging.getLogger(__name__)

EXPANSION = 4  # output channels of a bottleneck = 4 x its planes
STAGE_STRIDES = (1, 2, 2, 2)


# ---------------------------------------------------------------------------------------------------------- config
@dataclass
class ModelConfig(Config):
    """Everything needed to rebuild a :class:`GradingNet`; the defaults are the paper's network (``preset("paper")``).

    Attributes:
        cardinality: groups of the 3x3 convolutions (32 in ResNeXt-50 32x4d).
        base_width: channels per group in the first stage (4 in 32x4d); doubles at each stage.
        stem_channels: output channels of the 7x7 stem (64); stage ``i`` has ``stem_channels * 2**i`` planes.
        layers: bottleneck blocks per stage ((3, 4, 6, 3) for ResNeXt-50); one stage per entry.
        axial_slices: axial slices per disc, the input channels of the 2-D branch (8).
        use_axial: build the 2-D axial branch.
        use_sagittal: build the 3-D sagittal branch.
        dropout: dropout probability on the concatenated features (training only).
        n_classes: grades per task (4: normal, mild, moderate, severe).
        tasks: one classification head per task, in this order.
        negative_slope: slope of the leaky ReLUs for negative inputs.
    """

    cardinality: int = 32
    base_width: int = 4
    stem_channels: int = 64
    layers: tuple[int, ...] = (3, 4, 6, 3)
    axial_slices: int = 8
    use_axial: bool = True
    use_sagittal: bool = True
    dropout: float = 0.2
    n_classes: int = 4
    tasks: tuple[str, ...] = LOCATIONS
    negative_slope: float = 0.01

    def validate(self) -> None:
        """Raise a coded :class:`GradingError` for the first invalid field."""
        for name in ("cardinality", "base_width", "stem_channels", "axial_slices"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise GradingError(Errors.G101.format(name=name, value=value, expected="an integer >= 1"))
        if (not self.layers or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1
                                       for n in self.layers)):
            raise GradingError(Errors.G101.format(name="layers", value=self.layers,
                                                  expected="a non-empty tuple of block counts >= 1, e.g. (3, 4, 6, 3)"))
        if not isinstance(self.n_classes, int) or isinstance(self.n_classes, bool) or self.n_classes < 2:
            raise GradingError(Errors.G101.format(name="n_classes", value=self.n_classes, expected="an integer >= 2"))
        if not isinstance(self.dropout, (int, float)) or not 0.0 <= self.dropout < 1.0:
            raise GradingError(Errors.G101.format(name="dropout", value=self.dropout, expected="a number in [0, 1)"))
        if not isinstance(self.negative_slope, (int, float)) or self.negative_slope < 0:
            raise GradingError(Errors.G101.format(name="negative_slope", value=self.negative_slope,
                                                  expected="a number >= 0"))
        if (not self.tasks or len(set(self.tasks)) != len(self.tasks)
                or not all(isinstance(t, str) and t for t in self.tasks)):
            raise GradingError(Errors.G101.format(name="tasks", value=self.tasks,
                                                  expected="a non-empty tuple of distinct task names"))
        if not (self.use_axial or self.use_sagittal):
            raise GradingError(Errors.G102)


PRESETS: dict[str, dict[str, Any]] = {
    # the paper: ResNeXt-50 32x4d branches
    "paper": {},
    # ~0.2 M parameters in all, for CPU tests
    "tiny": {"cardinality": 4, "base_width": 2, "stem_channels": 8, "layers": (1, 1, 1, 1)},
}


def preset(name: str, **overrides: Any) -> ModelConfig:
    """A validated :class:`ModelConfig` from a named preset (see :data:`PRESETS`) with field ``overrides``."""
    if name not in PRESETS:
        raise GradingError(Errors.G103.format(name=name, presets=sorted(PRESETS)))
    return ModelConfig.from_dict({**PRESETS[name], **overrides})


# ---------------------------------------------------------------------------------------------------------- blocks
_LAYERS: dict[str, dict[int, type[nn.Module]]] = {
    "conv": {2: nn.Conv2d, 3: nn.Conv3d},
    "norm": {2: nn.BatchNorm2d, 3: nn.BatchNorm3d},
    "maxpool": {2: nn.MaxPool2d, 3: nn.MaxPool3d},
    "avgpool": {2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d},
}


def layer_type(kind: str, dims: int) -> type[nn.Module]:
    """The ``dims``-D layer class of ``kind`` (``conv``, ``norm``, ``maxpool`` or ``avgpool``)."""
    if dims not in (2, 3):
        raise GradingError(Errors.G107.format(value=dims))
    return _LAYERS[kind][dims]


class ConvNormAct(nn.Sequential):
    """Convolution (no bias) -> batch norm -> leaky ReLU (omitted when ``negative_slope`` is ``None``).

    ``(B, in_channels, *S) -> (B, out_channels, *S')`` with ``S' = floor((S + 2 * padding - kernel) / stride) + 1``
    and ``padding = kernel_size // 2``, for ``S`` of ``dims`` spatial sizes.
    """

    def __init__(self, dims: int, in_channels: int, out_channels: int, kernel_size: int, *, stride: int = 1,
                 groups: int = 1, negative_slope: float | None = 0.01) -> None:
        layers: list[nn.Module] = [
            layer_type("conv", dims)(in_channels, out_channels, kernel_size, stride=stride,
                                     padding=kernel_size // 2, groups=groups, bias=False),
            layer_type("norm", dims)(out_channels),
        ]
        if negative_slope is not None:
            layers.append(nn.LeakyReLU(negative_slope, inplace=True))
        super().__init__(*layers)


class Bottleneck(nn.Module):
    """ResNeXt bottleneck: 1x1 reduce -> grouped 3x3 (``groups=cardinality``, carries the stride) -> 1x1 expand.

    The residual is the input, or a 1x1 convolution + batch norm when the stride or the channel count changes;
    a leaky ReLU follows the addition. ``(B, in_channels, *S) -> (B, out_channels, *ceil(S / stride))``.
    """

    def __init__(self, dims: int, in_channels: int, width: int, out_channels: int, *, cardinality: int,
                 stride: int = 1, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.reduce = ConvNormAct(dims, in_channels, width, 1, negative_slope=negative_slope)
        self.grouped = ConvNormAct(dims, width, width, 3, stride=stride, groups=cardinality,
                                   negative_slope=negative_slope)
        self.expand = ConvNormAct(dims, width, out_channels, 1, negative_slope=None)
        self.shortcut: nn.Module = (ConvNormAct(dims, in_channels, out_channels, 1, stride=stride,
                                                negative_slope=None)
                                    if stride != 1 or in_channels != out_channels else nn.Identity())
        self.act = nn.LeakyReLU(negative_slope, inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.expand(self.grouped(self.reduce(x))) + self.shortcut(x))


class ResNeXt(nn.Module):
    """A ResNeXt trunk with global average pooling, in 2-D or 3-D: ``(B, in_channels, *S) -> (B, out_channels)``.

    Stem: 7x7(x7) convolution, stride 2, padding 3 -> batch norm -> leaky ReLU -> 3x3(x3) max pooling, stride 2,
    padding 1; then one stage of :class:`Bottleneck` blocks per entry of ``layers`` (the first block of stage
    ``i`` carries the stride 1, 2, 2, 2, ...). Every spatial size >= 1 is valid (e.g. 25 sagittal slices:
    25 -> 13 -> 7 -> 7 -> 4 -> 2 -> 1). ``out_channels = stem_channels * 2**(len(layers) - 1) * 4``.

    Args:
        dims: 2 (``Conv2d`` etc.) or 3 (``Conv3d`` etc.).
        in_channels: input channels (axial slices for the 2-D branch, 1 for the 3-D branch).
        stem_channels: stem output channels; planes of stage ``i`` are ``stem_channels * 2**i``.
        layers: blocks per stage.
        cardinality: groups of each 3x3 convolution.
        base_width: channels per group in the first stage (doubles at each stage).
        negative_slope: leaky ReLU slope.
    """

    def __init__(self, dims: int, in_channels: int, *, stem_channels: int = 64,
                 layers: Sequence[int] = (3, 4, 6, 3), cardinality: int = 32, base_width: int = 4,
                 negative_slope: float = 0.01) -> None:
        super().__init__()
        configure_cpu_kernels()  # before the first convolution (AVX-512 CPUs: see spinecore.cpu)
        self.dims = dims
        self.stem = nn.Sequential(
            ConvNormAct(dims, in_channels, stem_channels, 7, stride=2, negative_slope=negative_slope),
            layer_type("maxpool", dims)(kernel_size=3, stride=2, padding=1),
        )
        stages: list[nn.Module] = []
        channels = stem_channels
        for i, n_blocks in enumerate(layers):
            width = cardinality * base_width * 2 ** i
            out_channels = stem_channels * 2 ** i * EXPANSION
            stride = STAGE_STRIDES[min(i, len(STAGE_STRIDES) - 1)]
            blocks = []
            for b in range(n_blocks):
                blocks.append(Bottleneck(dims, channels, width, out_channels, cardinality=cardinality,
                                         stride=stride if b == 0 else 1, negative_slope=negative_slope))
                channels = out_channels
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.pool = layer_type("avgpool", dims)(1)
        self.out_channels = channels
        self._init_weights(negative_slope)

    def _init_weights(self, negative_slope: float) -> None:
        """Kaiming-normal convolutions (fan-out, leaky ReLU gain); batch norm weight 1, bias 0."""
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Conv3d)):
                nn.init.kaiming_normal_(m.weight, a=negative_slope, mode="fan_out", nonlinearity="leaky_relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.pool(self.stages(self.stem(x))).flatten(1)


# ------------------------------------------------------------------------------------------------------------ net
class GradingNet(nn.Module):
    """DeepSPINE's grading network: ``forward(axial, sagittal) -> {task: logits (B, n_classes)}``.

    ``axial`` is ``(B, axial_slices, H, W)`` and ``sagittal`` is ``(B, 1, D, H', W')``; any sizes >= 1 work (the
    paper: 8 x 360 x 360 and 1 x 25 x 160 x 320). A branch switched off in the config is not built and its input
    is ignored (may be ``None``); a missing input for a built branch raises G104. The outputs are logits: apply
    ``softmax(-1)`` for the grade probabilities (the loss does this itself).
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        trunk = {"stem_channels": cfg.stem_channels, "layers": cfg.layers, "cardinality": cfg.cardinality,
                 "base_width": cfg.base_width, "negative_slope": cfg.negative_slope}
        self.axial = ResNeXt(2, cfg.axial_slices, **trunk) if cfg.use_axial else None
        self.sagittal = ResNeXt(3, 1, **trunk) if cfg.use_sagittal else None
        self.dropout = nn.Dropout(cfg.dropout)
        self.heads = nn.ModuleDict({task: nn.Linear(self.feature_dim, cfg.n_classes) for task in cfg.tasks})

    @property
    def feature_dim(self) -> int:
        """Length of the concatenated pooled features fed to the heads."""
        return sum(branch.out_channels for branch in (self.axial, self.sagittal) if branch is not None)

    def forward(self, axial: Tensor | None = None, sagittal: Tensor | None = None) -> dict[str, Tensor]:
        branches = []
        if self.axial is not None:
            branches.append((self.axial, self._checked("axial", axial, 4, self.cfg.axial_slices)))
        if self.sagittal is not None:
            branches.append((self.sagittal, self._checked("sagittal", sagittal, 5, 1)))
        if len(branches) == 2 and branches[0][1].shape[0] != branches[1][1].shape[0]:
            raise GradingError(Errors.G106.format(n_axial=branches[0][1].shape[0],
                                                  n_sagittal=branches[1][1].shape[0]))
        x = self.dropout(torch.cat([trunk(volume) for trunk, volume in branches], dim=1))
        return {task: head(x) for task, head in self.heads.items()}

    @staticmethod
    def _checked(branch: str, x: Tensor | None, ndim: int, channels: int) -> Tensor:
        """``x`` if it is a ``ndim``-D tensor with ``channels`` channels, else a coded error."""
        expected = f"(B, {channels}, H, W)" if ndim == 4 else f"(B, {channels}, D, H, W)"
        if x is None:
            raise GradingError(Errors.G104.format(branch=branch, expected=expected))
        if x.ndim != ndim or x.shape[1] != channels:
            raise GradingError(Errors.G105.format(branch=branch, shape=tuple(x.shape), expected=expected))
        return x


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable, by default) parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
