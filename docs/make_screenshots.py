"""Regenerate the README's screenshots: the train widget on the bundled sample, then its result.

    xvfb-run -a -s "-screen 0 1600x1000x24" python docs/make_screenshots.py --preset fast

Clicks the widget like a user would (File > Open Sample, Plugins > DualSR, Train; the
layer list is not touched) and saves ``docs/images/train_widget.png`` mid-training (the
x2 preview on the canvas), ``docs/images/result.png`` and ``docs/images/compare.png``
(input | bicubic x2 | DualSR x2 | the hidden HR original) afterwards. Prints what the
previews cost.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import napari
import torch
from napari._qt.dialogs.qt_notification import NapariQtNotification
from qtpy.QtWidgets import QApplication

from dualsr.evaluation.metrics import psnr

OUT = Path(__file__).parent / "images"


def wait(condition, timeout: float = 3600.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("gave up waiting")
        QApplication.processEvents()
        time.sleep(0.02)


def save(viewer: napari.Viewer, name: str) -> None:
    for toast in viewer.window._qt_window.findChildren(NapariQtNotification):
        toast.close()  # pop-up notifications would cover the canvas
    QApplication.processEvents()
    viewer.screenshot(str(OUT / name), canvas_only=False, flash=False)
    print("saved", OUT / name)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--iterations", type=int, default=0, help="0: the preset's own")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    OUT.mkdir(parents=True, exist_ok=True)

    viewer = napari.Viewer(title="napari-dualsr")
    viewer.window._qt_window.resize(1400, 860)
    viewer.open_sample("napari-dualsr", "degraded_cell")
    _, widget = viewer.window.add_plugin_dock_widget("napari-dualsr", "DualSR: train & super-resolve")
    widget.preset.value = args.preset
    if args.iterations:
        widget.iterations.value = args.iterations
    iterations = widget.iterations.value
    wait(lambda: not widget.warm_up.is_alive())

    widget.start()
    viewer.window._status_bar._toggle_activity_dock(True)  # show napari's progress bar
    viewer.reset_view()  # the image and the kernel beside it
    wait(lambda: widget.loss_plot.steps and widget.loss_plot.steps[-1] >= iterations * 0.3)
    save(viewer, "train_widget.png")
    wait(lambda: not widget.runner.running)
    viewer.window._status_bar._toggle_activity_dock(False)
    clock = widget.runner.controls.previews
    print(f"{clock.count} previews took {clock.spent:.1f} s = {clock.fraction:.1%} of {clock.trained:.0f} s training")

    layers = viewer.layers
    lr, hr, kernel = layers["degraded tissue"], layers["tissue HR original"], layers["degraded tissue kernel (DualSR)"]
    bicubic = layers["degraded tissue ×2 (bicubic)"]
    sr = layers["degraded tissue ×2 (DualSR)"]
    data_range = float(hr.data.max() - hr.data.min())
    scores = {
        name: psnr(layer.data.astype(float), hr.data, data_range)
        for name, layer in (("bicubic", bicubic), ("DualSR", sr))
    }
    print(f"PSNR vs the HR original: bicubic {scores['bicubic']:.2f} dB, DualSR {scores['DualSR']:.2f} dB")
    print(f"kernel: {widget.kernel_state.value}; {widget.status.value}")
    lr.visible = bicubic.visible = False
    viewer.reset_view()
    save(viewer, "result.png")

    for layer in (layers["true kernel"], kernel):  # four panes: input | bicubic / DualSR x2 | HR original
        layers.remove(layer)
    order = [lr, bicubic, sr, hr]  # grid panes in this order, from top left
    for i, layer in enumerate(order):
        layers.move(layers.index(layer), i)
        layer.visible = True
    viewer.grid.enabled = True
    viewer.grid.stride = 1
    viewer.grid.shape = (2, 2)
    viewer.reset_view()
    viewer.camera.zoom *= 2.0
    viewer.camera.center = (0.0, 30.0, 22.0)
    save(viewer, "compare.png")
    viewer.close()


if __name__ == "__main__":
    main()
