import numpy as np

from dualsr.paper.patches import PatchSampler, box_filter, clip_extreme, gradient_map


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


def test_single_plane_crops_are_pinned(texture):
    """Several-plane sampling left one-plane runs as they were (these are main's crops)."""
    a = PatchSampler(texture[None].astype(np.float32), 64, 32, 2, 50, seed=3)
    assert a.hr_corners[:3].tolist() == [[8, 106], [30, 78], [84, 16]]
    assert a.lr_corners[:3].tolist() == [[68, 124], [74, 38], [104, 102]]
    b = PatchSampler(texture[None, None].astype(np.float32), 64, 32, 2, 50, seed=3)  # (1, C, H, W)
    assert np.array_equal(a.hr_corners, b.hr_corners) and np.array_equal(a.lr_corners, b.lr_corners)


def test_several_planes_share_the_crops_and_each_follows_its_own_edges():
    """Plane 0 has its edges on the left, plane 1 on the right; each crop is cut from its plane."""
    import torch

    h, w = 160, 400
    planes = np.zeros((2, 1, h, w), np.float32)
    planes[0, 0, :, 40:80:8] = 1.0  # stripes on the left
    planes[1, 0, :, 320:360:8] = 1.0  # stripes on the right
    planes[1] += 10.0  # tells the planes apart in the cut patches
    s = PatchSampler(planes, 64, 32, 2, 100, seed=0).to(torch.device("cpu"))
    assert np.bincount(s.planes).tolist() == [100, 100]  # every plane equally often
    for p, side in ((0, s.lr_corners[:, 1] < w // 2), (1, s.lr_corners[:, 1] > w // 2)):
        assert side[s.planes == p].mean() > 0.9
    y, x = s.patches(3)
    assert [float(t.min()) >= 10 for t in x] == [bool(p) for p in s.planes[6:8]]
    assert [float(t.min()) >= 10 for t in y] == [bool(p) for p in s.planes[6:8]]
