"""The first check every input array gets: numeric, not empty, finite."""

from __future__ import annotations

from typing import Any

import numpy as np

from dualsr.errors import DualSRInputError


def check_image(image: Any) -> np.ndarray:
    """The input as a numeric ndarray, or a DualSRInputError that says what to do."""
    data = np.asarray(image)
    if data.size == 0:
        raise DualSRInputError(f"the image is empty (shape {data.shape}); pass an image with pixels")
    if data.dtype == bool or not (np.issubdtype(data.dtype, np.integer) or np.issubdtype(data.dtype, np.floating)):
        raise DualSRInputError(f"images of dtype {data.dtype} are not supported; convert to uint8, uint16 or float32")
    if np.issubdtype(data.dtype, np.floating) and not np.isfinite(data).all():
        bad = int(np.size(data) - np.count_nonzero(np.isfinite(data)))
        raise DualSRInputError(f"the image has {bad} NaN/Inf pixels; replace them (e.g. with 0 or the median) first")
    return data
