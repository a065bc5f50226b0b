"""From a trained model to an x2 image: exact tiles, arrays larger than memory, previews.

``upsampler`` (the channel groups' G_UPs put together, the self-ensemble, ``upsample`` over arrays,
the bicubic baseline), ``backprojection`` (the x2 made to agree with its LR), ``crossscale`` (only
the detail that holds up one scale down is kept), ``tiling`` (exact tiles, out-of-memory retries),
``blocks`` (block by block, bit for bit) and ``preview`` (the x2 of the model as it is now, mid-training).

May import: ``dualsr.config``, ``dualsr.errors``, ``dualsr.paper``, ``dualsr.noise``, ``dualsr.io``.
"""
