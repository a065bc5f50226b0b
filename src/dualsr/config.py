"""Every number of the paper and its reference implementation, in one place.

Defaults are the paper's values (DualSR, WACV 2021, sections 3-4) and the reference
implementation's (memad73/DualSR, which inherits the kernel prior from KernelGAN).
The ``paper`` preset is exactly the paper; ``fast`` trains fewer steps with named cheaper
settings (a narrower G_UP, one patch pair per step), its quality cost measured and recorded
in docs/performance.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from dualsr.errors import DualSRInputError

MIN_HR_CROP = 64  # the smallest y patch a small image's patches shrink to (DualSRConfig.fitted)

DENOISERS = ("nlm_wiener", "nlm", "bm3d")  # how the noise model makes its clean copy (dualsr.noise.denoise)
DEFAULT_DENOISER = "nlm_wiener"
# Above this noise level (std at mid-scale, as a fraction of full scale) an image counts as noisy.
# Measured (docs/benchmarks.md "Noise model"): the clean LRs of the benchmark sets read 0.1-0.9 %;
# Poisson noise at 3000 photons full scale reads 1.3-1.4 %, at 1000 photons 2.2-2.3 %, at 300
# 4.0-4.2 %. Already at 3000 photons the noise model gains +0.48 dB on average over training
# without it (moon: +2.4 dB, the model-free run falls 1.4 dB below bicubic), while on clean
# images it costs 0-0.3 dB. Missing noise costs more than a needless noise model, so the line is
# drawn just above the clean sets: 1.2 %. Full-size 8-bit photos with film grain (scikit-image's
# camera 1.45 %, Hubble deep field 2.6 %) and the bundled sample (4000-photon shot noise, 2.0 %)
# read noisy, and are.
NOISY_THRESHOLD = 0.012
KERNEL_ESTIMATORS = ("gan", "spectral")
ACQUISITIONS = ("auto", "camera", "gaussian-blur")
NOISE_MODES = ("off", "auto", "on")
NOISE_KERNELS = ("noisy", "clean_copy")
D_INITS = ("xavier", "reference")
PRECISIONS = ("float32", "bfloat16")


def check_choice(what: str, value: str, choices: tuple[str, ...]) -> None:
    """A named setting must be one of its choices: one line naming them otherwise."""
    if value not in choices:
        raise DualSRInputError(f"{what} {value!r} is unknown; use one of {', '.join(choices)}")


@dataclass(frozen=True)
class DualSRConfig:
    """Hyper-parameters of one DualSR training run (defaults = the paper)."""

    # --- scale and patches (paper sec. 4 "Training details") ---
    scale: int = 2  # super-resolution factor; DualSR's networks are built for x2
    hr_crop: int = 128  # y: the patch G_DN downsamples (HR role)
    lr_crop: int = 64  # x: the patch G_UP upsamples (LR role)
    batch_size: int = 2  # patches of each kind per step
    border_shave: int = 10  # pixels ignored at the image border when sampling crops
    grad_map_window: int = 5  # box blur of the gradient map used to sample crops
    grad_map_percentile: float = 0.97  # gradients above this quantile are clipped

    # Not in the paper: an image smaller than hr_crop + 2 * border_shave trains on the largest patches that
    # fit, down to MIN_HR_CROP (DualSRConfig.fitted; the binned moon, a 128^2 LR: 104 px, +0.37 dB over bicubic).

    # --- networks (sec. 4 "Network configuration") ---
    up_layers: int = 8  # G_UP: 3x3 conv layers
    up_features: int = 64
    dn_features: int = 64  # G_DN: deep linear net 7,5,3(s2),1,1,1
    d_layers: int = 7  # D_DN: 7x7 conv, 5 x (1x1 conv, BN, ReLU), 1x1 conv
    d_features: int = 64
    d_kernel_size: int = 7  # receptive field of the PatchGAN
    d_init: str = "xavier"  # "xavier" as the reference code writes it, "reference" as it runs (networks.py)

    # --- loss weights (eq. 2, fig. 4) ---
    lambda_cycle: float = 5.0
    lambda_interp: float = 2.0
    lambda_reg: float = 2.0  # weight of KernelGAN's kernel prior R in L_GAN (eq. 3)

    # --- kernel prior R (KernelGAN) and its schedule ---
    reg_bicubic: float = 5.0  # MSE(G_DN(y), bicubic x0.5 of y), initial weight
    reg_sum2one: float = 0.5
    reg_boundaries: float = 0.5
    reg_centralized_end: float = 1.0  # switched on once the bicubic weight is small
    reg_sparse_end: float = 5.0
    reg_sparse_power: float = 0.2
    reg_boundary_scale: float = 30.0  # penalty mask scale at the kernel border
    reg_bicubic_threshold: float = 0.4  # "similar to bicubic" once under this ...
    reg_bicubic_patience: int = 3  # ... for this many consecutive steps
    reg_update_every: int = 200  # then divide the bicubic weight every N steps
    reg_bicubic_decay: float = 100.0
    reg_bicubic_min: float = 5e-6
    reg_constraints_below: float = 5e-3  # switch centralised/sparse on under this

    # --- optimisation (sec. 4) ---
    iterations: int = 3000
    lr_up: float = 1e-3
    lr_dn: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    lr_step: int = 750  # learning rates decay every N steps ...
    lr_up_gamma: float = 0.5  # ... G_UP x0.5
    lr_dn_divisor: float = 4.0  # ... G_DN and D_DN /4

    # --- ablations (Table 2) ---
    use_interp_loss: bool = True
    use_forward_cycle: bool = True
    use_backward_cycle: bool = True

    # --- how the blind kernel is estimated (not in the paper: the fast path) ---
    # "gan": the paper's G_DN trained against D_DN jointly with G_UP (eq. 3).
    # "spectral": a closed-form estimate from the image's power spectrum before training
    # (dualsr.kernels.spectral), then held fixed like a known kernel: no G_DN, no D_DN.
    kernel_estimator: str = "gan"
    # --- soft content (not in the paper, and in no preset: brick +0.4-0.5 dB, but a piecewise-flat
    # phantom -1.65 and 14 camera-binned images -0.13 on average; docs/benchmarks.md, "Soft content";
    # dualsr.engine.softening) ---
    # the backward cycle's HR patch is first blurred by a Gaussian of sigma ~ U(0, cycle_softening) LR pixels
    cycle_softening: float = 0.0
    # --- how the LR was made (not in the paper; dualsr.kernels.acquisition) ---
    # "gaussian-blur": blurred by an unknown kernel, then subsampled (the paper's model and DIV2KRK's):
    # the kernel is estimated blind by ``kernel_estimator``. "camera": recorded by a camera, whose x2
    # kernel is pixel integration, a 2x2 box (dualsr.kernels.camera): the optics blur the scene at both
    # scales, so the blind estimate is not used. "auto": decided per image, from the acquisition's
    # metadata where given, else from the image (reported with the result).
    acquisition: str = "gaussian-blur"

    # --- noise (not in the paper: LR = (HR * k)↓2 + n, dualsr.noise.model) ---
    # "off": the paper's noise-free model; "on": measure the noise, train on clean targets with
    # matching noise added to G_DN's output; "auto": "on" when the measured noise is above
    # noise_threshold (std at mid-scale as a fraction of full scale).
    noise: str = "off"
    noise_threshold: float = NOISY_THRESHOLD
    denoiser: str = DEFAULT_DENOISER  # makes the clean copy (dualsr.noise.denoise: nlm_wiener, nlm, bm3d)
    # where the spectral kernel of a noisy image is read: "noisy", the image itself with the
    # noise-aware fit (dualsr.kernels.spectral.fit_noisy_ratios); "clean_copy", the denoised copy
    # with the plain fit (the denoiser's smoothing then reads as blur).
    noise_kernel: str = "noisy"
    # with the noise model on: G_UP also reads the image denoised by NLM + Wiener (a second set
    # of input channels; its residual is added to their x2), so it learns where the denoiser
    # is right and where to put texture back. The denoiser is torch, part of the model and of
    # its ONNX file (dualsr.noise.model.GuidedUp, dualsr.noise.denoise_net). Independent of
    # ``denoiser``, which makes the clean targets.
    noise_guide: bool = False

    # --- inference (not in the paper) ---
    # average G_UP's x2 with the x2 of the image rotated by 180 degrees (rotated back): two
    # estimates with different errors. Valid where the kernel is point-symmetric, as every
    # spectral (Gaussian) estimate is; applied only there (dualsr.engine.train). Off in the paper preset.
    self_ensemble: bool = False
    # iterative back-projection of the x2 onto the LR with the kernel, then each pixel held to
    # its LR neighbourhood's range (dualsr.inference.backprojection): steps, 0 = off.
    # ``back_projection_step`` scales each step's correction. With the noise model on (guided
    # G_UP only) the x2 is projected onto the denoised copy and the step is scaled by
    # (back_projection_noise / noise level)^2 where the level is above back_projection_noise.
    back_projection: int = 0
    back_projection_step: float = 1.0
    back_projection_noise: float = 0.01
    # keep only the detail (over bicubic) that holds up one scale down, where the LR is the truth: the
    # upsampler's x2 of the LR degraded once more is compared with the LR, per Gaussian window of
    # ``cross_scale_window`` LR pixels (dualsr.inference.crossscale). Never sharpens; takes back what
    # the image's own scales do not confirm. Not with the noise model (the LR is no clean truth there).
    cross_scale_check: bool = False
    cross_scale_window: float = 8.0

    # --- the estimated kernel as reported (KernelGAN's final kernel) ---
    kernel_keep_top: int = 40  # keep the N largest values, zero the rest; 0 keeps all

    # --- is the kernel estimate converged? (not in the paper: reported with every result) ---
    kernel_settle_window: int = 0  # compare the kernel with the one N steps earlier; 0: a tenth of the run (>= 20)
    kernel_settle_tolerance: float = 0.1  # settled when it moved less than this fraction of its peak

    # --- engine settings (same maths, different speed) ---
    # float32 | bfloat16 (autocast of G_UP). bfloat16 pays only with native support
    # (CUDA, CPUs with AVX-512-BF16/AMX); emulated on other CPUs it is ~100x slower.
    precision: str = "float32"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.scale != 2:
            raise DualSRInputError(
                f"scale {self.scale} is not supported: DualSR's networks are built for x2; use --scale 2"
            )
        if self.iterations < 1:
            raise DualSRInputError(f"iterations must be at least 1, got {self.iterations}")
        if self.hr_crop != 2 * self.lr_crop:
            raise DualSRInputError("hr_crop must be twice lr_crop (x2 patches)")
        if self.hr_crop % 2 or self.hr_crop < 32:
            raise DualSRInputError(f"hr_crop must be even and at least 32, got {self.hr_crop}")
        check_choice("kernel estimator", self.kernel_estimator, KERNEL_ESTIMATORS)
        check_choice("acquisition", self.acquisition, ACQUISITIONS)
        check_choice("d_init", self.d_init, D_INITS)
        check_choice("noise mode", self.noise, NOISE_MODES)
        check_choice("denoiser", self.denoiser, DENOISERS)
        check_choice("noise kernel", self.noise_kernel, NOISE_KERNELS)
        check_choice("precision", self.precision, PRECISIONS)
        if self.back_projection < 0:
            raise DualSRInputError(f"back_projection is a number of steps (0 = off), got {self.back_projection}")
        if not 0 < self.back_projection_step <= 2:
            raise DualSRInputError(f"back_projection_step must be in (0, 2], got {self.back_projection_step}")
        if self.cross_scale_window <= 0:
            raise DualSRInputError(f"cross_scale_window is a sigma in LR pixels (> 0), got {self.cross_scale_window}")
        if not 0 <= self.cycle_softening <= 8:  # NaN fails too
            raise DualSRInputError(f"cycle_softening is a sigma in LR pixels, 0 (off) to 8, got {self.cycle_softening}")
        if self.back_projection_noise <= 0:
            raise DualSRInputError(f"back_projection_noise must be > 0, got {self.back_projection_noise}")

    @property
    def settle_window(self) -> int:
        """Steps over which the kernel's change is measured (see :mod:`dualsr.kernels.convergence`)."""
        return self.kernel_settle_window or max(20, self.iterations // 10)

    @property
    def min_image_size(self) -> int:
        """Smallest image side we train on: on a smaller image than the paper's patches need, they shrink
        (:meth:`fitted`) down to ``MIN_HR_CROP``."""
        return min(self.hr_crop, MIN_HR_CROP) + 2 * self.border_shave

    def fitted(self, side: int) -> DualSRConfig:
        """This config on an image whose smaller side is ``side``: the patches as set where they fit, else the
        largest that do (a multiple of 4, so both patch sides stay even), at least ``MIN_HR_CROP``."""
        room = side - 2 * self.border_shave
        if room >= self.hr_crop or room < MIN_HR_CROP:
            return self
        hr = room // 4 * 4
        return self.with_(hr_crop=hr, lr_crop=hr // 2)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DualSRConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise DualSRInputError(f"unknown config fields: {sorted(unknown)}")
        return cls(**values)

    def with_(self, **changes: Any) -> DualSRConfig:
        """A copy with some fields changed (validated)."""
        return self.from_dict({**self.to_dict(), **changes})


PRESETS: dict[str, int] = {
    # Exactly the paper: 3000 steps.
    "paper": 3000,
    # A short run with the schedule compressed and a narrower, single-patch G_UP step:
    # about 1/30 of the paper's work; its measured cost in PSNR is in docs/performance.md.
    "fast": 500,
}

# Named cheaper settings a preset applies on top of the paper's (explicit overrides win).
PRESET_SETTINGS: dict[str, dict[str, Any]] = {
    "paper": {},
    "fast": {
        "up_features": 32,
        "batch_size": 1,
        "kernel_estimator": "spectral",
        "acquisition": "auto",
        "noise": "auto",
        "noise_guide": True,
        "self_ensemble": True,
        "back_projection": 10,
        "cross_scale_check": True,
    },
}


_SCHEDULE_FIELDS = ("lr_step", "reg_update_every")  # what ``scheduled`` compresses


def scheduled(iterations: int, base: DualSRConfig | None = None) -> DualSRConfig:
    """``base`` trained for ``iterations`` steps with the paper's schedule compressed.

    The paper decays learning rates every 750 of 3000 steps and updates the kernel
    prior every 200; a shorter run keeps those proportions (a 3000-step run is exactly
    the paper).
    """
    base = base or DualSRConfig()
    if iterations < 1:
        raise DualSRInputError(f"iterations must be at least 1, got {iterations}")
    ratio = iterations / 3000
    return base.with_(
        iterations=iterations,
        lr_step=max(1, round(750 * ratio)),
        reg_update_every=max(1, round(200 * ratio)),
    )


def preset(name: str, iterations: int | None = None, **overrides: Any) -> DualSRConfig:
    """The config of a named preset; ``iterations`` compresses its schedule.

    ``overrides`` replace the preset's own settings (``PRESET_SETTINGS``), e.g.
    ``preset("fast", up_features=64)`` is the fast schedule with the paper's G_UP width.
    """
    if name not in PRESETS:
        raise DualSRInputError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    settings = {**PRESET_SETTINGS.get(name, {}), **overrides}
    config = scheduled(PRESETS[name] if iterations is None else iterations, DualSRConfig().with_(**settings))
    # schedule fields given explicitly are kept as given, not compressed
    explicit = {k: v for k, v in settings.items() if k in _SCHEDULE_FIELDS}
    return config.with_(**explicit) if explicit else config


__all__ = ["DualSRConfig", "MIN_HR_CROP", "PRESETS", "PRESET_SETTINGS", "preset", "scheduled", "replace"]
