"""The trust screenshot in docs/trust.md: the camera sample trained in the widget, its verdict, and
the doubt layer shown over the x2.

    xvfb-run -a -s "-screen 0 1600x1000x24" python docs/make_trust_screenshot.py --iterations 200

File > Open Sample (camera cells), Plugins > DualSR, Train; then the doubt layer is toggled on and
``docs/images/trust_doubt_layer.png`` saved. Prints the verdict and the layer's statistics.
"""

from __future__ import annotations

import argparse

import napari
import numpy as np
from make_screenshots import OUT, save, wait


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=0, help="0: the fast preset's own")
    args = parser.parse_args()
    viewer = napari.Viewer(title="napari-dualsr")
    viewer.window._qt_window.resize(1400, 860)
    viewer.open_sample("napari-dualsr", "camera_cells")
    _, widget = viewer.window.add_plugin_dock_widget("napari-dualsr", "DualSR: train & super-resolve")
    if args.iterations:
        widget.iterations.value = args.iterations
    wait(lambda: not widget.warm_up.is_alive())
    widget.start()
    wait(lambda: not widget.runner.running)
    doubt = next(layer for layer in viewer.layers if layer.name.endswith("doubt (DualSR)"))
    doubt.visible = True
    for layer in viewer.layers:
        if "bicubic" in layer.name:
            layer.visible = False
    viewer.reset_view()
    print(f"verdict: {widget.verdict.value}")
    data = np.asarray(doubt.data)
    print(f"doubt: mean {data.mean():.4f}, 99th percentile {np.quantile(data, 0.99):.4f}, max {data.max():.4f}")
    OUT.mkdir(parents=True, exist_ok=True)
    save(viewer, "trust_doubt_layer.png")
    viewer.close()


if __name__ == "__main__":
    main()
