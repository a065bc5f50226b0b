"""Smoke run of every benchmark script: each once, with its smallest settings, in its own process.

    OMP_NUM_THREADS=1 python benchmarks/smoke.py               # all of them (benchmarks/README.md: how long)
    OMP_NUM_THREADS=1 python benchmarks/smoke.py speed levers  # only the scripts whose name contains one of these
    python benchmarks/smoke.py --list                          # the commands, nothing run

Each script runs from the repository root as its index (benchmarks/README.md) shows it, with
one step, one image or a toy size, under a timeout; one line per script: ``ok``, ``FAILED``
(with the end of its output) or ``skipped`` (with the reason), and the seconds it took. The
exit status is 1 if any failed. The data the scripts read is made first in a temporary folder
with the product's own commands: ``dualsr bench skimage`` (a two-image set, camera and
astronaut, 384 px crops), ``benchmarks/sample_set.py`` (the bundled noisy sample as a set) and
``dualsr bench`` runs where a script reads stored results. Scripts that need a CUDA GPU are
skipped without one, and their ``--cpu-only`` modes run instead; the reference code
(memad73/DualSR, cloned separately) is looked for at ``--reference``.

A script in benchmarks/ without an entry here is reported as failed, so a new one gets one.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable
DUALSR = [PY, "-m", "dualsr.cli"]


@dataclass
class Smoke:
    """One script's smoke run: ``commands`` run in order from the repository root, after the
    ``needs`` data are made. A command is a command line: ``SCRIPT ARGS`` (a path under
    benchmarks/, run with this Python or bash) or ``dualsr ARGS``; ``{tmp}``, ``{set}`` (the
    two-image set) and ``{reference}`` are filled in."""

    name: str  # the line's label: the script's path under benchmarks/, then what sets this run apart
    commands: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    cuda: bool = False  # needs a CUDA GPU
    reference: bool = False  # needs the reference checkout
    via: str = ""  # run as part of another entry (its name): that entry's result
    timeout: float = 300.0

    @property
    def script(self) -> str:
        return self.name.split()[0]


def argv(command: str, values: dict[str, str]) -> list[str]:
    """A command line as the process to start: scripts under benchmarks/, or the ``dualsr`` command."""
    first, *rest = (fill(word, values) for word in shlex.split(command))
    if first == "dualsr":
        return [*DUALSR, *rest]
    return ["bash" if first.endswith(".sh") else PY, f"benchmarks/{first}", *rest]


def shown(command: str, env: dict[str, str], values: dict[str, str]) -> str:
    """A command line as a person types it at the repository root."""
    first, rest = (command.split(" ", 1) + [""])[:2]
    start = first if first == "dualsr" else f"{'bash' if first.endswith('.sh') else 'python'} benchmarks/{first}"
    prefix = "".join(f"{k}={shlex.quote(v)} " for k, v in env.items())
    return fill(f"{prefix}{start} {rest}".rstrip(), values)


# The data the scripts read, made once per run (in this order, only when needed).
SETUP = {
    "set": "dualsr bench skimage -o {tmp}/bench --size 384 --methods bicubic --threads 1 --images camera,astronaut",
    "sample_noisy": "sample_set.py {tmp}/sample_noisy --noisy",
    "camset": "dualsr bench skimage -o {tmp}/cam --acquisition camera --size 384 --methods bicubic --images chelsea",
}
TINY_ONNX_CHECK = {"ONNX_CHECK_ARGS": "--side 128 --noisy-side 128 --runs 1"}

SMOKES: list[Smoke] = [
    # --- product: training speed ---
    Smoke(
        "speed.py",
        ("speed.py --part all --images grey --steps 1 --repeats 1 --warmup 0 --slices 1,2 --fast-iterations 2",),
    ),
    Smoke("baseline_reference.py", ("baseline_reference.py --steps 1",)),
    Smoke("fast_timing.py", ("fast_timing.py --repeats 1 --iterations 2",)),
    # --- product: sets and the quality protocol ---
    Smoke("make_sample.py", ("make_sample.py --out {tmp}/data",)),
    Smoke("sample_set.py", ("sample_set.py {tmp}/sample_p30 --photons 30",)),
    Smoke("realistic_set.py", ("realistic_set.py {tmp}/realistic --images camera",)),
    Smoke("soft_optics.py", ("soft_optics.py {tmp}/soft --images camera,astronaut --sigmas 1 --seeds 1",)),
    Smoke(
        "reduced_protocol.sh",
        ("reduced_protocol.sh A", "reduced_protocol.sh B"),
        env={"ITER": "1", "IMAGES": "camera", "ABLATE_A": "camera", "ABLATE_B": "camera", "OUT": "{tmp}/reduced"},
    ),
    # --- product: memory, scale, preview, ONNX ---
    Smoke("memory_apply.py", ("memory_apply.py --workspace-size 128 --size 256 --features 2 --tile 64",)),
    Smoke("memory_train.py", ("memory_train.py 1024",)),
    Smoke("scale_apply.py", ("scale_apply.py --size 512 --chunk 256 --features 1 --probe-side 64",)),
    Smoke("preview_cost.py", ("preview_cost.py --size 192 --iterations 12 --every 0",)),
    Smoke("onnx_speed.py", ("onnx_speed.py --sizes 64 --repeats 1 --tile 64 --threads 1",)),
    Smoke("onnx_same_instrument.py", ("onnx_same_instrument.py --steps 1 --features 4 --crop 32",)),
    # --- product: trust (resolution readout, doubt map) ---
    Smoke("trust.py", ("trust.py {set} --images camera --iterations 2",), ("set",)),
    Smoke("studies/trust/decorrelation_reference.py", ("studies/trust/decorrelation_reference.py --size 128",)),
    Smoke(
        "studies/trust/deimaged_decorrelation.py",
        (
            "trust.py {set} --images camera --iterations 2 --save {tmp}/saved",
            "studies/trust/deimaged_decorrelation.py {set} {tmp}/saved/set --images camera",
        ),
        ("set",),
    ),
    Smoke(
        "studies/trust/below_bicubic.py",
        (
            "trust.py {set} --images camera --iterations 2 --save {tmp}/saved",
            "studies/trust/below_bicubic.py {set}={tmp}/saved/set --images camera",
        ),
        ("set",),
    ),
    Smoke(
        "studies/trust/doubt_level.py",
        (
            "trust.py {set} --images camera --iterations 2 --save {tmp}/saved",
            "studies/trust/doubt_level.py {tmp}/saved/set",
        ),
        ("set",),
    ),
    Smoke(
        "studies/trust/training_drift.py",
        (
            "studies/trust/training_drift.py {set} --images camera --iterations 20 --at 10 --seeds --out {tmp}/d.md",
            "studies/trust/training_drift.py --pool {tmp}/d.md",
        ),
        ("set",),
    ),
    # --- product: GPU (CUDA where there is one; the --cpu-only modes everywhere) ---
    Smoke(
        "gpu_check.sh",
        ("gpu_check.sh --steps 1 --iterations 20 --budget 120",),
        env={"ONNX_CHECK_ARGS": "--side 512 --noisy-side 512 --runs 1"},
        cuda=True,
    ),
    Smoke(
        "gpu_check.sh --cpu-only",
        ("gpu_check.sh --cpu-only --steps 1 --iterations 2 --budget 100",),
        env=TINY_ONNX_CHECK,
    ),
    Smoke("gpu_check.py --cpu-only", via="gpu_check.sh --cpu-only"),
    Smoke("onnx_cuda_check.py --cpu-only", via="gpu_check.sh --cpu-only"),
    Smoke("gpu_followup.py", ("gpu_followup.py --iterations 10",), cuda=True),
    Smoke("gpu_followup.py --cpu-only", ("gpu_followup.py --cpu-only --iterations 1",)),
    # --- product: isotropic volumes ---
    Smoke(
        "isotropic_bench.py",
        (
            "isotropic_bench.py -o {tmp}/isobench --volumes synthetic --factors 2 --steps 2 --size 32 --shape-given",
            "isotropic_report.py {tmp}/isobench/results.jsonl",
            "isotropic_report.py {tmp}/isobench/results.jsonl --against {tmp}/isobench/results.jsonl",
        ),
    ),
    Smoke("isotropic_report.py", via="isotropic_bench.py"),
    Smoke(
        "isotropic_timing.py",
        (
            "isotropic_timing.py timing --threads 1 --size 64 --steps 2",
            "isotropic_timing.py memory --side 64 --steps 2 --threads 1 --workdir {tmp}/isomem",
            "isotropic_real.py {tmp}/isomem/in_64.npy --voxel-size 1.0,0.5,0.5 --steps 2 -o {tmp}/isoreal",
            "studies/isotropic/nucleus_ceiling.py --nucleus {tmp}/isomem/in_64.tif --factors 2 --steps 2 --memorise",
        ),
    ),
    Smoke("isotropic_real.py", via="isotropic_timing.py"),
    Smoke("studies/isotropic/nucleus_ceiling.py", via="isotropic_timing.py"),
    # --- studies: the kernel ---
    Smoke("studies/kernel/kernel_estimators.py", ("studies/kernel/kernel_estimators.py {set} camera",), ("set",)),
    Smoke(
        "studies/kernel/kernel_only.py",
        ("studies/kernel/kernel_only.py {set} camera --iterations 2 --save-dir {tmp}",),
        ("set",),
    ),
    Smoke("studies/kernel/noise_floor.py", ("studies/kernel/noise_floor.py {set}",), ("set",)),
    Smoke(
        "studies/kernel/noisy_kernel.py",
        ("studies/kernel/noisy_kernel.py {set} {tmp}/sample_noisy",),
        ("set", "sample_noisy"),
    ),
    Smoke(
        "studies/kernel/reference_side_by_side.py engine",
        (
            "studies/kernel/reference_side_by_side.py run engine {set} camera --iterations 2 --log-every 1"
            " --out {tmp}/refside",
            "studies/kernel/reference_side_by_side.py report {tmp}/refside",
        ),
        ("set",),
    ),
    Smoke(
        "studies/kernel/reference_side_by_side.py reference",
        (
            "studies/kernel/reference_side_by_side.py run reference {set} astronaut --reference {reference}"
            " --iterations 2 --log-every 1 --out {tmp}/refside_ref",
        ),
        ("set",),
        reference=True,
    ),
    # --- studies: noise ---
    Smoke("studies/noise/noise_threshold.py", ("studies/noise/noise_threshold.py --images camera --size 96",)),
    Smoke(
        "studies/noise/texture_or_noise.py",
        ("studies/noise/texture_or_noise.py camera={camset} blur={set} --images chelsea,camera",),
        ("set", "camset"),
    ),
    Smoke("studies/noise/denoisers.py", ("studies/noise/denoisers.py {set} camera --peaks 300",), ("set",)),
    Smoke("studies/noise/block_matching_wiener.py", ("studies/noise/block_matching_wiener.py {set} camera",), ("set",)),
    Smoke("studies/noise/zero_shot_denoiser.py", ("studies/noise/zero_shot_denoiser.py --photons 300 --steps 2",)),
    Smoke(
        "studies/noise/guide_oracle.py",
        ("studies/noise/guide_oracle.py {tmp}/sample_noisy 0.5 -o {tmp}/guide_oracle --iterations 2",),
        ("sample_noisy",),
    ),
    Smoke(
        "studies/noise/oracle_bounds.py",
        (
            "dualsr bench {tmp}/sample_noisy -o {tmp}/f_sn --methods fast --fast-iterations 2 --threads 1",
            "studies/noise/oracle_bounds.py --radius 1 --result noisy={tmp}/f_sn",
        ),
        ("sample_noisy",),
    ),
    Smoke(
        "studies/noise/blend_runs.py",
        (
            "dualsr bench {set} -o {tmp}/blend --methods bicubic,fast,denoise_fast --fast-iterations 2"
            " --images camera --threads 1",
            "studies/noise/blend_runs.py {set} {tmp}/blend fast denoise_fast",
        ),
        ("set",),
    ),
    Smoke("studies/noise/self_blend.py", ("studies/noise/self_blend.py {set} camera --iterations 2",), ("set",)),
    Smoke("studies/noise/guide_cost.py", ("studies/noise/guide_cost.py --steps 2 --rounds 1",)),
    Smoke(
        "studies/noise/guide_once.py",
        ("studies/noise/guide_once.py {tmp}/sample_noisy tissue --iterations 2",),
        ("sample_noisy",),
    ),
    # --- studies: inference ---
    Smoke(
        "studies/inference/dihedral_ensemble.py",
        ("studies/inference/dihedral_ensemble.py camera 2.0 --iterations 2 --size 320",),
    ),
    Smoke(
        "studies/inference/backprojection.py",
        ("studies/inference/backprojection.py {set} --images camera --iterations 2",),
        ("set",),
    ),
    Smoke(
        "studies/inference/backprojection_cost.py", ("studies/inference/backprojection_cost.py --size 128 --repeats 1",)
    ),
    Smoke("studies/inference/ensemble_cost.py", ("studies/inference/ensemble_cost.py --size 128 --repeats 1",)),
    Smoke("studies/inference/crossscale_cost.py", ("studies/inference/crossscale_cost.py --size 128 --repeats 1",)),
    Smoke(
        "studies/inference/scale_ladder.py",
        ("studies/inference/scale_ladder.py {set} --images camera --iterations 2",),
        ("set",),
    ),
    Smoke(
        "studies/inference/rounding_detail.py",
        ("studies/inference/rounding_detail.py {camset} --images chelsea --iterations 2",),
        ("camset",),
    ),
    # --- studies: isotropic volumes ---
    Smoke(
        "studies/isotropic/profile_estimators.py",
        ("studies/isotropic/profile_estimators.py --volumes synthetic --size 32 --factors 2 --variants lines,slab",),
    ),
    Smoke(
        "studies/isotropic/profile_exchange.py",
        ("studies/isotropic/profile_exchange.py --volumes synthetic --size 32 --factors 2 --variants level-acf-quant",),
    ),
    Smoke(
        "studies/isotropic/profile_adversarial.py",
        (
            "studies/isotropic/profile_adversarial.py --volumes synthetic --size 48 --factors 2 --steps 2 --rows 6"
            " --cols 8 --batch 4",
        ),
    ),
    Smoke(
        "studies/isotropic/profile_psnr.py",
        (
            "studies/isotropic/profile_psnr.py --volumes synthetic --size 32 --factors 2 --steps 2"
            " -o {tmp}/iso_psnr.jsonl",
        ),
    ),
    Smoke(
        "studies/isotropic/overlap_note.py",
        ("studies/isotropic/overlap_note.py --volumes synthetic --size 32 --factors 2",),
    ),
    Smoke(
        "studies/isotropic/axial_blur.py",
        ("studies/isotropic/axial_blur.py --size 32 --factors 2 --steps 2",),
    ),
    Smoke(
        "studies/isotropic/fusion.py",
        ("studies/isotropic/fusion.py --volume synthetic --size 32 --factor 2 --steps 2",),
    ),
    Smoke("studies/isotropic/isotropy.py", ("studies/isotropic/isotropy.py --volumes synthetic --size 32",)),
    Smoke(
        "studies/isotropic/training_variants.py",
        ("studies/isotropic/training_variants.py --volume synthetic --size 32 --factor 2 --variants 2,3:2e-3:4:1",),
    ),
    # --- studies: training ---
    Smoke(
        "studies/training/levers.py",
        (
            "studies/training/levers.py openmp threads layout bf16 adam compile winograd tiling --repeats 1"
            " --features 8 --tile-image 128",
        ),
    ),
    Smoke("studies/training/multiplane.py", ("studies/training/multiplane.py --preset fast --iterations 2 --seeds 0",)),
]


def scripts_in_tree() -> list[str]:
    """Every script under benchmarks/ (paths relative to it), this one excepted."""
    found = [p for p in HERE.rglob("*") if p.suffix in (".py", ".sh") and p.name != "smoke.py"]
    return sorted(str(p.relative_to(HERE)) for p in found if "__pycache__" not in p.parts)


def cuda_available() -> bool:
    probe = [PY, "-c", "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"]
    return subprocess.run(probe, capture_output=True).returncode == 0


def fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def run(commands: list[list[str]], env: dict[str, str], timeout: float, log: Path) -> tuple[bool, float, str]:
    """Run ``commands`` in order (stop at the first failure): (ok, seconds, why not)."""
    start = time.perf_counter()
    with open(log, "w") as out:
        for command in commands:
            out.write(f"$ {shlex.join(command)}\n")
            out.flush()
            left = timeout - (time.perf_counter() - start)
            # own process group, so that a timeout ends the script's own children (dask workers, spawned engines) too
            proc = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
            try:
                code = proc.wait(timeout=max(left, 1))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return False, time.perf_counter() - start, f"timed out after {timeout:.0f} s"
            if code != 0:
                return False, time.perf_counter() - start, f"exit status {code}"
    return True, time.perf_counter() - start, ""


def tail(log: Path, lines: int = 15) -> str:
    return "\n".join("      " + line for line in log.read_text(errors="replace").splitlines()[-lines:])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("only", nargs="*", help="run only the scripts whose name contains one of these")
    p.add_argument("--list", action="store_true", help="print the commands and exit")
    p.add_argument("--reference", default="../DualSR", help="a clone of memad73/DualSR (default ../DualSR)")
    p.add_argument("--tmp", type=Path, help="work folder (default: a temporary one, removed afterwards)")
    p.add_argument("--timeout", type=float, help="seconds per script (default: each entry's, 300)")
    args = p.parse_args()

    names = {s.script for s in SMOKES}
    missing = [s for s in scripts_in_tree() if s not in names]
    chosen = [s for s in SMOKES if not args.only or any(o in s.name for o in args.only)]
    tmp = args.tmp or (Path("TMP") if args.list else Path(tempfile.mkdtemp(prefix="dualsr-smoke-")))
    reference = args.reference if args.list else str((ROOT / args.reference).resolve())
    values = {
        "tmp": str(tmp),
        "set": str(tmp / "bench" / "set"),
        "camset": str(tmp / "cam" / "set"),
        "reference": reference,
    }
    if args.list:
        for need, command in SETUP.items():
            print(f"(setup {need}): {shown(command, {}, values)}")
        for s in chosen:
            lines = [shown(c, s.env, values) for c in s.commands] or [f"(run by {s.via})"]
            print(f"{s.name}: " + " && ".join(lines))
        return 0

    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PATH"] = str(Path(PY).parent) + os.pathsep + env.get("PATH", "")  # `python` in shell scripts: this one
    env["PYTHON"] = PY  # gpu_check.sh's interpreter
    has_cuda = cuda_available()
    has_reference = Path(reference, "DualSR.py").exists()
    tmp.mkdir(parents=True, exist_ok=True)
    print(
        f"smoke run in {tmp}: {len(chosen)} entries, OMP_NUM_THREADS={env['OMP_NUM_THREADS']}, "
        f"CUDA {'yes' if has_cuda else 'no'}, reference code {'at ' + reference if has_reference else 'absent'}",
        flush=True,
    )

    ready: dict[str, tuple[bool, str]] = {}
    results: dict[str, tuple[str, float, str]] = {}
    failed = 0
    total = time.perf_counter()
    for s in chosen:
        detail, seconds = "", 0.0
        if s.cuda and not has_cuda:
            status, detail = "skipped", "needs a CUDA GPU (torch sees none); its --cpu-only mode runs below"
        elif s.reference and not has_reference:
            status, detail = "skipped", f"needs the reference code (memad73/DualSR, cloned separately) at {reference}"
        elif s.via:
            status, seconds, detail = results.get(s.via, ("skipped", 0.0, f"{s.via} was not run"))
            detail = f"run by {s.via}" + (f": {detail}" if detail else "")
            seconds = 0.0
        else:
            for need in s.needs:
                if need not in ready:
                    log = tmp / f"setup_{need}.log"
                    ok, secs, why = run([argv(SETUP[need], values)], env, 300, log)
                    print(f"  (setup {need}: {'ok' if ok else 'FAILED, ' + why}, {secs:.1f} s)", flush=True)
                    ready[need] = (ok, "" if ok else f"setup {need} failed ({why}); log {log}")
            blocked = [ready[n][1] for n in s.needs if not ready[n][0]]
            if blocked:
                status, detail = "FAILED", "; ".join(blocked)
            else:
                log = tmp / (s.name.replace("/", "_").replace(" ", "_") + ".log")
                child = env | {k: fill(v, values) for k, v in s.env.items()}
                commands = [argv(c, values) for c in s.commands]
                ok, seconds, why = run(commands, child, args.timeout or s.timeout, log)
                status = "ok" if ok else "FAILED"
                detail = "" if ok else f"{why}; log {log}\n{tail(log)}"
        results[s.name] = (status, seconds, detail)
        failed += status == "FAILED"
        print(f"{s.name:52s} {status:8s} {seconds:6.1f} s  {detail}".rstrip(), flush=True)
    for script in missing:
        failed += 1
        print(f"{script:52s} FAILED      0.0 s  no smoke entry in benchmarks/smoke.py")
    counts = {k: sum(r[0] == k for r in results.values()) for k in ("ok", "FAILED", "skipped")}
    print(
        f"smoke: {counts['ok']} ok, {counts['FAILED'] + len(missing)} failed, {counts['skipped']} skipped "
        f"in {time.perf_counter() - total:.0f} s"
    )
    if failed:
        print(f"logs kept in {tmp}")
    elif not args.tmp:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
