"""Our kernel estimation beyond the paper's GAN: the blind kernel from the image's power spectrum
(``spectral``, the ``fast`` preset's) and whether a kernel estimate has settled (``convergence``).

May import: ``dualsr.config``, ``dualsr.errors``, ``dualsr.paper``.
"""
