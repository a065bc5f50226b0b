"""Explicit axes: which dimensions are Y, X, channels, and planes of a stack.

Every array is handled in the canonical form ``(P, C, H, W)`` -- planes (all stack
axes such as Z and T flattened), channels, rows, columns -- and put back into the
caller's axis order afterwards. Axes are never guessed silently: 2D is ``YX``, 3D
with a last dimension of 3 or 4 is ``YXC`` (RGB/RGBA); anything else must be named.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import DualSRInputError

SPATIAL = ("Y", "X")
MAX_DIMS = 5


def default_axes(shape: tuple[int, ...]) -> str:
    """The documented rule for arrays given without axes."""
    if len(shape) == 2:
        return "YX"
    if len(shape) == 3 and shape[-1] in (3, 4):
        return "YXC"
    raise DualSRInputError(
        f"cannot tell the axes of a {len(shape)}D array of shape {tuple(shape)}; "
        "name them, e.g. --axes ZYX, CYX, TYX or YXC"
    )


@dataclass(frozen=True)
class Layout:
    """The axes of one array and how to move it to and from ``(P, C, H, W)``."""

    axes: str
    shape: tuple[int, ...]

    @classmethod
    def of(cls, shape: tuple[int, ...], axes: str | None = None) -> Layout:
        if len(shape) < 2 or len(shape) > MAX_DIMS:
            raise DualSRInputError(
                f"images must have 2 to {MAX_DIMS} dimensions, got {len(shape)} (shape {tuple(shape)}); "
                "pass one 2D image or a stack of them (axes from TZCYX)"
            )
        axes = (axes or default_axes(shape)).upper()
        if len(axes) != len(shape):
            raise DualSRInputError(
                f"axes {axes!r} name {len(axes)} dimensions but the image has {len(shape)} (shape {tuple(shape)})"
            )
        if len(set(axes)) != len(axes) or not axes.isalpha():
            raise DualSRInputError(f"axes {axes!r} must be distinct letters such as TZCYX")
        if "Y" not in axes or "X" not in axes:
            raise DualSRInputError(f"axes {axes!r} must contain Y and X")
        return cls(axes, tuple(int(s) for s in shape))

    @property
    def stack_axes(self) -> str:
        return "".join(a for a in self.axes if a not in "CYX")

    @property
    def _order(self) -> list[int]:
        order = [self.axes.index(a) for a in self.stack_axes]
        if "C" in self.axes:
            order.append(self.axes.index("C"))
        return order + [self.axes.index("Y"), self.axes.index("X")]

    @property
    def stack_shape(self) -> tuple[int, ...]:
        return tuple(self.shape[self.axes.index(a)] for a in self.stack_axes)

    @property
    def planes(self) -> int:
        return int(np.prod(self.stack_shape, dtype=np.int64))

    @property
    def channels(self) -> int:
        return self.shape[self.axes.index("C")] if "C" in self.axes else 1

    @property
    def height(self) -> int:
        return self.shape[self.axes.index("Y")]

    @property
    def width(self) -> int:
        return self.shape[self.axes.index("X")]

    @property
    def is_rgb(self) -> bool:
        """Colour images (``...YXC`` with 3 or 4 channels) are trained jointly, as in the paper."""
        return self.axes.endswith("C") and self.channels in (3, 4)

    def canonical(self, data: np.ndarray) -> np.ndarray:
        """``data`` as ``(P, C, H, W)`` (a view where possible)."""
        moved = np.transpose(data, self._order)
        return moved.reshape(self.planes, self.channels, self.height, self.width)

    def restore(self, data: np.ndarray) -> np.ndarray:
        """``(P, C, H', W')`` back into this layout's axis order (new H', W')."""
        h, w = data.shape[-2:]
        moved_shape = [*self.stack_shape, *([self.channels] if "C" in self.axes else []), h, w]
        return np.transpose(data.reshape(moved_shape), np.argsort(self._order))

    def scaled_shape(self, factor: int) -> tuple[int, ...]:
        return tuple(s * factor if a in SPATIAL else s for a, s in zip(self.axes, self.shape))

    def plane_index(self, plane: int | tuple[int, ...] | None) -> int:
        """Flat plane number from ``None`` (the middle plane), an int or a stack index."""
        if plane is None:
            return self.planes // 2 if self.planes > 1 else 0
        if isinstance(plane, (tuple, list)):
            if len(plane) != len(self.stack_shape):
                raise DualSRInputError(f"plane {tuple(plane)} needs one index per stack axis {self.stack_axes!r}")
            for i, n in zip(plane, self.stack_shape):
                if not 0 <= i < n:
                    raise DualSRInputError(f"plane {tuple(plane)} is outside the stack {self.stack_shape}")
            return int(np.ravel_multi_index(tuple(plane), self.stack_shape))
        if not 0 <= int(plane) < self.planes:
            raise DualSRInputError(
                f"plane {plane} does not exist: the stack has {self.planes} planes (0..{self.planes - 1})"
            )
        return int(plane)
