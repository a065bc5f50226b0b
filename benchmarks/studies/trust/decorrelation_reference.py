"""Our decorrelation analysis (dualsr.trust.resolution) against the ground truth and two references.

Band-limited noise (white noise with nothing above kc, plus a little white noise) has a known
resolution; real images (scikit-image's camera, moon on its native grid, astronaut in grey) have
none, so there the implementations are compared with each other. The references, both optional:

- the authors' own code (Descloux et al., github.com/Ades91/ImDecorr, GPL-3.0, MATLAB), run by GNU
  Octave (``apt install octave``) from a clone given with ``--imdecorr PATH``, exactly as its
  ``main_imageDecorr.m`` runs it (``apodImRect(image, 20)``, then ``getDcorr(image, linspace(0, 1, 50),
  10)``); nothing of it is copied here;
- nanopyx's ``calculate_decorr_analysis`` (``pip install nanopyx``).

Prints a markdown table (docs/trust.md quotes it). Usage: python
benchmarks/studies/trust/decorrelation_reference.py [--size 512] [--cutoffs 0.3,0.5,0.8] [--imdecorr PATH]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from dualsr.trust.resolution import decorrelation


def band_limited(size: int, kc: float, seed: int = 0) -> np.ndarray:
    """White noise with nothing above ``kc`` (a fraction of Nyquist): its true resolution is 2 / kc px,
    plus a little white noise (a camera's) so that the band's end is where signal meets noise
    (tests/test_trust.py uses it too)."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.fft2(rng.standard_normal((size, size)))
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(size), np.fft.fftfreq(size), indexing="ij")) * 2
    image = np.real(np.fft.ifft2(spectrum * (f <= kc)))
    return image / image.std() + 0.05 * rng.standard_normal((size, size))


def nanopyx_kc(image: np.ndarray) -> float | None:
    """nanopyx's kc (fraction of Nyquist), from its resolution in pixels (2 / kc); None without nanopyx."""
    try:
        from nanopyx.methods.squirrel.resolution import calculate_decorr_analysis
    except ImportError:
        return None
    pixels = calculate_decorr_analysis(image.astype(np.float32))
    return 2.0 / pixels if pixels else 0.0


def imdecorr_kc(image: np.ndarray, clone: str | None) -> float | None:
    """The authors' kc (fraction of Nyquist) as their main script computes it, run by Octave; None without
    a clone of Ades91/ImDecorr or without Octave."""
    octave = shutil.which("octave-cli") or shutil.which("octave")
    if not clone or not octave:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "image.txt"
        np.savetxt(path, image, fmt="%.9g")
        Path(tmp, "gather.m").write_text("function x = gather(x)\nend\n")  # Octave has no gpuArray to gather
        script = (
            f"addpath('{Path(clone, 'funcs')}', '{tmp}'); im = dlmread('{path}'); im = apodImRect(im, 20); "
            "[kc, A0] = getDcorr(im, linspace(0, 1, 50), 10); printf('kc %.6f %.6f\\n', kc, A0);"
        )
        out = subprocess.run([octave, "--no-gui", "--quiet", "--eval", script], capture_output=True, text=True)
    line = [w for w in out.stdout.splitlines() if w.startswith("kc ")]
    if not line:
        raise RuntimeError(f"Octave gave no kc: {out.stderr.strip()[-400:]}")
    return float(line[-1].split()[1])


def real_images(size: int) -> dict[str, np.ndarray]:
    from skimage import color, data

    from dualsr.io.replication import native_grid

    moon = native_grid(data.moon())  # a 256^2 image stored at 512^2
    images = {"camera": data.camera(), "moon": moon, "astronaut": color.rgb2gray(data.astronaut()) * 255}
    return {k: np.asarray(v, np.float64)[:size, :size] for k, v in images.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=512, help="image side (default 512)")
    parser.add_argument("--cutoffs", default="0.3,0.5,0.8", help="band limits, fractions of Nyquist")
    parser.add_argument("--imdecorr", help="a clone of github.com/Ades91/ImDecorr (run by GNU Octave)")
    args = parser.parse_args(argv)
    rows = [
        ("band-limited noise", f"kc {c}", float(c), band_limited(args.size, float(c))) for c in args.cutoffs.split(",")
    ]
    rows += [("real", name, None, image) for name, image in real_images(args.size).items()]
    refs = [("ImDecorr (Octave)", lambda im: imdecorr_kc(im, args.imdecorr)), ("nanopyx", nanopyx_kc)]
    heads = " | ".join(f"{n} kc (s) | {n} / truth | {n} / ours" for n, _ in refs)
    print(f"| image | truth kc | ours kc (s) | ours / truth | {heads} |")
    print("| --- | ---: | ---: | ---: |" + " ---: | ---: | ---: |" * len(refs))

    def ratio(a: float | None, b: float | None) -> str:
        return f"{a / b:.3f}" if a is not None and b else "–"

    for kind, name, truth, image in rows:
        start = time.perf_counter()
        ours = decorrelation(image).kc
        cells = [f"{ours:.3f} ({time.perf_counter() - start:.1f})", ratio(ours, truth)]
        for _, measure in refs:
            start = time.perf_counter()
            theirs = measure(image)
            took = time.perf_counter() - start
            shown = f"{theirs:.3f} ({took:.1f})" if theirs is not None else "not run"
            cells += [shown, ratio(theirs, truth), ratio(theirs, ours)]
        print(f"| {kind}: {name} | {truth if truth is not None else '–'} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
