"""README, docs, examples and the benchmarks' index name only files and Python names that exist.

Lines that check out an older commit (``git checkout ...``) name that commit's files and are skipped.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "benchmarks").rglob("*.md"))]
SOURCES = [*DOCS, *sorted((ROOT / "examples").glob("*.py")), ROOT / "docs" / "make_screenshots.py"]
FILE = re.compile(
    r"(?<![\w/.-])((?:src|tests|benchmarks|docs|examples)/[\w./-]*\w\.(?:py|md|sh|png|jsonl|json|log|tif|npy|yaml))(?!\w)"
)
LINK = re.compile(r"\]\((?!https?:|#|mailto:)([^)#\s]+)")
NAME = re.compile(r"(?<![\w.])((?:napari_)?dualsr(?:\.[A-Za-z_]\w*)+)")


def _lines(path: Path):
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if "git checkout" not in line:
            yield number, line


def resolves(name: str) -> bool:
    """``dualsr.a.b.C.d``: the longest importable module prefix, then attributes."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def test_named_files_exist():
    missing = []
    for path in SOURCES:
        for number, line in _lines(path):
            for found in FILE.findall(line):
                if not (ROOT / found).exists():
                    missing.append(f"{path.relative_to(ROOT)}:{number}: {found}")
            if path.suffix == ".md":
                for link in LINK.findall(line):
                    if not (path.parent / link).exists():
                        missing.append(f"{path.relative_to(ROOT)}:{number}: link {link}")
    assert not missing, "\n".join(missing)


def test_named_python_names_exist():
    missing = []
    for path in SOURCES:
        for number, line in _lines(path):
            for name in NAME.findall(line):
                if not resolves(name.rstrip(".")):
                    missing.append(f"{path.relative_to(ROOT)}:{number}: {name}")
    assert not missing, "\n".join(missing)
