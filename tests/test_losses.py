import numpy as np
import pytest
import torch

from dualsr.paper import losses
from dualsr.paper.kernel import penalty_mask


def test_lsgan_values():
    p = torch.tensor([0.5, 1.0, 0.0])
    assert losses.lsgan(p, True).item() == pytest.approx((0.25 + 0 + 1) / 3)
    assert losses.lsgan(p, False).item() == pytest.approx((0.25 + 1 + 0) / 3)


def test_cycle_shaves_the_target_symmetrically():
    original = torch.arange(36.0).reshape(1, 1, 6, 6)
    rec = original[..., 1:5, 1:5].clone() + 1
    assert losses.cycle_l1(rec, original).item() == pytest.approx(1.0)
    with pytest.raises(ValueError):
        losses.shave_to(original, torch.zeros(1, 1, 3, 3))


def test_sobel_and_mask_on_a_step_edge():
    img = torch.zeros(1, 1, 5, 5)
    img[..., 3:] = 1.0
    mag = losses.sobel_magnitude(img)
    # column 2 and 3 see the edge with full Sobel weight 1+2+1 = 4 inside the image
    assert mag[0, 0, 2, 2].item() == pytest.approx(4.0)
    assert mag[0, 0, 2, 0].item() == pytest.approx(0.0)
    mask = losses.interp_mask(img * 0.1)
    assert mask[0, 0, 2, 2].item() == pytest.approx(1 - 0.4)
    assert mask[0, 0, 2, 0].item() == pytest.approx(1.0)


def test_masked_interp_loss():
    up = torch.ones(1, 1, 2, 2)
    bic = torch.zeros(1, 1, 2, 2)
    mask = torch.tensor([[[[1.0, 0.0], [0.5, 0.5]]]])
    assert losses.masked_interp(up, bic, mask).item() == pytest.approx(0.5)


def test_kernel_prior_terms():
    k = torch.zeros(13, 13)
    k[6:8, 6:8] = 0.25  # sums to one, centre of mass at 6.5: the aligned ideal
    assert losses.kernel_sum_to_one(k).item() == pytest.approx(0.0)
    assert losses.kernel_centralized(k, 6.5).item() == pytest.approx(0.0)
    assert losses.kernel_centralized(k, 6.0).item() == pytest.approx(0.25)
    mask = torch.as_tensor(penalty_mask(13), dtype=torch.float32)
    assert losses.kernel_boundaries(k, mask).item() == 0.0
    assert losses.kernel_sparsity(k, 0.2).item() == pytest.approx(4 * 0.25**0.2 / 169)


def test_penalty_mask_is_zero_in_the_middle_and_grows_outwards():
    m = penalty_mask(13, 30)
    assert m.shape == (13, 13)
    assert (m[2:11, 2:11] == 0).all()
    assert m[0, 0] > m[0, 6] > 0
    assert np.isclose(m.max(), m[0, 0])


def test_bicubic_similarity_is_zero_for_the_bicubic_downscale():
    from dualsr.paper.networks import downsample_with_kernel
    from dualsr.paper.resize import bicubic_down_kernel

    y = torch.rand(1, 1, 32, 32)
    bk = torch.as_tensor(bicubic_down_kernel(), dtype=torch.float32)
    # the same 8x8 kernel zero-padded to 13x13 with its centre at 6.5 reproduces the reference grid
    k13 = torch.zeros(13, 13)
    k13[3:11, 3:11] = bk
    out = downsample_with_kernel(y, k13)
    assert losses.bicubic_similarity(out, y, bk).item() == pytest.approx(0.0, abs=1e-10)
