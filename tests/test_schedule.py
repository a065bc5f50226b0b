import pytest

from dualsr.config import PRESET_SETTINGS, PRESETS, DualSRConfig, preset, scheduled
from dualsr.errors import DualSRInputError
from dualsr.paper.schedule import Schedule


def test_learning_rates_follow_the_reference():
    s = Schedule(DualSRConfig())
    assert s.lr_up(0) == 1e-3 and s.lr_up(749) == 1e-3 and s.lr_up(750) == 5e-4 and s.lr_up(2999) == 1.25e-4
    assert s.lr_down(2e-4, 750) == 2e-4  # divided after step 750, as the reference's Learner does
    assert s.lr_down(2e-4, 751) == pytest.approx(5e-5)
    assert s.lr_down(2e-4, 1501) == pytest.approx(2e-4 / 16)


def test_kernel_prior_schedule():
    s = Schedule(DualSRConfig())
    w = s.weights
    assert (w.bicubic, w.sum2one, w.boundaries, w.centralized, w.sparse) == (5.0, 0.5, 0.5, 0.0, 0.0)
    s.after_step(1, 0.5)
    s.after_step(2, 0.3)
    s.after_step(3, 0.5)  # not consecutive: counter resets
    for step in (4, 5, 6):
        s.after_step(step, 0.1)
    assert s.similar_to_bicubic
    s.after_step(199, 0.1)
    assert w.bicubic == 5.0
    s.after_step(200, 0.1)
    assert w.bicubic == pytest.approx(0.05) and w.sparse == 0
    s.after_step(400, 0.1)
    assert w.bicubic == pytest.approx(5e-4) and w.centralized == 1.0 and w.sparse == 5.0
    s.after_step(600, 0.1)
    s.after_step(800, 0.1)
    assert w.bicubic == 5e-6


def test_presets_and_compressed_schedules():
    paper = preset("paper")
    assert paper == DualSRConfig()
    assert (paper.iterations, paper.lambda_cycle, paper.lambda_interp, paper.lambda_reg) == (3000, 5.0, 2.0, 2.0)
    assert (paper.hr_crop, paper.lr_crop, paper.batch_size) == (128, 64, 2)
    assert (paper.lr_up, paper.lr_dn, paper.lr_d, paper.beta1) == (1e-3, 2e-4, 2e-4, 0.5)
    short = scheduled(300)
    assert (short.lr_step, short.reg_update_every) == (75, 20)
    fast = preset("fast")
    assert fast.iterations == PRESETS["fast"] < 3000
    assert (fast.up_features, fast.batch_size) == (PRESET_SETTINGS["fast"]["up_features"], 1)
    assert fast.lr_step == round(750 * fast.iterations / 3000)  # the paper's schedule, compressed
    assert fast.kernel_estimator == "spectral" and paper.kernel_estimator == "gan"
    assert (fast.acquisition, paper.acquisition) == ("auto", "gaussian-blur")  # the paper's degradation model
    paper_like = {"up_features": 64, "batch_size": 2, "kernel_estimator": "gan", "noise": "off", "self_ensemble": False}
    paper_like["acquisition"] = "gaussian-blur"
    paper_like["noise_guide"], paper_like["back_projection"] = False, 0
    paper_like["cross_scale_check"] = False
    assert fast.cross_scale_check and not paper.cross_scale_check  # ours, not the paper's
    assert preset("fast", **paper_like) == scheduled(fast.iterations)  # overrides win
    assert preset("fast", iterations=3000, **paper_like) == paper
    assert preset("paper", iterations=500, lr_step=750).lr_step == 750  # explicit schedule fields are kept
    with pytest.raises(DualSRInputError, match="preset"):
        preset("slow")
    with pytest.raises(DualSRInputError, match="x2"):
        DualSRConfig(scale=4)
