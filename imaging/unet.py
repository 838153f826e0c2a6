"""A 2-D U-Net for vertebral-body segmentation (Deep Spine, section 3.1 and Fig. 3b).

The paper's network: 512 x 512 input/output, 5 down- and 5 up-sampling modules, 2 convolutions per module, 32
initial features, batch normalisation before each ReLU and a sigmoid final activation. Depth, width and the
number of output channels are parameters so that tests can build tiny networks.

Shapes: the input is ``(B, in_channels, H, W)`` with ``H`` and ``W`` divisible by ``2**depth``; the output is
``(B, out_channels, H, W)`` probabilities in [0, 1] (or logits with ``activation=False``).
"""

from __future__ import annotations

import torch
from torch import nn

from spinecore.cpu import configure_cpu_kernels


class ConvBlock(nn.Sequential):
    """Two ``3x3 conv -> batch norm -> ReLU`` layers: ``(B, c_in, H, W) -> (B, c_out, H, W)``."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
        )


class Down(nn.Sequential):
    """2x2 max pooling then a :class:`ConvBlock`: ``(B, c_in, H, W) -> (B, c_out, H/2, W/2)``."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(nn.MaxPool2d(2), ConvBlock(c_in, c_out))


class Up(nn.Module):
    """2x2 transposed convolution, concatenation with the skip, then a :class:`ConvBlock`.

    ``x: (B, c_in, H, W)``, ``skip: (B, c_skip, 2H, 2W) -> (B, c_out, 2H, 2W)``.
    """

    def __init__(self, c_in: int, c_skip: int, c_out: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(c_in, c_in // 2, kernel_size=2, stride=2)
        self.conv = ConvBlock(c_in // 2 + c_skip, c_out)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([skip, self.up(x)], dim=1))


class UNet(nn.Module):
    """U-Net with ``depth`` down/up modules; the feature count doubles at each level from ``features``.

    Args:
        in_channels: image channels (1 for a grey-level MRI slice).
        out_channels: one probability map per detector (e.g. lumbar T12-L5 and sacral S1).
        features: features of the first module (32 in the paper).
        depth: number of down-sampling (and up-sampling) modules (5 in the paper).
        activation: apply the sigmoid (the paper's final activation); ``False`` returns logits.
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 2, features: int = 32, depth: int = 5,
                 activation: bool = True) -> None:
        super().__init__()
        configure_cpu_kernels()  # before the first convolution (AVX-512 CPUs: see spinecore.cpu)
        if depth < 1 or features < 1:
            raise ValueError(f"UNet needs depth >= 1 and features >= 1, got depth={depth}, features={features}")
        self.depth = depth
        self.activation = activation
        widths = [features * 2 ** i for i in range(depth + 1)]
        self.stem = ConvBlock(in_channels, widths[0])
        self.downs = nn.ModuleList(Down(widths[i], widths[i + 1]) for i in range(depth))
        self.ups = nn.ModuleList(Up(widths[i + 1], widths[i], widths[i]) for i in reversed(range(depth)))
        self.head = nn.Conv2d(widths[0], out_channels, kernel_size=1)

    @property
    def multiple(self) -> int:
        """The input height and width must be multiples of this."""
        return 2 ** self.depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_channels, H, W) -> (B, out_channels, H, W)``."""
        if x.shape[-1] % self.multiple or x.shape[-2] % self.multiple:
            raise ValueError(f"UNet of depth {self.depth} needs H and W divisible by {self.multiple}, "
                             f"got {tuple(x.shape[-2:])}")
        skips = [self.stem(x)]
        for down in self.downs:
            skips.append(down(skips[-1]))
        y = skips.pop()
        for up in self.ups:
            y = up(y, skips.pop())
        y = self.head(y)
        return torch.sigmoid(y) if self.activation else y
