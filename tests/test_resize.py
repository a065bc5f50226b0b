import numpy as np
import torch

from dualsr.paper.resize import bicubic_down_kernel, bicubic_resize, bicubic_resize_np, cubic, resize_matrix


def test_cubic_is_keys_with_a_minus_half():
    assert cubic(np.array([0.0]))[0] == 1.0
    assert np.isclose(cubic(np.array([0.5]))[0], 0.5625)  # (a+2)/8 - (a+3)/4 + 1 with a=-0.5
    assert np.isclose(cubic(np.array([1.5]))[0], -0.0625)
    assert cubic(np.array([2.0]))[0] == 0.0


def test_upscale_matrix_weights_match_matlab():
    m = resize_matrix(6, 2.0)
    # output 4 sits at input 1.75: taps at 0..3 with distances 1.75, 0.75, 0.25, 1.25
    expected = cubic(np.array([1.75, 0.75, 0.25, 1.25]))
    assert np.allclose(m[4, :4], expected / expected.sum())
    # border: output 0 at -0.25, mirrored taps (-2 -> 1, -1 -> 0)
    assert np.allclose(m.sum(axis=1), 1)


def test_bicubic_down_kernel_is_kernelgans():
    k = bicubic_down_kernel(0.5)
    assert k.shape == (8, 8)
    assert np.isclose(k[3, 3], 0.1880035400390630)
    assert np.isclose(k[0, 0], 0.0001373291015625)
    assert np.isclose(k.sum(), 1)


def test_bicubic_upscale_keeps_linear_ramps_and_constants():
    x = np.tile(np.arange(10.0), (10, 1))
    up = bicubic_resize_np(x, 2.0)
    assert up.shape == (20, 20)
    centre = up[:, 4:-4]
    assert np.allclose(centre, (np.arange(20) / 2 - 0.25)[4:-4][None].repeat(20, 0))
    t = torch.full((1, 2, 8, 8), 0.3)
    assert torch.allclose(bicubic_resize(t, 2), torch.full((1, 2, 16, 16), 0.3))


def test_torch_and_numpy_resize_agree():
    x = np.random.default_rng(0).random((12, 14))
    t = bicubic_resize(torch.from_numpy(x)[None, None], 0.5)[0, 0].numpy()
    assert np.allclose(t, bicubic_resize_np(x, 0.5))
