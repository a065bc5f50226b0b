"""Arrays and files as people have them: ``files`` (TIFF with its metadata, PNG/JPEG, NumPy),
``axes`` (which dimension is what), ``normalize`` (any range into [0, 1] and back), ``validate``
(the first check of any input), ``zarr_io`` (Zarr and OME-Zarr), ``volume`` (3-D stacks with their
voxel size: TIFF, NIfTI, OME-Zarr), ``nifti`` (nibabel, thick axis first), ``replication`` (an
image that is a nearest-neighbour enlargement), ``sample`` (the bundled sample) and ``memory`` (the
memory free: read whole or lazily).

May import: ``dualsr.config``, ``dualsr.errors``, ``dualsr._version``; no torch.
"""
