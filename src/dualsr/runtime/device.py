"""Choosing the torch device from ``auto | cpu | cuda``."""

from __future__ import annotations

import torch

from dualsr.errors import DualSRInputError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> torch.device:
    """The device to train on; ``auto`` prefers CUDA when present."""
    if name not in DEVICES and not name.startswith("cuda:"):
        raise DualSRInputError(f"unknown device {name!r}; use one of {', '.join(DEVICES)}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DualSRInputError("CUDA was requested but no CUDA device is available; use --device cpu or auto")
    return torch.device(name)


def available_devices() -> list[str]:
    """Devices present on this machine, for user interfaces."""
    return ["auto", "cpu"] + (["cuda"] if torch.cuda.is_available() else [])
