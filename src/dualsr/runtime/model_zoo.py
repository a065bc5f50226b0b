"""Package an exported ONNX model for the BioImage Model Zoo (bioimage.io, spec 0.5).

The package (a zip: ``bioimageio.yaml``, the ONNX weights, test tensors, a cover,
documentation and the estimated kernel) lets deepImageJ, ilastik, QuPath or
``bioimageio.core`` run the x2 model without this project. It is written with plain
YAML here -- validating it needs ``bioimageio.core``, which is a test dependency only.

How the x2 is expressed: spatial output axes have ``scale: 0.5`` (their pixels are half
the input's) and ``size`` referencing the input axis, so ``size = input * 1 / 0.5``.
Intensities: the model's preprocessing is the file's normalisation (``scale_range`` at
the 0.1/99.9 percentiles, or ``scale_linear`` by the 8-bit range); an 8-bit model's
output is scaled back by ``scale_linear``; a percentile model's output stays normalised
(0 and 1 = the input's 0.1 and 99.9 percentiles), as the spec has no inverse of
``scale_range``.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from dualsr.errors import DualSRInputError
from dualsr.inference.tiling import MARGIN
from dualsr.io.files import atomic_write
from dualsr.runtime.onnx_runtime import OnnxUpsampler

FORMAT_VERSION = "0.5.4"
TEST_SIZE = 128
MIN_INPUT = 24  # the output (2x) must exceed twice the 16-pixel halo


def min_input(margin: int = MARGIN) -> int:
    """The smallest input side the package declares: its x2 must exceed twice the halo (2 * margin)."""
    return max(MIN_INPUT, 2 * margin + 8)


PAPER_URL = (
    "https://openaccess.thecvf.com/content/WACV2021/html/"
    "Emad_DualSR_Zero-Shot_Dual_Learning_for_Real-World_Super-Resolution_WACV_2021_paper.html"
)


def export_bioimageio(
    model: str | os.PathLike,
    out: str | os.PathLike,
    *,
    sample: np.ndarray | None = None,
    axes: str | None = None,
    name: str | None = None,
    authors: list[str] | None = None,
) -> Path:
    """Write the zip package for ``model`` (an ONNX file exported by dualsr) to ``out``.

    ``sample`` (any image the model applies to; ``axes`` as for ``upsample``) becomes the
    test input, cropped to 128x128 of its first plane; without it a synthetic texture is used.
    """
    up = OnnxUpsampler(model, device="cpu")
    out = Path(out)
    if out.suffix.lower() != ".zip":
        raise DualSRInputError(f"{out.name}: a bioimage.io package is a .zip file; name it e.g. model.zip")
    test_input = _test_input(up, sample, axes)
    test_output = _test_output(up, test_input)
    files = {
        "model.onnx": Path(model).read_bytes(),
        "test_input.npy": _npy(test_input),
        "test_output.npy": _npy(test_output),
        "sample_input.tif": _tif(test_input),
        "sample_output.tif": _tif(test_output),
        "cover.png": _cover(test_input, test_output),
        "documentation.md": _documentation(up).encode(),
        "kernel.npy": _npy(up.kernel.astype(np.float32)),
    }
    rdf = model_rdf(up, files, name=_zoo_name(name or f"DualSR x2 {Path(model).stem}"), authors=authors)
    files["bioimageio.yaml"] = yaml.safe_dump(rdf, sort_keys=False, allow_unicode=True).encode()
    _write_zip(out, files)
    return out


def _zoo_name(name: str) -> str:
    """The spec allows 5-128 letters, digits, spaces and ``_+-()`` in a name."""
    cleaned = re.sub(r"[^A-Za-z0-9_+\-() ]", "-", name).strip()[:128]
    if len(cleaned) < 5:
        raise DualSRInputError(f"model name {name!r} is too short; give at least 5 letters or digits")
    return cleaned


def _test_input(up: OnnxUpsampler, sample: np.ndarray | None, axes: str | None) -> np.ndarray:
    """``(1, C, h, w)`` float32 raw intensities: a crop of the sample's first plane."""
    from dualsr.io.axes import Layout
    from dualsr.io.validate import check_image

    if sample is None:
        return (_texture(TEST_SIZE, up.channels or 1) * 1000.0)[None].astype(np.float32)
    data = check_image(sample)
    layout = Layout.of(data.shape, axes)
    if up.channels is not None and layout.channels != up.channels:
        raise DualSRInputError(
            f"the sample has {layout.channels} channel(s) but the model takes {up.channels}; give a matching --sample"
        )
    plane = layout.canonical(data)[0]
    h, w = plane.shape[-2:]
    if min(h, w) < min_input(up.margin):
        side = min_input(up.margin)
        raise DualSRInputError(f"the sample is {h}x{w}; give one of at least {side}x{side} pixels")
    y0, x0 = (h - min(h, TEST_SIZE)) // 2, (w - min(w, TEST_SIZE)) // 2
    crop = plane[:, y0 : y0 + TEST_SIZE, x0 : x0 + TEST_SIZE]
    return crop[None].astype(np.float32)


def _texture(size: int, channels: int) -> np.ndarray:
    """A deterministic smooth texture with edges (``(C, size, size)`` in [0, 1])."""
    yy, xx = np.mgrid[0:size, 0:size] / 6.0
    base = np.sin(yy * 0.9 + xx * 0.4) + np.sin(xx * 1.3 - yy * 0.5) + ((yy // 4 + xx // 4) % 2)
    planes = [np.roll(base, 7 * c, axis=c % 2) for c in range(channels)]
    out = np.stack(planes)
    return (out - out.min()) / (out.max() - out.min())


def _preprocessed(up: OnnxUpsampler, raw: np.ndarray) -> np.ndarray:
    """What bioimage.io's preprocessing makes of ``raw`` (the spec's formulas, ``eps`` included)."""
    if up.mode == "dtype":
        low, high = _dtype_range(up)
        return ((raw - low) / (high - low)).astype(np.float32)
    axes = (2, 3) if up.per_channel else (1, 2, 3)
    low = np.percentile(raw, 0.1, axis=axes, keepdims=True)
    high = np.percentile(raw, 99.9, axis=axes, keepdims=True)
    return ((raw - low) / (high - low + 1e-6)).astype(np.float32)


def _test_output(up: OnnxUpsampler, test_input: np.ndarray) -> np.ndarray:
    y = up.session.run(None, {up.input_name: _preprocessed(up, test_input)})[0]
    if up.mode == "dtype":
        low, high = _dtype_range(up)
        y = y * (high - low) + low
    return y.astype(np.float32)


def _dtype_range(up: OnnxUpsampler) -> tuple[float, float]:
    norm = up.metadata["normalization"]
    return float(norm["low"][0]), float(norm["high"][0])


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def _tif(array: np.ndarray) -> bytes:
    """A sample tensor for people and viewers (the spec wants an image format, not .npy)."""
    import tifffile

    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.squeeze(array), photometric="minisblack")
    return buffer.getvalue()


def _cover(lr: np.ndarray, sr: np.ndarray) -> bytes:
    """Input (nearest x2) beside the x2 result, 2:1, 8-bit PNG."""
    from PIL import Image

    def to8(a: np.ndarray) -> np.ndarray:
        lo, hi = np.percentile(a, (0.5, 99.5))
        return (np.clip((a - lo) / max(hi - lo, 1e-12), 0, 1) * 255).astype(np.uint8)

    left = np.repeat(np.repeat(lr[0], 2, axis=-2), 2, axis=-1)
    side = np.concatenate([to8(left), to8(sr[0])], axis=-1)
    picture = side[0] if side.shape[0] != 3 else np.moveaxis(side, 0, -1)
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return buffer.getvalue()


def _file(name: str, files: dict[str, bytes]) -> dict[str, str]:
    return {"source": name, "sha256": hashlib.sha256(files[name]).hexdigest()}


def _pre_post(up: OnnxUpsampler) -> tuple[list[dict], list[dict]]:
    if up.mode == "dtype":
        low, high = _dtype_range(up)
        pre = [{"id": "scale_linear", "kwargs": {"gain": 1.0 / (high - low), "offset": -low / (high - low)}}]
        return pre, [{"id": "scale_linear", "kwargs": {"gain": high - low, "offset": low}}]
    axes = ["y", "x"] if up.per_channel else ["channel", "y", "x"]
    kwargs = {"axes": axes, "min_percentile": 0.1, "max_percentile": 99.9}
    return [{"id": "scale_range", "kwargs": kwargs}], []


def _axes(c: int, output: bool, margin: int = MARGIN) -> list[dict[str, Any]]:
    channel = {"type": "channel", "channel_names": [f"c{i}" for i in range(c)]}
    if not output:
        space = [{"type": "space", "id": a, "size": {"min": min_input(margin), "step": 1}} for a in ("y", "x")]
    else:
        space = [
            {
                "type": "space",
                "id": a,
                "size": {"tensor_id": "input", "axis_id": a},
                "scale": 0.5,
                "halo": 2 * margin,
            }
            for a in ("y", "x")
        ]
    return [{"type": "batch"}, channel, *space]


def model_rdf(up: OnnxUpsampler, files: dict[str, bytes], name: str, authors: list[str] | None) -> dict[str, Any]:
    """The ``bioimageio.yaml`` content (spec 0.5) for the package's files."""
    pre, post = _pre_post(up)
    c = up.channels or 1
    return {
        "format_version": FORMAT_VERSION,
        "type": "model",
        "name": name,
        "description": "Zero-shot x2 super-resolution (DualSR, WACV 2021) trained on one image; "
        "applies to other images from the same instrument.",
        "authors": [{"name": a} for a in (authors or ["napari-dualsr user"])],
        "cite": [
            {
                "text": "Emad, Peemen, Corporaal. DualSR: Zero-Shot Dual Learning for Real-World Super-Resolution. "
                "WACV 2021",
                "url": PAPER_URL,
            }
        ],
        "license": "BSD-3-Clause",
        "tags": ["super-resolution", "zero-shot", "dualsr", "2d", "x2", "onnx"],
        "documentation": "documentation.md",
        "covers": ["cover.png"],
        "attachments": [_file("kernel.npy", files)],
        "inputs": [
            {
                "id": "input",
                "description": "image, raw intensities",
                "axes": _axes(c, output=False, margin=up.margin),
                "test_tensor": _file("test_input.npy", files),
                "sample_tensor": _file("sample_input.tif", files),
                "data": {"type": "float32"},
                "preprocessing": pre,
            }
        ],
        "outputs": [
            {
                "id": "output",
                "description": "x2 image" + ("" if post else ", normalised like the input"),
                "axes": _axes(c, output=True, margin=up.margin),
                "test_tensor": _file("test_output.npy", files),
                "sample_tensor": _file("sample_output.tif", files),
                "data": {"type": "float32"},
                "postprocessing": post,
            }
        ],
        "weights": {"onnx": {**_file("model.onnx", files), "opset_version": _opset(files["model.onnx"])}},
        "config": {"dualsr": {k: v for k, v in up.metadata.items() if k not in ("kernel",)}},
    }


def _opset(onnx_bytes: bytes) -> int:
    import onnx

    proto = onnx.load_model_from_string(onnx_bytes)
    return next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))


def _documentation(up: OnnxUpsampler) -> str:
    meta = up.metadata
    norm = meta.get("normalization", {})
    side = min_input(up.margin)
    if up.mode == "dtype":
        intensity = "Input intensities are divided by the 8-bit range; the output is scaled back to it."
    else:
        intensity = (
            "Input intensities are scaled so that the image's 0.1 and 99.9 percentiles map to 0 and 1 "
            f"({'per channel' if up.per_channel else 'jointly over channels'}); the output stays in that "
            "normalised range (multiply by the difference of the percentiles and add the lower one to "
            "get raw intensities back)."
        )
    return f"""# DualSR x2 super-resolution

A ×2 upsampler trained zero-shot on one image with DualSR (Emad, Peemen, Corporaal, WACV 2021) by
napari-dualsr {meta.get("dualsr_version", "")}. It applies to
other images from the same instrument (same optics, same pixel size, same blur kernel).

## Input and output

- input: float32 `(batch, channel, y, x)` with {up.channels} channel(s), any size of at least {side}×{side};
- output: float32 `(batch, channel, 2y, 2x)`; output pixels are half the input's (`scale: 0.5`);
  LR pixel `i` sits at HR position `2i + 0.5`.
- {intensity}
- Tiling: tiles with a 16-pixel output halo (8 input pixels) give exactly the untiled result.

Training normalisation: mode `{norm.get("mode")}`, low {norm.get("low")}, high {norm.get("high")}, dtype
`{norm.get("dtype")}`. The estimated blur kernel is `kernel.npy` (HR pixels, sums to 1,
`LR = correlate(HR, k)[::2, ::2]`). Training settings: `config.dualsr` in `bioimageio.yaml`.

## Validation

The test tensors were produced with onnxruntime from this file. Quality: DualSR is trained per
instrument; check it on an image of that instrument for which a higher-resolution reference exists
(e.g. PSNR against the reference, compared with bicubic ×2). Applied to other kinds of images the
model is not expected to help.
"""


def _write_zip(out: Path, files: dict[str, bytes]) -> None:
    def write(tmp: str) -> None:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for name, data in files.items():
                z.writestr(name, data)

    atomic_write(out, write)
