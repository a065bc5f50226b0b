"""The installed version of napari-dualsr (written into ONNX files, TIFF metadata, bioimage.io packages)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("napari-dualsr")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+unknown"
