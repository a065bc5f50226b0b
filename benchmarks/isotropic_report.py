"""Markdown tables of benchmarks/isotropic_bench.py's results.jsonl (pasted into docs/isotropic.md).

python benchmarks/isotropic_report.py /tmp/isobench/results.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

QUALITY = ["volume", "factor", "view", "cubic B-spline", "SMORE-style", "ours", "ours − B-spline", "SSIM B / S / ours"]
PROFILE = [
    "volume",
    "factor",
    "truth",
    "FWHM truth",
    "FWHM blind",
    "error",
    "estimate s",
    "train s",
    "apply s",
    "RSS MB",
]
EXTRA = [
    ("given", "true profile given − B-spline"),
    ("shape", "true shape given, width blind − B-spline"),
    ("bspline_denoised", "B-spline of the denoised stack − B-spline"),
]


def _row(cells: list) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def label(row: dict) -> str:
    """The volume, its photons where noise was added, and whether the noise model denoised it."""
    photons = f", {row['photons']:g} photons" if row.get("photons") else ""
    denoised = ", denoised" if row.get("noise", {}).get("active") else ""
    return f"{row['volume']}{photons}{denoised}"


def main(path: str) -> None:
    text = Path(path).read_text()
    rows = json.loads(text) if text.lstrip().startswith("[") else [json.loads(ln) for ln in text.splitlines()]
    rows.sort(key=lambda r: (r["volume"], r["factor"]))
    extra = [(key, title) for key, title in EXTRA if any(key in r for r in rows)]
    header = QUALITY + [title for _, title in extra]
    print(_row(header))
    print(_row(["---"] * len(header)))
    for r in rows:
        for view in ("XZ", "YZ", "XY"):
            b, s, o = (r[m]["views"][view] for m in ("bspline", "smore", "ours"))
            ssim = f"{b['ssim']:.3f} / {s['ssim']:.3f} / {o['ssim']:.3f}"
            gain = f"**{o['psnr'] - b['psnr']:+.2f}**"
            cells = [label(r), f"{r['factor']:g}", view, f"{b['psnr']:.2f}", f"{s['psnr']:.2f}", f"{o['psnr']:.2f}"]
            more = [f"{r[k]['views'][view]['psnr'] - b['psnr']:+.2f}" if k in r else "–" for k, _ in extra]
            print(_row([*cells, gain, ssim, *more]))
    print()
    print(_row(PROFILE))
    print(_row(["---"] * len(PROFILE)))
    for r in rows:
        e, t, o = r["estimate"], r["truth_profile"], r["ours"]
        cells = [
            label(r),
            f"{r['factor']:g}",
            t["shape"],
            f"{t['fwhm']:.2f}",
            f"{e['fwhm_pixels']:.2f} ({e['shape']})",
        ]
        cells += [
            f"{100 * e['fwhm_error']:+.0f} %",
            f"{e['seconds']:.1f}",
            f"{o['train_s']:.0f}",
            f"{o['apply_s']:.0f}",
        ]
        print(_row([*cells, f"{r['peak_rss_mb']:.0f}"]))
    print()
    _shape_table(rows)
    print(f"CPU: {rows[0]['cpu']}, {rows[0]['threads']} torch thread(s); settings {rows[0]['settings']}")


def _shape_table(rows: list[dict]) -> None:
    """Each named shape's best blind width, whether the shape was seen, and the width with the true shape given."""
    rows = [r for r in rows if "alternatives" in r["estimate"]]
    if not rows:
        return
    header = ["volume", "factor", "truth", "misfit ratio", "shape seen", "gaussian width", "rect width", "shape given"]
    print(_row(header))
    print(_row(["---"] * len(header)))
    for r in rows:
        e, t = r["estimate"], r["truth_profile"]
        alt = {k: v["fwhm_pixels"] / t["fwhm"] - 1 for k, v in e["alternatives"].items()}
        misfits = sorted(v["misfit"] for v in e["alternatives"].values())
        given = r.get("estimate_shape_given", {}).get("fwhm_error")
        ratio = misfits[1] / max(misfits[0], 1e-12)
        cells = [label(r), f"{r['factor']:g}", f"{t['shape']} {t['fwhm']:.2f}", f"{ratio:.3f}"]
        cells += ["yes" if e["shape_seen"] else "no", f"{100 * alt['gaussian']:+.0f} %", f"{100 * alt['rect']:+.0f} %"]
        print(_row([*cells, "–" if given is None else f"{100 * given:+.0f} %"]))
    print()


if __name__ == "__main__":
    main(sys.argv[1])
