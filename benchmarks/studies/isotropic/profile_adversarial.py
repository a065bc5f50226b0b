"""Study (issue 28, not shipped): the slice profile learned adversarially (ESPRESO-like), beside the slab fit.

The through-plane data are in-plane data acquired through the profile. A candidate profile, a
generalised Gaussian ``exp(-ln2 |2t / fwhm| ** power)`` with learnable FWHM and power, blurs 2-D
patches of the XY planes along one in-plane axis (the patch rows) and samples them every ``f``
pixels, with the slice-centre weights of :func:`dualsr.isotropic.degrade.degradation_matrix`
(each pixel's weight the profile's area over it, computed in torch so that it is differentiable).
A small conv discriminator tells those from real through-plane patches (rows = Z) of the XZ and
YZ slices; the two are trained against each other (Adam, non-saturating loss) and the FWHM is
read off the learned profile (its mean over the last half of the steps).

``--mode exchange`` (default) also blurs the real patches across (along the in-plane axis that
the fake patches are sampled along, i.e. Y for XZ slices) by the same candidate: an in-plane
plane is a slab, the object already blurred along Z by the true profile, so at the truth both
sides are then the object blurred by the profile in two axes and sampled along one (the
exchange idea of ``profile_exchange.py``). ``--mode plain`` leaves the real patches as they are
(ESPRESO's setting), which biases towards too narrow a profile.

``--mode swd`` is a non-adversarial variant of the same construction: over a grid of candidates,
the sliced Wasserstein distance between the real and fake patches' Z differences (same patches and
projections for every candidate), the nearest wins.

Each case also runs the shipped :func:`dualsr.isotropic.estimate.estimate_profile` on the same
stack; one JSON line per case. One torch thread.

Measured (AMD EPYC, one thread, seed 0, 1500 steps; docs/isotropic.md, "The adversarial estimate"):
within 20 % of the true FWHM, benchmark (8 cases) slab 2, exchange 2 (mean |error| 35.5 vs
23.9 %), plain 5 (13.2 %); isotropic random fields (18 cases) slab 14 (13.4 %), exchange 11
(21.3 %), plain 7 (32.7 %); ~47 s (exchange) / ~30 s (plain) per case against 0.5 s. Seed 1 moves
the exchange FWHM by 5-15 % and once by +68 %. Not better than the slab fit across both sets.

    python benchmarks/studies/isotropic/profile_adversarial.py --volumes mni,synthetic --factors 2,3,4,5.5
    python benchmarks/studies/isotropic/profile_adversarial.py --volumes field-powerlaw,field-exp \
        --profiles gaussian:0.6,rect:1,gaussian:1 --factors 2,4,5.5
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from profile_estimators import FIELDS, TRUTH, field, load  # noqa: E402

from dualsr.isotropic.degrade import degrade_axis, slice_centre  # noqa: E402
from dualsr.isotropic.estimate import _phases, estimate_profile  # noqa: E402  (the slab fit's phase rule)
from dualsr.isotropic.profile import generalised, named  # noqa: E402

SUB = 16  # sub-samples per pixel for a pixel's area under the profile
MIN_REL, MAX_REL = 0.25, 2.5  # FWHM range, in Z steps
MIN_POW, MAX_POW = 2.0, 40.0


def profile_values(t: torch.Tensor, fwhm: torch.Tensor, power: torch.Tensor) -> torch.Tensor:
    """The generalised Gaussian at ``t`` (pixels from its centre)."""
    return torch.exp(-math.log(2) * (2 * t.abs() / fwhm + 1e-9) ** power)


def pixel_weights(centres: torch.Tensor, length: int, fwhm: torch.Tensor, power: torch.Tensor) -> torch.Tensor:
    """``(len(centres), length)``: the profile centred at each centre, area over each pixel, rows summing to 1.

    Pixel ``j`` spans ``[j - 0.5, j + 0.5]`` as in :meth:`SliceProfile.weights`."""
    sub = (torch.arange(SUB, dtype=torch.float64) + 0.5) / SUB - 0.5
    pos = torch.arange(length, dtype=torch.float64)[:, None] + sub[None, :]  # (length, SUB)
    t = pos[None] - centres[:, None, None]
    w = profile_values(t, fwhm, power).mean(-1)
    return w / w.sum(1, keepdim=True)


class Profile(nn.Module):
    """Learnable FWHM (log, in Z steps, squashed into [MIN_REL, MAX_REL]) and power (2 .. 40)."""

    def __init__(self, factor: float, rel: float = 1.0, power: float = 4.0) -> None:
        super().__init__()
        self.factor = factor
        self.a = nn.Parameter(torch.tensor(_logit((math.log(rel) - math.log(MIN_REL)) / math.log(MAX_REL / MIN_REL))))
        self.b = nn.Parameter(torch.tensor(_logit((math.log(power) - math.log(MIN_POW)) / math.log(MAX_POW / MIN_POW))))

    def forward(self) -> tuple[torch.Tensor, torch.Tensor]:
        rel = MIN_REL * (MAX_REL / MIN_REL) ** torch.sigmoid(self.a.double())
        power = MIN_POW * (MAX_POW / MIN_POW) ** torch.sigmoid(self.b.double())
        return rel * self.factor, power


def _logit(p: float) -> float:
    p = min(max(p, 1e-3), 1 - 1e-3)
    return math.log(p / (1 - p))


class Critic(nn.Module):
    """A small conv discriminator, global average pooled (a learned statistic of the patches)."""

    def __init__(self, width: int = 24) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(width, width, 3, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(width, width, 3, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(width, 1, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x[:, None]).mean(dim=(1, 2, 3))


class Patches:
    """Random real (through-plane) and fake (in-plane, acquired through a candidate) patch batches."""

    def __init__(self, lr: np.ndarray, factor: float, rows: int, cols: int, seed: int) -> None:
        self.v = torch.from_numpy(lr.astype(np.float32))
        self.v = (self.v - self.v.mean()) / self.v.std()
        self.factor = factor
        nz, ny, nx = lr.shape
        self.rows = min(rows, nz)
        self.cols = min(cols, ny, nx)
        self.gen = torch.Generator().manual_seed(seed)
        fmax = MAX_REL * factor
        self.reach = int(math.ceil(1.7 * fmax)) + 1  # a Gaussian of the widest FWHM falls under 1e-4 of its peak
        self.across = min(self.reach, (min(ny, nx) - 1) // 2 - 1)  # half-width of the across blur (real side)
        # in-plane lines needed for `rows` slices plus the profile's reach both sides
        self.length = int(math.ceil((self.rows - 1) * factor)) + 2 * self.reach + int(math.ceil(factor)) + 1
        if self.length > min(ny, nx):
            raise ValueError("planes too small for these patches")
        # slice centres for each phase of the slice grid (non-integer factors), inside the fine window
        self.centres = []
        for k in range(_phases(factor)):
            start = float(slice_centre(k, factor))
            c = np.array([float(slice_centre(k + i, factor)) for i in range(self.rows)]) - math.floor(start)
            self.centres.append(torch.tensor(c + self.reach, dtype=torch.float64))

    def _ints(self, high: int, n: int) -> torch.Tensor:
        return torch.randint(0, high, (n,), generator=self.gen)

    def real(self, n: int, across: torch.Tensor | None) -> torch.Tensor:
        """Z patches (rows = slices) of XZ (cols X) and YZ (cols Y) slices; ``across`` blurs across."""
        v = self.v
        nz, ny, nx = v.shape
        half = n // 2
        r = self.across if across is not None else 0
        out = []
        for turn, m in ((v, half), (v.transpose(1, 2), n - half)):  # across = Y (XZ slices), then X
            z0 = self._ints(nz - self.rows + 1, m)
            y = self._ints(turn.shape[1] - 2 * r, m) + r
            x0 = self._ints(turn.shape[2] - self.cols + 1, m)
            zi = z0[:, None, None, None] + torch.arange(self.rows)[None, :, None, None]
            yi = y[:, None, None, None] + torch.arange(-r, r + 1)[None, None, :, None]
            xi = x0[:, None, None, None] + torch.arange(self.cols)[None, None, None, :]
            block = turn[zi, yi, xi]  # (m, rows, 2r+1, cols)
            if across is None:
                out.append(block[:, :, 0, :])
            else:
                out.append(torch.einsum("mrac,a->mrc", block, across.float()))
        return torch.cat(out)

    def fake(self, n: int, fwhm: torch.Tensor, power: torch.Tensor) -> torch.Tensor:
        """XY patches (rows along Y, cols X; and rows X, cols Y) acquired along the rows through the candidate."""
        v = self.v
        nz = v.shape[0]
        half = n // 2
        out = []
        k = int(torch.randint(0, len(self.centres), (1,), generator=self.gen))
        d = pixel_weights(self.centres[k], self.length, fwhm, power).float()  # (rows, length)
        for turn, m in ((v, half), (v.transpose(1, 2), n - half)):
            z = self._ints(nz, m)
            y0 = self._ints(turn.shape[1] - self.length + 1, m)
            x0 = self._ints(turn.shape[2] - self.cols + 1, m)
            yi = y0[:, None, None] + torch.arange(self.length)[None, :, None]
            xi = x0[:, None, None] + torch.arange(self.cols)[None, None, :]
            block = turn[z[:, None, None], yi, xi]  # (m, length, cols)
            out.append(torch.einsum("rl,mlc->mrc", d, block))
        return torch.cat(out)

    def across_weights(self, fwhm: torch.Tensor, power: torch.Tensor) -> torch.Tensor:
        """The candidate over pixels ``-across .. across`` (the real side's blur), centred at the
        sub-pixel phase of a random slice: the in-plane planes' own Z blur sits at the slice centres."""
        k = int(torch.randint(0, len(self.centres), (1,), generator=self.gen))
        phase = float(slice_centre(k, self.factor)) % 1.0
        centre = torch.tensor([self.across + phase], dtype=torch.float64)
        return pixel_weights(centre, 2 * self.across + 1, fwhm, power)[0]


def _prep(x: torch.Tensor) -> torch.Tensor:
    """Each patch less its mean, the batch over its RMS: a free gain, as in the slab fit."""
    x = x - x.mean(dim=(1, 2), keepdim=True)
    return x / (x.pow(2).mean().sqrt() + 1e-6)


def adversarial(
    lr: np.ndarray,
    factor: float,
    mode: str = "exchange",
    steps: int = 1500,
    batch: int = 32,
    rows: int = 12,
    cols: int = 24,
    seed: int = 0,
    lr_g: float = 0.01,
    lr_d: float = 2e-3,
    log: bool = False,
    width: int = 16,
) -> tuple[float, float, list]:
    """Learn the profile adversarially; returns FWHM (pixels), power and the trace ``(step, fwhm, power)``."""
    torch.manual_seed(seed)
    data = Patches(lr, factor, rows, cols, seed)
    gen = Profile(factor)
    critic = Critic(width)
    opt_g = torch.optim.Adam(gen.parameters(), lr=lr_g, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(critic.parameters(), lr=lr_d, betas=(0.5, 0.9))
    bce = nn.functional.softplus
    trace = []
    for step in range(steps):
        fwhm, power = gen()
        across = data.across_weights(fwhm, power) if mode == "exchange" else None
        # critic step (the candidate fixed)
        with torch.no_grad():
            real = _prep(data.real(batch, across))
            fake = _prep(data.fake(batch, fwhm, power))
        loss_d = bce(-critic(real)).mean() + bce(critic(fake)).mean()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        # profile step: fool the critic (both sides move with the candidate in exchange mode)
        fake = _prep(data.fake(batch, fwhm, power))
        loss_g = bce(-critic(fake)).mean()
        if across is not None:
            real = _prep(data.real(batch, across))
            loss_g = loss_g + bce(critic(real)).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        trace.append((step, float(fwhm.detach()), float(power.detach())))
        if log and step % 50 == 0:
            print(f"  {step} fwhm {trace[-1][1]:.3f} power {trace[-1][2]:.2f} d {float(loss_d):.3f}", file=sys.stderr)
    tail = np.array(trace[-max(steps // 2, 1) :])
    return float(tail[:, 1].mean()), float(np.exp(np.log(tail[:, 2]).mean())), trace


def sliced(
    lr: np.ndarray,
    factor: float,
    rows: int = 8,
    cols: int = 8,
    count: int = 4096,
    projections: int = 128,
    seed: int = 0,
    level: bool = False,
) -> tuple[float, float, list]:
    """The non-adversarial variant: the candidate (grid: 6 powers x 40 FWHMs) whose fake patches' Z
    differences are nearest the real ones' in sliced Wasserstein-2 distance, both sides built as in
    the exchange mode, with the same patches and projections for every candidate (common random
    numbers: a smooth misfit). ``level=False`` divides each side by its RMS (a free gain)."""
    data = Patches(lr, factor, rows, cols, seed)
    gen = torch.Generator().manual_seed(seed + 1)
    v = data.v.double()
    nz = v.shape[0]
    r = data.across
    reals, fakes, phase_of = [], [], []
    half = count // 2
    for turn, m in ((v, half), (v.transpose(1, 2), count - half)):
        z0 = torch.randint(0, nz - data.rows + 1, (m,), generator=gen)
        y = torch.randint(r, turn.shape[1] - r, (m,), generator=gen)
        x0 = torch.randint(0, turn.shape[2] - data.cols + 1, (m,), generator=gen)
        zi = z0[:, None, None, None] + torch.arange(data.rows)[None, :, None, None]
        yi = y[:, None, None, None] + torch.arange(-r, r + 1)[None, None, :, None]
        xi = x0[:, None, None, None] + torch.arange(data.cols)[None, None, None, :]
        reals.append(turn[zi, yi, xi])
        z = torch.randint(0, nz, (m,), generator=gen)
        y0 = torch.randint(0, turn.shape[1] - data.length + 1, (m,), generator=gen)
        x0 = torch.randint(0, turn.shape[2] - data.cols + 1, (m,), generator=gen)
        yi = y0[:, None, None] + torch.arange(data.length)[None, :, None]
        xi = x0[:, None, None] + torch.arange(data.cols)[None, None, :]
        fakes.append(turn[z[:, None, None], yi, xi])
        phase_of.append(torch.randint(0, len(data.centres), (m,), generator=gen))
    real_blocks, fake_blocks, phase = torch.cat(reals), torch.cat(fakes), torch.cat(phase_of)
    dims = (data.rows - 1) * data.cols
    proj = torch.randn(dims, projections, generator=gen, dtype=torch.float64)
    proj /= proj.norm(dim=0, keepdim=True)

    def features(x: torch.Tensor) -> torch.Tensor:
        d = torch.diff(x, dim=1).reshape(len(x), -1)
        if not level:
            d = d / d.pow(2).mean().sqrt()
        return torch.sort(d @ proj, dim=0).values

    table = []
    for power in (2.0, 3.0, 4.0, 6.0, 10.0, 40.0):
        for rel in np.geomspace(MIN_REL, MAX_REL, 40):
            fwhm, pw = torch.tensor(rel * factor, dtype=torch.float64), torch.tensor(power, dtype=torch.float64)
            real = torch.empty(count, data.rows, data.cols, dtype=torch.float64)
            fake = torch.empty_like(real)
            for k in range(len(data.centres)):
                sel = phase == k
                if not sel.any():
                    continue
                ph = float(slice_centre(k, factor)) % 1.0
                cen = torch.tensor([r + ph], dtype=torch.float64)
                w = pixel_weights(cen, 2 * r + 1, fwhm, pw)[0]
                real[sel] = torch.einsum("mrac,a->mrc", real_blocks[sel], w)
                d = pixel_weights(data.centres[k], data.length, fwhm, pw)
                fake[sel] = torch.einsum("rl,mlc->mrc", d, fake_blocks[sel])
            misfit = float((features(real) - features(fake)).pow(2).mean())
            table.append((float(rel * factor), power, misfit))
    best = min(table, key=lambda t: t[2])
    return best[0], best[1], table


def cached(name: str, size: int) -> np.ndarray:
    """A volume, the synthetic one cached under $DUALSR_STUDY_CACHE (it takes a while to build)."""
    if name in FIELDS:
        return field(name, size)
    cache = os.environ.get("DUALSR_STUDY_CACHE")
    if cache and name == "synthetic":
        path = Path(cache) / f"{name}-{size}.npy"
        if path.exists():
            return np.load(path)
        v = load(name, size)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, v)
        return v
    return load(name, size)


def main() -> None:
    p = argparse.ArgumentParser(description="the slice profile learned adversarially, beside the shipped slab fit")
    p.add_argument("--volumes", default="mni,synthetic", help="mni, synthetic, field-powerlaw, field-exp")
    p.add_argument("--size", type=int, default=128, help="side of the synthetic volumes")
    p.add_argument("--factors", default="2,3,4,5.5")
    p.add_argument("--profiles", default="", help="true profiles, shape:FWHM in Z steps (default: TRUTH)")
    p.add_argument("--mode", default="exchange", choices=("exchange", "plain", "swd", "swd-level"))
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--rows", type=int, default=12, help="slices per patch")
    p.add_argument("--cols", type=int, default=24, help="in-plane pixels per patch")
    p.add_argument("--lr-g", type=float, default=0.01)
    p.add_argument("--lr-d", type=float, default=2e-3)
    p.add_argument("--width", type=int, default=16, help="the critic's channels")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-shipped", action="store_true", help="skip the shipped slab estimate")
    p.add_argument("--log", action="store_true", help="print the training trace to stderr")
    args = p.parse_args()
    torch.set_num_threads(1)
    for name in args.volumes.split(","):
        volume = cached(name, args.size).astype(np.float64)
        profiles = [(a, float(b)) for a, b in (t.split(":") for t in args.profiles.split(",") if t)]
        for shape, rel in profiles or [TRUTH[name]]:
            for factor in (float(f) for f in args.factors.split(",")):
                truth = named(shape, rel * factor)
                lr = degrade_axis(volume, 0, factor, truth).astype(np.float32)
                row = {"volume": name, "factor": factor, "truth": f"{shape}:{rel}", "truth_fwhm": round(truth.fwhm, 3)}
                if not args.no_shipped:
                    t0 = time.perf_counter()
                    est = estimate_profile(lr, factor).profile
                    row.update(slab_fwhm=round(est.fwhm, 3), slab_error=round(est.fwhm / truth.fwhm - 1, 3))
                    row["slab_seconds"] = round(time.perf_counter() - t0, 1)
                t0 = time.perf_counter()
                if args.mode.startswith("swd"):
                    fwhm, power, _ = sliced(lr, factor, seed=args.seed, level=args.mode == "swd-level")
                else:
                    fwhm, power, _ = adversarial(
                        lr,
                        factor,
                        args.mode,
                        args.steps,
                        args.batch,
                        args.rows,
                        args.cols,
                        args.seed,
                        args.lr_g,
                        args.lr_d,
                        args.log,
                        args.width,
                    )
                fwhm = generalised(fwhm, power).fwhm
                row.update(mode=args.mode, adv_fwhm=round(fwhm, 3), adv_power=round(power, 2))
                row.update(adv_error=round(fwhm / truth.fwhm - 1, 3), adv_seconds=round(time.perf_counter() - t0, 1))
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
