"""Zarr and OME-Zarr in and out, for arrays that are processed block by block.

In: a Zarr array (axes from ``--axes`` or its dimension names), or an OME-Zarr image
group (axes, pixel size and levels from its ``multiscales`` metadata; its full-resolution
level is read). Out: a Zarr array of the same format, chunked one block per chunk, or
for OME-Zarr in, an OME-Zarr image of the same version whose level 0 is the x2 result
(pixel size halved, pixel centres kept) and whose lower levels are rebuilt from it.

Inputs are opened read-only. The output records the run (``attrs["dualsr"]``): a rerun of
the same command finds it and continues, while any other existing folder is refused.
Chunks are written whole or not at all (zarr's local store writes a temporary file and
renames it), so a chunk on disk is a finished block.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from dualsr.errors import DualSRInputError
from dualsr.io.axes import Layout
from dualsr.io.normalize import to_dtype

MARKERS = ("zarr.json", ".zarray", ".zgroup")
OME_ZARR_FORMAT = {"0.4": 2, "0.5": 3}


def is_zarr(path: str | os.PathLike) -> bool:
    """A folder holding Zarr metadata (array or group), or a name ending in ``.zarr``."""
    p = Path(path)
    return p.suffix.lower() == ".zarr" or (p.is_dir() and any((p / m).is_file() for m in MARKERS))


@dataclass
class OmeImage:
    """The OME ``multiscales`` entry of an input image group, as its version writes it."""

    version: str
    multiscale: dict[str, Any]
    omero: dict[str, Any] | None = None

    @property
    def axes(self) -> str:
        return "".join(a if isinstance(a, str) else a["name"] for a in self.multiscale["axes"]).upper()

    @property
    def levels(self) -> int:
        return len(self.multiscale["datasets"])


@dataclass
class ZarrInput:
    """An input array opened read-only: where it is, what it is, and the OME image around it.

    ``root`` is what was given (the OME image group), ``path`` the array that is read.
    """

    root: Path
    path: Path
    array: zarr.Array
    axes: str | None
    ome: OmeImage | None = None
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def zarr_format(self) -> int:
        """The output's Zarr format: the OME version's (0.4: 2, 0.5: 3), else the input array's."""
        if self.ome is not None and self.ome.version in OME_ZARR_FORMAT:
            return OME_ZARR_FORMAT[self.ome.version]
        return self.array.metadata.zarr_format


def open_input(path: str | os.PathLike, axes: str | None = None) -> ZarrInput:
    """Open a Zarr array or OME-Zarr image read-only; DualSRInputError says what else to give."""
    path = Path(path)
    if not path.exists():
        raise DualSRInputError(f"{path}: no such Zarr; check the path")
    try:
        node = zarr.open(path, mode="r")
    except Exception as exc:  # noqa: BLE001 - any failure means an unreadable store to the user
        raise DualSRInputError(f"{path}: cannot read it as Zarr ({exc}); is it complete?") from exc
    if isinstance(node, zarr.Array):
        return ZarrInput(path, path, node, axes or _dimension_axes(node), None, dict(node.attrs))
    ome = _ome_image(node.attrs.asdict())
    if ome is None:
        raise DualSRInputError(f"{path} is a Zarr group without an OME image in it; {_inside(node, path)}")
    level0 = path / ome.multiscale["datasets"][0]["path"]
    try:
        array = zarr.open_array(level0, mode="r")
    except Exception as exc:  # noqa: BLE001
        raise DualSRInputError(f"{level0}: cannot read the OME image's full-resolution level ({exc})") from exc
    return ZarrInput(path, level0, array, axes or ome.axes, ome)


def _dimension_axes(array: zarr.Array) -> str | None:
    """Axes from a Zarr v3 array's dimension names when they are axis letters (``z, y, x``)."""
    names = getattr(array.metadata, "dimension_names", None)
    if not names or any(not isinstance(n, str) or len(n) != 1 for n in names):
        return None
    return "".join(names).upper()


def _ome_image(attrs: dict[str, Any]) -> OmeImage | None:
    """OME-Zarr 0.5 nests its metadata under ``ome``; 0.4 puts it at the top with a version per entry."""
    ome = attrs.get("ome", attrs)
    multiscales = ome.get("multiscales")
    if not multiscales:
        return None
    version = str(ome.get("version") or multiscales[0].get("version") or "0.4")
    return OmeImage(version, multiscales[0], ome.get("omero"))


def _inside(group: zarr.Group, path: Path) -> str:
    names = sorted(group.group_keys()) + sorted(group.array_keys())
    if not names:
        return "it holds no arrays"
    return f"give one of what it holds, e.g. {path / names[0]} (it holds {', '.join(names[:6])})"


def model_digest(path: str | os.PathLike) -> str:
    """SHA-256 of the model file: a resumed run must use the very same model."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass
class ZarrOutput:
    """The output being filled: level 0 (the x2 result) and, for OME, its group."""

    path: Path
    level0: Path
    array: zarr.Array
    record: dict[str, Any]

    @property
    def complete(self) -> bool:
        return bool(self.record.get("complete"))

    @property
    def normalization(self) -> dict[str, Any] | None:
        return self.record.get("normalization")

    def save(self, **changes: Any) -> None:
        """Update the run record (attributes are rewritten whole, atomically)."""
        self.record.update(changes)
        node = zarr.open(self.path, mode="r+")
        node.attrs["dualsr"] = self.record

    def written(self, chunks: list[tuple[int, ...]]) -> set[tuple[int, ...]]:
        """Which of ``chunks`` are on disk (finished blocks)."""
        encode = self.array.metadata.encode_chunk_key
        return {c for c in chunks if (self.level0 / encode(c)).is_file()}


def prepare_output(
    path: str | os.PathLike,
    layout: Layout,
    dtype: np.dtype,
    scale: int,
    chunks: tuple[int, ...],
    job: dict,
    like: ZarrInput | None = None,
) -> ZarrOutput:
    """Create the output, or reopen it when it holds an unfinished run of the same ``job``.

    ``like`` is the Zarr input whose format, OME image and attributes the output takes;
    without one (a napari layer) it is a plain Zarr v3 array.
    """
    path = Path(path)
    record = check_output_zarr(path, job, like) or {"job": job, "complete": False}
    ome = like.ome if like is not None else None
    fmt = like.zarr_format if like is not None else 3
    level0 = path / ome.multiscale["datasets"][0]["path"] if ome else path
    if ome:
        group = zarr.open_group(path, mode="a", zarr_format=fmt)
        if "dualsr" not in group.attrs:
            group.attrs["dualsr"] = record
    attrs = {} if ome else {**(like.attrs if like is not None else {}), "dualsr": record}
    array = _array(level0, layout.scaled_shape(scale), chunks, dtype, fmt, layout.axes, attrs)
    return ZarrOutput(path, level0, array, record)


def check_output_zarr(path: Path, job: dict, like: ZarrInput | None = None) -> dict | None:
    """The record of an unfinished run of ``job`` at ``path``, None for a new output; else a one-line error."""
    if like is not None and _overlaps(path.resolve(), like.root.resolve()):
        raise DualSRInputError(f"{path}: the output would overwrite the input or go inside it; choose another name")
    if not path.exists():
        if not path.resolve().parent.is_dir():
            raise DualSRInputError(f"{path}: the folder {path.resolve().parent} does not exist; create it first")
        return None
    record = _existing_record(path)
    if record.get("job") != job:
        raise DualSRInputError(
            f"{path} already exists and is not an unfinished run of this command (other input, model, tile "
            "or version); remove it or choose another output"
        )
    return record


def _overlaps(a: Path, b: Path) -> bool:
    return a == b or a.is_relative_to(b) or b.is_relative_to(a)


def _existing_record(path: Path) -> dict:
    try:
        record = zarr.open(path, mode="r").attrs.get("dualsr")
    except Exception:  # noqa: BLE001 - not a Zarr at all: refused below
        record = None
    return record if isinstance(record, dict) else {}


def _array(path: Path, shape, chunks, dtype: np.dtype, fmt: int, axes: str, attrs: dict) -> zarr.Array:
    """Open an array a previous run created, else create it (every chunk stored, even empty ones)."""
    if any((path / m).is_file() for m in (".zarray", "zarr.json")):
        return zarr.open_array(path, mode="r+")
    names = {"dimension_names": list(axes.lower())} if fmt == 3 else {}
    return zarr.create_array(
        store=path,
        shape=shape,
        chunks=chunks,
        dtype=dtype,
        fill_value=0,
        zarr_format=fmt,
        attributes=attrs,
        config={"write_empty_chunks": True},
        **names,
    )


@functools.lru_cache(maxsize=8)
def _opened(path: str, mode: str) -> zarr.Array:
    """One open array per worker process and path (metadata read once, not per block)."""
    return zarr.open_array(path, mode=mode)


@dataclass(frozen=True)
class ZarrArray:
    """A picklable handle on an array on a disk every worker sees: workers open it themselves."""

    path: str

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(_opened(self.path, "r").shape)

    def read(self, slices: tuple[slice, ...]) -> np.ndarray:
        return np.asarray(_opened(self.path, "r")[slices])

    def write(self, slices: tuple[slice, ...], data: np.ndarray) -> None:
        try:
            _opened(self.path, "r+")[slices] = data
        except OSError as exc:  # disk full, permissions: name the output, not a temporary chunk file
            raise OSError(exc.errno, exc.strerror, self.path) from exc


def level_shapes(shape: tuple[int, ...], axes: str, levels: int) -> list[tuple[int, ...]]:
    """Shapes of a pyramid whose every level halves Y and X (rounding up) of the one above."""
    shapes = [tuple(shape)]
    for _ in range(levels - 1):
        shapes.append(tuple((s + 1) // 2 if a in "YX" else s for a, s in zip(axes, shapes[-1])))
    return shapes


def create_levels(out: ZarrOutput, source: ZarrInput, axes: str) -> list[ZarrArray]:
    """The arrays of levels 1.. of an OME output (created empty; filled by ``downsample``)."""
    assert source.ome is not None
    paths = [d["path"] for d in source.ome.multiscale["datasets"]]
    shapes = level_shapes(out.array.shape, axes, len(paths))
    arrays = []
    for p, shape in zip(paths[1:], shapes[1:]):
        chunks = tuple(min(c, s) for c, s in zip(out.array.chunks, shape))
        _array(out.path / p, shape, chunks, out.array.dtype, source.zarr_format, axes, {})
        arrays.append(ZarrArray(str(out.path / p)))
    return arrays


def downsample(src: ZarrArray, dst: ZarrArray, slices: tuple[slice, ...], axes: str) -> None:
    """One chunk of the next level: the mean of each 2x2 block of pixels (edges repeated)."""
    upper = src.shape
    wide = tuple(slice(2 * s.start, min(2 * s.stop, n)) if a in "YX" else s for a, s, n in zip(axes, slices, upper))
    data = src.read(wide).astype(np.float64)
    pad = [(0, data.shape[i] % 2 if a in "YX" else 0) for i, a in enumerate(axes)]
    data = np.pad(data, pad, mode="edge")
    for i, a in enumerate(axes):
        if a in "YX":
            shape = data.shape[:i] + (data.shape[i] // 2, 2) + data.shape[i + 1 :]
            data = data.reshape(shape).mean(axis=i + 1)
    dst.write(slices, to_dtype(data, np.dtype(_opened(src.path, "r").dtype)))


def ome_datasets(source: ZarrInput, axes: str, scale: int) -> list[dict[str, Any]]:
    """Each level's path and transforms: level 0 at 1/``scale`` of the input's pixel size, centres kept."""
    assert source.ome is not None
    first = source.ome.multiscale["datasets"][0].get("coordinateTransformations", [])
    size = next((list(t["scale"]) for t in first if t.get("type") == "scale"), [1.0] * len(axes))
    shift = next((list(t["translation"]) for t in first if t.get("type") == "translation"), [0.0] * len(axes))
    yx = [i for i, a in enumerate(axes) if a in "YX"]
    for i in yx:  # pixel centres: t + 0.5 * s * (1/f - 1), as in napari placement
        shift[i] += 0.5 * size[i] * (1 / scale - 1)
        size[i] /= scale
    datasets = []
    for d in source.ome.multiscale["datasets"]:
        datasets.append(
            {
                "path": d["path"],
                "coordinateTransformations": [
                    {"type": "scale", "scale": list(size)},
                    {"type": "translation", "translation": list(shift)},
                ],
            }
        )
        for i in yx:  # the next level's pixel is the mean of a 2x2 block: its centre
            shift[i] += size[i] / 2
            size[i] *= 2
    return datasets


def write_ome_metadata(out: ZarrOutput, source: ZarrInput, axes: str, scale: int) -> None:
    """The output's ``multiscales`` (and ``omero``) in the input's OME version, via ome-zarr."""
    from ome_zarr.format import format_from_version
    from ome_zarr.writer import write_multiscales_metadata

    assert source.ome is not None
    ms = source.ome.multiscale
    group = zarr.open_group(out.path, mode="r+")
    extra = {"metadata": {"omero": source.ome.omero}} if source.ome.omero else {}
    write_multiscales_metadata(
        group,
        ome_datasets(source, axes, scale),
        fmt=format_from_version(source.ome.version),
        axes=ms["axes"],
        name=ms.get("name"),
        **extra,
    )
