"""Does the x2's drift over the last training steps tell the images below bicubic?

Two seeds move brick's ``fast`` x2 by 0.48 dB and most images by 0.02-0.11 dB (docs/benchmarks.md):
where the data do not determine the answer, training keeps moving it. A second training costs 100 %
(the doubt map may cost 25 %); a snapshot of G_UP taken before the end costs one more pass over the
image. This study trains ``fast`` once per image, keeps G_UP's weights at the steps given, and
measures the x2 made with each snapshot (the same pipeline: self-ensemble, back-projection, check)
against the final one: the mean drift |x2 - x2 at step s| (a fraction of the range) and its Spearman
with the true error per pixel (at the data's resolution, as trust.py compares the map), beside the
doubt map's mean. Per set: how many images below bicubic are in the top quartile of drift and of
mean doubt, and how often one below outranks one above (trust.py's ``separation``).

``--seeds`` also trains the next seed: the spread a second training gives, which the drift would stand in for.
``--pool A.md B.md`` reads the tables earlier runs printed and pools their images (trains nothing).

Usage: python benchmarks/studies/trust/training_drift.py SET [SET ...] [--at 250,370,450] [--config k=v,...] [--seeds]
       python benchmarks/studies/trust/training_drift.py --pool A.md [B.md ...]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from dualsr.config import preset
from dualsr.engine.loop import StepInfo
from dualsr.engine.train import train
from dualsr.evaluation.metrics import sr_metrics
from dualsr.evaluation.sets import Case, from_unit, load_cases, to_unit
from dualsr.io.axes import Layout
from dualsr.paper.resize import bicubic_resize_np
from dualsr.trust.doubt import doubt_map

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # benchmarks/, for trust.py's helpers
from speed import parse_candidate  # noqa: E402
from trust import grey, resolution_scaled, separation, shaved, spearman  # noqa: E402


def snapshots(at: tuple[int, ...]) -> tuple[dict[int, dict[str, torch.Tensor]], Callable[[StepInfo], None]]:
    """A progress callback keeping the live G_UP's weights at the steps ``at`` (reports come every 10)."""
    kept: dict[int, dict[str, torch.Tensor]] = {}

    def keep(info: StepInfo) -> None:
        if info.step in at and info.model is not None:
            kept[info.step] = {k: v.detach().clone() for k, v in info.model.state_dict().items()}

    return kept, keep


def measure(case: Case, at: tuple[int, ...], overrides: dict, iterations: int | None, seeds: bool) -> dict:
    kept, keep = snapshots(at)
    config = preset("fast", iterations=iterations, **overrides)
    result = train(case.lr, config=config, progress=keep)
    rng = case.data_range
    unit, r = to_unit(case.lr)
    bicubic = from_unit(bicubic_resize_np(unit, 2.0), case.lr.dtype, r)
    error = resolution_scaled(np.abs(grey(result.image, rng) - grey(case.hr, rng)))
    layout = Layout.of(case.lr.shape, result.axes)
    doubt = doubt_map(
        result.upsampler, result.kernel, case.lr, layout, result.normalization, None, "cpu", 512, result.kernel_in_doubt
    )
    baseline = sr_metrics(bicubic, case.hr, 2, rng)["psnr"]
    row = {
        "name": case.name,
        "gain": sr_metrics(result.image, case.hr, 2, rng)["psnr"] - baseline,
        "doubt": float(shaved(doubt).mean()),
        "drift": {},
        "spearman": {},
    }
    if seeds:  # what a second training would give: the spread the drift stands in for
        other = train(case.lr, config=config.with_(seed=config.seed + 1)).image
        spread = resolution_scaled(np.abs(grey(result.image, rng) - grey(other, rng)))
        row["seed"] = float(shaved(spread).mean())
        row["seed_spearman"] = spearman(shaved(spread), shaved(error))
        row["seed_gain"] = sr_metrics(other, case.hr, 2, rng)["psnr"] - baseline
    if not kept:
        return row
    names = set(next(iter(kept.values())))
    g_up = next(m for m in result.upsampler.modules() if set(m.state_dict()) == names)  # G_UP, or G_UP with its guide
    final = {k: v.clone() for k, v in g_up.state_dict().items()}
    for step, weights in sorted(kept.items()):
        g_up.load_state_dict(weights)
        drift = resolution_scaled(np.abs(grey(result.image, rng) - grey(result.upsample(case.lr), rng)))
        row["drift"][step] = float(shaved(drift).mean())
        row["spearman"][step] = spearman(shaved(drift), shaved(error))
    g_up.load_state_dict(final)
    return row


def ranked(rows: list[dict], value: str, step: int | None = None) -> tuple[int, int, float | None]:
    """(images below bicubic in the top quartile of the value, how many below, how often below outranks above)."""
    values = np.array([r[value][step] if step else r[value] for r in rows])
    top = np.quantile(values, 0.75)
    below = [v for v, r in zip(values, rows) if r["gain"] < 0]
    above = [v for v, r in zip(values, rows) if r["gain"] >= 0]
    return int(sum(v >= top for v in below)), len(below), separation(below, above)


def ranking(rows: list[dict], steps: list[int], seeds: bool) -> list[str]:
    """One line per measure: images below bicubic in its top quartile, and how often one below outranks one above."""
    measures = [("mean doubt", "doubt", None)] + [(f"drift from step {s}", "drift", s) for s in steps]
    lines = []
    for label, value, step in measures + ([("second seed's spread", "seed", None)] if seeds else []):
        inside, below, auc = ranked(rows, value, step)
        pairs = f"{100 * auc:.0f} %" if auc is not None else "-"
        lines.append(f"- {label}: {inside} of {below} below bicubic in the top quartile; below over above {pairs}")
    return lines


def table(name: str, rows: list[dict], at: tuple[int, ...]) -> list[str]:
    steps = [s for s in at if all(s in r["drift"] for r in rows)]
    head = " | ".join(f"drift from step {s} | Spearman" for s in steps)
    seeds = all("seed" in r for r in rows)
    if seeds:
        head += " | second seed: x2 - bicubic | spread | Spearman | spread / last drift"
    lines = [f"### {name}", "", f"| image | x2 - bicubic (dB) | mean doubt | {head} |"]
    lines.append("| --- | ---: | ---: |" + " ---: | ---: |" * len(steps) + " ---: | ---: | ---: | ---: |" * seeds)
    for r in rows:
        cells = " | ".join(f"{r['drift'][s]:.5f} | {r['spearman'][s]:.2f}" for s in steps)
        if seeds:
            ratio = r["seed"] / r["drift"][steps[-1]] if steps and r["drift"][steps[-1]] > 0 else float("nan")
            cells += f" | {r['seed_gain']:+.2f} | {r['seed']:.5f} | {r['seed_spearman']:.2f} | {ratio:.1f}"
        lines.append(f"| {r['name']} | {r['gain']:+.2f} | {r['doubt']:.4f} | {cells} |")
    return lines + [""] + ranking(rows, steps, seeds) + [""]


def read_tables(paths: list[Path]) -> list[dict]:
    """The rows of the tables earlier runs printed (their stdout saved), for ``--pool``."""
    rows = []
    for path in paths:
        steps: list[int] = []
        for line in path.read_text().splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if line.startswith("| image"):
                steps = [int(c.split()[-1]) for c in cells if c.startswith("drift from step")]
            elif line.startswith("| ") and not line.startswith("| ---") and steps:
                row = {"name": cells[0], "gain": float(cells[1]), "doubt": float(cells[2]), "drift": {}}
                row["drift"] = {s: float(cells[3 + 2 * i]) for i, s in enumerate(steps)}
                if len(cells) > 3 + 2 * len(steps):
                    row["seed"] = float(cells[4 + 2 * len(steps)])
                rows.append(row)
    return rows


def pooled(rows: list[dict]) -> list[str]:
    """The rows of several runs as one set: top quartile and pairs per measure, and how the measures rank
    the images alike (Spearman across images)."""
    steps = sorted(set.intersection(*(set(r["drift"]) for r in rows)))
    seeds = all("seed" in r for r in rows)
    lines = [f"### pooled: {len(rows)} images, {sum(r['gain'] < 0 for r in rows)} below bicubic", ""]
    lines += ranking(rows, steps, seeds)
    if seeds:
        seed = [r["seed"] for r in rows]
        alike = spearman(seed, [r["doubt"] for r in rows])
        lines.append(f"- Spearman across images, second seed's spread and mean doubt: {alike:.2f}")
        for s in steps:
            drift = [r["drift"][s] for r in rows]
            ratios = [a / b for a, b in zip(seed, drift) if b > 0]
            lines.append(
                f"- and drift from step {s}: {spearman(seed, drift):.2f} (spread / drift "
                f"{min(ratios):.1f}-{max(ratios):.1f})"
            )
    return lines + [""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sets", nargs="*", type=Path, help="set folders (gt/, lr_x2/, gt_k_x2/)")
    parser.add_argument("--images", help="comma-separated image names (default: all)")
    parser.add_argument("--at", default="250,370,450", help="steps whose G_UP is kept (multiples of 10)")
    parser.add_argument("--iterations", type=int, help="training steps (default: the fast preset's)")
    parser.add_argument("--config", default="", help="engine settings over the fast preset, key=value,...")
    parser.add_argument("--seeds", action="store_true", help="also train seed + 1: the spread a second training gives")
    parser.add_argument("--out", type=Path, help="also write the tables to this file (for --pool)")
    parser.add_argument("--pool", nargs="+", type=Path, help="earlier runs' printed tables: pool them, train nothing")
    args = parser.parse_args(argv)
    if args.pool:
        print("\n".join(pooled(read_tables(args.pool))))
        return 0
    torch.set_num_threads(1)
    at = tuple(int(s) for s in args.at.split(","))
    overrides = parse_candidate(f"fast:{args.config}")[1]
    names = args.images.split(",") if args.images else None
    lines: list[str] = []
    for folder in args.sets:
        rows = []
        for case in load_cases(folder, names=names):
            rows.append(measure(case, at, overrides, args.iterations, args.seeds))
            print(f"{folder.name}/{case.name}: {rows[-1]['gain']:+.2f} dB, drift {rows[-1]['drift']}", flush=True)
        lines += table(str(folder), rows, at)
    print("\n".join(lines))
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
