import numpy as np

from dualsr.patches import PatchSampler, box_filter, clip_extreme, gradient_map


def test_box_filter_matches_a_direct_sum():
    rng = np.random.default_rng(0)
    img = rng.random((9, 11))
    for size in (3, 4, 5):
        out = box_filter(img, size)
        padded = np.pad(img, ((size // 2, (size - 1) // 2),) * 2)
        direct = np.array([[padded[i : i + size, j : j + size].mean() for j in range(11)] for i in range(9)])
        assert np.allclose(out, direct)


def test_clip_extreme_keeps_only_the_top():
    v = np.arange(100.0)
    out = clip_extreme(v, 0.97)
    assert (out[:97] == 0).all() and out.max() == 1.0


def test_gradient_map_follows_edges(texture):
    flat = np.zeros((64, 64))
    flat[:, 32:] = 1
    m = gradient_map(flat)
    assert m[:, 28:36].mean() > 5 * m[:, :20].mean()


def test_sampler_is_seeded_even_and_in_bounds(texture):
    img = texture[None].astype(np.float32)
    a = PatchSampler(img, 64, 32, 2, 50, seed=3)
    b = PatchSampler(img, 64, 32, 2, 50, seed=3)
    assert np.array_equal(a.hr_corners, b.hr_corners) and np.array_equal(a.lr_corners, b.lr_corners)
    assert (a.hr_corners % 2 == 0).all() and (a.lr_corners % 2 == 0).all()
    h, w = a.image.shape[1:]
    assert (a.hr_corners[:, 0] <= h - 64).all() and (a.hr_corners[:, 1] <= w - 64).all()
    import torch

    y, x = a.to(torch.device("cpu")).patches(0)
    assert y.shape == (2, 1, 64, 64) and x.shape == (2, 1, 32, 32)
