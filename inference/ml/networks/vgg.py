"""A small VGG-style classifier for 2D / 2.5D crops (adjacent slices as channels).

Stacks of 3x3 convolutions with spatial dropout (``nn.Dropout2d`` drops whole
feature maps, a better regulariser than element dropout for small image data sets,
as in the RadBot paper), global average pooling, and one logit per detector
(multi-label: independent sigmoids, trained with BCE).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def _vgg_stage(cin: int, cout: int, n_convs: int, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(n_convs):
        layers += [
            nn.Conv2d(cin if i == 0 else cout, cout, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        ]
    layers += [nn.MaxPool2d(2), nn.Dropout2d(dropout)]
    return nn.Sequential(*layers)


class VGGClassifier(nn.Module):
    """``in_channels`` x H x W -> ``n_outputs`` logits."""

    def __init__(
        self,
        in_channels: int = 3,
        n_outputs: int = 3,
        widths: Sequence[int] = (16, 32, 64, 96),
        convs_per_stage: int = 2,
        spatial_dropout: float = 0.1,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        stages = []
        cin = in_channels
        for w in widths:
            stages.append(_vgg_stage(cin, w, convs_per_stage, spatial_dropout))
            cin = w
        self.features = nn.Sequential(*stages)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(cin, n_outputs),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
