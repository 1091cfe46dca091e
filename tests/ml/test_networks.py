import torch

from inference.ml.networks import FCDenseNet, VGGClassifier


def test_tiramisu_shapes_forward_backward():
    net = FCDenseNet(
        in_channels=1,
        out_channels=4,
        down_layers=(1, 2),
        bottleneck_layers=2,
        growth=4,
        stem_channels=8,
    )
    x = torch.randn(2, 1, 32, 32, requires_grad=True)
    y = net(x)
    assert y.shape == (2, 4, 32, 32)
    y.square().mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)


def test_tiramisu_odd_input_size():
    net = FCDenseNet(down_layers=(1, 1, 1), bottleneck_layers=1, growth=4, stem_channels=4).eval()
    with torch.no_grad():
        assert net(torch.randn(1, 1, 37, 29)).shape == (1, 4, 37, 29)


def test_vgg_multilabel_head_and_spatial_dropout():
    net = VGGClassifier(in_channels=6, n_outputs=3, widths=(8, 16), convs_per_stage=1)
    assert any(isinstance(m, torch.nn.Dropout2d) for m in net.modules())
    logits = net(torch.randn(4, 6, 32, 32))
    assert logits.shape == (4, 3)
    torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.ones(4, 3)).backward()
    assert net.head[-1].weight.grad is not None
