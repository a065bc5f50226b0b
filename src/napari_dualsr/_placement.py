"""Where result layers go in world coordinates: pure arithmetic, no napari import.

An LR pixel ``i`` covers HR pixels ``f*i .. f*i + f - 1``; its centre is the centre of
those. With input scale ``s`` and translate ``t`` (the world position of pixel 0's
centre), the x``f`` layer therefore gets scale ``s/f`` and translate
``t + 0.5*s*(1/f - 1)``: its first pixel centre sits a quarter LR pixel (for f = 2)
before the LR one, and the two images cover exactly the same area.
"""

from __future__ import annotations

from collections.abc import Sequence


def upscaled_placement(
    scale: Sequence[float], translate: Sequence[float], spatial: Sequence[int], factor: float = 2
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Scale and translate of a layer ``factor`` times finer on the ``spatial`` dims.

    Other dims (Z, T, C ...) keep their scale and translate, so the result's planes
    stay on the input's planes.
    """
    new_scale, new_translate = [float(s) for s in scale], [float(t) for t in translate]
    for d in spatial:
        new_scale[d] = scale[d] / factor
        new_translate[d] = translate[d] + 0.5 * scale[d] * (1 / factor - 1)
    return tuple(new_scale), tuple(new_translate)


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
