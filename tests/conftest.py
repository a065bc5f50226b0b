"""Shared fixtures: small synthetic images and a tiny-but-real training config."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

from dualsr.config import DualSRConfig


def textured(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """A smooth random texture with edges, in [0, 1]: something worth super-resolving."""
    rng = np.random.default_rng(seed)
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w] / 8.0
    img = np.zeros(shape)
    for _ in range(12):
        fy, fx, ph = rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5), rng.uniform(0, 6.3)
        img += np.sin(fy * yy + fx * xx + ph)
    blocks = rng.random((h // 16 + 1, w // 16 + 1)) > 0.6
    img += 1.5 * np.kron(blocks, np.ones((16, 16)))[:h, :w]
    img -= img.min()
    return img / img.max()


@pytest.fixture
def texture() -> np.ndarray:
    return textured((192, 200))


@pytest.fixture
def tiny_config() -> DualSRConfig:
    """The paper's method at toy size: small patches and networks, few steps."""
    return DualSRConfig(
        iterations=4,
        hr_crop=64,
        lr_crop=32,
        up_features=16,
        dn_features=16,
        d_features=16,
        lr_step=100,
        reg_update_every=20,
    )


@contextlib.contextmanager
def one_thread():
    """Train with one torch thread: on a shared 2-core machine two threads wait on each other."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _onnx_image(kind: str) -> tuple[np.ndarray, str]:
    t = textured((96, 100), seed=5)
    if kind == "grey16":
        return (t * 40000 + 1000).astype(np.uint16), "YX"
    if kind == "rgb8":
        return (np.stack([t, t[::-1], t[:, ::-1]], -1) * 255).astype(np.uint8), "YXC"
    return np.stack([t, t[:, ::-1] * 3]).astype(np.float32), "CYX"  # "two": independent channels


@pytest.fixture(scope="session")
def onnx_model(tmp_path_factory):
    """``onnx_model(kind)`` -> (DualSRResult, exported .onnx path) of a 2-step toy training, cached.

    Kinds: ``grey16`` (uint16 YX, percentile normalisation), ``rgb8`` (uint8 RGB, joint,
    8-bit range), ``two`` (float32 CYX, channels trained and normalised independently).
    """
    import dualsr

    cache = {}

    def get(kind: str):
        if kind not in cache:
            image, axes = _onnx_image(kind)
            config = DualSRConfig(iterations=2, hr_crop=64, lr_crop=32, up_features=16, dn_features=16, d_features=16)
            with one_thread():
                result = dualsr.train(image, axes=axes, config=config, seed=3)
            cache[kind] = (result, result.export_onnx(tmp_path_factory.mktemp(kind) / f"{kind}.onnx"))
        return cache[kind]

    return get


@pytest.fixture
def single_torch_thread():
    """The same as ``one_thread`` for a whole test (widgets train on their own threads)."""
    with one_thread():
        yield


def imagej_tif(path, data, pixel=0.2, axes="YX"):
    """An ImageJ TIFF with a pixel size in um, as microscopes write them."""
    import tifffile

    tifffile.imwrite(path, data, imagej=True, resolution=(1 / pixel, 1 / pixel), metadata={"axes": axes, "unit": "um"})
    return path


@pytest.fixture
def grey16(tmp_path, texture):
    """A 16-bit ImageJ TIFF (0.4 um pixels) and its data."""
    data = (texture * 30000 + 2000).astype(np.uint16)
    return imagej_tif(tmp_path / "grey.tif", data, pixel=0.4), data


def run_cli(args, capsys):
    """``dualsr ARGS`` in this process: (exit status, stdout, stderr)."""
    from dualsr.cli.main import main

    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def cli_fails(capsys, argv, output, match):
    """``dualsr ARGV`` exits 2 with one line naming ``match`` and leaves no ``output`` (not even a temp)."""
    code, _, err = run_cli(argv, capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("dualsr: error:") and match in err, err
    assert not output.exists() and not list(output.parent.glob(f".{output.name}*"))


def power_law_field(side: int, alpha: float, seed: int) -> np.ndarray:
    """A scale-free scene with a natural photograph's spectral slope (``|f|^-alpha``), in [0, 1]."""
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(side), np.fft.fftfreq(side), indexing="ij"))
    f[0, 0] = 1.0
    noise = np.fft.fft2(np.random.default_rng(seed).standard_normal((side, side)))
    x = np.real(np.fft.ifft2(noise * f ** (-alpha / 2)))
    return (x - x.min()) / np.ptp(x)


def halves_blurred(seed: int = 0) -> np.ndarray:
    """A 192x192 LR whose left half was blurred elongated (4:1) and right half nearly round (1.7:1) before the
    subsampling: the whole image reads an elongated blur (about 4:1), its right half one round enough for optics."""
    from dualsr.evaluation.degrade import degrade
    from dualsr.kernels.spectral import gaussian_from_covariance

    scene = power_law_field(384, 2.8, seed)
    left, right = (degrade(scene, gaussian_from_covariance(np.diag(v), 13)) for v in ([0.8, 3.2], [1.5, 2.5]))
    return np.concatenate([left[:, :96], right[:, 96:]], axis=1).astype(np.float32)


def dead_leaves(size: int, seed: int = 0, r_min: float = 1.0) -> np.ndarray:
    """A dead-leaves image in [0, 1]: occluding discs with radii ~ r^-3, a scale-invariant scene.

    Its power spectrum follows a power law like a natural image's, with sharp step edges;
    blurred by a known kernel and subsampled it is the textbook blind-kernel test image.
    """
    rng = np.random.default_rng(seed)
    r_max = size / 2
    image = np.full((size, size), -1.0)
    todo = size * size
    while todo:
        r = (r_min**-2 - rng.random() * (r_min**-2 - r_max**-2)) ** -0.5
        cy, cx = rng.uniform(-r, size + r, 2)
        y0, y1 = max(0, int(cy - r)), min(size, int(cy + r) + 2)
        x0, x1 = max(0, int(cx - r)), min(size, int(cx + r) + 2)
        if y0 >= y1 or x0 >= x1:
            continue
        yy, xx = np.ogrid[y0:y1, x0:x1]
        window = image[y0:y1, x0:x1]
        disc = ((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r) & (window < 0)
        window[disc] = rng.random()
        todo -= int(disc.sum())
    return image
