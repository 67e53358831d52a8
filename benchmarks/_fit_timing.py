"""The timing harness shared by the ``*_fit.py`` scripts: one process per engine, warm-up,
timed epochs taken in turns, and the side-by-side table.

Each engine runs in its own process, started from the calling script with ``--worker ENGINE
WEIGHTS`` and with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its environment (see
README). The processes take turns: one untimed epoch (Keras traces its step there), then
``--rounds`` timed epochs each, the order alternating between rounds. All engines start from
the same weights, drawn once from ``model(rnncore, "rnncore")``.

Keras runs on the backends ``--backends`` names (default: ``KERAS_BACKEND``, else
tensorflow), one process and one row per backend: ``--backends tensorflow,jax`` sets Keras on
TensorFlow and Keras on JAX beside rnncore.

A script supplies ``data()`` (returns ``x, y``, built the same in every process) and
``model(lib, engine)`` (``lib`` is ``rnncore`` or ``keras``; returns a compiled model), and
calls :func:`run` under ``if __name__ == "__main__"``.
"""
import argparse
import json
import os
import subprocess
import sys
import time

from rnncore._cli import _machine


def _worker(engine, weights_path, data, model, batch):
    """Reads 'epoch' lines on stdin, answers one JSON line per epoch."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if engine.startswith("keras"):
        import keras as lib
    else:
        import rnncore as lib
    import numpy as np

    x, y = data()
    net = model(lib, engine)
    net.set_weights(list(np.load(weights_path, allow_pickle=True)))
    for _ in sys.stdin:
        t0 = time.perf_counter()
        hist = net.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0)
        dt = time.perf_counter() - t0
        # fit's steps: a last, partial batch is a step too
        print(json.dumps({"seconds": dt, "steps": -(-len(x) // batch),
                          "loss": float(hist.history["loss"][-1])}), flush=True)


def _save_weights(model):
    import tempfile

    import numpy as np

    import rnncore

    weights = [w.astype(np.float32) for w in model(rnncore, "rnncore").get_weights()]
    path = os.path.join(tempfile.mkdtemp(), "w.npy")
    arr = np.empty(len(weights), object)  # an object array keeps the weights' shapes
    arr[:] = weights
    np.save(path, arr, allow_pickle=True)
    return path


def _main(script, model, engines, title, rounds, backends):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    path = _save_weights(model)
    env, removed = _machine.child_env()
    procs = {}
    for engine in engines:
        for backend in backends if engine.startswith("keras") else [None]:
            label = engine.replace("keras", f"keras/{backend}", 1) if backend else engine
            procs[label] = subprocess.Popen(
                [sys.executable, script, "--worker", engine, path],
                env=dict(env, KERAS_BACKEND=backend) if backend else env,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    times = {e: [] for e in procs}
    losses = {e: [] for e in procs}
    for round_ in range(rounds + 1):
        order = list(procs) if round_ % 2 == 0 else list(procs)[::-1]
        for e in order:
            procs[e].stdin.write("epoch\n")
            procs[e].stdin.flush()
            out = json.loads(procs[e].stdout.readline())
            losses[e].append(out["loss"])
            if round_:  # the first epoch warms up (Keras traces its train step)
                times[e].append(out["seconds"] / out["steps"])
    for p in procs.values():
        p.stdin.close()
        p.wait()
    print(title)
    print(_machine.describe_machine(_machine.machine()))
    print(_machine.env_note(removed))
    width = max(len(e) for e in procs) + 1
    for e in procs:
        ms = sorted(t * 1e3 for t in times[e])
        print(f"{e:{width}s} median {ms[len(ms) // 2]:7.2f} ms/step  (epochs: "
              f"{', '.join(f'{t:.2f}' for t in ms)})  losses per epoch: "
              f"{', '.join(f'{v:.5f}' for v in losses[e])}")


def run(script, description, data, model, batch, title, engines=("rnncore", "keras")):
    """Runs the script's benchmark, or, when started with ``--worker``, one engine's process.

    Parameters
    ----------
    script : str
        The calling script's ``__file__``; the engines' processes run it with ``--worker``.
    description : str
        The script's docstring; its first line is the ``--help`` description.
    data : callable
        ``data() -> (x, y)``, the training data, built alike in every process.
    model : callable
        ``model(lib, engine) -> compiled model``; ``engine`` is one of ``engines``, or
        ``"rnncore"`` for the model the shared initial weights are drawn from.
    batch : int
        Batch size of ``fit``.
    title : str
        First line of the table: the model and data.
    engines : tuple of str
        Names of the table's rows; a name starting with ``keras`` runs in Keras, once per
        backend of ``--backends``, any other in rnncore.
    """
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        _worker(sys.argv[2], sys.argv[3], data, model, batch)
        return
    parser = argparse.ArgumentParser(description=description.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", default=os.environ.get("KERAS_BACKEND", "tensorflow"),
                        help="comma-separated Keras backends, one row each (default: "
                             "KERAS_BACKEND, else tensorflow)")
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    _main(script, model, engines, title, args.rounds, backends)
