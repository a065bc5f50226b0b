"""Noisy images (not in the paper): ``LR = (HR * k)↓2 + n``.

``estimate`` (the Poisson-Gaussian noise of an image from itself), ``denoise`` and ``wiener`` (the
clean copy: stabilise, NLM, Wiener, exact inverse), ``denoise_net`` (the same denoiser in torch, so it
lives in the ONNX file), ``model`` (the decision, the clean copy, the guided G_UP, noise for G_DN's
output) and ``step`` (the paper's iteration with the noise model).

May import: ``dualsr.config``, ``dualsr.errors``, ``dualsr.paper``, ``dualsr.io``.
"""
