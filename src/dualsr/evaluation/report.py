"""A benchmark's stored runs as tables (Markdown, CSV, JSON) and side-by-side figures."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from dualsr.evaluation.bench import load_entry, machine, run_dir
from dualsr.evaluation.methods import METHODS, method_label
from dualsr.evaluation.metrics import comparable_kernels, to_y
from dualsr.evaluation.sets import IMAGE_SUFFIXES, Case, find_file, write_json
from dualsr.io.files import atomic_write, read_image


def collect(out: Path) -> list[dict[str, Any]]:
    """Every stored entry under ``out/runs``."""
    entries = []
    for path in sorted((out / "runs").glob("*/*.json")):
        try:
            entries.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return entries


def _fmt(v: Any, digits: int) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def summary_tables(entries: list[dict[str, Any]], methods: list[str] | None = None) -> dict[str, Any]:
    """Per-image rows and per-method means; gains are paired with bicubic on the same images."""
    by = {(e["case"], e["method"]): e for e in entries}
    cases = sorted({e["case"] for e in entries})
    methods = [m for m in (methods or list(METHODS)) if any(e["method"] == m for e in entries)]
    means = {}
    for m in methods:
        rows = [by[(c, m)] for c in cases if (c, m) in by]
        paired = [(by[(c, m)], by[(c, "bicubic")]) for c in cases if (c, m) in by and (c, "bicubic") in by]

        def avg(values: list[float]) -> float | None:
            return float(np.mean(values)) if values else None

        means[m] = {
            "images": len(rows),
            "psnr": avg([r["psnr"] for r in rows]),
            "ssim": avg([r["ssim"] for r in rows]),
            "psnr_gain": avg([a["psnr"] - b["psnr"] for a, b in paired]),
            "ssim_gain": avg([a["ssim"] - b["ssim"] for a, b in paired]),
            "overshoot": avg([r["overshoot"] for r in rows if "overshoot" in r]),
            "kernel_mse": avg([r["kernel_mse"] for r in rows if "kernel_mse" in r]),
            "kernel_max_rel": avg([r["kernel_max_rel"] for r in rows if "kernel_max_rel" in r]),
            "seconds": avg([r["seconds"] for r in rows]),
            "iterations": sorted({r["settings"].get("iterations") for r in rows if r["settings"].get("iterations")}),
        }
    return {"cases": cases, "methods": methods, "by": by, "means": means}


def markdown(tables: dict[str, Any]) -> str:
    """The tables as Markdown: means first, then PSNR/SSIM, kernel error and time per image."""
    cases, methods, by, means = tables["cases"], tables["methods"], tables["by"], tables["means"]
    lines = [
        "| method | images | steps | PSNR (dB) | SSIM | ΔPSNR vs bicubic | ΔSSIM | overshoot | kernel max err "
        "| s/image |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in methods:
        s = means[m]
        steps = ",".join(str(i) for i in s["iterations"]) or "–"
        kerr = "–" if s["kernel_max_rel"] is None else f"{s['kernel_max_rel']:.0%}"
        gain = "–" if m == "bicubic" or s["psnr_gain"] is None else f"{s['psnr_gain']:+.2f}"
        sgain = "–" if m == "bicubic" or s["ssim_gain"] is None else f"{s['ssim_gain']:+.4f}"
        lines.append(
            f"| {method_label(m)} | {s['images']} | {steps} | {_fmt(s['psnr'], 2)} | {_fmt(s['ssim'], 4)} | "
            f"{gain} | {sgain} | {_fmt(s['overshoot'], 2)} | {kerr} | {_fmt(s['seconds'], 0)} |"
        )
    lines += ["", "PSNR (dB) / SSIM per image (Y channel, border of 2 shaved):", ""]
    lines.append("| image | " + " | ".join(method_label(m) for m in methods) + " |")
    lines.append("| --- |" + " ---: |" * len(methods))
    for c in cases:
        cells = [f"{by[(c, m)]['psnr']:.2f} / {by[(c, m)]['ssim']:.4f}" if (c, m) in by else "–" for m in methods]
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    est = [m for m in methods if any("kernel_max_rel" in by[k] for k in by if k[1] == m)]
    if est:
        lines += ["", "Kernel error per image: max |k_est − k_true| as % of the true peak (MSE):", ""]
        lines.append("| image | " + " | ".join(method_label(m) for m in est) + " |")
        lines.append("| --- |" + " ---: |" * len(est))
        for c in cases:
            cells = []
            for m in est:
                e = by.get((c, m))
                ok = e is not None and "kernel_max_rel" in e
                cells.append(f"{e['kernel_max_rel']:.0%} ({e['kernel_mse']:.1e})" if ok else "–")
            lines.append(f"| {c} | " + " | ".join(cells) + " |")
    lines += ["", "Overshoot per image (mean Y excess beyond the HR's local 5x5 range, grey levels):", ""]
    lines.append("| image | " + " | ".join(method_label(m) for m in methods) + " |")
    lines.append("| --- |" + " ---: |" * len(methods))
    for c in cases:
        cells = [_fmt(by[(c, m)].get("overshoot"), 2) if (c, m) in by else "–" for m in methods]
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_summary(out: Path, methods: list[str] | None = None) -> dict[str, Any]:
    """``results.md``, ``results.csv`` and ``results.json`` in ``out`` from every stored entry."""
    entries = collect(out)
    tables = summary_tables(entries, methods)
    md = markdown(tables)
    atomic_write(out / "results.md", lambda tmp: Path(tmp).write_text(md))
    fields = [
        "case",
        "method",
        "psnr",
        "ssim",
        "overshoot",
        "kernel_mse",
        "kernel_max",
        "kernel_max_rel",
        "seconds",
        "steps",
    ]

    def write_csv(tmp: str) -> None:
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow([*fields, "iterations"])
            order = {m: i for i, m in enumerate(METHODS)}  # registered methods first, then variants by name
            for e in sorted(entries, key=lambda e: (e["case"], order.get(e["method"], len(order)), e["method"])):
                w.writerow([e.get(k, "") for k in fields] + [e["settings"].get("iterations", "")])

    atomic_write(out / "results.csv", write_csv)
    write_json(
        out / "results.json",
        {
            "machine": machine(),
            "means": tables["means"],
            "entries": sorted(entries, key=lambda e: (e["case"], e["method"])),
        },
    )
    return tables


def edge_window(hr: np.ndarray, size: int, data_range: float) -> tuple[int, int]:
    """Top-left corner of the ``size``-square HR window with the strongest edges."""
    y = to_y(hr, data_range)
    gy, gx = np.gradient(y)
    g = np.hypot(gy, gx)
    c = np.cumsum(np.cumsum(np.pad(g, ((1, 0), (1, 0))), 0), 1)
    sums = c[size:, size:] - c[:-size, size:] - c[size:, :-size] + c[:-size, :-size]
    margin = 8
    inner = sums[margin:-margin, margin:-margin] if min(sums.shape) > 2 * margin + 1 else sums
    off = margin if inner is not sums else 0
    top, left = np.unravel_index(np.argmax(inner), inner.shape)
    return int(top + off), int(left + off)


def case_figure(
    case: Case, images: dict[str, np.ndarray], kernels: dict[str, np.ndarray], crop: int = 64, zoom: int = 4
):  # noqa: ANN201 - PIL.Image
    """Crops on the strongest edges (LR nearest, the methods, HR) zoomed, and the kernels.

    Every crop is shown with nearest-neighbour zoom at the same grey scale (the HR's
    0.5/99.5 percentiles over the crop) so halos and ringing stay visible.
    """
    from PIL import Image, ImageDraw

    from dualsr.evaluation.figures import kernel_tile

    crop = min(crop, case.hr.shape[0], case.hr.shape[1])
    top, left = edge_window(case.hr, crop, case.data_range)
    lr_up = np.repeat(np.repeat(case.lr, case.scale, axis=0), case.scale, axis=1)
    panels = {"LR (nearest)": lr_up, **images, "HR": case.hr}
    r = case.data_range

    def tile(img: np.ndarray) -> np.ndarray:
        c = np.asarray(img, dtype=np.float64)[top : top + crop, left : left + crop] / r
        c = np.clip(c, 0, 1)
        c = np.kron(c, np.ones((zoom, zoom) + (1,) * (c.ndim - 2)))
        return (c * 255).round().astype(np.uint8)

    tiles = {name: tile(img) for name, img in panels.items()}
    side = crop * zoom
    ktiles = {name: kernel_tile(np.asarray(k), side // 2) for name, k in kernels.items()}
    label_h, gap = 16, 6
    ncol = max(len(tiles), len(ktiles))
    width = ncol * (side + gap)
    height = 2 * label_h + side + (side // 2 + label_h + gap if ktiles else 0)
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    draw.text((4, 1), f"{case.name}: HR crop {crop}x{crop} at ({top}, {left}), x{zoom} nearest", fill="black")
    for i, (name, t) in enumerate(tiles.items()):
        x = i * (side + gap)
        draw.text((x + 2, label_h + 1), name, fill="black")
        canvas.paste(Image.fromarray(t).convert("RGB"), (x, 2 * label_h))
    y0 = 2 * label_h + side + gap
    for i, (name, t) in enumerate(ktiles.items()):
        x = i * (side + gap)
        draw.text((x + 2, y0), name, fill="black")
        canvas.paste(Image.fromarray(t).convert("RGB"), (x, y0 + label_h))
    return canvas


def write_figures(out: Path, cases: list[Case], methods: list[str], crop: int = 64) -> list[Path]:
    """One PNG per case under ``out/figures`` from the stored results."""
    written = []
    for case in cases:
        folder = run_dir(out, case.name)
        images, kernels = {}, {}
        for m in methods:
            p = find_file(folder, m, IMAGE_SUFFIXES)
            entry = load_entry(out, case.name, m)
            if p is None or entry is None:
                continue
            images[f"{method_label(m)} {entry['psnr']:.2f}"] = read_image(p).data
            kp = folder / f"{m}_kernel.npy"
            if kp.is_file() and case.kernel is not None:
                est, _ = comparable_kernels(np.load(kp), case.kernel)
                kernels[f"{method_label(m)}"] = est
        if not images:
            continue
        if case.kernel is not None:
            kernels = {"true kernel": comparable_kernels(case.kernel, case.kernel)[0], **kernels}
        fig = case_figure(case, images, kernels, crop=crop)
        path = out / "figures" / f"{case.name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda tmp, fig=fig: fig.save(tmp, format="PNG"))
        written.append(path)
    return written
