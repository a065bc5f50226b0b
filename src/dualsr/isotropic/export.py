"""The through-plane model as one ONNX file: ``(N, 1, H, W) -> (N, 1, floor(H*f), W)``.

The same contract as the x2 export (:mod:`dualsr.runtime.onnx_export`): float32, dynamic
batch/height/width, opset 17, checked with ``onnx.checker`` and against torch before it is
written atomically, and metadata props that make it usable with numpy + onnxruntime alone:
the factor, the slice profile, the voxel sizes, the normalisation, the training settings and the noise
decision (a network trained on denoised planes expects planes denoised alike).
Feed it XZ or YZ slices (Z as the rows), normalised as the metadata says, and fuse the two
directions as :func:`dualsr.isotropic.apply.fuse` does.
"""

from __future__ import annotations

import copy
import io
import json
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnx
import torch

from dualsr._version import __version__
from dualsr.io.files import atomic_write

if TYPE_CHECKING:
    from dualsr.isotropic.volume import IsotropicResult

FORMAT_KEY = "dualsr_isotropic_format"
OPSET = 17
TOLERANCE = 1e-4


def export_axis_onnx(result: IsotropicResult, path: str | os.PathLike) -> Path:
    """Write ``result.model`` to ``path``; raises (nothing written) if onnxruntime disagrees with torch."""
    model = copy.deepcopy(result.model).cpu().float().eval()
    buffer = io.BytesIO()
    example = torch.zeros(2, 1, 12, 20)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example,),
            buffer,
            dynamo=False,
            opset_version=OPSET,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={
                "input": {0: "batch", 2: "height", 3: "width"},
                "output": {0: "batch", 2: "rows", 3: "width"},
            },
        )
    proto = onnx.load_model_from_string(buffer.getvalue())
    for key, value in metadata(result).items():
        proto.metadata_props.add(key=key, value=value)
    proto.doc_string = "DualSR through-plane upsampler: rows (Z) x factor; see metadata_props"
    onnx.checker.check_model(proto, full_check=True)
    check_parity(proto, model)
    path = Path(path)
    atomic_write(path, lambda tmp: onnx.save_model(proto, tmp))
    return path


def check_parity(proto: onnx.ModelProto, model: torch.nn.Module) -> float:
    import onnxruntime as ort

    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).random((2, 1, 17, 23), dtype=np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    got = session.run(None, {"input": x})[0]
    if got.shape != expected.shape:
        raise RuntimeError(f"ONNX export gives shape {got.shape}, torch {expected.shape}; not written")
    diff = float(np.abs(got - expected).max())
    if not diff <= TOLERANCE:
        raise RuntimeError(f"ONNX export differs from torch by {diff:.3g} (> {TOLERANCE}); not written")
    return diff


def metadata(result: IsotropicResult) -> dict[str, str]:
    return {
        FORMAT_KEY: "1",
        "dualsr_version": __version__,
        "factor": repr(result.factor),
        "axis": "rows: feed (N, 1, Z, W) slices, Z the rows; output rows = floor(Z * factor)",
        "slice_centre": "input row i sits at output row i*factor + (factor-1)/2",
        "input_voxel_size": json.dumps(list(result.input_voxel_size)),
        "voxel_size": json.dumps(list(result.voxel_size)),
        "profile": json.dumps({**result.profile.to_dict(), "source": result.profile_source}),
        # the blind estimate's fit, both named shapes' widths, and whether the shape was seen at all
        "profile_estimate": json.dumps(result.estimate.summary() if result.estimate is not None else None),
        "normalization": json.dumps(result.normalization.to_dict()),
        "fusion": result.fusion,
        "network": json.dumps(result.model.config()),
        "training": json.dumps(result.settings.to_dict()),
        # with the noise model on, the network learned from denoised planes: feed it planes denoised alike
        "noise": json.dumps(result.summary().get("noise", {"active": False, "reason": "noise model off"})),
    }


class OnnxAxisModel:
    """An exported through-plane model run with onnxruntime, shaped like :class:`AxisUpsampler` for
    :func:`dualsr.isotropic.apply.upsample_slices` (``factor``, ``margin``, called on tensors)."""

    def __init__(self, path: str | os.PathLike, threads: int = 0) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        meta = self.session.get_modelmeta().custom_metadata_map
        if FORMAT_KEY not in meta:
            raise ValueError(f"{path} is not a dualsr isotropic model")
        self.meta = meta
        self.factor = float(meta["factor"])
        self.margin = int(json.loads(meta["network"])["layers"])

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.session.run(None, {"input": x.cpu().numpy()})[0])
