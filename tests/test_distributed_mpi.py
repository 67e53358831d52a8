"""rnncore.distributed with 2 and 3 processes started by mpiexec (the MPI of the
``distributed`` extra, installed by the ``test`` extra). Each test runs the program in
``_mpi_worker.py`` on every rank and checks what rank 0 wrote, or how the job ended."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py", reason="the multi-process tests need rnncore[distributed] "
                                     "(mpi4py and an MPI library: pip install mpi4py mpich)")

import _mpi_worker as worker  # noqa: E402

WORKER = Path(__file__).with_name("_mpi_worker.py")


def _mpiexec():
    # the mpich wheel puts mpiexec next to the interpreter
    here = Path(sys.executable).with_name("mpiexec")
    found = str(here) if here.exists() else shutil.which("mpiexec")
    if found is None:
        pytest.skip("no mpiexec next to the interpreter or on PATH (pip install mpich)")
    return found


def run_ranks(n, job, out, timeout=120, env=None):
    """mpiexec -n `n` python _mpi_worker.py `job` `out`; returns the CompletedProcess."""
    environment = dict(os.environ, **(env or {}))
    environment.setdefault("OMP_NUM_THREADS", "1")
    return subprocess.run([_mpiexec(), "-n", str(n), sys.executable, str(WORKER), job,
                           str(out)], capture_output=True, text=True, timeout=timeout,
                          env=environment)


def _ok(result):
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="module", params=[2, 3], ids=["2 ranks", "3 ranks"])
def trained(request, tmp_path_factory):
    n = request.param
    out = tmp_path_factory.mktemp(f"ranks{n}") / "weights.npz"
    _ok(run_ranks(n, "exactness", out))
    return n, np.load(out)


@pytest.mark.parametrize("model_name,opt_name", worker.CASES,
                         ids=[f"{m}-{o}" for m, o in worker.CASES])
def test_n_ranks_with_batch_b_train_as_one_process_with_batch_n_times_b(trained, model_name,
                                                                         opt_name):
    n, saved = trained
    key = f"{model_name}-{opt_name}"
    count = sum(k.startswith(f"{key}/before/") for k in saved.files)
    before = [saved[f"{key}/before/{i}"] for i in range(count)]
    after = [saved[f"{key}/after/{i}"] for i in range(count)]
    model = worker.build(model_name)
    model.set_weights(before)
    model.compile(optimizer=worker.optimizer(opt_name), loss="binary_crossentropy")
    x, y = worker.data(model_name, n * worker.BATCH * worker.STEPS)
    model.fit(x, y, batch_size=n * worker.BATCH, epochs=1, shuffle=False, verbose=0)
    assert model.optimizer.iterations == worker.STEPS
    moved = max(np.max(np.abs(a - b)) for a, b in zip(after, before))
    assert moved > 1e-3  # the steps did change the weights
    for name, ours, one in zip([w.path for w in model.weights], after, model.get_weights()):
        # float32 round-off: sums over the batch taken in another order
        np.testing.assert_allclose(ours, one, rtol=1e-5, atol=1e-6, err_msg=name)


def test_collectives_fused_exchange_and_warmup_on_two_ranks(tmp_path):
    out = tmp_path / "api.json"
    _ok(run_ranks(2, "api", out))  # the collectives are asserted on each rank
    result = json.loads(out.read_text())
    rates = [lr for lr, _ in result["rates"]]
    steps = 4  # batches per epoch; warm-up over 2 epochs from 0.1/2 to 0.1
    expected = [0.1 / 2 * ((k + 1) / steps * (2 - 1) / 2 + 1) for k in range(2 * steps)]
    np.testing.assert_allclose(rates[:2 * steps], expected, rtol=1e-6)
    np.testing.assert_allclose(rates[2 * steps:], 0.1, rtol=1e-6)
    assert result["history"]["lr"][-1] == pytest.approx(0.1)


@pytest.mark.parametrize("n", [2, 3])
def test_the_fused_buffer_sums_through_shared_memory_as_mpi_sums_it(tmp_path, n):
    _ok(run_ranks(n, "shared", tmp_path / "shared"))
    for r in range(n):
        result = json.loads((tmp_path / f"shared-{r}.json").read_text())
        assert result["used"] == ["<f4", "<f8"]  # a window per dtype, made on first use
        errors = [error for _, error in result["equal"]]
        assert max(errors) < 1e-5  # every step's own values: no slot of another step read
        if n == 2:  # a + b: the same bits as MPI's sum on every step
            assert all(equal for equal, _ in result["equal"])
        assert result["disabled"]
        assert "buffers differ in size (10 to" in result["error"]
        assert "every rank must build the same model" in result["error"]


def test_fit_validates_over_all_ranks_writes_files_on_rank_0_and_stops_all_together(tmp_path):
    _ok(run_ranks(2, "fit", tmp_path))
    results = [json.loads((tmp_path / f"result-{r}.json").read_text()) for r in range(2)]
    assert results[0]["history"] == results[1]["history"]
    history, reference = results[0]["history"], results[0]["reference"]
    # EarlyStopping(min_delta=1) stops after the second epoch, on both ranks
    assert len(history["loss"]) == 2
    # the last validation: both ranks' shares together, as one process evaluates it all
    assert history["val_loss"][-1] == pytest.approx(reference["loss"], rel=1e-6)
    assert history["val_acc"][-1] == pytest.approx(reference["acc"], rel=1e-6)
    # a PyDataset's batches are shared out too (3 and 2 of 5), with the same result
    val_loss, whole, batches_per_rank = results[0]["pydataset"]
    assert batches_per_rank == [3, 2]
    assert val_loss == pytest.approx(whole, rel=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".csv", ".h5")) == \
        ["ckpt-0.weights.h5", "log-0.csv"]
    # seeded (set_random_seed on every rank, shuffle=True): a second run repeats the first
    again = tmp_path / "again"
    again.mkdir()
    _ok(run_ranks(2, "fit", again))
    assert json.loads((again / "result-0.json").read_text()) == results[0]


def test_a_rank_that_stops_training_alone_stops_every_rank_at_the_same_step(tmp_path):
    out = tmp_path / "stop.json"
    _ok(run_ranks(2, "stop", out, env={"RNNCORE_DISTRIBUTED_TIMEOUT": "30"}))
    result = json.loads(out.read_text())
    # rank 1 stops after its third step: the others' fourth step is not taken
    assert result["mid-epoch"] == {"iterations": [3, 3], "epochs": 1, "same_weights": True}
    # after the epoch's last batch: all finish that epoch and stop
    assert result["last batch"] == {"iterations": [6, 6], "epochs": 1, "same_weights": True}


@pytest.mark.parametrize("how,message", [
    ("raise", "rank 1 ended with RuntimeError: rank 1 failed on purpose; aborting all 2 ranks"),
    ("exit", "BAD TERMINATION"),
    ("stall", "rank 0 waited more than 3 s in DistributedOptimizer's allreduce"),
])
def test_a_rank_that_fails_ends_the_job_quickly_with_a_message(tmp_path, how, message):
    # a job that hung would raise subprocess.TimeoutExpired
    result = run_ranks(2, how, tmp_path / "unused", timeout=60,
                       env={"RNNCORE_DISTRIBUTED_TIMEOUT": "3"})
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert message in output, output


def test_a_horovod_program_runs_with_its_imports_changed(tmp_path):
    example = Path(__file__).resolve().parents[1] / "examples" / "horovod_style_lstm.py"
    result = subprocess.run(
        [_mpiexec(), "-n", "2", sys.executable, str(example), "--epochs", "1", "--samples",
         "640"], capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env=dict(os.environ, OMP_NUM_THREADS="1"))
    _ok(result)
    assert result.stdout.count("(2 processes)") == 1  # rank 0 alone prints
    assert (tmp_path / "horovod-lstm.weights.h5").exists()
