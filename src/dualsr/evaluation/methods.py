"""The methods a benchmark compares (bicubic, the presets, their variants) and how each one is run on a case."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from dualsr.config import DEFAULT_DENOISER
from dualsr.errors import DualSRInputError
from dualsr.evaluation.sets import Case, from_unit, to_unit
from dualsr.noise.denoise import denoise
from dualsr.paper.resize import bicubic_resize_np


class Method(NamedTuple):
    """How a benchmark method makes its x2 image from the LR."""

    preset: str | None  # DualSR preset; None = MATLAB-style bicubic
    changes: dict[str, Any]  # DualSRConfig fields changed from the preset
    known_kernel: bool  # the true kernel replaces G_DN
    denoiser: str | None = None  # denoise the LR first (dualsr.noise.denoise, its own noise estimate)


METHODS: dict[str, Method] = {
    "bicubic": Method(None, {}, False),
    "dualsr": Method("paper", {}, False),
    "fast": Method("fast", {}, False),
    "known_kernel": Method("paper", {}, True),
    "fast_known": Method("fast", {}, True),  # the fast preset with the true kernel: G_UP's side alone
    "fast_gan": Method("fast", {"kernel_estimator": "gan"}, False),  # the fast preset before the spectral kernel
    "fast_noise_off": Method("fast", {"noise": "off"}, False),  # the fast preset without its noise model
    "fast_noise_on": Method("fast", {"noise": "on"}, False),  # ... with it forced on
    "dualsr_spectral": Method("paper", {"kernel_estimator": "spectral"}, False),  # the paper, spectral kernel
    "no_interp": Method("paper", {"use_interp_loss": False}, False),
    "no_forward": Method("paper", {"use_forward_cycle": False}, False),
    "no_backward": Method("paper", {"use_backward_cycle": False}, False),
    "fast_nlm": Method("fast", {"denoiser": "nlm"}, False),  # the noise model's clean copy by NLM alone
    "fast_kernel_clean": Method("fast", {"noise_kernel": "clean_copy"}, False),  # noisy: kernel of the clean copy
    "fast_single": Method("fast", {"self_ensemble": False}, False),  # the fast preset without its 180° ensemble
    "denoise_bicubic": Method(None, {}, False, "nlm"),  # the noisy-image baseline: a library denoiser
    "wiener_bicubic": Method(None, {}, False, DEFAULT_DENOISER),  # the engine's own denoiser, then bicubic
    "bm3d_bicubic": Method(None, {}, False, "bm3d"),  # needs the bm3d package (non-commercial licence)
    "denoise_fast": Method("fast", {}, False, DEFAULT_DENOISER),
}


METHOD_LABELS = {
    "bicubic": "bicubic",
    "dualsr": "DualSR",
    "fast": "DualSR fast",
    "known_kernel": "true kernel + DualSR",
    "fast_known": "true kernel + DualSR fast",
    "fast_gan": "DualSR fast, GAN kernel",
    "fast_noise_off": "DualSR fast, noise model off",
    "fast_noise_on": "DualSR fast, noise model on",
    "dualsr_spectral": "DualSR, spectral kernel",
    "no_interp": "w/o masked interp",
    "no_forward": "w/o forward cycle",
    "no_backward": "w/o backward cycle",
    "fast_nlm": "DualSR fast, NLM clean copy",
    "fast_kernel_clean": "DualSR fast, kernel from the clean copy",
    "fast_single": "DualSR fast, no self-ensemble",
    "denoise_bicubic": "denoise + bicubic",
    "wiener_bicubic": "NLM + Wiener + bicubic",
    "bm3d_bicubic": "BM3D + bicubic",
    "denoise_fast": "denoise + DualSR fast",
}


# Any method with config fields changed, named in place: "fast[lr_up=2e-3,lambda_interp=1]" is
# the fast method with those two fields changed. A measured variant needs no code edit, and the
# command that made a figure is the whole record of it (docs/benchmarks.md).
def split_methods(text: str) -> list[str]:
    """``"bicubic,fast[a=1,b=2]"`` -> ``["bicubic", "fast[a=1,b=2]"]``: commas inside brackets stay."""
    names, depth, start = [], 0, 0
    for i, ch in enumerate(text + ","):
        depth += {"[": 1, "]": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            names.append(text[start:i].strip())
            start = i + 1
    return [n for n in names if n]


def _parse_value(method: str, field_name: str, kind: type, text: str) -> Any:
    """A config field's value from its text, by the field's type."""
    if kind is bool:
        words = {"true": True, "on": True, "1": True, "false": False, "off": False, "0": False}
        if text.lower() not in words:
            raise DualSRInputError(f"{method}: {field_name}={text} is not true or false")
        return words[text.lower()]
    try:
        return kind(text)
    except ValueError:
        raise DualSRInputError(f"{method}: {field_name}={text} is not a valid {kind.__name__}") from None


def method_spec(name: str) -> Method:
    """The method ``name`` names: a registered one, or ``BASE[field=value,...]``, a variant of one."""
    if name in METHODS:
        return METHODS[name]
    base, _, rest = name.partition("[")
    if base not in METHODS or not rest.endswith("]"):
        raise DualSRInputError(
            f"unknown method {name!r}; choose from {', '.join(METHODS)}, or vary one: fast[lr_up=2e-3,...]"
        )
    spec = METHODS[base]
    if spec.preset is None:
        raise DualSRInputError(f"{base} trains nothing, so {name!r} has no settings to vary; vary fast or dualsr")
    from dataclasses import fields

    from dualsr.config import DualSRConfig

    kinds = {f.name: type(getattr(DualSRConfig(), f.name)) for f in fields(DualSRConfig)}
    changes = dict(spec.changes)
    for item in filter(None, (i.strip() for i in rest[:-1].split(","))):
        key, eq, value = (part.strip() for part in item.partition("="))
        if not eq or key not in kinds:
            raise DualSRInputError(f"{name}: {item!r} is not FIELD=VALUE with a DualSRConfig field (e.g. lr_up=2e-3)")
        changes[key] = _parse_value(name, key, kinds[key], value)
    DualSRConfig().with_(**changes)  # a bad choice is said now, not after hours of other runs
    return spec._replace(changes=changes)


def method_label(name: str) -> str:
    """A method's name in tables: its label, or the label of the varied method with the changes."""
    if name in METHOD_LABELS:
        return METHOD_LABELS[name]
    base, _, rest = name.partition("[")
    return f"{METHOD_LABELS.get(base, base)} [{rest[:-1]}]"


@dataclass
class BenchSettings:
    """What decides a method's result besides the image (a stored run with other settings is redone)."""

    iterations: int | None = None  # paper-preset methods; None = the preset's 3000
    fast_iterations: int | None = None  # the fast preset; None = its own
    seed: int = 0
    device: str = "auto"
    precision: str = "float32"
    overrides: dict[str, Any] = field(default_factory=dict)  # other DualSRConfig fields (tests: tiny nets)

    def config(self, method: str):  # noqa: ANN201 - DualSRConfig, imported lazily
        return self._config(method_spec(method))

    def _config(self, spec: Method):  # noqa: ANN202 - DualSRConfig
        from dualsr.config import preset

        iters = self.fast_iterations if spec.preset == "fast" else self.iterations
        base = preset(spec.preset, iterations=iters, seed=self.seed, precision=self.precision, **self.overrides)
        return base.with_(**spec.changes)

    def signature(self, method: str) -> dict[str, Any]:
        spec = method_spec(method)
        denoiser = {"denoiser": _denoiser_version(spec.denoiser)} if spec.denoiser else {}
        if spec.preset is None:
            return {"method": method, **denoiser}
        # every config field: a stored run is reused only if it trained exactly as asked
        # (a field added to the engine, such as noise_guide, makes older runs stale)
        return {
            "method": method,
            **denoiser,
            **self._config(spec).to_dict(),
            "device": self.device,
            **({"changes": spec.changes} if method not in METHODS else {}),  # a variant: every field it changes
        }


def _denoiser_version(name: str) -> str:
    """The denoiser and the library behind it, e.g. ``nlm (scikit-image 0.26.0)``: a new version redoes runs."""
    from importlib.metadata import PackageNotFoundError, version

    package = "bm3d" if name == "bm3d" else "scikit-image"
    try:
        return f"{name} ({package} {version(package)})"
    except PackageNotFoundError:
        return name


def denoised_lr(case: Case, denoiser: str) -> tuple[np.ndarray, dict[str, Any]]:
    """The LR denoised with its own noise estimate (as a user would, blind), and what was estimated."""
    from dualsr.noise.estimate import estimate_noise

    start = time.perf_counter()
    channel_axis = -1 if case.lr.ndim == 3 else None
    noise = estimate_noise(case.lr, channel_axis)
    lr = denoise(case.lr, noise, channel_axis=channel_axis, method=denoiser)
    return lr, {"noise": noise.to_dict(), "denoise_seconds": time.perf_counter() - start}


def run_method(
    case: Case, method: str, settings: BenchSettings, log: Callable[[str], None] | None = None
) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
    """The x2 (xscale) image of one case by one method, its kernel and run facts."""
    start = time.perf_counter()
    spec = method_spec(method)
    lr, facts = denoised_lr(case, spec.denoiser) if spec.denoiser else (case.lr, {})
    if spec.preset is None:
        unit, r = to_unit(lr)
        sr = from_unit(bicubic_resize_np(unit, float(case.scale)), lr.dtype, r)
        return sr, None, {"seconds": time.perf_counter() - start, "steps": 0, **facts}
    from dualsr.engine.train import train

    if case.scale != 2:
        raise DualSRInputError(f"DualSR is x2 only; {case.name} is x{case.scale}")
    if spec.known_kernel and case.kernel is None:
        raise DualSRInputError(f"{case.name}: no true kernel in the set, so '{method}' cannot run")
    config = settings._config(spec)
    result = train(
        lr,
        config=config,
        known_kernel=case.kernel if spec.known_kernel else None,
        device=settings.device,
        progress=_progress_printer(log, f"{case.name} {method}") if log else None,
    )
    facts = {"seconds": time.perf_counter() - start, "steps": result.steps, "device": result.device, **facts}
    facts |= {"kernel_state": result.kernel_state, "acquisition": [d.model for d in result.acquisition]}
    facts |= {"resolution": result.resolution, "verdict": result.verdict, "uncertain": result.uncertain}
    facts |= {"cross_scale": result.detail} if result.detail else {}
    return result.image, (None if spec.known_kernel else result.kernel), facts


def _progress_printer(log: Callable[[str], None], label: str) -> Callable:
    marks: set[int] = set()

    def on_step(info) -> None:  # noqa: ANN001 - StepInfo
        tenth = 10 * info.step // info.iterations
        if tenth not in marks and tenth > 0:
            marks.add(tenth)
            log(f"  {label}: step {info.step}/{info.iterations} ({info.seconds:.0f} s)")

    return on_step
