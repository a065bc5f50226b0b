"""How much memory the system can give now: what decides whether a stack is read whole or lazily."""

from __future__ import annotations

from pathlib import Path


def free_memory() -> int | None:
    """The memory the system can give without swapping (``MemAvailable``), bytes; None where unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None
