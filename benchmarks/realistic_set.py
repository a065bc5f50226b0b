"""A benchmark set at realistic sizes: scikit-image's photos whole, the two large ones at DIV2KRK's ~1000x700.

    python benchmarks/realistic_set.py out/realistic          # then: dualsr bench out/realistic/set -o ...

``dualsr bench skimage --size N`` crops every image to N x N; DIV2KRK's HR images are about
1000 x 700 (LR ~500 x 350), and a method that only works on small crops would pass there and
fail on real images. Here the HR images are taken whole (camera, astronaut, coffee, chelsea,
rocket, immunohistochemistry, moon, motorcycle: 300 x 451 to 512 x 741), and the Hubble deep
field and the retina photo are cut to 700 x 1000 windows, then degraded exactly as
``dualsr degrade`` does (DIV2KRK-style kernels, seeded by image name: the same kernels as the
384 x 384 set for the same names).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from skimage import data, io

WHOLE = ("camera", "astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "moon")
WINDOWS = {  # name -> (rows, cols) of a 700 x 1000 window with detail (the retina without its black surround)
    "hubble_deep_field": (slice(86, 786), slice(0, 1000)),
    "retina": (slice(350, 1050), slice(200, 1200)),
}


def hr_images(names: list[str] | None = None) -> dict[str, np.ndarray]:
    wanted = set(names or (*WHOLE, *WINDOWS, "motorcycle"))
    images = {name: getattr(data, name)() for name in WHOLE if name in wanted}
    for name, window in WINDOWS.items():
        if name in wanted:
            images[name] = getattr(data, name)()[window]
    if "motorcycle" in wanted:
        motorcycle = Path(data.__file__).parent / "motorcycle_left.png"  # bundled, not exposed by skimage.data
        images["motorcycle"] = io.imread(motorcycle)[..., :3]
    return {k: (v[..., :3] if v.ndim == 3 else v) for k, v in images.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path, help="folder: OUT/hr/ holds the HR images, OUT/set/ the benchmark set")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--images", help="comma-separated names (default: all ten)")
    args = p.parse_args()
    hr_dir = args.out / "hr"
    hr_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    names = args.images.split(",") if args.images else None
    for name, image in hr_images(names).items():
        path = hr_dir / f"{name}.png"
        io.imsave(path, image, check_contrast=False)
        paths.append(str(path))
    from dualsr.cli.main import main as dualsr

    sys.exit(dualsr(["degrade", *paths, "-o", str(args.out / "set"), "--seed", str(args.seed)]))


if __name__ == "__main__":
    main()
