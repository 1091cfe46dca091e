"""FC-DenseNet ("The One Hundred Layers Tiramisu", Jegou et al. 2017), 2D.

Dense blocks concatenate every layer's output to its input, so features are reused
and a shallow, narrow network still segments well - what we need on a CPU. The
down path keeps the full block outputs as skips; the up path upsamples only the
*new* features of the previous block (the paper's trick that keeps the upsampling
path from exploding in width).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class DenseLayer(nn.Sequential):
    """BN -> ReLU -> 3x3 conv (-> dropout), producing ``growth`` new channels."""

    def __init__(self, in_channels: int, growth: int, dropout: float = 0.0) -> None:
        super().__init__(
            nn.BatchNorm2d(in_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(in_channels, growth, kernel_size=3, padding=1, bias=False),
        )
        if dropout > 0:
            self.append(nn.Dropout2d(dropout))


class DenseBlock(nn.Module):
    """``n_layers`` dense layers; returns the concatenation of the new features only
    (``upsample=True``) or of the input and the new features."""

    def __init__(
        self,
        in_channels: int,
        growth: int,
        n_layers: int,
        dropout: float = 0.0,
        upsample: bool = False,
    ) -> None:
        super().__init__()
        self.upsample = upsample
        self.layers = nn.ModuleList(
            DenseLayer(in_channels + i * growth, growth, dropout) for i in range(n_layers)
        )
        self.out_channels = n_layers * growth if upsample else in_channels + n_layers * growth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        new: list[torch.Tensor] = []
        for layer in self.layers:
            out = layer(x)
            new.append(out)
            x = torch.cat([x, out], dim=1)
        return torch.cat(new, dim=1) if self.upsample else x


class TransitionDown(nn.Sequential):
    """BN -> ReLU -> 1x1 conv -> 2x2 max-pool (halves the resolution)."""

    def __init__(self, channels: int, dropout: float = 0.0) -> None:
        super().__init__(
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, kernel_size=1, bias=False),
        )
        if dropout > 0:
            self.append(nn.Dropout2d(dropout))
        self.append(nn.MaxPool2d(2))


class TransitionUp(nn.Module):
    """3x3 stride-2 transposed conv; output cropped/padded to the skip's size so odd
    input sizes (e.g. 257 rows of a NIfTI) still work."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.ConvTranspose2d(
            channels, channels, kernel_size=3, stride=2, padding=1, output_padding=1
        )

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        dh, dw = skip.shape[-2] - x.shape[-2], skip.shape[-1] - x.shape[-1]
        x = nn.functional.pad(x, (0, dw, 0, dh))  # negative pad crops
        return torch.cat([x, skip], dim=1)


class FCDenseNet(nn.Module):
    """Configurable FC-DenseNet; the default (~0.1 M parameters) trains on 2 CPU cores
    in minutes. The paper's FC-DenseNet103 is ``down_layers=(4, 5, 7, 10, 12),
    bottleneck_layers=15, growth=16, stem_channels=48``."""

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 4,
        down_layers: Sequence[int] = (2, 3, 3, 4),
        bottleneck_layers: int = 4,
        growth: int = 8,
        stem_channels: int = 16,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.stem = nn.Conv2d(in_channels, stem_channels, kernel_size=3, padding=1)
        self.down_blocks = nn.ModuleList()
        self.trans_down = nn.ModuleList()
        ch = stem_channels
        skip_ch: list[int] = []
        for n in down_layers:
            block = DenseBlock(ch, growth, n, dropout)
            self.down_blocks.append(block)
            ch = block.out_channels
            skip_ch.append(ch)
            self.trans_down.append(TransitionDown(ch, dropout))
        self.bottleneck = DenseBlock(ch, growth, bottleneck_layers, dropout, upsample=True)
        ch = self.bottleneck.out_channels
        self.trans_up = nn.ModuleList()
        self.up_blocks = nn.ModuleList()
        for i, n in enumerate(reversed(down_layers)):
            self.trans_up.append(TransitionUp(ch))
            last = i == len(down_layers) - 1
            block = DenseBlock(ch + skip_ch[-1 - i], growth, n, dropout, upsample=not last)
            self.up_blocks.append(block)
            ch = block.out_channels
        self.head = nn.Conv2d(ch, out_channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        skips: list[torch.Tensor] = []
        for block, down in zip(self.down_blocks, self.trans_down, strict=True):
            x = block(x)
            skips.append(x)
            x = down(x)
        x = self.bottleneck(x)
        for up, block in zip(self.trans_up, self.up_blocks, strict=True):
            x = block(up(x, skips.pop()))
        return self.head(x)
