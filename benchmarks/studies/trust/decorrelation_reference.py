"""Our decorrelation analysis (dualsr.trust.resolution) against the ground truth and against nanopyx's.

Band-limited noise (white noise with nothing above kc, plus a little white noise) has a known
resolution; real images (scikit-image's camera, moon, astronaut in grey) have none, so there the
two implementations are compared with each other. nanopyx (``pip install nanopyx``) is optional:
without it only the truth column is printed. Prints a markdown table (docs/trust.md quotes it).
Usage: python benchmarks/studies/trust/decorrelation_reference.py [--size 512] [--cutoffs 0.3,0.5,0.8]
"""

from __future__ import annotations

import argparse
import time

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


def real_images(size: int) -> dict[str, np.ndarray]:
    from skimage import color, data

    images = {"camera": data.camera(), "moon": data.moon(), "astronaut": color.rgb2gray(data.astronaut()) * 255}
    return {k: np.asarray(v, np.float64)[:size, :size] for k, v in images.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=512, help="image side (default 512)")
    parser.add_argument("--cutoffs", default="0.3,0.5,0.8", help="band limits, fractions of Nyquist")
    args = parser.parse_args(argv)
    rows = [
        ("band-limited noise", f"kc {c}", float(c), band_limited(args.size, float(c))) for c in args.cutoffs.split(",")
    ]
    rows += [("real", name, None, image) for name, image in real_images(args.size).items()]
    print("| image | truth kc | ours kc (s) | nanopyx kc (s) | ours / truth | nanopyx / truth | nanopyx / ours |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for kind, name, truth, image in rows:
        start = time.perf_counter()
        ours = decorrelation(image).kc
        t_ours = time.perf_counter() - start
        start = time.perf_counter()
        theirs = nanopyx_kc(image)
        t_theirs = time.perf_counter() - start

        def ratio(a: float | None, b: float | None) -> str:
            return f"{a / b:.3f}" if a is not None and b else "–"

        npx = f"{theirs:.3f} ({t_theirs:.1f})" if theirs is not None else "not installed"
        print(
            f"| {kind}: {name} | {truth if truth is not None else '–'} | {ours:.3f} ({t_ours:.1f}) | {npx} | "
            f"{ratio(ours, truth)} | {ratio(theirs, truth)} | {ratio(theirs, ours)} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
