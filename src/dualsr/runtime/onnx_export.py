"""Export a trained upsampler to one self-describing ONNX file.

The file is what makes "train once, apply to every image from that instrument" work
without this package: a plain ``(N, C, H, W) -> (N, C, 2H, 2W)`` float32 graph plus
metadata props saying how intensities were normalised (and how to undo it), which
kernel was estimated, and how the model was trained.

Exporter: the TorchScript-based ``torch.onnx.export(..., dynamo=False)``. Measured with
torch 2.13 on this model, the dynamo exporter cannot emit opset 17 (its lowest opset is
18 and down-conversion fails on ``Pad``) and takes 7-17 s per export against about 1 s;
both give checker-valid graphs with dynamic batch/height/width and equal outputs. Should
a future torch drop the TorchScript exporter, ``exporter="dynamo"`` (opset >= 18) is the
switch.
"""

from __future__ import annotations

import copy
import io
import json
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import onnx
import torch

from dualsr.inference.tiling import model_margin
from dualsr.io.files import atomic_write
from dualsr.io.normalize import PERCENTILES

if TYPE_CHECKING:
    from dualsr.engine.result import DualSRResult

FORMAT_KEY = "dualsr_format"
FORMAT_VERSION = 1
INPUT_NAME, OUTPUT_NAME = "input", "output"
DEFAULT_OPSET = 17
PARITY_TOLERANCE = 1e-4


def export_onnx(
    result: DualSRResult, path: str | os.PathLike, opset: int = DEFAULT_OPSET, exporter: str = "torchscript"
) -> Path:
    """Write ``result.upsampler`` to ``path`` (atomically) and return the path.

    The graph takes normalised float32 ``(N, C, H, W)`` with any N, H, W and returns
    ``(N, C, 2H, 2W)``. It is checked with ``onnx.checker`` and against torch on a
    random input (max abs difference <= 1e-4) before anything is written.
    """
    if opset < 17:
        raise ValueError(f"opset {opset} is too old; use 17 or newer")
    model = copy.deepcopy(result.upsampler).cpu().float().eval()
    channels = len(model.inverse)
    proto = _export(model, channels, opset, exporter)
    _name_output_shape(proto, channels)
    for key, value in model_metadata(result).items():
        proto.metadata_props.add(key=key, value=value)
    proto.doc_string = "DualSR x2 upsampler (G_UP); see metadata_props for normalisation and provenance"
    onnx.checker.check_model(proto, full_check=True)
    check_parity(proto, model, channels)
    path = Path(path)
    atomic_write(path, lambda tmp: onnx.save_model(proto, tmp, save_as_external_data=False))
    return path


def _export(model: torch.nn.Module, channels: int, opset: int, exporter: str) -> onnx.ModelProto:
    example = torch.zeros(2, channels, 32, 32)  # not 1: torch.export would fix a size-1 batch
    names = {"input_names": [INPUT_NAME], "output_names": [OUTPUT_NAME]}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # deprecation and constant-folding notices, not problems
        if exporter == "torchscript":
            buffer = io.BytesIO()
            torch.onnx.export(
                model,
                (example,),
                buffer,
                dynamo=False,
                opset_version=opset,
                dynamic_axes={INPUT_NAME: {0: "batch", 2: "height", 3: "width"}},
                **names,
            )
            return onnx.load_model_from_string(buffer.getvalue())
        if exporter == "dynamo":
            from torch.export import Dim

            dims = {0: Dim("batch"), 2: Dim("height", min=2), 3: Dim("width", min=2)}
            program = torch.onnx.export(
                model, (example,), dynamo=True, opset_version=max(opset, 18), dynamic_shapes={"x": dims}, **names
            )
            return program.model_proto
    raise ValueError(f"unknown exporter {exporter!r}; use 'torchscript' or 'dynamo'")


def _name_output_shape(proto: onnx.ModelProto, channels: int) -> None:
    """Spell the output shape out: ``(batch, C, 2*height, 2*width)``, as consumers read it."""
    dims = proto.graph.output[0].type.tensor_type.shape.dim
    del dims[:]
    for value in ("batch", channels, "2*height", "2*width"):
        d = dims.add()
        if isinstance(value, int):
            d.dim_value = value
        else:
            d.dim_param = value


def check_parity(proto: onnx.ModelProto, model: torch.nn.Module, channels: int) -> float:
    """Max abs difference between onnxruntime and torch on a random input; raises if too big."""
    import onnxruntime as ort

    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).random((2, channels, 37, 45), dtype=np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    got = session.run(None, {INPUT_NAME: x})[0]
    diff = float(np.abs(got - expected).max())
    if not diff <= PARITY_TOLERANCE:
        raise RuntimeError(f"ONNX export differs from torch by {diff:.3g} (> {PARITY_TOLERANCE}); not written")
    return diff


def model_metadata(result: DualSRResult) -> dict[str, str]:
    """The metadata props (all strings; JSON where structured) that make the file self-describing."""
    from dualsr._version import __version__

    norm = result.normalization
    per_channel = len(result.upsampler.groups) > 1
    return {
        FORMAT_KEY: str(FORMAT_VERSION),
        "dualsr_version": __version__,
        "scale": str(result.config.scale),
        "channels": str(len(result.upsampler.inverse)),
        "channel_groups": json.dumps(result.upsampler.groups),
        "alpha_channel": json.dumps(result.upsampler.alpha),
        "normalization": json.dumps(_normalization_doc(norm.to_dict(), per_channel)),
        "kernel": json.dumps(np.asarray(result.kernel, dtype=np.float64).round(10).tolist()),
        "known_kernel": json.dumps(result.known_kernel),
        "kernel_state": result.kernel_state,
        "self_ensemble": json.dumps(result.upsampler.ensemble),  # inside the graph: x2 averaged with its half turn
        "back_projection": str(result.upsampler.back_projection),  # inside the graph: steps onto the LR (0: none)
        "back_projection_step": str(round(result.upsampler.back_projection_step, 6)),
        # inside the graph: the detail kept where it holds up one scale down (0: no check); tiles start even
        "cross_scale_window": str(result.upsampler.cross_scale_window),
        **({"cross_scale": json.dumps(result.detail)} if result.detail else {}),  # on the training image
        "config": json.dumps(result.config.to_dict()),
        "seed": str(result.config.seed),
        "trained_axes": result.axes,
        "trained_plane": str(result.plane),
        "steps": str(result.steps),
        "tile_margin": str(model_margin(result.upsampler)),
        **({"resolution": json.dumps(result.resolution)} if result.resolution else {}),  # on the training image
        "io": json.dumps(
            {
                "input": f"{INPUT_NAME}: float32 (N, C, H, W), normalised as in 'normalization'",
                "output": f"{OUTPUT_NAME}: float32 (N, C, 2H, 2W), same normalisation; LR pixel i sits at HR 2i+0.5",
            }
        ),
    }


def _normalization_doc(norm: dict[str, Any], per_channel: bool) -> dict[str, Any]:
    """The training normalisation plus how to redo it on a new image and undo it."""
    return {
        **norm,
        "percentiles": list(PERCENTILES),
        "per_channel": per_channel,
        "apply": "x = (raw - low) / (high - low), per channel if per_channel else one low/high for all; "
        "on a new image refit low/high: mode 'dtype' = the integer dtype's min/max, "
        "mode 'percentile' = the given percentiles of the image",
        "undo": "raw = y * (high - low) + low, then for integer dtypes round and clip to the dtype's range",
    }
