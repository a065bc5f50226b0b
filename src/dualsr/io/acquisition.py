"""What recorded an image: its pixel size in the sample and, where known, the objective and the light.

Microscopy files say it: OME-TIFF (``PhysicalSizeX/Y`` and their units; the objective's
``LensNA`` and ``Immersion``, ``ObjectiveSettings/RefractiveIndex``; each channel's
``EmissionWavelength``) and ImageJ TIFF (the resolution tags with a length ``unit``; an ``Info``
text with ``NA = 1.4`` or ``EmissionWavelength = 520`` lines, as Bio-Formats and Micro-Manager
write them). A user can give any of it instead (API, CLI, napari); given values win.

With the optics known, the image's sampling follows: the optics pass no spatial frequency above
``2 NA / lambda``, so pixels finer than ``lambda / (4 NA)`` (Nyquist) record all there is, and a
x2 can only interpolate; coarser pixels are under-sampled and a x2 can recover detail up to the
optics' cut-off.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Any

from dualsr.errors import DualSRInputError

TO_MICRONS = {"µm": 1.0, "um": 1.0, "micron": 1.0, "microns": 1.0, "\\u00B5m": 1.0, "nm": 1e-3, "mm": 1e3}
IMMERSION_INDEX = {"oil": 1.518, "water": 1.333, "glycerol": 1.47, "air": 1.0, "silicone": 1.406}
_INFO_NA = re.compile(r"(?im)^\s*(?:NA|LensNA|numerical[ _]aperture|objective[ _]NA)\s*[=:]\s*([0-9.]+)")
_INFO_EMISSION = re.compile(r"(?im)^\s*(?:emission[ _]?wavelength|EmissionWavelength|lambda[ _]em)\s*[=:]\s*([0-9.]+)")
_INFO_INDEX = re.compile(r"(?im)^\s*(?:refractive[ _]?index|RefractiveIndex|immersion[ _]index)\s*[=:]\s*([0-9.]+)")


@dataclass(frozen=True)
class Instrument:
    """An image's pixel size in the sample (um) and, where known, its optics.

    ``source`` says where the values came from (``OME``, ``ImageJ``, ``given``, ``napari``).
    """

    pixel_size: float | None = None  # um per pixel in the sample (Y and X averaged)
    numerical_aperture: float | None = None
    wavelength: float | None = None  # emission, nm
    immersion_index: float | None = None  # refractive index of the immersion medium
    source: str = "given"

    def __post_init__(self) -> None:
        checks = (
            ("pixel size", self.pixel_size, 1e-5, 1e6, "um"),
            ("numerical aperture", self.numerical_aperture, 0.01, 1.7, ""),
            ("wavelength", self.wavelength, 100.0, 2000.0, "nm"),
            ("immersion index", self.immersion_index, 1.0, 2.0, ""),
        )
        for name, value, low, high, unit in checks:
            if value is not None and not low <= value <= high:
                raise DualSRInputError(
                    f"the {name} {value:g}{unit and ' ' + unit} is outside {low:g}..{high:g}; check it"
                )
        if self.numerical_aperture and self.immersion_index and self.numerical_aperture > self.immersion_index:
            raise DualSRInputError(
                f"NA {self.numerical_aperture:g} cannot exceed the immersion index {self.immersion_index:g}; check both"
            )

    @property
    def optics_known(self) -> bool:
        return bool(self.pixel_size and self.numerical_aperture and self.wavelength)

    @property
    def cutoff(self) -> float | None:
        """The optics' cut-off frequency ``2 NA / lambda`` in cycles per um (None if unknown)."""
        if not (self.numerical_aperture and self.wavelength):
            return None
        return 2 * self.numerical_aperture / (self.wavelength / 1000)

    @property
    def nyquist_pixel(self) -> float | None:
        """The largest pixel (um) that records everything the optics pass: ``lambda / (4 NA)``."""
        return None if self.cutoff is None else 1 / (2 * self.cutoff)

    @property
    def sampling(self) -> float | None:
        """Pixel size over the Nyquist pixel: above 1 the camera under-samples the optics."""
        if self.pixel_size is None or self.nyquist_pixel is None:
            return None
        return self.pixel_size / self.nyquist_pixel

    def merged(self, given: Instrument | None) -> Instrument:
        """These values with ``given``'s where it has them (a user's values win over a file's)."""
        if given is None:
            return self
        changes = {k: v for k, v in asdict(given).items() if v is not None and k != "source"}
        return replace(self, **changes, source=f"{self.source} + {given.source}" if changes else self.source)

    def describe(self) -> str:
        """One line for the user."""
        parts = [f"pixel {1000 * self.pixel_size:.0f} nm"] if self.pixel_size else []
        if self.numerical_aperture:
            parts.append(f"NA {self.numerical_aperture:g}")
        if self.wavelength:
            parts.append(f"emission {self.wavelength:g} nm")
        if self.sampling is not None:
            verdict = "under-sampled" if self.sampling > 1 else "Nyquist-sampled"
            parts.append(f"{verdict} ({self.sampling:.2f}x the Nyquist pixel {1000 * self.nyquist_pixel:.0f} nm)")
        return ", ".join(parts) + f" ({self.source})" if parts else "unknown"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "sampling": None if self.sampling is None else round(self.sampling, 3)}


def microns(value: float, unit: str | None) -> float | None:
    """``value`` in ``unit`` as um; None for a unit that is not a length we know (inch, pixel, none)."""
    if unit is None:
        return None
    factor = TO_MICRONS.get(unit.strip().lower().replace("μ", "µ"))
    return None if factor is None else value * factor


def from_ome(ome_xml: str) -> Instrument | None:
    """The instrument an OME-XML description names (first image, first channel with a wavelength)."""
    import tifffile

    root = tifffile.xml2dict(ome_xml).get("OME", {})
    images = root.get("Image", {})
    image = images[0] if isinstance(images, list) else images
    pixels = image.get("Pixels", {})
    pixel = _mean_size(pixels, "PhysicalSizeX", "PhysicalSizeY", "µm")
    channels = pixels.get("Channel", [])
    channels = channels if isinstance(channels, list) else [channels]
    wavelength = next(
        (
            microns(float(c["EmissionWavelength"]), c.get("EmissionWavelengthUnit", "nm")) * 1000
            for c in channels
            if isinstance(c, dict) and "EmissionWavelength" in c
        ),
        None,
    )
    settings = image.get("ObjectiveSettings", {})
    objective = _objective(root.get("Instrument", {}), settings.get("ID"))
    na = objective.get("LensNA")
    index = settings.get("RefractiveIndex") or IMMERSION_INDEX.get(str(objective.get("Immersion", "")).lower())
    found = Instrument(
        pixel,
        float(na) if na else None,
        wavelength,
        float(index) if index else None,
        "OME",
    )
    return found if any((found.pixel_size, found.numerical_aperture, found.wavelength)) else None


def _mean_size(pixels: dict, x: str, y: str, default_unit: str) -> float | None:
    if x not in pixels or y not in pixels:
        return None
    sx = microns(float(pixels[x]), pixels.get(f"{x}Unit", default_unit))
    sy = microns(float(pixels[y]), pixels.get(f"{y}Unit", default_unit))
    return None if sx is None or sy is None else (sx + sy) / 2


def _objective(instrument: Any, wanted: str | None) -> dict:
    """The objective ``wanted`` (an ObjectiveSettings ID) of the OME instrument, or its first one."""
    instruments = instrument if isinstance(instrument, list) else [instrument]
    objectives = []
    for inst in instruments:
        found = inst.get("Objective", []) if isinstance(inst, dict) else []
        objectives += found if isinstance(found, list) else [found]
    return next((o for o in objectives if o.get("ID") == wanted), objectives[0] if objectives else {})


def from_imagej(pixel_size: tuple[float, float] | None, unit: str | None, info: str | None) -> Instrument | None:
    """The instrument an ImageJ TIFF names: resolution in a length unit, NA / wavelength lines in ``Info``."""
    pixel = microns(sum(pixel_size) / 2, unit) if pixel_size else None
    text = info or ""
    na, emission, index = (_number(p, text) for p in (_INFO_NA, _INFO_EMISSION, _INFO_INDEX))
    found = Instrument(pixel, na, emission, index, "ImageJ")
    return found if any((pixel, na, emission)) else None


def _number(pattern: re.Pattern, text: str) -> float | None:
    match = pattern.search(text)
    return float(match.group(1)) if match else None


__all__ = ["IMMERSION_INDEX", "Instrument", "from_imagej", "from_ome", "microns"]
