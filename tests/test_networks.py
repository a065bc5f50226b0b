import torch

from dualsr.paper.networks import G_DN_KERNEL_SIZE, DiscriminatorDown, GeneratorDown, GeneratorUp
from dualsr.paper.resize import bilinear_up2


def test_composed_kernel_equals_layers_in_output_and_gradients():
    torch.manual_seed(0)
    g = GeneratorDown()
    x = torch.rand(2, 3, 128, 128)
    assert G_DN_KERNEL_SIZE == 13 and g.kernel().shape == (13, 13)
    fast, slow = g(x), g.forward_layers(x)
    assert fast.shape == slow.shape == (2, 3, 58, 58)
    assert torch.allclose(fast, slow, atol=1e-5 * slow.abs().max().item())
    target = torch.rand_like(slow)
    grads = []
    for out in (g(x), g.forward_layers(x)):
        g.zero_grad()
        ((out - target) ** 2).mean().backward()
        grads.append([p.grad.clone() for p in g.parameters()])
    for a, b in zip(*grads):
        assert torch.allclose(a, b, rtol=1e-3, atol=1e-4 * b.abs().max().item())


def test_g_dn_initialisation_is_kernelgans():
    torch.manual_seed(0)
    g = GeneratorDown()
    first = g.layers[0].weight
    assert abs(first.mean().item() - 1 / 49) < 0.2 / 49
    assert all(layer.bias is None for layer in g.layers)


def test_g_up_is_bilinear_plus_residual():
    torch.manual_seed(0)
    g = GeneratorUp(channels=3)
    x = torch.rand(1, 3, 20, 24)
    out = g(x)
    assert out.shape == (1, 3, 40, 48)
    assert torch.allclose(out - g.body(bilinear_up2(x)), bilinear_up2(x), atol=1e-6)
    convs = [m for m in g.body if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 8 and all((c.bias == 0).all() for c in convs)


def test_bilinear_up2_is_half_pixel_aligned():
    x = torch.rand(2, 3, 7, 9)
    ref = torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    assert torch.allclose(bilinear_up2(x), ref, atol=1e-6)


def test_discriminator_patch_output():
    d = DiscriminatorDown(channels=1)
    out = d(torch.rand(2, 1, 58, 58))
    assert out.shape == (2, 1, 52, 52)
    assert ((out > 0) & (out < 1)).all()


def test_the_discriminator_init_as_the_reference_code_runs_it():
    """The reference's Xavier init (gain 0.1) lands on spectral norm's computed weight after a
    forward pass, so its parameters keep PyTorch's default init: ~20x larger than Xavier's."""
    torch.manual_seed(0)
    written = DiscriminatorDown(3, init="xavier").first.parametrizations.weight.original
    torch.manual_seed(0)
    run = DiscriminatorDown(3, init="reference").first.parametrizations.weight.original
    xavier_std = 0.1 * (2 / (3 * 49 + 64 * 49)) ** 0.5
    default_std = (1 / (3 * 3 * 49)) ** 0.5  # kaiming_uniform(a=sqrt 5): U(+-1/sqrt(fan_in)), fan_in = 3 * 49
    assert abs(written.std().item() / xavier_std - 1) < 0.1
    assert abs(run.std().item() / default_std - 1) < 0.1 and run.std() > 15 * written.std()
