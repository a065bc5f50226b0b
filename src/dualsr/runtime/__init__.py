"""A trained model outside of training: ``onnx_export`` (one self-describing ONNX file),
``onnx_runtime`` (running it with onnxruntime), ``model_zoo`` (a BioImage Model Zoo package) and
``device`` (the torch device from ``auto | cpu | cuda``).

May import: ``dualsr.config``, ``dualsr.errors``, ``dualsr._version``, ``dualsr.io``, ``dualsr.inference``
(an exported file is run with numpy and onnxruntime alone).
"""
