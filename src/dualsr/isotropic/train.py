"""Training the through-plane upsampler on the stack's own in-plane data (zero-shot, as DualSR).

Every XY plane is sharp in both directions. A square crop of one, degraded along one of its
axes exactly as the stack was acquired along Z (:mod:`dualsr.isotropic.degrade`: the slice
profile, step ``f``), is an input whose answer is known: the crop itself. The network learns
that mapping and is then applied to XZ and YZ slices, whose Z is what was degraded.

Crops are drawn with probability growing with their gradient energy (a brain volume is
mostly background), from either axis of the plane, flipped at random (the profile is
symmetric); the degradation is a small matrix product per step, on the training device.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import ndimage

from dualsr.errors import DualSRInputError
from dualsr.isotropic.degrade import interior_matrix, slices_for
from dualsr.isotropic.network import AxisUpsampler
from dualsr.isotropic.profile import SliceProfile

MAX_PLANES = 96  # planes kept for sampling crops (evenly spread); enough variety, bounded memory
FLAT_SHARE = 0.1  # probability mass kept for crops without structure


@dataclass
class TrainSettings:
    """How long and on what the upsampler trains; the defaults meet the 5-minute target on 2 cores.

    2400 steps, not 600: four times the steps gained 0.3-4.3 dB on the isotropic benchmark volumes at
    every factor and the 256x256x64 target still takes about 3 minutes on 2 cores (docs/isotropic.md,
    *2400 training steps at every factor*).
    """

    steps: int = 2400
    batch: int = 8
    patch: int = 64  # target rows and columns of one crop
    lr: float = 1e-3
    layers: int = 6
    features: int = 32
    seed: int = 0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class TrainReport:
    """Progress handed to a callback: the step, its loss, the model as it is now."""

    step: int
    steps: int
    loss: float
    seconds: float
    model: AxisUpsampler = field(repr=False)


class CropSampler:
    """Square crops of the in-plane data, drawn by gradient energy, as a ``(B, 1, S, S)`` tensor."""

    def __init__(self, volume: np.ndarray, side: int, rng: np.random.Generator, device: torch.device) -> None:
        z = volume.shape[0]
        planes = np.unique(np.linspace(0, z - 1, min(z, MAX_PLANES)).round().astype(int))
        self.side = side
        self.rng = rng
        self.data = torch.from_numpy(np.ascontiguousarray(volume[planes], dtype=np.float32)).to(device)
        self.prob = self._probabilities(volume[planes].astype(np.float32), side)

    @staticmethod
    def _probabilities(planes: np.ndarray, side: int) -> np.ndarray:
        """Per crop corner (plane, row, col): its gradient energy plus a flat share, summing to 1."""
        gy = np.diff(planes, axis=1, append=planes[:, -1:])
        gx = np.diff(planes, axis=2, append=planes[:, :, -1:])
        energy = np.sqrt(gy**2 + gx**2)
        box = ndimage.uniform_filter(energy, size=(1, side, side), mode="constant")
        half = side // 2
        corner = box[:, half : half + planes.shape[1] - side + 1, half : half + planes.shape[2] - side + 1]
        corner = corner + FLAT_SHARE * corner.mean() + 1e-12
        return (corner / corner.sum()).ravel()

    def draw(self, batch: int) -> torch.Tensor:
        _, h, w = self.data.shape
        ch, cw = h - self.side + 1, w - self.side + 1
        picks = self.rng.choice(self.prob.size, size=batch, p=self.prob)
        crops = []
        for pick in picks:
            p, rest = divmod(int(pick), ch * cw)
            r, c = divmod(rest, cw)
            crop = self.data[p, r : r + self.side, c : c + self.side]
            if self.rng.random() < 0.5:
                crop = crop.t()  # degrade along X instead of Y
            flips = [d for d in (0, 1) if self.rng.random() < 0.5]
            crops.append(crop.flip(flips) if flips else crop)
        return torch.stack(crops)[:, None]


def training_pair_geometry(patch: int, factor: float, profile: SliceProfile) -> tuple[int, int, int, np.ndarray]:
    """Crop side, slices per crop, target rows and the ``(slices, side)`` degradation matrix.

    The crop has a margin above and below so that every slice's profile lies inside it; the
    slices sit at ``margin + i*f + (f-1)/2`` and their target rows start at ``margin``.
    """
    margin = int(math.ceil(profile.radius)) + 1
    slices = max(slices_for(patch, factor), 2)
    target = int(math.floor(slices * factor + 1e-6))
    side = target + 2 * margin
    return side, slices, target, interior_matrix(side, factor, profile, slices, margin)


def train_upsampler(
    volume: np.ndarray,
    factor: float,
    profile: SliceProfile,
    settings: TrainSettings | None = None,
    device: torch.device | str = "cpu",
    progress: Callable[[TrainReport], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[AxisUpsampler, list[float]]:
    """Train an :class:`AxisUpsampler` on ``volume`` (``(Z, Y, X)``, normalised to about [0, 1]).

    ``progress`` is called every 10 steps; ``should_stop`` ends training early (the model so far
    is returned). Returns the model (eval mode) and the per-step L1 losses.
    """
    s = settings or TrainSettings()
    device = torch.device(device)
    torch.manual_seed(s.seed)
    rng = np.random.default_rng(s.seed)
    side, target, m = _geometry(s.patch, factor, profile, min(volume.shape[1], volume.shape[2]))
    margin = (side - target) // 2
    degrade = torch.from_numpy(m.astype(np.float32)).to(device)
    sampler = CropSampler(volume, side, rng, device)
    model = AxisUpsampler(factor, s.layers, s.features).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=s.lr)
    losses: list[float] = []
    start = time.perf_counter()
    for step in range(1, s.steps + 1):
        for g in opt.param_groups:  # cosine decay to 1 % of the initial rate
            g["lr"] = s.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * (step - 1) / s.steps)))
        hr = sampler.draw(s.batch)
        lr_rows = torch.einsum("ij,bcjw->bciw", degrade, hr)
        out = model(lr_rows)
        loss = (out - hr[:, :, margin : margin + out.shape[2]]).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if progress is not None and (step % 10 == 0 or step == s.steps):
            progress(TrainReport(step, s.steps, losses[-1], time.perf_counter() - start, model))
        if should_stop is not None and should_stop():
            break
    return model.eval(), losses


def _geometry(patch: int, factor: float, profile: SliceProfile, room: int) -> tuple[int, int, np.ndarray]:
    """The pair geometry for ``patch``, shrunk until the crop fits in ``room`` pixels (small planes)."""
    while patch > 1:
        side, _, target, m = training_pair_geometry(patch, factor, profile)
        if side <= room:
            return side, target, m
        patch -= 1
    raise DualSRInputError(
        f"the planes ({room} pixels across) are too small to train on at factor {factor:.3g}; "
        "they need room for two slices and the slice profile"
    )
