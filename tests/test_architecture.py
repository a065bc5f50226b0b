"""The shape of the house: subpackages import only what their docstrings allow, nothing imports in a
circle, the paper stands alone, and ``import dualsr`` stays free of napari, Qt and Dask."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
BOTTOM = {"config", "errors", "_version", "_openmp"}  # modules any part of dualsr may import
# subpackage -> the subpackages it may import (besides BOTTOM and itself): each __init__ says the same
ALLOWED = {
    "paper": set(),
    "kernels": {"paper", "io"},
    "io": set(),
    "noise": {"paper", "io"},
    "inference": {"paper", "noise", "io"},
    "runtime": {"io", "inference"},
    "trust": {"paper", "noise", "inference", "io"},
    "engine": {"paper", "kernels", "noise", "inference", "io", "runtime", "trust"},
    "scale": {"io", "inference", "runtime"},
    "evaluation": {"paper", "kernels", "noise", "inference", "io", "runtime", "engine", "trust"},
    "isotropic": {"paper", "noise", "io", "runtime", "scale"},
    "cli": {
        "paper",
        "kernels",
        "noise",
        "inference",
        "io",
        "runtime",
        "engine",
        "scale",
        "evaluation",
        "trust",
        "isotropic",
    },
}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    base = SRC.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _type_checking_lines(tree: ast.AST) -> set[int]:
    """Lines inside ``if TYPE_CHECKING:`` blocks: annotations only, not imported at run time."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, child.end_lineno + 1))
    return lines


def imports_of(path: Path, package: str = "dualsr") -> set[str]:
    """Modules of ``package`` that ``path`` imports at run time (at the top or inside functions)."""
    tree = ast.parse(path.read_text())
    skip = _type_checking_lines(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == package)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == package:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if _is_module(full) else node.module)
    return found


def graph(package: str = "dualsr") -> dict[str, set[str]]:
    return {module_name(p): imports_of(p, package) for p in (SRC / package).rglob("*.py")}


def _part(module: str) -> str:
    """``dualsr.paper.step`` -> ``paper``; ``dualsr.config`` -> ``config``; ``dualsr`` -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_there_is_no_import_cycle():
    edges = graph()
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :] + [nxt] if nxt in path else [node, nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])


def test_subpackages_import_only_what_they_may():
    wrong = []
    for module, targets in graph().items():
        part = _part(module)
        if part not in ALLOWED:
            continue
        for target in targets:
            other = _part(target)
            if other != part and other not in BOTTOM and other not in ALLOWED[part]:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "\n".join(sorted(wrong))


def test_the_paper_imports_nothing_of_ours_but_config_and_errors():
    outside = {
        f"{module} imports {target}"
        for module, targets in graph().items()
        if _part(module) == "paper"
        for target in targets
        if _part(target) != "paper" and target not in ("dualsr.config", "dualsr.errors")
    }
    assert not outside, outside


def test_every_subpackage_says_what_it_may_import():
    for part in ALLOWED:
        doc = ast.get_docstring(ast.parse((SRC / "dualsr" / part / "__init__.py").read_text())) or ""
        assert "May import" in doc, f"dualsr.{part} has no 'May import' line"
        for other in ALLOWED[part]:
            assert f"dualsr.{other}" in doc, f"dualsr.{part}'s docstring does not name dualsr.{other}"


def test_the_core_never_imports_the_plugin_or_qt():
    for module, targets in {
        module_name(p): imports_of(p, "napari_dualsr") for p in (SRC / "dualsr").rglob("*.py")
    }.items():
        assert not targets, f"{module} imports {targets}"
    for path in (SRC / "dualsr").rglob("*.py"):
        tree = ast.parse(path.read_text())
        names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not names & {"napari", "qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "magicgui"}, path


def test_import_dualsr_loads_no_napari_qt_or_dask():
    code = (
        "import sys, time; t = time.perf_counter(); import dualsr; dt = time.perf_counter() - t; "
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'napari', 'qtpy', 'PyQt6', 'PySide6', 'dask', 'distributed', 'zarr', 'onnx', 'onnxruntime', 'skimage'}); "
        "print(dt, ','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    print(f"import dualsr: {float(out[0]):.2f} s")
    assert len(out) == 1, f"import dualsr loaded {out[1]}"
