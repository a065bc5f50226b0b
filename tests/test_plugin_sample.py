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
    assert set(offered) == {"degraded_cell", "noisy_tissue", "camera_cells"} and "noise" in offered["noisy_tissue"]
    viewer.open_sample("napari-dualsr", "degraded_cell")
    viewer.open_sample("napari-dualsr", "noisy_tissue")
    clean, noisy = viewer.layers["degraded tissue"], viewer.layers["noisy tissue"]
    assert np.array_equal(clean.data, sample_lr().data) and np.array_equal(noisy.data, sample_noisy_lr().data)
    assert np.allclose(noisy.scale, (0.2, 0.2)) and np.allclose(noisy.scale, clean.scale)
    mild, strong = estimate_noise(clean.data), estimate_noise(noisy.data)  # 4000 and 300 photons at full scale
    assert mild.is_noisy() and strong.is_noisy() and strong.level > 2 * mild.level


def test_the_camera_sample_carries_its_pixel_size_and_objective(make_napari_viewer):
    """Made the real way (a fluorescence scene through NA 1.2, binned by a camera, shot noise): the
    train widget reads a camera acquisition from the layer and ``auto`` says so."""
    from dualsr.io.sample import sample_camera_hr, sample_camera_lr
    from napari_dualsr._jobs import instrument_of

    viewer = make_napari_viewer()
    viewer.open_sample("napari-dualsr", "camera_cells")
    layer = viewer.layers["camera cells"]
    assert np.array_equal(layer.data, sample_camera_lr().data) and np.allclose(layer.scale, (0.16, 0.16))
    hr = viewer.layers["camera cells HR (80 nm)"]
    assert hr.data.shape == (512, 512) and np.array_equal(hr.data, sample_camera_hr().data)
    instrument = instrument_of(layer)
    assert instrument.optics_known and instrument.pixel_size == pytest.approx(0.16) and instrument.sampling > 1
    assert estimate_noise(layer.data).is_noisy()  # shot noise, as a camera records it
