"""benchmarks/: every script has a smoke run in benchmarks/smoke.py and a row in benchmarks/README.md."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _smoke():  # noqa: ANN202 -- the module benchmarks/smoke.py (not a package)
    spec = importlib.util.spec_from_file_location("benchmarks_smoke", ROOT / "benchmarks" / "smoke.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_every_benchmark_script_has_a_smoke_run_and_no_run_names_a_missing_one():
    smoke = _smoke()
    scripts, entries = set(smoke.scripts_in_tree()), {s.script for s in smoke.SMOKES}
    assert scripts - entries == set(), "scripts without a smoke entry"
    assert entries - scripts == set(), "smoke entries for scripts that are gone"
    names = {s.name for s in smoke.SMOKES}
    assert all(s.via in names for s in smoke.SMOKES if s.via)


def test_every_benchmark_script_has_a_row_in_the_index():
    index = (ROOT / "benchmarks" / "README.md").read_text()
    missing = [s for s in [*_smoke().scripts_in_tree(), "smoke.py"] if f"]({s})" not in index]
    assert not missing, f"not in benchmarks/README.md: {missing}"
