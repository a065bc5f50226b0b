"""Our kernel estimation beyond the paper's GAN: the blind kernel from the image's power spectrum
(``spectral``, the ``fast`` preset's), whether a kernel estimate has settled (``convergence``), the
kernel a real camera implies (``camera``: pixel integration) and which of the two an image needs
(``acquisition``: camera or blur and subsampling, and the guard against over-sharpening).

May import: ``dualsr.config``, ``dualsr.errors``, ``dualsr.paper``, ``dualsr.io``.
"""
