"""The product's training: the paper's iteration with our extensions, on arrays as people have them.

``train`` (checks, normalisation, channel groups, the noise and kernel decisions, the final x2),
``loop`` (the steps, reports every 10, stop and out-of-memory handling, the kernel's state) and
``result`` (:class:`~dualsr.engine.result.DualSRResult`: image, kernel, history, model, summary) and
``softening`` (the backward cycle on softened patches: measured, in no preset).

May import: ``dualsr.config``, ``dualsr.errors``, ``dualsr.paper``, ``dualsr.kernels``, ``dualsr.noise``,
``dualsr.inference``, ``dualsr.io``, ``dualsr.runtime``, ``dualsr.trust``.
"""
