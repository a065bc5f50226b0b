"""Study (issue 28, not shipped): the exchange estimator of the slice profile.

Z swapped with Y or X: the stack blurred across (along Y) by a candidate profile q, then
differences between neighbouring slices along Z; against XY planes blurred and sampled along Y
by the same q, differences along Y. At q = the truth both are the object blurred by the profile
in two axes and sampled in one: equal for an isotropic object, for any statistic, without the
shipped estimator's linear slab correction, so higher-order statistics can be compared too:
the differences' variance (level), their autocorrelation (acf), |difference| quantiles over
their RMS (quant) or raw (rawquant), the kurtosis. 6 shapes x 40 FWHMs from 0.25 to 3 steps.

Measured (docs/isotropic.md, *The blind slice profile*): level-acf-quant 7 of 8 benchmark cases
within 20 %, but 7 of 18 on the isotropic random fields, where the shipped slab estimate gets 14
of 18; picked from ten variants on the same 8 cases, so it lost.

    python benchmarks/studies/isotropic/profile_exchange.py --variants level-acf-quant,acf
    python benchmarks/studies/isotropic/profile_exchange.py --volumes field-powerlaw,field-exp \
        --profiles gaussian:0.6,rect:1,gaussian:1 --factors 2,4,5.5 --variants level-acf-quant
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from profile_estimators import FIELDS, TRUTH, field, load  # noqa: E402

from dualsr.isotropic.degrade import degradation_matrix, degrade_axis  # noqa: E402
from dualsr.isotropic.profile import generalised, named  # noqa: E402

POWERS = (2.0, 3.0, 4.0, 6.0, 10.0, 40.0)
QS = np.array([0.5, 0.75, 0.9, 0.95, 0.98, 0.99])


def blur_weights(q):
    first, w = q.weights(0.0)
    return first, w


def side_stats(d, lags):
    """d: array (..., coarse, fine) of coarse-axis differences. Returns dict of stats."""
    a = np.abs(d).ravel()
    if a.size > 200000:
        a = a[:: a.size // 200000]
    var = float(np.mean(d**2))
    qs = np.quantile(a, QS)
    acf = [var] + [float(np.mean(d[..., k:, :] * d[..., :-k, :])) for k in range(1, lags)]
    k4 = float(np.mean(d**4) / var**2)
    return {"var": var, "q": qs, "acf": np.array(acf), "kurt": k4}


def candidate_stats(v, f, q, axis, ysel, zsel, lags):
    """axis 'y' or 'x' exchanged with z. v (z, y, x)."""
    if axis == "x":
        v = v.transpose(0, 2, 1)
    nz, ny, nx = v.shape
    first, w = blur_weights(q)
    # A: planes at ysel blurred across (along y) with q, z coarse
    a = np.zeros((nz, len(ysel), nx), np.float64)
    for k, wk in enumerate(w):
        a += wk * v[:, ysel + first + k, :]
    da = np.diff(a, axis=0).transpose(1, 0, 2)  # (ysel, coarse, x)
    # B: planes at zsel degraded along y with q
    m = degradation_matrix(ny, f, q)
    b = np.einsum("sy,zyx->zsx", m, v[zsel])
    # drop the edge slices where clipping matters
    edge = int(np.ceil((q.radius + 1) / f))
    if b.shape[1] > 2 * edge + 3:
        b = b[:, edge:-edge]
    db = np.diff(b, axis=1)
    return side_stats(da, lags), side_stats(db, lags)


def estimate(v, f, variants, fwhms=None, powers=POWERS, nsel=48, seed=0):
    rng = np.random.default_rng(seed)
    nz, ny, nx = v.shape
    fwhms = np.geomspace(0.25 * f, 3.0 * f, 40) if fwhms is None else fwhms
    maxq = generalised(float(fwhms.max()), 2.0)
    margin = int(np.ceil(maxq.radius)) + 2
    lags = min(6, nz - 3)
    best = {}
    table = []
    sels = {}
    for ax in "yx":
        n_across = ny if ax == "y" else nx
        sels[ax] = (
            np.sort(
                rng.choice(np.arange(margin, n_across - margin), size=min(nsel, n_across - 2 * margin), replace=False)
            ),
            np.sort(rng.choice(nz, size=min(nsel, nz), replace=False)),
        )
    for p in powers:
        for fw in fwhms:
            q = generalised(float(fw), p)
            stats = {ax: candidate_stats(v, f, q, ax, *sels[ax], lags) for ax in "yx"}
            for vname, variant in variants.items():
                resid = []
                for ax in variant.get("axes", "yx"):
                    sa, sb = stats[ax]
                    r = []
                    if variant.get("level", False):
                        r.append(np.log(sa["var"] / sb["var"]))
                    if variant.get("acf", False):
                        na, nb = sa["acf"] / sa["acf"][0], sb["acf"] / sb["acf"][0]
                        r.extend(variant.get("wacf", 1.0) * (na[1:] - nb[1:]))
                    if variant.get("quant", False):
                        qa = np.log(sa["q"] / np.sqrt(sa["var"]))
                        qb = np.log(sb["q"] / np.sqrt(sb["var"]))
                        r.extend(variant.get("wq", 1.0) * (qa - qb))
                    if variant.get("rawquant", False):
                        r.extend(np.log(sa["q"] / sb["q"]))
                    if variant.get("kurt", False):
                        r.append(np.log(sa["kurt"] / sb["kurt"]))
                    resid.append(np.array(r))
                misfit = float(np.mean(np.concatenate(resid) ** 2))
                table.append((vname, fw, p, misfit))
                if vname not in best or misfit < best[vname][0]:
                    best[vname] = (misfit, q)
    return {k: b[1] for k, b in best.items()}, table


VARIANTS = {
    "level": {"level": True},
    "acf": {"acf": True},
    "level-acf": {"level": True, "acf": True},
    "quant": {"quant": True},
    "rawquant": {"rawquant": True},
    "level-acf-quant": {"level": True, "acf": True, "quant": True},
    "acf-quant": {"acf": True, "quant": True},
    "kurt-acf": {"acf": True, "kurt": True},
    "level-y": {"level": True, "axes": "y"},
    "rawquant-y": {"rawquant": True, "axes": "y"},
}


def main() -> None:
    p = argparse.ArgumentParser(description="the exchange estimator of the slice profile (a study)")
    p.add_argument("--volumes", default="mni,synthetic", help="mni, synthetic, field-powerlaw, field-exp")
    p.add_argument("--size", type=int, default=128, help="side of the synthetic volumes")
    p.add_argument("--factors", default="2,3,4,5.5")
    p.add_argument("--variants", default="level-acf-quant", help=", ".join(VARIANTS))
    p.add_argument("--profiles", default="", help="true profiles, shape:FWHM in Z steps (default: TRUTH)")
    args = p.parse_args()
    variants = args.variants.split(",")
    for name in args.volumes.split(","):
        volume = (field(name, args.size) if name in FIELDS else load(name, args.size)).astype(np.float64)
        profiles = [(a, float(b)) for a, b in (t.split(":") for t in args.profiles.split(",") if t)]
        for shape, rel in profiles or [TRUTH[name]]:
            for factor in (float(f) for f in args.factors.split(",")):
                truth = named(shape, rel * factor)
                lr = degrade_axis(volume, 0, factor, truth)
                t0 = time.perf_counter()
                estimates, _ = estimate(lr, factor, {k: VARIANTS[k] for k in variants})
                for variant in variants:
                    est = estimates[variant]
                    row = {"volume": name, "truth": f"{shape}:{rel}", "factor": factor, "variant": variant}
                    row.update(fwhm=round(est.fwhm, 3), shape=est.shape, error=round(est.fwhm / truth.fwhm - 1, 3))
                    row["seconds"] = round(time.perf_counter() - t0, 1)
                    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
