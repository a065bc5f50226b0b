"""Sample data: the bundled degraded microscopy image, its HR original and true kernel (clean or noisy),
and a camera sample made the real way (a fluorescence scene binned by a camera, with shot noise)."""

from __future__ import annotations

from dataclasses import asdict

from dualsr.io.sample import sample_camera_hr, sample_camera_lr, sample_hr, sample_kernel, sample_lr, sample_noisy_lr


def make_sample() -> list[tuple]:
    """HR original (hidden), the true kernel (hidden) and the LR image to super-resolve.

    The LR image comes last so napari makes it the active layer: the widgets pick it up.
    """
    lr, hr = sample_lr(), sample_hr()
    scale = lr.pixel_size or (1.0, 1.0)
    return [
        (
            hr.data,
            {
                "name": "tissue HR original",
                "scale": (scale[0] / 2, scale[1] / 2),
                "translate": (-scale[0] / 4, -scale[1] / 4),
                "visible": False,
            },
            "image",
        ),
        (sample_kernel(), {"name": "true kernel", "colormap": "inferno", "visible": False}, "image"),
        (lr.data, {"name": "degraded tissue", "scale": scale, "colormap": "gray"}, "image"),
    ]


def make_noisy_sample() -> list[tuple]:
    """The same layers with the LR under strong shot noise (300 photons at full scale)."""
    noisy = sample_noisy_lr().data
    return [
        (noisy, {**meta, "name": "noisy tissue"}, kind) if meta["name"] == "degraded tissue" else (data, meta, kind)
        for data, meta, kind in make_sample()
    ]


def make_camera_sample() -> list[tuple]:
    """The camera sample: HR (hidden, 80 nm pixels) and the LR a camera with 160 nm pixels recorded.

    The LR layer carries its pixel size (scale in µm) and its objective (``metadata["instrument"]``),
    which the train widget reads: ``auto`` then knows it is a camera acquisition and says so.
    """
    lr, hr = sample_camera_lr(), sample_camera_hr()
    pixel = lr.instrument.pixel_size
    return [
        (
            hr.data,
            {
                "name": "camera cells HR (80 nm)",
                "scale": (pixel / 2, pixel / 2),
                "translate": (-pixel / 4, -pixel / 4),
                "units": ("um", "um"),
                "visible": False,
                "colormap": "green",
            },
            "image",
        ),
        (
            lr.data,
            {
                "name": "camera cells",
                "scale": (pixel, pixel),
                "units": ("um", "um"),
                "colormap": "green",
                "metadata": {"instrument": asdict(lr.instrument)},
            },
            "image",
        ),
    ]
