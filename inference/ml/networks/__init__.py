"""Network definitions (MONAI-style typed ``nn.Module`` classes)."""

from inference.ml.networks.tiramisu import FCDenseNet
from inference.ml.networks.vgg import VGGClassifier

__all__ = ["FCDenseNet", "VGGClassifier"]
