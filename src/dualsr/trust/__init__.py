"""How far to trust a x2 (not in the paper): ``resolution`` (decorrelation analysis of the input and
of the x2, in pixels and in the sample's units) and ``doubt`` (a per-pixel map of where the x2 may
not be what the data support).

May import: ``dualsr.config``, ``dualsr.errors``, ``dualsr.paper``, ``dualsr.io``, ``dualsr.noise``,
``dualsr.inference``. Imported by ``dualsr.engine`` (every result carries the resolution readout),
the CLI, the evaluation and the napari plugin.
"""
