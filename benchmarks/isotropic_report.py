"""Markdown tables of benchmarks/isotropic_bench.py's results.jsonl (pasted into docs/isotropic.md).

python benchmarks/isotropic_report.py /tmp/isobench/results.jsonl
python benchmarks/isotropic_report.py NEW.jsonl [MORE.jsonl ...] --against OLD.jsonl [...]

With ``--against``, one table of gains over cubic B-spline (XZ / YZ) per volume, noise setting and
factor, the runs of the first files beside those of the second (e.g. two training lengths).
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


def read_rows(path: str) -> list[dict]:
    """The rows of a results file: a JSON list, or one JSON object a line."""
    text = Path(path).read_text()
    return json.loads(text) if text.lstrip().startswith("[") else [json.loads(ln) for ln in text.splitlines()]


def main(path: str) -> None:
    rows = read_rows(path)
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


def _key(r: dict) -> tuple:
    return (r["volume"], r.get("photons", 0.0), bool(r.get("noise", {}).get("active")), r["factor"])


def _gain(r: dict | None, method: str) -> str:
    if r is None or method not in r:
        return "–"
    b, m = r["bspline"]["views"], r[method]["views"]
    return " / ".join(f"{m[v]['psnr'] - b[v]['psnr']:+.2f}" for v in ("XZ", "YZ"))


def _steps(rows: list[dict]) -> str:
    return ", ".join(str(s) for s in sorted({r["settings"]["steps"] for r in rows}))


def compare(new_paths: list[str], old_paths: list[str]) -> None:
    """Gains over B-spline (XZ / YZ), the new runs beside the old, matched on volume, noise and factor."""
    new = {_key(r): r for p in new_paths for r in read_rows(p)}
    old = {_key(r): r for p in old_paths for r in read_rows(p)}
    a, b = _steps(list(new.values())), _steps(list(old.values()))
    header = ["volume", "factor", f"ours, {b} steps", f"ours, {a} steps", f"SMORE-style, {b}", f"SMORE-style, {a}"]
    header += [f"true profile given, {b}", f"true profile given, {a}", f"training s, {b} / {a}"]
    print(_row(header))
    print(_row(["---"] * len(header)))
    for k in sorted(new):
        n, o = new[k], old.get(k)
        seconds = f"{o['ours']['train_s']:.0f} / " if o else "– / "
        cells = [label(n), f"{k[3]:g}", _gain(o, "ours"), f"**{_gain(n, 'ours')}**"]
        cells += [_gain(o, "smore"), _gain(n, "smore"), _gain(o, "given"), _gain(n, "given")]
        print(_row([*cells, seconds + f"{n['ours']['train_s']:.0f}"]))


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--against" in args:
        i = args.index("--against")
        compare(args[:i], args[i + 1 :])
    else:
        main(args[0])
