"""OpenMP settings that must be in place before torch loads its OpenMP runtime.

Waiting OpenMP worker threads sleep instead of spinning (``OMP_WAIT_POLICY=PASSIVE``).
With spinning, a machine that is also running anything else (a napari session, a
browser, other jobs) loses the cores the training needs to threads that only wait: the
training step measured 2.5-3x slower on a busy 2-core machine, see docs/performance.md.
An explicit ``OMP_WAIT_POLICY`` in the environment wins; importing torch before dualsr
leaves torch's runtime as it was.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
