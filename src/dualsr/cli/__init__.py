"""The ``dualsr`` command: ``main`` (train, demo, export-bioimageio, and the parser), ``apply`` (an
ONNX model on files, folders and Zarr arrays), ``isotropic`` (anisotropic stacks to isotropic),
``quality`` (``degrade`` and ``bench``) and ``progress`` (a text progress bar). Errors become one
line and an exit status here.

May import anything in ``dualsr``: ``dualsr.paper``, ``dualsr.kernels``, ``dualsr.noise``, ``dualsr.inference``,
``dualsr.io``, ``dualsr.runtime``, ``dualsr.engine``, ``dualsr.scale``, ``dualsr.evaluation``,
``dualsr.trust``, ``dualsr.isotropic``.
"""

from dualsr.cli.main import main

__all__ = ["main"]
