"""The kernel-convergence tracker and its report in results."""

from __future__ import annotations

import numpy as np

from dualsr.kernels.convergence import NOT_SETTLED, SETTLED, SETTLING, KernelTracker, kernel_change
from dualsr.paper.kernel import gaussian_kernel


def test_kernel_change_is_relative_to_peak():
    a = gaussian_kernel(13, 2.0, 2.0)
    b = a.copy()
    b[6, 6] += 0.1 * a.max()
    assert np.isclose(kernel_change(b, a), 0.1)


def test_tracker_settles_only_after_a_full_quiet_window():
    tracker = KernelTracker(window=30, tolerance=0.05)
    moving = [gaussian_kernel(13, 1.0 + 0.5 * i, 1.0 + 0.5 * i) for i in range(10)]
    for i, k in enumerate(moving):  # a widening kernel: never settled
        assert tracker.update(10 * (i + 1), k) == SETTLING
    assert tracker.final_state() == NOT_SETTLED
    still = moving[-1]
    states = [tracker.update(100 + 10 * (i + 1), still) for i in range(4)]
    # the change is measured against the kernel 30 steps before: quiet from step 130 on
    assert states == [SETTLING, SETTLING, SETTLED, SETTLED]
    assert tracker.settled_at == 130 and tracker.final_state() == SETTLED
    tracker.update(150, moving[0])  # moves again: settled no more
    assert tracker.state == SETTLING


def test_training_reports_the_kernel_and_its_state(texture, tiny_config):
    from dualsr import train
    from dualsr.kernels.convergence import KNOWN

    seen = []
    result = train(texture, config=tiny_config.with_(iterations=20), progress=seen.append)
    assert [s.step for s in seen] == [1, 10, 20]
    assert all(s.kernel.shape == (13, 13) and np.isclose(s.kernel.sum(), 1.0) for s in seen)
    assert all(s.kernel_state == SETTLING for s in seen)  # a window of 20 steps is never complete
    assert seen[-1].model is result.upsampler.models[0]
    assert result.kernel_state == NOT_SETTLED and result.summary()["kernel_state"] == NOT_SETTLED
    assert "still changing" in result.summary()["kernel_warning"]
    known = train(texture, config=tiny_config, known_kernel=gaussian_kernel(13, 1.5, 1.5))
    assert known.kernel_state == KNOWN and not known.kernel_warning
