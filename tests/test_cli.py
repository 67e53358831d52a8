"""``python -m rnncore``: help, the demo, the benchmark, option errors, the PyTorch weights,
the peers that are missing, and that ``import rnncore`` leaves the command line alone.

The commands run for real in a subprocess, with tiny sizes (one epoch, a few hundred
samples, a handful of batches). Keras on TensorFlow is left out of these runs (its import
alone takes several seconds); Keras on JAX runs once, in a quick benchmark; the weight
transfer to PyTorch is checked against rnncore directly, and rnncore against Keras by the
rest of the suite.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from rnncore.__main__ import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(*args, env=None, cwd=None):
    # One thread per engine: on a machine shared with other jobs, OpenMP threads that
    # wait for a busy core make small models crawl, and these runs check output, not speed.
    if args[0] in ("demo", "bench"):
        args = (*args, "--threads", "1")
    full_env = {**os.environ, "PYTHONPATH": ROOT, **(env or {})}
    return subprocess.run([sys.executable, "-m", "rnncore", *args], capture_output=True,
                          text=True, env=full_env, cwd=cwd, timeout=300)


def _has(module):
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def _cpu_flags():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return next((line.split(":", 1)[1].split() for line in f
                         if line.startswith("flags")), None)
    except OSError:
        return None


def _assert_header(text, kernels=None):
    """The header names the CPU's vector ISA and the kernel variant rnncore ran."""
    from rnncore._kernels import ISA

    text = " ".join(text.split())
    assert f"rnncore kernels: the {kernels or ISA} variant" in text
    flags = _cpu_flags()
    if flags is not None:
        avx512 = {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"} <= set(flags)
        assert ("vector ISA AVX-512" if avx512 else
                "vector ISA AVX2" if "avx2" in flags else "vector ISA ") in text


def _fake_missing_jax(folder):
    """A ``jax`` package that fails to import, as a broken or absent install does."""
    (folder / "jax").mkdir(parents=True)
    (folder / "jax" / "__init__.py").write_text(
        "raise ImportError('No module named jax (simulated by the test)')\n")
    return {"PYTHONPATH": os.pathsep.join([str(folder), ROOT])}


def test_import_rnncore_leaves_the_command_line_unimported():
    code = ("import sys, rnncore; "
            "print(sorted(m for m in sys.modules if m.startswith(('rnncore._cli', "
            "'rnncore.__main__'))))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=ROOT), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# --------------------------------------------------------------------------------------------
# Help and option errors (in-process, fast)
# --------------------------------------------------------------------------------------------
def test_no_subcommand_prints_help_listing_demo_and_bench(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "demo" in out and "bench" in out and "usage:" in out


@pytest.mark.parametrize("argv, option", [
    (["demo", "--epochs", "0"], "--epochs"),
    (["demo", "--samples", "many"], "--samples"),
    (["demo", "--cell", "transformer"], "--cell"),
    (["demo", "--dataset", "mnist"], "--dataset"),
    (["demo", "--units", "-3"], "--units"),
    (["demo", "--dataset", "digits", "--samples", "5000"], "--samples"),
    (["demo", "--engines", "rnncore,mxnet"], "--engines"),
    (["demo", "--lr", "inf"], "--lr"),
    (["bench", "--models", "lstm8,transformer"], "--models"),
    (["bench", "--engines", "jax,theano"], "--engines"),
    (["bench", "--batches", "0"], "--batches"),
    (["bench", "--bogus"], "--bogus"),
    (["frobnicate"], "frobnicate"),
])
def test_bad_option_exits_2_naming_it(argv, option, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert option in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# The demo
# --------------------------------------------------------------------------------------------
DEMO_COLUMNS = ("engine", "s/epoch", "samples/s", "rnncore speed-up", "loss", "accuracy",
                "val_loss", "val_accuracy")


def test_demo_rnncore_alone_prints_table_and_writes_png_and_json(tmp_path):
    from rnncore._kernels import AVAILABLE

    # the narrowest kernel variant this machine runs: the header must say which one ran
    proc = run_cli("demo", "--no-compare", "--epochs", "1", "--samples", "256",
                   "--out", str(tmp_path), env={"RNNCORE_ISA": AVAILABLE[0]})
    assert proc.returncode == 0, proc.stderr + proc.stdout
    out = " ".join(proc.stdout.split())  # the notes are wrapped at 100 columns
    _assert_header(out, kernels=AVAILABLE[0])
    for column in DEMO_COLUMNS:
        assert column in out
    assert "synthetic" in out and "GENERATED" in out  # says the data is not real
    png = tmp_path / "demo-synthetic-lstm.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(png) in out
    record = json.loads((tmp_path / "demo-synthetic-lstm.json").read_text())
    assert record["synthetic"] is True and record["train_samples"] == 256
    assert list(record["results"]) == ["rnncore"]
    history = record["results"]["rnncore"]["history"]
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history["loss"]) == 1 and np.isfinite(history["loss"][0])


def test_demo_processes_trains_in_two_mpi_ranks_against_one(tmp_path):
    from rnncore._cli import _processes

    why = _processes.unavailable()
    if why:
        pytest.skip(why)
    proc = run_cli("demo", "--no-compare", "--epochs", "2", "--samples", "512", "--processes",
                   "2", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    out = " ".join(proc.stdout.split())
    assert "2 single-threaded processes against one" in out
    record = json.loads((tmp_path / "demo-synthetic-lstm.json").read_text())
    one, two = record["processes"]
    assert one["processes"] == 1 and two["processes"] == 2
    assert one["samples"] == two["samples"] == 512
    for result in (one, two):
        assert result["samples_per_s"] > 0 and len(result["loss"]) == 2
        assert all(np.isfinite(result["loss"]))


def test_demo_processes_says_why_it_cannot_run(tmp_path):
    # mpi4py made unimportable in the demo's process: the comparison is skipped with the
    # install hint, and the rest of the demo runs
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "mpi4py.py").write_text("raise ImportError('blocked by the test')\n")
    proc = run_cli("demo", "--no-compare", "--epochs", "1", "--samples", "256", "--processes",
                   "2", "--out", str(tmp_path),
                   env={"PYTHONPATH": os.pathsep.join([str(blocker), ROOT])})
    assert proc.returncode == 0, proc.stderr + proc.stdout
    out = " ".join(proc.stdout.split())
    assert "--processes 2: skipped (mpi4py is not installed" in out
    assert json.loads((tmp_path / "demo-synthetic-lstm.json").read_text())["processes"] is None


@pytest.mark.skipif(not _has("torch"), reason="PyTorch not installed")
def test_demo_digits_with_pytorch_compares_the_same_model(tmp_path):
    proc = run_cli("demo", "--dataset", "digits", "--engines", "rnncore,torch", "--cell", "gru",
                   "--units", "8", "--epochs", "1", "--samples", "128", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    out = " ".join(proc.stdout.split())  # the notes are wrapped at 100 columns
    assert "digits" in out and "10 classes" in out
    assert "PyTorch*" in out and "speed, not exact parity" in out
    record = json.loads((tmp_path / "demo-digits-gru.json").read_text())
    results = record["results"]
    assert set(results) == {"rnncore", "torch"}
    assert record["spec"]["outputs"] == 10 and record["spec"]["vocab"] is None
    # Same weights: the two engines evaluate the untrained model alike.
    before = [results[e]["initial"]["loss"] for e in ("rnncore", "torch")]
    assert before[0] == pytest.approx(before[1], rel=1e-5)
    assert (tmp_path / "demo-digits-gru.png").stat().st_size > 0


def _fake_imdb(folder, n=200, seed=0):
    """A small file in Keras's imdb.npz format (object arrays of int lists)."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split in ("train", "test"):
        reviews = np.empty(n, dtype=object)
        reviews[:] = [rng.integers(1, 2000, size=rng.integers(20, 150)).tolist()
                      for _ in range(n)]
        arrays[f"x_{split}"] = reviews
        arrays[f"y_{split}"] = rng.integers(0, 2, size=n).astype(np.int64)
    folder.mkdir(parents=True)
    np.savez(folder / "imdb.npz", **arrays)


def test_demo_imdb_reads_kerass_file_and_says_it_is_real(tmp_path):
    _fake_imdb(tmp_path / "keras" / "datasets")
    proc = run_cli("demo", "--dataset", "imdb", "--no-compare", "--epochs", "1",
                   "--samples", "128", "--out", str(tmp_path),
                   env={"KERAS_HOME": str(tmp_path / "keras")})
    assert proc.returncode == 0, proc.stderr + proc.stdout
    out = " ".join(proc.stdout.split())
    assert "IMDB movie reviews (Keras's imdb.npz, real data)" in out
    assert "128 training / 64 validation samples" in out
    record = json.loads((tmp_path / "demo-imdb-lstm.json").read_text())
    assert record["synthetic"] is False and record["dataset"] == "imdb"


def test_demo_imdb_without_the_file_says_where_to_put_it(tmp_path):
    proc = run_cli("demo", "--dataset", "imdb", "--no-compare", "--epochs", "1",
                   "--out", str(tmp_path), env={"KERAS_HOME": str(tmp_path / "keras")})
    assert proc.returncode == 1
    assert "imdb.npz" in proc.stderr and "--dataset imdb" in proc.stderr
    assert "Traceback" not in proc.stderr


# --------------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------------
def test_bench_minimal_run_prints_tables_and_writes_json_and_markdown(tmp_path):
    engines = "rnncore,torch" if _has("torch") else "rnncore"
    # Set the OpenBLAS overrides that slow this machine down: the children must not see them.
    proc = run_cli("bench", "--quick", "--models", "lstm8", "--batches", "3",
                   "--engines", engines, "--out", str(tmp_path),
                   env={"OPENBLAS_CORETYPE": "Sandybridge", "OPENBLAS_L2_SIZE": "262144"})
    assert proc.returncode == 0, proc.stderr + proc.stdout
    out = proc.stdout
    assert "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset" in out
    assert "OPENBLAS_CORETYPE=Sandybridge" in out  # says what it removed
    assert "Training, samples/s" in out and "Prediction, samples/s" in out
    assert "sgemm per-step GFLOP/s" in out and "lstm8" in out
    _assert_header(out)
    record = json.loads((tmp_path / "bench.json").read_text())
    (case,) = record["cases"]
    assert case["id"] == "lstm8" and case["rnncore"]["train_samples_per_s"] > 0
    assert case["rnncore"]["sgemm_gflops"]["big"] > 0 and case["rnncore_train_gflops"] > 0
    rnncore_run = record["engine_facts"]["rnncore"]
    assert rnncore_run["env_unset"] == ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]
    openblas = [p for p in rnncore_run["blas"] if p.get("internal_api") == "openblas"]
    assert openblas and all(p.get("architecture") != "Sandybridge" for p in openblas)
    if _has("torch"):
        assert case["torch"]["predict_samples_per_s"] > 0 and case["train_speedup_vs_torch"]
        assert case["train_best_peer"] == "torch"
        assert case["train_speedup_vs_best_peer"] == case["train_speedup_vs_torch"]
    markdown = (tmp_path / "bench.md").read_text()
    assert "| case |" in markdown and "lstm8" in markdown
    _assert_header(markdown)


@pytest.mark.skipif(not (_has("jax") and _has("keras")), reason="JAX or Keras not installed")
def test_bench_runs_keras_on_jax_as_its_own_peer(tmp_path):
    # KERAS_BACKEND=tensorflow here must not stop the JAX engine from running on JAX
    proc = run_cli("bench", "--quick", "--models", "gru8", "--batches", "2",
                   "--engines", "rnncore,jax", "--out", str(tmp_path),
                   env={"KERAS_BACKEND": "tensorflow"})
    assert proc.returncode == 0, proc.stderr + proc.stdout
    for column in ("Keras/JAX", "vs Keras/JAX", "vs best peer"):
        assert column in proc.stdout
    record = json.loads((tmp_path / "bench.json").read_text())
    (case,) = record["cases"]
    assert case["jax"]["train_samples_per_s"] > 0 and case["jax"]["predict_samples_per_s"] > 0
    assert case["train_best_peer"] == "jax" and case["train_speedup_vs_jax"] > 0
    info = record["engine_facts"]["jax"]["info"]
    assert info["jax"] and info["jit_compile"] is True
    assert "intra_op_parallelism_threads=1" in info["xla_flags"]  # run_cli pins 1 thread


@pytest.mark.parametrize("command", ["bench", "demo"])
def test_a_peer_that_cannot_be_imported_is_skipped_with_the_reason(command, tmp_path):
    args = (["--models", "lstm8", "--batches", "2", "--quick"] if command == "bench"
            else ["--epochs", "1", "--samples", "128"])
    proc = run_cli(command, "--engines", "rnncore,jax", "--out", str(tmp_path), *args,
                   env=_fake_missing_jax(tmp_path / "site"))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    out = " ".join(proc.stdout.split())
    assert "Keras/JAX: skipped (cannot be imported: ImportError: No module named jax " \
           "(simulated by the test))" in out
    assert "Traceback" not in proc.stderr
    record = json.loads(next(tmp_path.glob("*.json")).read_text())
    if command == "bench":
        assert "jax" not in record["cases"][0] and record["cases"][0]["rnncore"]
        assert record["engines"]["jax"].startswith("skipped")
    else:
        assert list(record["results"]) == ["rnncore"] and "jax" in record["skipped"]


def test_a_peer_not_installed_is_named_with_how_to_install_it(monkeypatch):
    from rnncore._cli import _engines

    find_spec = _engines.importlib.util.find_spec
    monkeypatch.setattr(_engines.importlib.util, "find_spec",
                        lambda name: None if name == "jax" else find_spec(name))
    assert _engines.missing("jax") == "jax not installed; pip install jax"
    assert _engines.missing("rnncore") is None


def test_speedup_over_the_best_peer_is_over_the_fastest_one_measured():
    from rnncore._cli._report import speedups

    ratios, best, ratio = speedups({"rnncore": 300.0, "keras": 100.0, "jax": 200.0,
                                    "torch": None})
    assert ratios == {"keras": 3.0, "jax": 1.5} and best == "jax" and ratio == 1.5
    assert speedups({"rnncore": 300.0}) == ({}, None, None)


# --------------------------------------------------------------------------------------------
# Weights copied to PyTorch give PyTorch the same model
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("shape", [
    {"units": 6},
    {"units": [6, 6], "dropout": 0.3},  # one PyTorch module of two layers
    {"units": [6, 4, 4]},  # two modules
    {"units": 5, "flatten_dense": 3, "outputs": 2},  # seed 000: Flatten -> Dense(3, tanh)
])
def test_pytorch_model_from_rnncore_weights_predicts_the_same(cell, shape):
    pytest.importorskip("torch")
    from rnncore._cli._engines import ModelSpec, make_engine

    spec = ModelSpec(cell=cell, timesteps=12, vocab=50, embed_dim=5, **shape)
    ours, theirs = make_engine("rnncore", spec), make_engine("torch", spec)
    rng = np.random.default_rng(0)
    # Random, non-zero biases too, so that a bias in the wrong slot or gate shows up.
    weights = [rng.normal(0, 0.4, w.shape).astype(np.float32) for w in ours.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    x = rng.integers(0, 50, size=(16, 12)).astype(np.int32)
    np.testing.assert_allclose(theirs.predict(theirs.prepare(x), 8), ours.predict(x, 8),
                               atol=1e-5)


@pytest.mark.parametrize("name", ["rnn32-flatten", "rnn64-rnn32", "lstm8", "lstm8x2-dropout",
                                  "gru8", "rnn50x3", "lstm256x2", "gru256x2"])
def test_every_bench_model_has_the_same_pytorch_twin(name):
    """The full bench runs issue 13's eight models; PyTorch's twin of each is the same model."""
    pytest.importorskip("torch")
    from rnncore._cli._engines import ModelSpec, make_engine
    from rnncore._cli._worker import bench_data
    from rnncore._cli.bench import MODELS

    spec = ModelSpec(**MODELS[name])
    ours, theirs = make_engine("rnncore", spec), make_engine("torch", spec)
    theirs.set_weights(ours.get_weights())
    x, _ = bench_data(spec, 4, 1, seed=0)
    np.testing.assert_allclose(theirs.predict(theirs.prepare(x), 4), ours.predict(x, 4),
                               atol=1e-5)


def test_keras_engine_trains_like_rnncore_from_the_same_weights(keras):
    from rnncore._cli._engines import ModelSpec, make_engine

    spec = ModelSpec(cell="gru", units=4, timesteps=10, vocab=30, embed_dim=3,
                     learning_rate=1e-2)
    ours, theirs = make_engine("rnncore", spec), make_engine("keras", spec)
    theirs.set_weights(ours.get_weights())
    rng = np.random.default_rng(0)
    x = rng.integers(0, 30, size=(96, 10)).astype(np.int32)
    y = rng.integers(0, 2, size=96).astype(np.float32)
    runs = [engine.fit(x, y, (x[:32], y[:32]), epochs=2, batch_size=32, verbose=0)
            for engine in (ours, theirs)]
    (h_ours, train_s, total_s), (h_theirs, _, _) = runs
    assert set(h_ours) == set(h_theirs) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(train_s) == len(total_s) == 2 and all(0 < a <= b for a, b in zip(train_s, total_s))
    # the trainer's documented History tolerance for a 2-epoch fit
    np.testing.assert_allclose(h_ours["loss"], h_theirs["loss"], rtol=2e-3)
    np.testing.assert_allclose(h_ours["val_loss"], h_theirs["val_loss"], rtol=2e-3)


def test_a_bench_turn_trains_untimed_for_its_warm_up_first():
    from rnncore._cli._worker import BenchServer
    from rnncore._cli.bench import QUICK_PLAN, make_case

    server = BenchServer("rnncore")
    server.setup(make_case("gru8"), QUICK_PLAN)
    steps = server.step
    answer = server.handle({"cmd": "train", "batches": 2, "max_seconds": 5.0,
                            "warmup_seconds": 0.05})
    assert len(answer["times"]) == 2
    # the warm-up ran for 0.05 s of batches (each well under that) before the two timed ones
    assert server.step - steps > 3
    answer = server.handle({"cmd": "train", "batches": 2, "max_seconds": 5.0})
    assert len(answer["times"]) == 2
