"""The benchmark protocol (paper Table 1-2): ``degrade`` (LR from HR with a known kernel and noise),
``metrics`` (Y-channel PSNR/SSIM, kernel error), ``figures`` (comparison images), and the resumable
benchmark: ``sets`` of images, the ``methods`` compared, the ``bench`` runs and their ``report``.

May import: ``dualsr.config``, ``dualsr.errors``, ``dualsr.paper``, ``dualsr.kernels``, ``dualsr.noise``,
``dualsr.inference``, ``dualsr.io``, ``dualsr.runtime``, ``dualsr.engine``, ``dualsr.trust`` (not ``dualsr.scale``,
``dualsr.cli``).
"""
