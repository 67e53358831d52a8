"""``demo --processes N``: rnncore's data-parallel training (``rnncore.distributed`` over MPI)
against one process, on the demo's model, data and initial weights.

Both runs are single-threaded per process (``rnncore.set_num_threads(1)``): N processes on N
cores against one process on one core, Horovod's idiom in the ranks (each rank trains on
every N-th sample with batch 64, the learning rate scaled by N, gradients averaged by
``DistributedOptimizer``, rank 0's weights broadcast first). ``mpiexec`` comes from the MPI
installed with ``pip install rnncore[distributed]`` (next to the interpreter) or from PATH.

Run as ``python -m rnncore._cli._processes TASK.json`` inside each rank: rank 0 prints one
JSON line with the run's timing and losses.
"""
import json
import os
import shutil
import subprocess
import sys
import time

#: seconds a run may take before the demo gives up on it (a rank that hangs must not hang us)
TIMEOUT = 1800


def mpiexec():
    """The ``mpiexec`` to launch ranks with, or None."""
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return here if os.path.exists(here) else shutil.which("mpiexec")


def unavailable():
    """Why ``--processes`` cannot run here (a sentence), or None."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return "mpi4py is not installed (pip install rnncore[distributed])"
    if mpiexec() is None:
        return "no mpiexec next to the interpreter or on PATH (pip install mpich)"
    return None


def _run(cmd, env):
    """Run one configuration; its result dict, or one with ``error``."""
    try:
        proc = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"error": f"no result within {TIMEOUT} s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"error": f"exit status {proc.returncode}: {tail}"}
    return json.loads(lines[-1])


def compare(task_path, processes, env):
    """(one process, N processes) results of the task in ``task_path``."""
    env = dict(env, OMP_NUM_THREADS="1")
    worker = [sys.executable, "-m", "rnncore._cli._processes", task_path]
    return _run(worker, env), _run([mpiexec(), "-n", str(processes)] + worker, env)


def _keep_on_one_core(local_rank, local_size):
    """Each single-threaded process on its own core, as ``mpiexec -bind-to core`` (MPICH) or
    ``mpirun --bind-to core`` (Open MPI) would keep it, whichever launcher started it: ranks
    the scheduler moves between cores lose their caches and wait for each other longer
    (benchmarks/README, data-parallel training). Not where the ranks outnumber the cores."""
    if not hasattr(os, "sched_setaffinity"):
        return
    cores = sorted(os.sched_getaffinity(0))  # the cores this job may use, in order
    if local_size <= len(cores):
        os.sched_setaffinity(0, {cores[local_rank]})


def main(task_path):
    """One rank's run of the task (one process without MPI when started alone)."""
    import numpy as np

    import rnncore

    from ._engines import ModelSpec, build_keras_api_model

    with open(task_path, encoding="utf-8") as f:
        task = json.load(f)
    rnncore.set_num_threads(1)
    size = int(os.environ.get("PMI_SIZE", os.environ.get("OMPI_COMM_WORLD_SIZE", "1")))
    hvd = None
    if size > 1:
        import rnncore.distributed as hvd

        hvd.init()
    rank, size = (hvd.rank(), hvd.size()) if hvd else (0, 1)
    _keep_on_one_core(hvd.local_rank() if hvd else 0, hvd.local_size() if hvd else 1)
    spec = ModelSpec(**dict(task["spec"], learning_rate=task["spec"]["learning_rate"] * size))
    model = build_keras_api_model(rnncore, spec)
    with np.load(task["weights"]) as w:
        model.set_weights([w[f"w{i}"] for i in range(len(w.files))])
    with np.load(task["data"]) as d:
        x, y = d["x_train"], d["y_train"]
    n = len(x) // size * size
    x, y = x[rank:n:size], y[rank:n:size]
    callbacks = []
    if hvd:
        optimizer = getattr(rnncore.optimizers, spec.optimizer_title)
        model.compile(optimizer=hvd.DistributedOptimizer(optimizer(spec.learning_rate)),
                      loss=spec.loss, metrics=["accuracy"])
        callbacks = [hvd.callbacks.BroadcastGlobalVariablesCallback(0),
                     hvd.callbacks.MetricAverageCallback()]
    seconds, losses = [], []
    for _ in range(task["epochs"]):
        if hvd:
            hvd.barrier()
        start = time.perf_counter()
        history = model.fit(x, y, batch_size=task["batch_size"], epochs=1, verbose=0,
                            callbacks=callbacks, shuffle=False)
        if hvd:
            hvd.barrier()
        seconds.append(time.perf_counter() - start)
        losses.append(float(history.history["loss"][-1]))
    if rank == 0:
        later = sorted(seconds[1:] or seconds)
        epoch = later[len(later) // 2]
        print(json.dumps({"processes": size, "samples": n, "seconds_per_epoch": epoch,
                          "samples_per_s": n / epoch, "loss": losses}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
