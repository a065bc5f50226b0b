"""Where result layers go in world coordinates: pure arithmetic, no napari import.

An LR pixel ``i`` covers HR pixels ``f*i .. f*i + f - 1``; its centre is the centre of
those. With input scale ``s`` and translate ``t`` (the world position of pixel 0's
centre), the x``f`` layer therefore gets scale ``s/f`` and translate
``t + 0.5*s*(1/f - 1)``: its first pixel centre sits a quarter LR pixel (for f = 2)
before the LR one, and the two images cover exactly the same area.

A layer may also be rotated, sheared or given an affine (napari: world = affine · (rotate · shear ·
scale · data + translate)). The result keeps all three; only the shift of its first pixel, which lies
in the input's rotated and sheared frame, is turned by ``rotate · shear`` (:func:`orientation_of`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def upscaled_placement(
    scale: Sequence[float],
    translate: Sequence[float],
    spatial: Sequence[int],
    factor: float = 2,
    orientation: dict[str, Any] | None = None,
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Scale and translate of a layer ``factor`` times finer on the ``spatial`` dims.

    Other dims (Z, T, C ...) keep their scale and translate, so the result's planes
    stay on the input's planes. ``orientation`` (:func:`orientation_of`): the input's rotate and shear,
    which turn the first pixel's shift.
    """
    new_scale = [float(s) for s in scale]
    shift = np.zeros(len(scale))
    for d in spatial:
        new_scale[d] = scale[d] / factor
        shift[d] = 0.5 * scale[d] * (1 / factor - 1)
    if orientation:
        shift = np.asarray(orientation["rotate"]) @ _shear_matrix(orientation["shear"], len(scale)) @ shift
    return tuple(new_scale), tuple(float(t + d) for t, d in zip(translate, shift))


def orientation_of(layer: Any) -> dict[str, Any]:
    """A layer's rotate and shear (napari's forms) and affine matrix, for the result layers to keep;
    empty where all three are the identity (the usual case: nothing to carry). Read from its attributes."""
    rotate, shear = np.asarray(layer.rotate, float), np.asarray(layer.shear, float)
    affine = np.asarray(layer.affine.affine_matrix, float)
    n = len(rotate)
    plain = np.allclose(rotate, np.eye(n)) and np.allclose(_shear_matrix(shear, n), np.eye(n))
    if plain and np.allclose(affine, np.eye(len(affine))):
        return {}
    return {"rotate": rotate, "shear": shear, "affine": affine}


def _shear_matrix(shear: Any, n: int) -> np.ndarray:
    """napari's shear as a matrix: a vector holds the upper triangle row by row, ones on the diagonal."""
    shear = np.asarray(shear, float)
    if shear.ndim == 2:
        return shear
    matrix = np.eye(n)
    matrix[np.triu_indices(n, 1)] = shear
    return matrix


def beside_placement(
    shape_yx: Sequence[int],
    scale_yx: Sequence[float],
    translate_yx: Sequence[float],
    size: int,
    fraction: float = 0.25,
    gap: float = 0.04,
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Scale and translate of a ``size x size`` thumbnail right of an image, tops aligned.

    The thumbnail (the estimated kernel, 13 px) is magnified to ``fraction`` of the
    image's shorter world side so it is readable next to the data without covering it.
    """
    height = shape_yx[0] * scale_yx[0]
    width = shape_yx[1] * scale_yx[1]
    pixel = fraction * min(height, width) / size
    top = translate_yx[0] - 0.5 * scale_yx[0]  # the image's top edge
    right = translate_yx[1] + (shape_yx[1] - 0.5) * scale_yx[1]  # its right edge
    return (pixel, pixel), (top + 0.5 * pixel, right + gap * width + 0.5 * pixel)
