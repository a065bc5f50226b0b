"""The bundled samples open from napari's *File > Open Sample > DualSR* in a real viewer (``xvfb-run -a``)."""

from __future__ import annotations

import numpy as np
import pytest

from dualsr.io.sample import sample_lr, sample_noisy_lr
from dualsr.noise.estimate import estimate_noise

pytestmark = pytest.mark.gui


def test_clean_and_noisy_samples_are_offered_and_open(make_napari_viewer):
    from npe2 import PluginManager

    viewer = make_napari_viewer()
    offered = {s.key: s.display_name for s in dict(PluginManager.instance().iter_sample_data())["napari-dualsr"]}
    assert set(offered) == {"degraded_cell", "noisy_tissue"} and "noise" in offered["noisy_tissue"]
    viewer.open_sample("napari-dualsr", "degraded_cell")
    viewer.open_sample("napari-dualsr", "noisy_tissue")
    clean, noisy = viewer.layers["degraded tissue"], viewer.layers["noisy tissue"]
    assert np.array_equal(clean.data, sample_lr().data) and np.array_equal(noisy.data, sample_noisy_lr().data)
    assert np.allclose(noisy.scale, (0.2, 0.2)) and np.allclose(noisy.scale, clean.scale)
    mild, strong = estimate_noise(clean.data), estimate_noise(noisy.data)  # 4000 and 300 photons at full scale
    assert mild.is_noisy() and strong.is_noisy() and strong.level > 2 * mild.level
