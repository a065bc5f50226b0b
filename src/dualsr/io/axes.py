"""Explicit axes: which dimensions are Y, X, channels, and planes of a stack.

Every array is handled in the canonical form ``(P, C, H, W)`` -- planes (all stack
axes such as Z and T flattened), channels, rows, columns -- and put back into the
caller's axis order afterwards. Axes are never guessed silently: 2D is ``YX``, 3D
with a last dimension of 3 or 4 is ``YXC`` (RGB/RGBA); anything else must be named.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dualsr.errors import DualSRInputError

SPATIAL = ("Y", "X")
Planes = int | tuple[int, ...] | list | range | str | None  # what ``Layout.plane_indices`` takes
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

    def plane_array(self, plane: np.ndarray) -> np.ndarray:
        """One canonical ``(C, H, W)`` plane in this layout's own order of C, Y and X."""
        if "C" not in self.axes:
            return plane[0]
        return np.transpose(plane, ["CYX".index(a) for a in self.axes if a in "CYX"])

    def plane_key(self, plane: int, region: tuple[int, int, int, int] | None = None, factor: int = 1) -> tuple:
        """Index of flat ``plane`` (or its ``region`` y0, y1, x0, x1) in an array of this
        layout that is ``factor`` times larger in Y and X: ``out[key] = plane_array``."""
        stack = iter(np.unravel_index(plane, self.stack_shape) if self.stack_axes else ())
        y0, y1, x0, x1 = region or (0, self.height, 0, self.width)
        spans = {"Y": slice(factor * y0, factor * y1), "X": slice(factor * x0, factor * x1), "C": slice(None)}
        return tuple(spans[a] if a in spans else int(next(stack)) for a in self.axes)

    def scaled_shape(self, factor: int) -> tuple[int, ...]:
        return tuple(s * factor if a in SPATIAL else s for a, s in zip(self.axes, self.shape))

    def plane_indices(self, planes: Planes) -> list[int]:
        """Flat plane numbers: ``"all"``, a list or range of planes (ints or stack indices),
        or one plane as :meth:`plane_index` takes it."""
        if isinstance(planes, str):
            if planes != "all":
                raise DualSRInputError(f"planes {planes!r}: use 'all', a plane number or a list of them")
            return list(range(self.planes))
        if not isinstance(planes, (list, range)):
            return [self.plane_index(planes)]
        indices = list(dict.fromkeys(self.plane_index(p) for p in planes))  # in order, once each
        if not indices:
            raise DualSRInputError("the list of planes to train on is empty; give at least one plane")
        return indices

    def plane_index(self, plane: int | tuple[int, ...] | None) -> int:
        """Flat plane number from ``None`` (the middle plane), an int or a stack index (a tuple)."""
        if plane is None:
            return self.planes // 2 if self.planes > 1 else 0
        if isinstance(plane, tuple):
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
