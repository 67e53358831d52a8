"""``python -m rnncore``: help, the demo, the benchmark, option errors, the PyTorch weights.

The commands run for real in a subprocess, with tiny sizes (one epoch, a few hundred
samples, a handful of batches) so the whole file stays well under a minute. Keras is left out
of these runs (its import alone takes several seconds); the weight transfer to PyTorch is
checked against rnncore directly, and rnncore against Keras by the rest of the suite.
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
    full_env = dict(os.environ, PYTHONPATH=ROOT, **(env or {}))
    return subprocess.run([sys.executable, "-m", "rnncore", *args], capture_output=True,
                          text=True, env=full_env, cwd=cwd, timeout=300)


def _has(module):
    try:
        __import__(module)
    except ImportError:
        return False
    return True


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
    (["demo", "--engines", "rnncore,jax"], "--engines"),
    (["bench", "--cells", "lstm,transformer"], "--cells"),
    (["bench", "--sizes", "huge"], "--sizes"),
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
    proc = run_cli("demo", "--no-compare", "--epochs", "1", "--samples", "256",
                   "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    out = " ".join(proc.stdout.split())  # the notes are wrapped at 100 columns
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
    proc = run_cli("bench", "--quick", "--cells", "lstm", "--sizes", "8", "--batches", "3",
                   "--engines", engines, "--out", str(tmp_path),
                   env={"OPENBLAS_CORETYPE": "Sandybridge", "OPENBLAS_L2_SIZE": "262144"})
    assert proc.returncode == 0, proc.stderr + proc.stdout
    out = proc.stdout
    assert "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset" in out
    assert "OPENBLAS_CORETYPE=Sandybridge" in out  # says what it removed
    assert "Training, samples/s" in out and "Prediction, samples/s" in out
    assert "sgemm per-step GFLOP/s" in out and "lstm-8" in out
    record = json.loads((tmp_path / "bench.json").read_text())
    (case,) = record["cases"]
    assert case["id"] == "lstm-8" and case["rnncore"]["train_samples_per_s"] > 0
    assert case["rnncore"]["sgemm_gflops"]["big"] > 0 and case["rnncore_train_gflops"] > 0
    rnncore_run = record["engine_facts"]["rnncore"]
    assert rnncore_run["env_unset"] == ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]
    openblas = [p for p in rnncore_run["blas"] if p.get("internal_api") == "openblas"]
    assert openblas and all(p.get("architecture") != "Sandybridge" for p in openblas)
    if _has("torch"):
        assert case["torch"]["predict_samples_per_s"] > 0 and case["train_speedup_vs_torch"]
    markdown = (tmp_path / "bench.md").read_text()
    assert "| case |" in markdown and "lstm-8" in markdown


# --------------------------------------------------------------------------------------------
# Weights copied to PyTorch give PyTorch the same model
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("layers", [1, 2])
def test_pytorch_model_from_rnncore_weights_predicts_the_same(cell, layers):
    pytest.importorskip("torch")
    from rnncore._cli._engines import ModelSpec, make_engine

    spec = ModelSpec(cell=cell, units=6, layers=layers, timesteps=12, vocab=50, embed_dim=5)
    ours, theirs = make_engine("rnncore", spec), make_engine("torch", spec)
    rng = np.random.default_rng(0)
    # Random, non-zero biases too, so that a bias in the wrong slot or gate shows up.
    weights = [rng.normal(0, 0.4, w.shape).astype(np.float32) for w in ours.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    x = rng.integers(0, 50, size=(16, 12)).astype(np.int32)
    np.testing.assert_allclose(theirs.predict(theirs.prepare(x), 8), ours.predict(x, 8),
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
    server.setup(make_case("rnn", "8"), QUICK_PLAN)
    steps = server.step
    answer = server.handle({"cmd": "train", "batches": 2, "max_seconds": 5.0,
                            "warmup_seconds": 0.05})
    assert len(answer["times"]) == 2
    # the warm-up ran for 0.05 s of batches (each well under that) before the two timed ones
    assert server.step - steps > 3
    answer = server.handle({"cmd": "train", "batches": 2, "max_seconds": 5.0})
    assert len(answer["times"]) == 2
