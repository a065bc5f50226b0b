"""Reading and writing images: TIFF (with metadata), PNG/JPEG and NumPy files.

TIFF metadata that still holds after x2 is carried over: ImageJ axes, unit, spacing,
channel labels; OME axes, channel names and physical sizes (an OME file in gives an
OME file out). What changes is the caller's to update (the pixel size halves).

Writes are atomic: data goes to a temporary file beside the target, then is renamed,
so a failure or an interrupt never leaves a partial file.

A stack too large to hold whole is read lazily (``read_image(..., lazy=True)``: a
:class:`TiffPlanes` or :class:`NpyPlanes` handle) and written from a
:class:`PlaneStream`, a few planes at a time.
"""

from __future__ import annotations

import errno
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from dualsr.errors import DualSRInputError
from dualsr.io.acquisition import Instrument, from_imagej, from_ome

TIFF = (".tif", ".tiff")
PIL_FORMATS = (".png", ".jpg", ".jpeg")
SUFFIXES = TIFF + PIL_FORMATS + (".npy",)
IMAGEJ_ORDER = "TZCYXS"
OME_KEPT = ("PhysicalSizeZ", "PhysicalSizeZUnit", "TimeIncrement", "TimeIncrementUnit")


@dataclass
class ImageFile:
    """An image read from disk, with what we know of its axes and pixel size."""

    data: np.ndarray
    axes: str | None = None
    pixel_size: tuple[float, float] | None = None  # (y, x) in ``unit`` per pixel
    unit: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    instrument: Instrument | None = None  # pixel size in um and optics, where the file says (io.acquisition)


class LazyPlanes:
    """A stack on disk, not read yet: ``read(start, stop, rows)`` reads that part only, ``np.asarray`` all of it."""

    shape: tuple[int, ...]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def read(self, start: int, stop: int, rows: slice = slice(None)) -> np.ndarray:
        raise NotImplementedError

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        data = self.read(0, self.shape[0])
        return data if dtype is None else data.astype(dtype)


@dataclass(frozen=True)
class TiffPlanes(LazyPlanes):
    """A TIFF's first series, read on demand. Only the file's name is kept, so the handle pickles and holds no
    open file."""

    path: str
    shape: tuple[int, ...]
    dtype: np.dtype

    def read(self, start: int, stop: int, rows: slice = slice(None)) -> np.ndarray:
        """Planes ``start:stop``, rows ``rows`` of each: only the strips or tiles that hold them are decoded."""
        import zarr

        try:
            with _quiet("tifffile"), tifffile.TiffFile(self.path) as tif, tif.series[0].aszarr() as store:
                return np.asarray(zarr.open_array(store, mode="r")[start:stop, rows])
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - a damaged page is a bad file to the user
            raise DualSRInputError(
                f"{Path(self.path).name}: cannot read planes {start}-{stop - 1} ({exc}); is the file complete?"
            ) from exc


@dataclass(frozen=True)
class NpyPlanes(LazyPlanes):
    """A ``.npy`` stack, read on demand from the file (no memory map: an address-space limit caps a mapped
    file too)."""

    path: str
    shape: tuple[int, ...]
    dtype: np.dtype
    offset: int  # where the data start

    @classmethod
    def open(cls, path: Path) -> NpyPlanes | np.ndarray:
        """The handle; a Fortran-ordered file, whose planes are not contiguous, is memory-mapped instead."""
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version not in ((1, 0), (2, 0)):
                return np.load(path, allow_pickle=False, mmap_mode="r")
            header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = header(f)
            offset = f.tell()
        if fortran or dtype.hasobject:
            return np.load(path, allow_pickle=False, mmap_mode="r")
        if path.stat().st_size < offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
            raise DualSRInputError(f"{path.name}: the file ends before its {shape} {dtype} data; is it complete?")
        return cls(str(path), tuple(shape), np.dtype(dtype), offset)

    def read(self, start: int, stop: int, rows: slice = slice(None)) -> np.ndarray:
        """Planes ``start:stop``, rows ``rows`` of each (a step of 1), read from the file."""
        y0, y1, _ = rows.indices(self.shape[1])
        row = int(np.prod(self.shape[2:], dtype=np.int64))
        out = np.empty((stop - start, y1 - y0, *self.shape[2:]), self.dtype)
        with open(self.path, "rb") as f:
            for i, z in enumerate(range(start, stop)):
                f.seek(self.offset + (z * self.shape[1] + y0) * row * self.dtype.itemsize)
                data = np.fromfile(f, self.dtype, (y1 - y0) * row)
                if data.size != (y1 - y0) * row:
                    raise DualSRInputError(f"{Path(self.path).name}: the file ends early; is it complete?")
                out[i] = data.reshape(out.shape[1:])
        return out


@dataclass(frozen=True)
class PlaneStream:
    """A stack to write that is never whole in memory: its shape, its dtype and its planes in order."""

    shape: tuple[int, ...]
    dtype: np.dtype
    planes: Iterable[np.ndarray]


def _suffix(path: Path, allowed: tuple[str, ...] = SUFFIXES) -> str:
    suffix = path.suffix.lower()
    if suffix not in allowed:
        raise DualSRInputError(
            f"{path.name}: unsupported file type {suffix or '(none)'}; use one of {', '.join(allowed)}"
        )
    return suffix


def read_image(path: str | os.PathLike, lazy: bool = False) -> ImageFile:
    """Read ``path``; unreadable or truncated files raise DualSRInputError. ``lazy``: a TIFF's or a ``.npy``'s
    data is a :class:`TiffPlanes` or :class:`NpyPlanes` handle, read when used."""
    path = Path(path)
    suffix = _suffix(path)
    if not path.is_file():
        raise DualSRInputError(f"{path}: no such file; check the path")
    try:
        if suffix in TIFF:
            with _quiet("tifffile"):
                return _read_tiff(path, lazy)
        if suffix == ".npy":
            return ImageFile(NpyPlanes.open(path) if lazy else np.load(path, allow_pickle=False))
        return _read_pil(path)
    except (DualSRInputError, MemoryError):  # a file larger than memory is not a bad file
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a bad file to the user
        if isinstance(exc, OSError) and exc.errno == errno.ENOMEM:  # a memory map larger than allowed
            raise MemoryError(str(exc)) from exc
        raise DualSRInputError(
            f"{path.name}: cannot read it as {suffix[1:].upper()} ({exc}); is the file complete?"
        ) from exc


@contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """Silence a library's log lines: a bad file gets our one-line error, not its chatter."""
    log = logging.getLogger(logger)
    old = log.disabled
    log.disabled = True
    try:
        yield
    finally:
        log.disabled = old


def _tiff_axes(axes: str) -> str:
    """tifffile's axes in ours: samples (S) are channels; Q/I are planes."""
    return axes.replace("S", "C").replace("Q", "I")


def _read_tiff(path: Path, lazy: bool = False) -> ImageFile:
    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        data = TiffPlanes(str(path), tuple(series.shape), np.dtype(series.dtype)) if lazy else series.asarray()
        axes = _tiff_axes(series.axes)
        if len(axes) != data.ndim or len(set(axes)) != len(axes):
            axes = None
        pixel_size, unit = None, None
        page = tif.pages[0]
        tags = page.tags
        if "XResolution" in tags and "YResolution" in tags:
            xr, yr = tags["XResolution"].value, tags["YResolution"].value
            if xr[0] and yr[0] and (xr[0], xr[1]) != (1, 1):
                pixel_size = (yr[1] / yr[0], xr[1] / xr[0])
        if tif.is_ome:
            ome_size, ome_unit, ome = _read_ome(tif.ome_metadata)
            return ImageFile(data, axes, ome_size or pixel_size, ome_unit, {"ome": ome}, from_ome(tif.ome_metadata))
        ij = tif.imagej_metadata or {}
        unit = ij.get("unit")
        extra = {k: ij[k] for k in ("spacing", "finterval", "Labels") if k in ij}
        instrument = from_imagej(pixel_size, unit, ij.get("Info"))
    return ImageFile(data, axes, pixel_size, unit, extra, instrument)


def _read_ome(xml: str) -> tuple[tuple[float, float] | None, str | None, dict[str, Any]]:
    """Pixel size, its unit and the OME fields worth keeping (channel names, z step, time step)."""
    image = tifffile.xml2dict(xml)["OME"]["Image"]
    pixels = (image[0] if isinstance(image, list) else image)["Pixels"]
    channels = pixels.get("Channel", [])
    channels = channels if isinstance(channels, list) else [channels]
    ome: dict[str, Any] = {k: pixels[k] for k in OME_KEPT if k in pixels}
    names = [c.get("Name") for c in channels]
    if names and all(isinstance(n, str) for n in names):
        ome["Channel"] = {"Name": names}
    size = None
    y, x = pixels.get("PhysicalSizeY"), pixels.get("PhysicalSizeX")
    if x is not None or y is not None:  # one of the two given: the pixels taken as square (OME sets no default)
        size = (float(y if y is not None else x), float(x if x is not None else y))
    unit = pixels.get("PhysicalSizeXUnit", pixels.get("PhysicalSizeYUnit", "µm"))
    return size, unit if size else None, ome


def _read_pil(path: Path) -> ImageFile:
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        mode = im.mode
        if mode in ("P", "PA", "LA", "CMYK", "YCbCr", "1"):
            im = im.convert("RGBA" if "A" in mode or "transparency" in im.info else "RGB")
        data = np.asarray(im)
    if mode.startswith("I;16") or data.dtype == np.int32 and data.min() >= 0 and data.max() <= 65535:
        data = data.astype(np.uint16)
    return ImageFile(data, "YX" if data.ndim == 2 else "YXC")


def x2_file(source: ImageFile, image: np.ndarray, axes: str, info: dict) -> ImageFile:
    """The x2 result with the source's metadata; pixels are half the source's size, the run in ``Info``."""
    import json

    from dualsr._version import __version__

    pixel = tuple(p / 2 for p in source.pixel_size) if source.pixel_size else None
    extra = dict(source.extra)
    extra["Info"] = json.dumps({"dualsr": __version__, **info})
    return ImageFile(image, axes, pixel, source.unit, extra)


def check_output(
    path: str | os.PathLike, inputs: list[str | os.PathLike] = (), suffixes: tuple[str, ...] = SUFFIXES
) -> Path:
    """Fail early (before training) if ``path`` cannot be written."""
    path = Path(path)
    _suffix(path, suffixes)
    parent = path.resolve().parent
    if not parent.is_dir():
        raise DualSRInputError(f"{path}: the folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK):
        raise DualSRInputError(f"{path}: the folder {parent} is not writable; choose another output")
    if path.is_dir():
        raise DualSRInputError(f"{path} is a folder; give a file name such as {path / 'result.tif'}")
    for other in inputs:
        if Path(other).resolve() == path.resolve():
            raise DualSRInputError(f"{path}: the output would overwrite an input; choose another name")
    return path


def atomic_write(path: Path, write, suffix: str | None = None) -> None:
    """Call ``write(tmp_path)``, then rename the temporary file to ``path``; ``suffix``: the temporary name's
    ending (default ``path``'s), for writers that choose a format by it."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix, dir=path.resolve().parent)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_image(path: str | os.PathLike, image: ImageFile) -> Path:
    """Write ``image`` atomically; the format follows the suffix."""
    path = Path(path)
    suffix = _suffix(path)
    if suffix in TIFF:
        atomic_write(path, lambda tmp: _write_tiff(tmp, image))
    elif suffix == ".npy":
        atomic_write(path, lambda tmp: _write_npy(tmp, image.data))
    else:
        _check_pil(path, image.data, suffix)
        atomic_write(path, lambda tmp: _write_pil(tmp, image.data, suffix))
    return path


def _write_npy(tmp: str, data: np.ndarray | PlaneStream) -> None:
    if not isinstance(data, PlaneStream):
        np.save(tmp, data, allow_pickle=False)
        return
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(data.dtype)), "fortran_order": False}
    with open(tmp, "wb") as f:
        np.lib.format.write_array_header_2_0(f, {**header, "shape": tuple(data.shape)})
        for plane in data.planes:
            f.write(np.ascontiguousarray(plane, dtype=data.dtype).tobytes())


def _imwrite(tmp: str, data: np.ndarray | PlaneStream, **kwargs: Any) -> None:
    """``tifffile.imwrite``; a :class:`PlaneStream` is written page by page as its planes come."""
    if isinstance(data, PlaneStream):
        tifffile.imwrite(tmp, iter(data.planes), shape=data.shape, dtype=data.dtype, **kwargs)
    else:
        tifffile.imwrite(tmp, data, **kwargs)


def _imagej_axes(axes: str | None, data: np.ndarray) -> str | None:
    if axes is None or data.dtype not in (np.uint8, np.uint16, np.float32):
        return None
    a = axes.replace("C", "S") if axes.endswith("C") and data.shape[-1] in (3, 4) and data.dtype == np.uint8 else axes
    if set(a) - set(IMAGEJ_ORDER):
        return None
    order = [IMAGEJ_ORDER.index(c) for c in a]
    return a if order == sorted(order) else None


def _ome_axes(axes: str | None, data: np.ndarray) -> str | None:
    """OME-TIFF axes (RGB samples are S) when tifffile can write them, else None."""
    if axes is None:
        return None
    rgb = axes.endswith("C") and data.shape[-1] in (3, 4) and data.dtype == np.uint8
    a = axes[:-1] + "S" if rgb else axes
    return a if set(a) <= set(IMAGEJ_ORDER) and a.endswith(("YX", "YXS")) else None


def _write_ome(tmp: str, image: ImageFile, axes: str) -> None:
    meta: dict[str, Any] = {"axes": axes, **image.extra["ome"]}
    if image.pixel_size:
        unit = image.unit or "µm"
        meta.update(PhysicalSizeY=image.pixel_size[0], PhysicalSizeX=image.pixel_size[1])
        meta.update(PhysicalSizeYUnit=unit, PhysicalSizeXUnit=unit)
    if "Info" in image.extra:
        meta["Description"] = image.extra["Info"]
    photometric = "rgb" if axes.endswith("S") else "minisblack"
    _imwrite(tmp, image.data, ome=True, metadata=meta, photometric=photometric, compression="zlib")


def _write_tiff(tmp: str, image: ImageFile) -> None:
    data, kwargs = image.data, {}
    ome_axes = _ome_axes(image.axes, data) if "ome" in image.extra else None
    if ome_axes is not None:
        _write_ome(tmp, image, ome_axes)
        return
    if image.pixel_size:
        kwargs["resolution"] = (1.0 / image.pixel_size[1], 1.0 / image.pixel_size[0])
    ij_axes = _imagej_axes(image.axes, data)
    if ij_axes is not None:
        meta = {"axes": ij_axes}
        if image.unit:
            meta["unit"] = image.unit
        meta.update({k: v for k, v in image.extra.items() if k in ("spacing", "finterval", "Labels", "Info")})
        _imwrite(
            tmp, data, imagej=True, metadata=meta, compression="zlib" if data.dtype != np.float32 else None, **kwargs
        )
    else:
        meta = {"axes": image.axes} if image.axes else {}
        photometric = "rgb" if image.axes and image.axes.endswith("C") and data.shape[-1] in (3, 4) else "minisblack"
        _imwrite(tmp, data, metadata=meta, photometric=photometric, **kwargs)


def _check_pil(path: Path, data: np.ndarray, suffix: str) -> None:
    channels = 1 if data.ndim == 2 else data.shape[-1]
    if data.ndim not in (2, 3) or channels not in (1, 3, 4):
        raise DualSRInputError(f"{path.name}: PNG/JPEG hold one 2D grey or RGB(A) image; write .tif for stacks")
    if suffix != ".png" and data.dtype != np.uint8:
        raise DualSRInputError(f"{path.name}: JPEG holds 8-bit data only; write .png or .tif")
    if data.dtype not in (np.uint8, np.uint16) or (data.dtype == np.uint16 and channels != 1):
        raise DualSRInputError(
            f"{path.name}: PNG holds 8-bit grey/RGB(A) or 16-bit grey; this is {data.dtype} with "
            f"{channels} channel(s); write .tif instead"
        )


def _write_pil(tmp: str, data: np.ndarray, suffix: str) -> None:
    from PIL import Image

    im = Image.fromarray(data[..., 0] if data.ndim == 3 and data.shape[-1] == 1 else data)
    im.save(tmp, format="PNG" if suffix == ".png" else "JPEG", **({"quality": 95} if suffix != ".png" else {}))


def read_kernel(path: str | os.PathLike) -> np.ndarray:
    """A kernel (e.g. a measured PSF) from .npy, .tif or .png, as float64."""
    return read_image(path).data.astype(np.float64)
