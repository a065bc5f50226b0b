import json

import numpy as np
import pytest

from conftest import textured
from dualsr.cli.main import main
from dualsr.evaluation.bench import overshoot, run_bench
from dualsr.evaluation.methods import BenchSettings, method_label, method_spec
from dualsr.evaluation.report import case_figure, write_figures, write_summary
from dualsr.evaluation.sets import degrade_image, load_cases, write_case
from dualsr.io.files import ImageFile, read_image, write_image

TINY = {"hr_crop": 64, "lr_crop": 32, "up_features": 8, "dn_features": 8, "d_features": 8}


@pytest.fixture
def tiny_set(tmp_path):
    hr = (np.stack([textured((192, 200), s) for s in (0, 1, 2)], -1) * 255).astype(np.uint8)
    hr_, lr, k, info = degrade_image(hr, "tex", seed=0)
    write_case(tmp_path / "set", "tex", hr_, lr, k)
    return tmp_path / "set"


def test_set_layout_and_loading(tiny_set):
    assert (tiny_set / "gt" / "tex.png").is_file() and (tiny_set / "lr_x2" / "tex.png").is_file()
    assert (tiny_set / "gt_k_x2" / "tex.npy").is_file()
    (case,) = load_cases(tiny_set)
    assert case.hr.shape == (192, 200, 3) and case.lr.shape == (96, 100, 3) and case.lr.dtype == np.uint8
    assert case.kernel.shape == (13, 13) and case.data_range == 255.0


def test_runner_resumes_and_writes_tables(tiny_set, tmp_path):
    cases = load_cases(tiny_set)
    out = tmp_path / "out"
    settings = BenchSettings(iterations=2, fast_iterations=2, seed=0, overrides=TINY)
    logs: list[str] = []
    methods = ["bicubic", "dualsr", "known_kernel", "fast_known"]
    entries = run_bench(cases, methods, out, settings, log=logs.append)
    assert [e["method"] for e in entries] == methods
    for m in methods:
        assert (out / "runs" / "tex" / f"{m}.json").is_file() and (out / "runs" / "tex" / f"{m}.png").is_file()
    assert (out / "runs" / "tex" / "dualsr_kernel.npy").is_file()
    dual = json.loads((out / "runs" / "tex" / "dualsr.json").read_text())
    assert dual["steps"] == 2 and dual["settings"]["iterations"] == 2 and "kernel_max_rel" in dual
    assert "kernel_mse" not in json.loads((out / "runs" / "tex" / "known_kernel.json").read_text())
    fast_known = json.loads((out / "runs" / "tex" / "fast_known.json").read_text())
    assert "kernel_mse" not in fast_known and fast_known["steps"] == 2
    bic = entries[0]
    assert 15 < bic["psnr"] < 50 and 0 < bic["ssim"] < 1

    stamp = (out / "runs" / "tex" / "dualsr.json").stat().st_mtime_ns
    logs.clear()
    again = run_bench(cases, methods, out, settings, log=logs.append)
    assert all("skipped" in line for line in logs) and len(logs) == 4
    assert again == entries
    assert (out / "runs" / "tex" / "dualsr.json").stat().st_mtime_ns == stamp
    # other settings: that method is redone, the rest kept
    logs.clear()
    run_bench(cases, ["bicubic", "dualsr"], out, BenchSettings(iterations=3, overrides=TINY), log=logs.append)
    assert "skipped" in logs[0] and not any("skipped" in line for line in logs[1:])
    # any engine field counts, not only a listed few: a run before the guide is not a guided run
    plain = BenchSettings(fast_iterations=2, overrides={**TINY, "noise_guide": False})
    assert plain.signature("fast") != BenchSettings(fast_iterations=2, overrides=TINY).signature("fast")

    tables = write_summary(out, methods)
    md = (out / "results.md").read_text()
    assert "| DualSR | 1 | 3 |" in md and "true kernel + DualSR" in md and "| tex |" in md
    assert tables["means"]["bicubic"]["psnr"] == pytest.approx(bic["psnr"])
    rows = (out / "results.csv").read_text().splitlines()
    assert rows[0].startswith("case,method,psnr,ssim") and len(rows) == 5
    assert set(json.loads((out / "results.json").read_text())) == {"machine", "means", "entries"}
    (fig,) = write_figures(out, cases, methods, crop=32)
    assert read_image(fig).data.shape[1] >= 5 * 32 * 4


def test_overshoot_sees_halos_not_blur():
    hr = np.zeros((40, 40))
    hr[:, 20:] = 200.0
    blurred = hr.copy()
    blurred[:, 19:21] = 100.0
    assert overshoot(hr, hr, 255.0) == 0 and overshoot(blurred, hr, 255.0) == 0
    halo = hr.copy()
    halo[:, 18] = -30
    halo[:, 21] = 240
    assert overshoot(halo, hr, 255.0) > 1


def test_case_figure_grey(tmp_path):
    hr = (textured((96, 96)) * 255).astype(np.uint8)
    hr_, lr, k, _ = degrade_image(hr, "g")
    write_case(tmp_path, "g", hr_, lr, k)
    (case,) = load_cases(tmp_path)
    fig = case_figure(case, {"bicubic": hr_}, {"true": k}, crop=32, zoom=2)
    assert fig.size[0] >= 3 * 64


def test_cli_degrade_happy_path(tmp_path, capsys):
    src = tmp_path / "photo.png"
    write_image(src, ImageFile((textured((100, 121)) * 255).astype(np.uint8), "YX"))
    out = tmp_path / "set"
    assert main(["degrade", str(src), "-o", str(out), "--seed", "3", "--noise-gaussian", "0.01"]) == 0
    hr = read_image(out / "gt" / "photo.png").data
    lr = read_image(out / "lr_x2" / "photo.png").data
    k = np.load(out / "gt_k_x2" / "photo.npy")
    assert hr.shape == (100, 120) and lr.shape == (50, 60) and lr.dtype == np.uint8
    assert k.shape == (13, 13) and k.sum() == pytest.approx(1.0)
    info = json.loads((out / "degradation.json").read_text())
    assert info["images"][0]["noise_gaussian"] == 0.01 and info["images"][0]["seed"] == 3
    assert "photo: HR 120x100 -> LR 60x50" in capsys.readouterr().out
    assert main(["degrade", str(src), "-o", str(tmp_path / "x4"), "--scale", "4", "--noise-poisson", "500"]) == 0
    assert read_image(tmp_path / "x4" / "lr_x4" / "photo.png").data.shape == (25, 30)
    assert np.load(tmp_path / "x4" / "gt_k_x4" / "photo.npy").shape == (37, 37)


@pytest.mark.parametrize(
    "argv, words",
    [
        (["degrade", "{tmp}/missing.png", "-o", "{tmp}/o"], "no such file"),
        (["degrade", "{src}", "-o", "{tmp}/o", "--scale", "3"], "invalid choice"),
        (["degrade", "{src}", "-o", "{tmp}/o", "--noise-poisson", "-1"], "must be positive"),
        (["degrade", "{src}", "-o", "{tmp}/o", "--noise-gaussian", "x"], "expected a number"),
        (["degrade", "{src}", "-o", "{src}"], "not a folder"),
        (["degrade", "{tmp}/stack.npy", "-o", "{tmp}/o"], "grey or RGB"),
        (["bench", "{tmp}/nowhere", "-o", "{tmp}/o"], "no such folder"),
        (["bench", "{tmp}", "-o", "{tmp}/o"], "DIV2KRK's layout"),
        (["bench", "skimage", "-o", "{tmp}/o", "--methods", "magic"], "unknown method"),
        (["bench", "skimage", "-o", "{tmp}/o", "--methods", "bicubic,fast[lr_up=fast]"], "not a valid float"),
        (["bench", "skimage", "-o", "{tmp}/o", "--methods", "fast[lr=1]"], "not FIELD=VALUE"),
        (["bench", "skimage", "-o", "{tmp}/o", "--methods", "fast[noise=loud]"], "noise mode 'loud'"),
        (["bench", "skimage", "-o", "{tmp}/o", "--images", "lena"], "unknown image"),
        (["bench", "{tmp}", "-o", "{tmp}/o", "--noise-poisson", "30"], "'skimage' set only"),
        (["bench", "skimage", "-o", "{tmp}/o", "--noise-poisson", "0"], "must be positive"),
    ],
)
def test_cli_errors_exit_2_with_one_line(tmp_path, capsys, argv, words):
    src = tmp_path / "photo.png"
    write_image(src, ImageFile(np.zeros((40, 40), np.uint8), "YX"))
    np.save(tmp_path / "stack.npy", np.zeros((3, 40, 40, 2), np.uint8))
    argv = [a.format(tmp=tmp_path, src=src) for a in argv]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and words in err
    assert not (tmp_path / "o" / "gt").exists()


def test_cli_bench_on_a_set(tiny_set, tmp_path, capsys):
    out = tmp_path / "b"
    assert main(["bench", str(tiny_set), "-o", str(out), "--methods", "bicubic"]) == 0
    assert "| bicubic | 1 |" in capsys.readouterr().out
    assert (out / "results.md").is_file() and (out / "figures" / "tex.png").is_file()
    assert main(["bench", str(tiny_set), "-o", str(out), "--methods", "bicubic", "--summary-only"]) == 0


def test_cli_bench_skimage_set(tmp_path, capsys):
    pytest.importorskip("skimage")
    out = tmp_path / "sk"
    argv = ["bench", "skimage", "-o", str(out), "--images", "camera", "--size", "200", "--methods", "bicubic"]
    assert main(argv) == 0
    assert read_image(out / "set" / "lr_x2" / "camera.png").data.shape == (100, 100)
    assert main([*argv[:-4], "--images", "moon", "--size", "200", "--methods", "bicubic"]) == 0  # adds moon
    made = json.loads((out / "set" / "degradation.json").read_text())
    assert [i["name"] for i in made["images"]] == ["camera", "moon"]
    capsys.readouterr()
    assert main([*argv[:-4], "--size", "256"]) == 2
    assert "--size 200" in capsys.readouterr().err


def test_cli_bench_held_out_set(tmp_path, capsys):
    """scikit-image's images that no setting was chosen on: a camera-binned set of them, and its own names only."""
    pytest.importorskip("skimage")
    out = tmp_path / "held"
    argv = ["bench", "held-out", "-o", str(out), "--images", "shepp_logan_phantom,brick", "--size", "160"]
    assert main([*argv, "--acquisition", "camera", "--methods", "bicubic"]) == 0
    made = json.loads((out / "set" / "degradation.json").read_text())
    assert made["source"] == "scikit-image, held out" and made["acquisition"] == "camera"
    assert [i["name"] for i in made["images"]] == ["brick", "shepp_logan_phantom"]
    assert read_image(out / "set" / "lr_x2" / "brick.png").data.shape == (80, 80)
    capsys.readouterr()
    assert main(["bench", "held-out", "-o", str(tmp_path / "o"), "--images", "camera"]) == 2
    assert "the 'held-out' set has brick" in capsys.readouterr().err


def test_cli_bench_noisy_set_and_denoise_bicubic(tmp_path, capsys):
    """A generated set with shot noise: recorded, reproducible, denoised blind, scored on the clean HR."""
    pytest.importorskip("skimage")
    base = ["bench", "skimage", "--images", "camera", "--size", "160", "--noise-poisson", "30"]
    methods = ["--methods", "bicubic,denoise_bicubic"]
    assert main([*base, "-o", str(tmp_path / "a"), *methods]) == 0
    assert "| denoise + bicubic | 1 |" in capsys.readouterr().out
    made = json.loads((tmp_path / "a" / "set" / "degradation.json").read_text())
    assert made["noise_poisson_peak"] == 30 and made["images"][0]["noise_poisson_peak"] == 30
    assert main([*base, "-o", str(tmp_path / "b"), "--methods", "bicubic"]) == 0
    lr_a, lr_b = (read_image(tmp_path / d / "set" / "lr_x2" / "camera.png").data for d in "ab")
    assert np.array_equal(lr_a, lr_b)  # the same seed, the same noise
    runs = tmp_path / "a" / "runs" / "camera"
    den, bic = (json.loads((runs / f"{m}.json").read_text()) for m in ("denoise_bicubic", "bicubic"))
    assert den["settings"]["denoiser"].startswith("nlm (scikit-image")
    assert den["noise"]["level"] == pytest.approx(np.sqrt(0.5 / 30), rel=0.1)  # std at mid-scale
    assert den["psnr"] > bic["psnr"] + 1
    capsys.readouterr()
    assert main([*base[:-1], "300", "-o", str(tmp_path / "a"), *methods]) == 2  # resuming needs the same noise
    assert "--noise-poisson 30" in capsys.readouterr().err


def test_a_variant_is_its_method_with_the_fields_changed(tiny_set, tmp_path):
    """``fast[field=value,...]``: the config, the record and the label carry every change."""
    spec = method_spec("fast_gan[lr_up=2e-3, self_ensemble=off,up_layers=6]")
    assert spec.preset == "fast" and spec.changes == {
        "kernel_estimator": "gan",  # fast_gan's own change is kept
        "lr_up": 2e-3,
        "self_ensemble": False,
        "up_layers": 6,
    }
    assert method_label("fast[lr_up=2e-3]") == "DualSR fast [lr_up=2e-3]"
    settings = BenchSettings(fast_iterations=2, overrides=TINY)
    assert settings.config("fast[lambda_interp=1]").lambda_interp == 1.0
    assert settings.config("fast[lambda_interp=1]").with_(lambda_interp=2.0) == settings.config("fast")
    methods = ["bicubic", "fast[lambda_interp=0,use_forward_cycle=false]"]
    cases, out = load_cases(tiny_set), tmp_path / "o"
    base, variant = run_bench(cases, methods, out, settings, log=lambda s: None)
    assert variant["settings"]["changes"] == {"lambda_interp": 0.0, "use_forward_cycle": False}
    assert variant["settings"]["use_forward_cycle"] is False and variant["steps"] == 2
    assert (out / "runs" / "tex" / f"{methods[1]}.png").is_file()
    logs: list[str] = []
    run_bench(
        cases, ["fast[lambda_interp=0,use_forward_cycle=false]", "fast[lambda_interp=0]"], out, settings, logs.append
    )
    assert "skipped" in logs[0] and not any("skipped" in line for line in logs[1:])
    write_summary(out, methods)
    assert "| DualSR fast [lambda_interp=0,use_forward_cycle=false] | 1 |" in (out / "results.md").read_text()


def test_denoise_fast_trains_on_the_denoised_lr(tiny_set, tmp_path):
    settings = BenchSettings(fast_iterations=2, overrides=TINY)
    (entry,) = run_bench(load_cases(tiny_set), ["denoise_fast"], tmp_path / "o", settings, log=lambda s: None)
    assert entry["steps"] == 2 and entry["settings"]["denoiser"].startswith("nlm") and "level" in entry["noise"]
    assert (tmp_path / "o" / "runs" / "tex" / "denoise_fast_kernel.npy").is_file()
