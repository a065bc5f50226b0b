"""Does the doubt map mean something, and does the resolution readout see the x2's new detail?

For every image of one or more sets made by ``dualsr bench`` / ``dualsr degrade`` (HR, LR, kernel):
train ``fast``, time its doubt map separately (the overhead ``doubt`` adds), then measure

- Spearman's rank correlation between the doubt map and the true error |x2 - HR| per pixel (grey,
  4 px border shaved), per image and over the set's pixels pooled;
- per set, whether the images where ``fast`` is below bicubic are in the top quartile of mean doubt;
- the decorrelation resolution (kc as a fraction of the x2 grid's Nyquist) of the LR, and the
  readout's (:mod:`dualsr.trust.readout`) of the x2 and of the bicubic x2 of the same LR, both cleared of
  the LR's spectral images: new detail takes the x2 above 0.5, interpolation cannot.

Prints one markdown table per set and a summary; ``--out`` writes them to a file (docs/trust.md
quotes it). Usage: python benchmarks/trust.py SET [SET ...] [--images a,b] [--iterations N] [--config k=v,...]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from speed import parse_candidate  # the benchmarks' own key=value parser

from dualsr.config import preset
from dualsr.engine.train import train
from dualsr.evaluation.metrics import sr_metrics, to_y
from dualsr.evaluation.sets import Case, from_unit, load_cases, to_unit
from dualsr.io.axes import Layout
from dualsr.paper.resize import bicubic_resize_np
from dualsr.trust.doubt import doubt_map
from dualsr.trust.doubt import resolution_scaled as doubt_smoothing
from dualsr.trust.readout import readout
from dualsr.trust.resolution import decorrelation

SHAVE = 4


def ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    out = np.empty(len(values))
    out[order] = np.arange(len(values))
    return out


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Rank correlation (float data: ties are negligible)."""
    return float(np.corrcoef(ranks(np.ravel(a)), ranks(np.ravel(b)))[0, 1])


def separation(below: list[float], above: list[float]) -> float | None:
    """How often an image below bicubic carries more mean doubt than one above it (ties count half): the
    area under the ROC curve of mean doubt as a below-bicubic detector; 0.5 is chance, None without both."""
    if not below or not above:
        return None
    pairs = [(b > a) + 0.5 * (b == a) for b in below for a in above]
    return float(np.mean(pairs))


def grey(image: np.ndarray, data_range: float) -> np.ndarray:
    """Y of an RGB image or the image itself, as a fraction of the range."""
    return to_y(image, data_range) / 255.0


def resolution_scaled(image: np.ndarray) -> np.ndarray:
    """The error at the data's resolution: smoothed exactly as the doubt map is."""
    return doubt_smoothing(torch.from_numpy(np.asarray(image, np.float64))[None, None])[0, 0].numpy()


def shaved(image: np.ndarray) -> np.ndarray:
    return image[SHAVE:-SHAVE, SHAVE:-SHAVE]


def measure(case: Case, iterations: int | None, save: Path | None = None, overrides: dict | None = None) -> dict:
    config = preset("fast", iterations=iterations, **(overrides or {}))
    start = time.perf_counter()
    result = train(case.lr, config=config)
    trained = time.perf_counter() - start
    start = time.perf_counter()
    layout = Layout.of(case.lr.shape, result.axes)
    doubt = doubt_map(
        result.upsampler, result.kernel, case.lr, layout, result.normalization, None, "cpu", 512, result.kernel_in_doubt
    )
    doubt_seconds = time.perf_counter() - start
    unit, r = to_unit(case.lr)
    bicubic = from_unit(bicubic_resize_np(unit, 2.0), case.lr.dtype, r)
    rng = case.data_range
    error = np.abs(grey(result.image, rng) - grey(case.hr, rng))
    if save:
        save.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(save / f"{case.name}.npz", doubt=doubt, error=error, x2=result.image, bicubic=bicubic)
    lr = grey(case.lr, rng)
    kc = [decorrelation(lr).kc / 2] + [readout(lr, grey(x, rng))["x2_kc"] for x in (result.image, bicubic)]
    return {
        "name": case.name,
        "gain": sr_metrics(result.image, case.hr, 2, rng)["psnr"] - sr_metrics(bicubic, case.hr, 2, rng)["psnr"],
        "spearman": spearman(shaved(doubt), shaved(resolution_scaled(error))),
        "spearman_pixel": spearman(shaved(doubt), shaved(error)),
        "mean_doubt": float(shaved(doubt).mean()),
        "pixels": (shaved(doubt).ravel(), shaved(resolution_scaled(error)).ravel()),
        "raw": shaved(error).ravel(),
        "kc": kc,
        "overhead": doubt_seconds / trained,
        "seconds": trained,
        "state": result.kernel_state,
    }


def set_table(name: str, rows: list[dict]) -> list[str]:
    doubts = np.array([r["mean_doubt"] for r in rows])
    top = np.quantile(doubts, 0.75)
    doubt = np.concatenate([r["pixels"][0] for r in rows])
    pooled = spearman(doubt, np.concatenate([r["pixels"][1] for r in rows]))
    pooled_raw = spearman(doubt, np.concatenate([r["raw"] for r in rows]))
    lines = [
        f"### {name}",
        "",
        "| image | x2 - bicubic (dB) | kernel state | Spearman(doubt, error) | per pixel | mean doubt | top quartile "
        "| kc LR / x2 / bicubic | doubt time / training |",
        "| --- | ---: | --- | ---: | ---: | ---: | :---: | --- | ---: |",
    ]
    for r in rows:
        lr, x2, bi = r["kc"]
        quartile = "yes" if r["mean_doubt"] >= top else ""
        lines.append(
            f"| {r['name']} | {r['gain']:+.2f} | {r['state']} | {r['spearman']:.2f} | {r['spearman_pixel']:.2f} "
            f"| {r['mean_doubt']:.4f} | {quartile} | "
            f"{lr:.2f} / {x2:.2f} / {bi:.2f} | {100 * r['overhead']:.1f} % |"
        )
    below = [r for r in rows if r["gain"] < 0]
    flagged = [r for r in below if r["mean_doubt"] >= top]
    told = [r for r in below if r["state"] == "not settled"]
    auc = separation([r["mean_doubt"] for r in below], [r["mean_doubt"] for r in rows if r["gain"] >= 0])
    lines += [
        "",
        f"Spearman with the error at the data's resolution (|x2 - HR| smoothed as the map is; 'per pixel': "
        f"unsmoothed): pooled over the set's pixels {pooled:.2f} (per pixel {pooled_raw:.2f}); "
        f"per image mean {np.mean([r['spearman'] for r in rows]):.2f} "
        f"(min {min(r['spearman'] for r in rows):.2f}); image-level Spearman(mean doubt, x2 error) "
        f"{spearman(doubts, [np.mean(r['pixels'][1]) for r in rows]):.2f}; below bicubic: {len(below)}, "
        f"of them in the top quartile of mean doubt: {len(flagged)} (of the {int(np.sum(doubts >= top))} "
        f"it holds), said 'not settled' (kernel uncertain): {len(told)}"
        + (f"; mean doubt ranks below over above bicubic in {100 * auc:.0f} % of pairs" if auc is not None else "")
        + "; doubt map time / training time: "
        f"{100 * max(r['overhead'] for r in rows):.1f} % at most. kc as a fraction of the x2 grid's Nyquist "
        "(the LR's halved into it; the x2's and bicubic's cleared of the LR's spectral images, as the readout "
        "measures them): above 0.5 is detail the LR's grid cannot hold.",
        "",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sets", nargs="+", type=Path, help="set folders (gt/, lr_x2/, gt_k_x2/)")
    parser.add_argument("--images", help="comma-separated image names (default: all)")
    parser.add_argument("--iterations", type=int, help="training steps (default: the fast preset's)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--save", type=Path, help="keep each image's doubt map and error here (.npz)")
    parser.add_argument("--out", type=Path, help="also write the tables to this markdown file")
    parser.add_argument(
        "--config",
        default="",
        help="engine settings over the fast preset, key=value,... (e.g. acquisition=gaussian-blur,"
        "cross_scale_check=false: the engine before issue 26, which over-sharpens camera images)",
    )
    args = parser.parse_args(argv)
    overrides = parse_candidate(f"fast:{args.config}")[1]
    torch.set_num_threads(args.threads)
    names = args.images.split(",") if args.images else None
    lines: list[str] = []
    for folder in args.sets:
        rows = []
        for case in load_cases(folder, names=names):
            rows.append(measure(case, args.iterations, args.save / folder.name if args.save else None, overrides))
            print(f"{folder.name}/{case.name}: {rows[-1]['gain']:+.2f} dB, Spearman {rows[-1]['spearman']:.2f}")
        lines += set_table(str(folder), rows)
    print("\n".join(lines))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
