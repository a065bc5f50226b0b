"""The screenshots of docs/isotropic.md: *make isotropic* on the MNI152 template acquired at factor 4.

    xvfb-run -a python docs/make_isotropic_screenshot.py [--steps 150]

Opens the template degraded to 4 mm slices (rect profile, as benchmarks/isotropic_bench.py does)
as a layer with scale (4, 1, 1), runs the widget (a short training, to keep this quick), then
takes (1) the window mid-training with the live XZ preview beside the volume and (2) the 3-D view
with the isotropic result over the input (input in red, result in green, additive: where they
agree it is yellow).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--out", default=str(HERE / "images"))
    args = p.parse_args()
    import napari
    from qtpy.QtWidgets import QApplication

    sys.path.insert(0, str(HERE.parent / "benchmarks"))
    from isotropic_bench import mni

    from dualsr.isotropic.degrade import degrade_axis
    from dualsr.isotropic.profile import named

    out = Path(args.out)
    lr = (degrade_axis(mni(), 0, 4.0, named("rect", 4.0)) * 1000).astype(np.uint16)
    viewer = napari.Viewer(show=True)
    viewer.window.resize(1400, 900)
    layer = viewer.add_image(lr, name="MNI152 4 mm slices", scale=(4.0, 1.0, 1.0), colormap="gray")
    _, widget = viewer.window.add_plugin_dock_widget("napari-dualsr", "DualSR: make isotropic")
    widget.image.value = layer
    widget.steps.value = args.steps
    viewer.dims.ndisplay = 2
    viewer.dims.order = (1, 0, 2)  # show the XZ plane: Z vertical
    viewer.reset_view()
    shot = {"done": False}

    def on_update(update, inner=widget._update):
        inner(update)
        if update.phase == "training" and update.done >= args.steps * 0.6 and not shot["done"]:
            shot["done"] = True
            viewer.reset_view()
            viewer.screenshot(str(out / "isotropic_training.png"), canvas_only=False)

    widget.runner.on_update = on_update
    widget.start()
    app = QApplication.instance()
    while widget.runner.running:
        app.processEvents()
    result = viewer.layers[f"{layer.name} isotropic (DualSR)"]
    layer.colormap, result.colormap = "red", "green"
    layer.blending = result.blending = "additive"
    for lyr in (layer, result):
        lyr.rendering = "attenuated_mip"
        lyr.attenuation = 0.15
    viewer.dims.order = (0, 1, 2)
    viewer.dims.ndisplay = 3
    viewer.scene.camera.angles = (-20, -35, 120)
    viewer.reset_view()
    viewer.screenshot(str(out / "isotropic_3d.png"), canvas_only=False)
    viewer.dims.ndisplay = 2
    viewer.dims.order = (1, 0, 2)
    layer.visible = False
    result.colormap = "gray"
    result.blending = "translucent"
    viewer.reset_view()
    viewer.screenshot(str(out / "isotropic_xz.png"), canvas_only=False)
    viewer.close()


if __name__ == "__main__":
    main()
