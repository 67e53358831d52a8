"""The kernels' ISA variants (setup.py, ``rnncore._kernels``): each one gives the NumPy twin's
numbers, the portable ones hold no instruction an older CPU lacks, and the choice made at import
follows the CPU.

Each variant runs in a subprocess of its own, with ``RNNCORE_ISA`` naming it, since a process
imports one variant only.
"""
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import rnncore._kernels as K

VARIANTS = list(K.VARIANTS)  # narrowest first
BUILT = [isa for isa in VARIANTS if importlib.util.find_spec(f"rnncore._kernels._isa_{isa}._blas")]
X86 = platform.machine().lower() in ("x86_64", "amd64")

# Forward and backward of each cell through rnncore.recurrent, with the compiled kernels and with
# the NumPy twin (engine='numpy'), float32 and float64, saved to an .npz. Shapes (B, T, I, H):
# H = 19 is two 8-float vectors and a tail; B = 64, H = 8 is the seeds' LSTM(8) (gate rows of
# 32 floats: the small-product micro-kernels); I = 72 takes an input gemm over k >= 64.
FORWARD_BACKWARD = r"""
import sys
import numpy as np
import rnncore._kernels as K
from rnncore import recurrent

CELLS = {"simple_rnn": (recurrent.simple_rnn_forward, recurrent.simple_rnn_backward, 1),
         "lstm": (recurrent.lstm_forward, recurrent.lstm_backward, 4),
         "gru": (recurrent.gru_forward, recurrent.gru_backward, 3)}
SHAPES = [(7, 9, 5, 19), (64, 5, 16, 8), (12, 3, 72, 8)]
out = {"isa": np.array(K.ISA)}
for cell, (forward, backward, G) in CELLS.items():
    for dtype in (np.float32, np.float64):
        for B, T, I, H in SHAPES:
            rng = np.random.default_rng(B * T + I * H)
            x = rng.standard_normal((B, T, I)).astype(dtype)
            W = (rng.standard_normal((I, G * H)) / np.sqrt(I)).astype(dtype)
            U = (rng.standard_normal((H, G * H)) * 0.5 / np.sqrt(H)).astype(dtype)
            b = (rng.standard_normal((2, G * H) if cell == "gru" else G * H) * 0.3).astype(dtype)
            dy = rng.standard_normal((B, T, H)).astype(dtype)
            for engine in ("kernel", "numpy"):
                y, _, cache = forward(x, W, U, b, None, return_sequences=True, engine=engine)
                grads = backward(cache, dy)
                key = f"{cell}/{np.dtype(dtype).name}/{B}x{T}x{I}x{H}/{engine}"
                out[key + "/output"] = y
                for name in ("x", "kernel", "recurrent_kernel", "bias"):
                    out[f"{key}/d_{name}"] = grads[name]
np.savez(sys.argv[1], **out)
"""


def _env(isa):
    env = dict(os.environ)
    env["RNNCORE_ISA"] = isa
    return env


def _close(actual, expected, key):
    tol = 1e-12 if "/float64/" in key else 1e-5
    scale = 1 + np.abs(expected).max(initial=0)
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * scale, err_msg=key)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """{variant: its saved arrays}, for every variant built that this CPU runs."""
    found = {}
    for isa in K.AVAILABLE:
        path = tmp_path_factory.mktemp(isa) / "out.npz"
        subprocess.run([sys.executable, "-c", FORWARD_BACKWARD, str(path)], env=_env(isa),
                       check=True, timeout=300)
        with np.load(path) as f:
            found[isa] = dict(f)
    return found


@pytest.mark.parametrize("isa", VARIANTS)
def test_variant_matches_numpy_twin(results, isa):
    if isa not in results:
        pytest.skip(f"{isa!r} not built, or not run by this CPU (built: {BUILT}, "
                    f"runnable: {list(K.AVAILABLE)})")
    got = results[isa]
    assert str(got["isa"]) == isa
    keys = [k for k in got if k.endswith(tuple(f"/{n}" for n in ("output", "d_x", "d_kernel",
                                                                    "d_recurrent_kernel",
                                                                    "d_bias")))]
    assert len(keys) == 3 * 2 * 3 * 2 * 5  # cells, dtypes, shapes, engines, arrays
    for key in keys:
        if "/kernel/" in key:
            _close(got[key], got[key.replace("/kernel/", "/numpy/")], key)


@pytest.mark.parametrize("isa", [v for v in VARIANTS if v != "baseline"])
def test_variant_matches_baseline(results, isa):
    if isa not in results or "baseline" not in results:
        pytest.skip(f"{isa!r} not built, or not run by this CPU (built: {BUILT})")
    for key, expected in results["baseline"].items():
        if "/kernel/" in key:
            _close(results[isa][key], expected, key)


def test_default_is_widest_available():
    assert K.ISA == K.AVAILABLE[-1]
    assert "baseline" in K.AVAILABLE


@pytest.mark.parametrize("value, message", [
    ("sse9", "expected one of"),
    ("avx512" if "avx512" not in K.AVAILABLE else None, "avx512"),
])
def test_unavailable_isa_is_a_clear_error(value, message):
    if value is None:
        pytest.skip("every variant is available here")
    proc = subprocess.run([sys.executable, "-c", "import rnncore"], env=_env(value),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "RuntimeError" in proc.stderr and f"RNNCORE_ISA={value!r}" in proc.stderr
    assert message in proc.stderr


# --- what the instructions are --------------------------------------------------------------

_LINE = re.compile(r"^\s*[0-9a-f]+:\s+(\S+)\s*(.*)$")
_UPPER_XMM = re.compile(r"%[xyz]mm(1[6-9]|2[0-9]|3[01])\b")  # EVEX-only registers


def _instructions(isa):
    """(mnemonic, operands) of every instruction in the variant's shared objects."""
    if shutil.which("objdump") is None:
        pytest.skip("objdump (binutils) is not installed")
    if isa not in BUILT:
        pytest.skip(f"{isa!r} not built (built: {BUILT})")
    folder = os.path.dirname(importlib.util.find_spec(f"rnncore._kernels._isa_{isa}").origin)
    objects = [os.path.join(folder, n) for n in sorted(os.listdir(folder)) if n.endswith(".so")]
    if isa == "baseline":  # the CPU probe runs before anything is known about the CPU
        objects.append(importlib.util.find_spec("rnncore._kernels._cpu").origin)
    assert len(objects) >= len(K.MODULES)
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", *objects], check=True,
                         capture_output=True, text=True).stdout
    found = []
    for line in out.splitlines():
        m = _LINE.match(line)
        if m:
            found.append((m.group(1), m.group(2)))
    assert len(found) > 10000
    return found


@pytest.mark.skipif(not X86, reason="the ISA checks read x86 instructions")
def test_baseline_has_no_avx():
    bad = sorted({f"{op} {args}" for op, args in _instructions("baseline")
                  if (op.startswith("v") and op not in ("verr", "verw"))
                  or re.match(r"k(mov|and|or|xor|not|test|shift|unpck|add)", op)
                  or "%ymm" in args or "%zmm" in args})
    assert not bad, f"AVX instructions in the baseline build: {bad[:10]}"


@pytest.mark.skipif(not X86, reason="the ISA checks read x86 instructions")
def test_avx2_has_no_avx512_and_uses_ymm():
    found = _instructions("avx2")
    bad = sorted({f"{op} {args}" for op, args in found
                  if "%zmm" in args or re.search(r"%k[0-7]\b", args) or _UPPER_XMM.search(args)
                  or re.match(r"k(mov|and|or|xor|not|test|shift|unpck|add)", op)})
    assert not bad, f"AVX-512 instructions in the AVX2 build: {bad[:10]}"
    assert any("%ymm" in args for op, args in found if op.startswith("vfmadd"))


# --- older CPUs, emulated ---------------------------------------------------------------------

FORWARD = r"""
import json, numpy as np, rnncore._kernels as K
from rnncore import recurrent
rng = np.random.default_rng(0)
x = rng.standard_normal((64, 6, 16))
W, U, b = rng.standard_normal((16, 32)) * 0.25, rng.standard_normal((8, 32)) * 0.2, np.zeros(32)
y = {d: recurrent.lstm_forward(x.astype(d), W.astype(d), U.astype(d), b.astype(d), None,
                         return_sequences=True)[0].tolist() for d in ("float32", "float64")}
print(json.dumps({"isa": K.ISA, "level": K.x86_level(), "y": y}))
"""


def _forward(prefix, env):
    proc = subprocess.run([*prefix, sys.executable, "-c", FORWARD], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


# qemu's CPU models, the variant rnncore must pick on each, and the x86-64 level it must see
QEMU_CPUS = [("Haswell", "avx2", 3), ("Nehalem", "baseline", 2)]


@pytest.mark.skipif(not X86, reason="emulates x86 CPUs")
@pytest.mark.skipif(shutil.which("qemu-x86_64") is None,
                    reason="qemu-x86_64 not installed (Debian: apt-get install qemu-user)")
@pytest.mark.parametrize("cpu, isa, level", QEMU_CPUS, ids=[c[0] for c in QEMU_CPUS])
def test_older_cpu_runs_its_variant(cpu, isa, level):
    if isa not in BUILT:
        pytest.skip(f"{isa!r} not built (built: {BUILT})")
    env = {k: v for k, v in os.environ.items() if k != "RNNCORE_ISA"}
    emulated = _forward(["qemu-x86_64", "-cpu", cpu], env)
    assert (emulated["isa"], emulated["level"]) == (isa, level)
    native = _forward([], _env(isa))
    assert native["isa"] == isa
    for dtype in ("float32", "float64"):
        _close(np.array(emulated["y"][dtype]), np.array(native["y"][dtype]), f"/{dtype}/")


@pytest.mark.skipif(not X86, reason="emulates x86 CPUs")
@pytest.mark.skipif(shutil.which("qemu-x86_64") is None,
                    reason="qemu-x86_64 not installed (Debian: apt-get install qemu-user)")
def test_forcing_a_variant_the_cpu_lacks_fails_clearly():
    if "avx512" not in BUILT:
        pytest.skip(f"'avx512' not built (built: {BUILT})")
    proc = subprocess.run(["qemu-x86_64", "-cpu", "Haswell", sys.executable, "-c",
                           "import rnncore"], env=_env("avx512"), capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode != 0
    assert "RuntimeError: RNNCORE_ISA='avx512': this CPU does not run it" in proc.stderr
    assert "Illegal instruction" not in proc.stderr
