"""Drive the napari plugin from a script: the same functions the train widget runs.

    python examples/scripted_napari.py                  # 300 steps of the "fast" preset
    python examples/scripted_napari.py --iterations 1000 --onnx cell.onnx

The widget does exactly this, with the training on a worker thread:
``train_job`` checks the layer and options, ``run_train`` calls ``dualsr.train`` (and
exports ONNX if asked), ``trained_layers`` places the x2 image and the kernel.
"""

from __future__ import annotations

import argparse

import napari

from dualsr.io.sample import sample_lr
from napari_dualsr import add_layers, run_train, train_job, trained_layers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--onnx", help="also export the trained upsampler to this .onnx file")
    args = parser.parse_args()

    viewer = napari.Viewer()
    lr = sample_lr()
    layer = viewer.add_image(lr.data, name="degraded tissue", scale=lr.pixel_size or (1.0, 1.0))

    job = train_job(layer, preset_name="fast", iterations=args.iterations, seed=0, onnx_path=args.onnx)
    trained = run_train(job, progress=lambda s: print(f"step {s.step}/{s.iterations}  {s.losses['total']:.4f}"))
    add_layers(viewer, trained_layers(job.source, trained))

    result = trained.result
    print(f"{result.steps} steps in {result.seconds:.0f} s; the x2 layer and the kernel are in the viewer")
    napari.run()


if __name__ == "__main__":
    main()
