"""Can an image's own statistics tell a camera's fine texture from noise? Two tests beside the shipped level.

    python benchmarks/studies/noise/texture_or_noise.py clean=held/cam/set noisy=nz/heldcam_p1000 ...

Each ``LABEL=FOLDER`` is a set made by ``dualsr degrade`` (its ``lr_x2/`` is read; whether noise was
added is read from its ``degradation.json``). Per LR:

- ``level``: what ``dualsr.noise.estimate.estimate_noise`` reads (std at mid-scale, % of full scale),
  and the ``auto`` decision;
- ``binned / level``: the level read on the LR binned 2x2 (a camera with pixels twice as wide) over
  the LR's. White noise halves (0.5); texture whose detail persists across scales does not;
- ``patch floor``: the square root of the smallest eigenvalue of the covariance of all 7x7 patches
  (% of full scale). Noise lifts every eigenvalue by its variance; texture concentrated in a few
  directions leaves the smallest near zero.

The last lines give each measure's range over the images that read noisy without any noise added
and over those with noise added: a test that separates them has ranges that do not overlap.
Quoted in docs/benchmarks.md ("Images no setting saw").
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from dualsr.evaluation.degrade import degrade
from dualsr.io.files import read_image
from dualsr.kernels.camera import camera_kernel
from dualsr.noise.estimate import estimate_noise

PATCH = 7


def channel_axis(image: np.ndarray) -> int | None:
    return -1 if image.ndim == 3 else None


def planes(image: np.ndarray) -> list[np.ndarray]:
    data = np.asarray(image, np.float64)
    return [data[..., c] for c in range(data.shape[-1])] if data.ndim == 3 else [data]


def patch_floor(image: np.ndarray) -> float:
    """sqrt of the smallest eigenvalue of the 7x7 patches' covariance, averaged over the channels."""
    values = []
    for p in planes(image):
        w = np.lib.stride_tricks.sliding_window_view(p, (PATCH, PATCH)).reshape(-1, PATCH * PATCH)
        w = w - w.mean(0)
        values.append(float(np.sqrt(max(np.linalg.eigvalsh(w.T @ w / len(w))[0], 0.0))))
    return float(np.mean(values))


def noise_added(folder: Path) -> dict[str, bool]:
    """Per image name, whether its LR got noise (``dualsr degrade`` records it per image and, for a
    generated set, for the whole set)."""
    path = folder / "degradation.json"
    meta = json.loads(path.read_text()) if path.exists() else {}
    default = bool(meta.get("noise_gaussian") or meta.get("noise_poisson_peak"))
    return {
        i["name"]: bool(i.get("noise_gaussian") or i.get("noise_poisson_peak") or default)
        for i in meta.get("images", [])
    }


def measure(label: str, folder: Path, names: set[str] | None) -> list[dict]:
    rows, added = [], noise_added(folder)
    for path in sorted((folder / "lr_x2").iterdir()):
        if names and path.stem not in names:
            continue
        noisy = added.get(path.stem, False)
        lr = read_image(path).data
        e = estimate_noise(lr, channel_axis(lr))
        binned = degrade(lr, camera_kernel(), 2)  # pixels twice as wide: each the mean of a 2x2 block
        ratio = estimate_noise(binned, channel_axis(lr)).level / e.level if e.level else float("nan")
        floor = patch_floor(lr) / e.full_scale
        row = {"set": label, "image": path.stem, "noise added": noisy, "level": e.level, "noisy": e.is_noisy()}
        rows.append({**row, "ratio": ratio, "floor": floor})
        print(
            f"| {label} | {path.stem} | {'yes' if noisy else 'no'} | {100 * e.level:.2f} % "
            f"({'on' if e.is_noisy() else 'off'}) | {ratio:.2f} | {100 * floor:.2f} % |",
            flush=True,
        )
    return rows


def span(rows: list[dict], key: str, scale: float = 1.0) -> str:
    values = [scale * r[key] for r in rows if np.isfinite(r[key])]
    return f"{min(values):.2f}-{max(values):.2f}" if values else "-"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sets", nargs="+", metavar="LABEL=FOLDER", help="sets made by 'dualsr degrade'")
    p.add_argument("--images", help="comma-separated names (default: every LR of each set)")
    args = p.parse_args()
    names = set(args.images.split(",")) if args.images else None
    print("| set | image | noise added | level (auto) | binned / level | patch floor |")
    print("| --- | --- | --- | ---: | ---: | ---: |")
    rows = []
    for item in args.sets:
        label, _, folder = item.rpartition("=")
        rows += measure(label or folder, Path(folder), names)
    false = [r for r in rows if r["noisy"] and not r["noise added"]]
    true = [r for r in rows if r["noisy"] and r["noise added"]]
    print(f"\nread noisy, no noise added ({len(false)}): level {span(false, 'level', 100)} %, ", end="")
    print(f"binned / level {span(false, 'ratio')}, patch floor {span(false, 'floor', 100)} %")
    print(f"read noisy, noise added ({len(true)}): level {span(true, 'level', 100)} %, ", end="")
    print(f"binned / level {span(true, 'ratio')}, patch floor {span(true, 'floor', 100)} %")


if __name__ == "__main__":
    main()
