"""Child processes: each engine measures in its own interpreter.

Two ways to run one:

- ``python -m rnncore._cli._worker demo TASK.json RESULT.json``: the demo's training run, one
  shot (:func:`run_demo` on the parent side). Its progress bars go to the inherited stdout.
- ``python -m rnncore._cli._worker serve ENGINE [THREADS]``: the benchmark's engine server
  (:class:`EngineProcess` on the parent side). It reads one JSON command per line on stdin and
  answers one JSON line on its stdout; whatever else writes to stdout (a library's print) is
  sent to stderr instead, so it cannot garble the answers. The parent keeps one server per
  engine alive and has them take turns, a few batches each, so that all engines see the
  same load on a shared machine; a server waiting for its turn is blocked on a read and uses
  no CPU.

A failing command answers ``{"error": ...}`` and the server goes on; an engine whose framework
cannot be imported answers its first line with the error and ``"missing": true``.
"""
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback

import numpy as np

from . import _engines, _machine


# --------------------------------------------------------------------------------------------
# Parent side
# --------------------------------------------------------------------------------------------
def _worker_cmd(*args):
    return [sys.executable, "-m", "rnncore._cli._worker", *map(str, args)]


def run_demo(task, workdir, env):
    """Run the demo ``task`` (a JSON-able dict) in a fresh interpreter; return its result."""
    fd, task_path = tempfile.mkstemp(prefix=f"{task['engine']}-task-", suffix=".json",
                                     dir=workdir)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(task, f)
    result_path = task_path.replace("-task-", "-result-")
    proc = subprocess.run(_worker_cmd("demo", task_path, result_path), env=env,
                          stdin=subprocess.DEVNULL)
    if os.path.exists(result_path):
        with open(result_path, encoding="utf-8") as f:
            return json.load(f)
    return {"engine": task["engine"],
            "error": f"the {task['engine']} process ended without a result "
                     f"(exit status {proc.returncode})"}


class EngineProcess:
    """A benchmark server for one engine; :meth:`call` sends a command and returns the answer."""

    def __init__(self, engine, env, threads=None):
        self.engine = engine
        args = ["serve", engine] + ([threads] if threads else [])
        self.proc = subprocess.Popen(_worker_cmd(*args), env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        self.hello = self._read()

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            return {"error": f"the {self.engine} process ended "
                             f"(exit status {self.proc.wait()})"}
        return json.loads(line)

    def send(self, cmd, **kwargs):
        """Send a command without waiting; :meth:`receive` gets its answer. Returns an error
        answer instead when the process has ended."""
        if self.proc.poll() is not None:
            return {"error": f"the {self.engine} process ended "
                             f"(exit status {self.proc.returncode})"}
        try:
            self.proc.stdin.write(json.dumps(dict(kwargs, cmd=cmd)) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            return {"error": f"the {self.engine} process ended"}
        return None

    def receive(self):
        return self._read()

    def call(self, cmd, **kwargs):
        return self.send(cmd, **kwargs) or self.receive()

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write('{"cmd": "quit"}\n')
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


# --------------------------------------------------------------------------------------------
# Child side: setting up an engine
# --------------------------------------------------------------------------------------------
def _quiet_tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import warnings

    warnings.filterwarnings("ignore")
    try:
        import absl.logging

        absl.logging.set_verbosity("error")
    except ImportError:
        pass
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")


def import_framework(engine, threads=None):
    """Import the engine's framework (raising ImportError when it is not installed) and pin
    its thread count when asked to.

    Keras reads ``KERAS_BACKEND`` once, at import: the engine's name sets it here, whatever
    the caller's environment says, so that "keras" is always TensorFlow and "jax" JAX.
    """
    if engine in _engines.KERAS_BACKENDS:
        os.environ["KERAS_BACKEND"] = _engines.KERAS_BACKENDS[engine]
    if engine == "keras":
        _quiet_tensorflow()
        import keras  # noqa: F401
        import tensorflow as tf

        if threads:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
    elif engine == "jax":
        if threads == 1:
            # XLA's CPU client reads these when it starts; it has no switch for N > 1 threads
            os.environ["XLA_FLAGS"] = " ".join(filter(None, (
                os.environ.get("XLA_FLAGS"), "--xla_cpu_multi_thread_eigen=false",
                "intra_op_parallelism_threads=1")))
        import jax  # noqa: F401 - first, so that a missing jax is named as such
        import keras  # noqa: F401
    elif engine == "torch":
        import torch

        if threads:
            torch.set_num_threads(threads)
    elif threads:
        import rnncore

        rnncore.set_num_threads(threads)


def _make_engine(name, spec_dict):
    return _engines.make_engine(name, _engines.ModelSpec(**spec_dict))


def process_facts():
    """What this process runs with: BLAS pools, removed variables, load."""
    return {"blas": _machine.blas_pools(),
            "env_unset": [v for v in _machine.UNSET_VARS if v not in os.environ],
            "load_average": _machine.load_average()}


# --------------------------------------------------------------------------------------------
# Child side: the demo
# --------------------------------------------------------------------------------------------
def demo_job(task):
    """Train the demo model from the given weights; History, epoch times, first evaluation."""
    data = np.load(task["data"])
    weights = np.load(task["weights"])
    weights = [weights[f"w{i}"] for i in range(len(weights.files))]
    import_framework(task["engine"], task.get("threads"))
    engine = _make_engine(task["engine"], task["spec"])
    engine.set_weights(weights)
    batch = task["batch_size"]
    x, y = engine.prepare(data["x_train"], data["y_train"])
    xv, yv = engine.prepare(data["x_val"], data["y_val"])
    initial = engine.evaluate(xv, yv, batch)
    start = time.perf_counter()
    history, train_s, total_s = engine.fit(x, y, (xv, yv), task["epochs"], batch,
                                           task["verbose"])
    fit_s = time.perf_counter() - start
    return {"initial": initial, "history": history, "epoch_train_s": train_s,
            "epoch_total_s": total_s, "fit_s": fit_s, "train_samples": int(len(y)),
            "val_samples": int(len(yv)), "info": engine.info()}


def _demo_main(task_path, result_path):
    with open(task_path, encoding="utf-8") as f:
        task = json.load(f)
    result = {"engine": task["engine"]}
    try:
        result.update(demo_job(task))
    except ImportError as exc:  # the engine is not installed: the parent skips it
        result.update(error=f"{type(exc).__name__}: {exc}", missing=True)
    except Exception as exc:  # noqa: BLE001 - the parent prints it
        traceback.print_exc()
        result["error"] = f"{type(exc).__name__}: {exc}"
    result.update(process_facts())
    tmp = result_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(result, f)
    os.replace(tmp, result_path)


# --------------------------------------------------------------------------------------------
# Child side: the benchmark server
# --------------------------------------------------------------------------------------------
def bench_data(spec, batch, n_batches, seed):
    """Random token ids (or features) and labels for ``n_batches`` batches."""
    rng = np.random.default_rng(seed)
    n = batch * n_batches
    if spec.vocab:
        x = rng.integers(1, spec.vocab, size=(n, spec.timesteps)).astype(np.int32)
    else:
        x = rng.standard_normal((n, spec.timesteps, spec.features)).astype(np.float32)
    if spec.outputs == 1:
        y = rng.integers(0, 2, size=(n, 1)).astype(np.float32)
    else:
        y = rng.integers(0, spec.outputs, size=(n,)).astype(np.int64)
    return x, y


def _best_seconds(fn, min_seconds=0.1, min_calls=3):
    """Fastest of repeated calls (the machine's capability, least disturbed by others)."""
    fn()
    best, calls, start = float("inf"), 0, time.perf_counter()
    while calls < min_calls or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        calls += 1
    return best


def _thread_choices():
    """BLAS thread counts to try: 1 and all CPUs (OpenBLAS's threads can be much slower than
    one thread for small shapes, especially on a busy machine)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return [(None, None)]
    return [(n, threadpool_limits) for n in sorted({1, _machine.cpu_count()})]


def sgemm_reference(spec, batch):
    """NumPy float32 matmul GFLOP/s at the model's gemm shapes, both ways.

    ``big``: ``(T*B, I+H) @ (I+H, G*H)``, a whole forward pass's FLOPs in one gemm.
    ``step``: the shapes the kernels run: the hoisted ``(T*B, I) @ (I, G*H)`` and then
    ``(T, B, H) @ (H, G*H)``, which NumPy runs as T per-step gemms in a C loop.
    Each is the best of several calls, with 1 BLAS thread and with one per CPU (the better
    is kept; ``*_threads`` says which).
    """
    spec = _engines.ModelSpec(**spec)
    rng = np.random.default_rng(2)
    T, B = spec.timesteps, batch
    flops = 0
    secs = {(mode, n): 0.0 for mode in ("big", "step") for n, _ in _thread_choices()}
    for I, H, GH in spec.layer_shapes():
        a = rng.standard_normal((T * B, I + H), dtype=np.float32)
        w = rng.standard_normal((I + H, GH), dtype=np.float32)
        out = np.empty((T * B, GH), np.float32)
        x, wi = np.ascontiguousarray(a[:, :I]), np.ascontiguousarray(w[:I])
        hs = rng.standard_normal((T, B, H), dtype=np.float32)
        u, out3 = np.ascontiguousarray(w[I:]), out.reshape(T, B, GH)

        def big():
            np.matmul(a, w, out=out)

        def step():
            np.matmul(x, wi, out=out)
            np.matmul(hs, u, out=out3)

        flops += 2 * T * B * (I + H) * GH
        for n, limits in _thread_choices():
            for mode, fn in (("big", big), ("step", step)):
                if limits is None:
                    secs[mode, n] += _best_seconds(fn)
                else:
                    with limits(limits=n, user_api="blas"):
                        secs[mode, n] += _best_seconds(fn)
    result = {}
    for mode in ("big", "step"):
        n, best = min(((n, s) for (m, n), s in secs.items() if m == mode), key=lambda t: t[1])
        result[mode] = flops / best / 1e9
        result[f"{mode}_threads"] = n
    return result


class BenchServer:
    """One engine's side of the benchmark: set up a case, then time turns of it on demand."""

    POOL = 4  # distinct training batches, cycled

    def __init__(self, engine):
        self.engine_name = engine
        self.engine = None

    def setup(self, case, plan):
        """Build the case's model and data, and warm up (Keras traces and compiles here)."""
        self.teardown()
        spec, batch = _engines.ModelSpec(**case["spec"]), case["batch"]
        self.engine = engine = _make_engine(self.engine_name, case["spec"])
        x, y = bench_data(spec, batch, self.POOL, seed=0)
        self.batches = [engine.prepare(x[i * batch:(i + 1) * batch],
                                       y[i * batch:(i + 1) * batch]) for i in range(self.POOL)]
        self.step = 0
        for _ in range(plan["warmup"]):
            self._train_one()
        self.batch = batch
        self.x_predict = engine.prepare(bench_data(spec, batch, plan["predict_batches"],
                                                   seed=1)[0])
        engine.predict(self.x_predict, batch)
        return {"info": engine.info()}

    def _train_one(self):
        self.engine.train_batch(*self.batches[self.step % self.POOL])
        self.step += 1

    def train(self, batches, max_seconds, warmup_seconds=0.0):
        """Wall seconds of each of up to ``batches`` training steps (stopping after
        ``max_seconds``), and the CPU seconds of this process over them all.

        First, untimed, at least one batch and ``warmup_seconds`` of them: a turn starts on
        caches the previous engine's turn flushed, with this process's threads asleep and the
        cores' clocks not yet back up (measured: rnncore's 3.5 ms steps of rnn-32 take 5.4 ms
        for the first 25 ms or so after a 50 ms pause). Every engine gets the same warm-up;
        without it the shortest steps were timed entirely inside that ramp.
        """
        start = time.perf_counter()
        self._train_one()
        while time.perf_counter() - start < warmup_seconds:
            self._train_one()
        times, start, cpu = [], time.perf_counter(), time.process_time()
        for _ in range(batches):
            t0 = time.perf_counter()
            self._train_one()
            times.append(time.perf_counter() - t0)
            if time.perf_counter() - start > max_seconds:
                break
        return {"times": times, "cpu": time.process_time() - cpu}

    def predict(self, calls):
        times, cpu = [], time.process_time()
        for _ in range(calls):
            t0 = time.perf_counter()
            self.engine.predict(self.x_predict, self.batch)
            times.append(time.perf_counter() - t0)
        return {"times": times, "cpu": time.process_time() - cpu}

    def teardown(self):
        if self.engine is not None and self.engine_name in _engines.KERAS_BACKENDS:
            import keras

            keras.backend.clear_session()  # one case's graphs do not weigh on the next
        self.engine = self.batches = self.x_predict = None
        gc.collect()
        return {}

    def handle(self, cmd):
        name = cmd.pop("cmd")
        if name == "setup":
            return self.setup(cmd["case"], cmd["plan"])
        if name == "train":
            return self.train(cmd["batches"], cmd["max_seconds"],
                              cmd.get("warmup_seconds", 0.0))
        if name == "predict":
            return self.predict(cmd["calls"])
        if name == "sgemm":
            return sgemm_reference(cmd["spec"], cmd["batch"])
        if name == "teardown":
            return self.teardown()
        if name == "facts":
            return process_facts()
        raise ValueError(f"unknown command {name!r}")


def _serve_main(engine, threads=None):
    # Answers go to the real stdout; everything else printed to stdout goes to stderr.
    answers = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)

    def answer(obj):
        answers.write(json.dumps(obj) + "\n")
        answers.flush()

    try:
        import_framework(engine, int(threads) if threads else None)
    except Exception as exc:  # noqa: BLE001 - typically ImportError: not installed
        answer({"error": f"{type(exc).__name__}: {exc}",
                "missing": isinstance(exc, ImportError)})
        return
    answer({"ok": True, "pid": os.getpid()})
    server = BenchServer(engine)
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd.get("cmd") == "quit":
            break
        try:
            answer(server.handle(cmd))
        except Exception as exc:  # noqa: BLE001 - report it; the next command may work
            traceback.print_exc()
            answer({"error": f"{type(exc).__name__}: {exc}"})


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[0] == "demo":
        _demo_main(argv[1], argv[2])
    elif argv[0] == "serve":
        _serve_main(*argv[1:3])
    else:
        raise SystemExit(f"usage: python -m rnncore._cli._worker demo TASK RESULT | "
                         f"serve ENGINE [THREADS]; got {argv!r}")


if __name__ == "__main__":
    main()
