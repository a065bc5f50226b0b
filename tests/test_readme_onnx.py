"""The README's numpy + onnxruntime snippet runs, verbatim, where dualsr cannot be imported."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from conftest import textured
from dualsr.runtime.onnx_runtime import OnnxUpsampler

README = Path(__file__).resolve().parents[1] / "README.md"

# Runs before the snippet: any import of dualsr (or torch) fails, and we check that it does.
BLOCKER = """
import sys

class _Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("dualsr", "napari_dualsr", "torch"):
            raise ImportError(f"{name} is blocked: the snippet must need numpy and onnxruntime only")
        return None

sys.meta_path.insert(0, _Blocked())
try:
    import dualsr
except ImportError:
    pass
else:
    raise SystemExit("dualsr is importable here; this run would prove nothing")
"""


def readme_snippet() -> str:
    section = README.read_text().split("## Use the ONNX model anywhere", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_snippet_runs_without_dualsr(tmp_path, onnx_model):
    _, model = onnx_model("grey16")
    (tmp_path / "scope.onnx").write_bytes(model.read_bytes())
    image = (textured((50, 64), seed=12) * 900 + 30).astype(np.float32)
    np.save(tmp_path / "image.npy", image)
    run = subprocess.run(
        [sys.executable, "-I", "-c", BLOCKER + readme_snippet()], cwd=tmp_path, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    got = np.load(tmp_path / "image_x2.npy")
    expected = OnnxUpsampler(model).upsample(image)
    assert got.shape == (100, 128) and np.abs(got - expected).max() <= 1e-3
