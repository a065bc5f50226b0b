"""What the napari plugin's live preview costs during training, measured the way the plugin runs it.

    OMP_NUM_THREADS=1 python benchmarks/preview_cost.py --size 256 --iterations 500
    OMP_NUM_THREADS=1 python benchmarks/preview_cost.py --size 2048 --iterations 150

Trains the ``fast`` preset on a ``size x size`` plane (the bundled sample's HR original,
tiled) and at every report runs the plugin's own preview step
(``napari_dualsr._previews.preview_step`` with its ``PreviewClock``: one tile of the view
per preview, at most one per ``--every`` seconds, within 5 % of the training time). The
view is the whole plane, or its central 1024^2 pixels for larger planes, as the plugin
sees it with all of the plane in view. Prints the previews, their tile size and time, how
long one sweep over the view takes, and the previews' share of the training time.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch

import dualsr
from dualsr.io.sample import sample_hr
from napari_dualsr._live_layers import PREVIEW_PIXELS
from napari_dualsr._previews import MAX_TILES, PreviewClock, View, preview_step, tiles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--every", type=float, default=3.0)
    args = parser.parse_args()
    hr = sample_hr().data
    reps = math.ceil(args.size / hr.shape[0])
    image = np.tile(hr, (reps, reps))[: args.size, : args.size]
    side = min(args.size, math.isqrt(PREVIEW_PIXELS))
    start = (args.size - side) // 2
    clock = PreviewClock(every=args.every, view=View(0, (start, start + side, start, start + side)))
    config = dualsr.preset("fast", iterations=args.iterations)
    result = dualsr.train(image, config=config, progress=lambda s: preview_step(s, clock))
    cost = clock.spent / max(clock.count, 1)
    n = len(tiles(clock.view.region, max(clock.tile_side(), math.ceil(side / math.sqrt(MAX_TILES)))))
    sweep = n * max(args.every, cost / clock.budget)  # previews come every `every` s, or as the budget allows
    print(
        f"{args.size}^2 plane, view {side}^2, torch threads {torch.get_num_threads()}: {result.steps} steps "
        f"in {clock.trained:.1f} s ({clock.trained / result.steps:.2f} s/step); {clock.count} previews, "
        f"{cost:.2f} s each, {clock.pixels / max(clock.count, 1) / 1e3:.1f} k pixels each; "
        f"{clock.fraction:.1%} of the training time; a sweep of the view ({n} tiles) takes ~{sweep:.0f} s"
    )


if __name__ == "__main__":
    main()
