"""The paper: DualSR (Emad, Peemen, Corporaal, WACV 2021, sec. 3-4) and its reference implementation, only.

``networks`` (G_UP, G_DN, D_DN), ``losses`` (eq. 2-7 and KernelGAN's kernel prior), ``schedule``
(learning rates, the prior's weights), ``patches`` (gradient-weighted crops), ``kernel`` (alignment,
the reported kernel, a known kernel), ``resize`` (MATLAB-style bicubic, G_UP's bilinear x2) and
``step`` (one iteration: the generators' step, then the discriminator's). Every number they use
is a field of :class:`dualsr.config.DualSRConfig` with the paper's value as default.

May import: ``dualsr.config``, ``dualsr.errors`` and each other; nothing else of ours (a test checks).
Our extensions build on these modules from the subpackages beside it, never the other way round.
"""
