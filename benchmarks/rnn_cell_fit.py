"""Time per training step of ``RNN(LSTMCell(64))`` against ``LSTM(64)``, in rnncore and in
Keras 3 (TensorFlow), trained with ``fit`` on the same data from equal weights.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/rnn_cell_fit.py

The model is the seeds' size "64": Embedding(10000, 64) → recurrent(64) → Dense(1, sigmoid),
100 steps, batch 64, RMSprop(1e-4), binary crossentropy, float32. rnncore's RNN(LSTMCell)
runs the LSTM layer's fused kernel, so its two rows should match; Keras's RNN over a cell
runs a generic while-loop. Each engine runs in its own process (OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE removed from its environment, see README); the processes take turns: one
untimed epoch (Keras traces its step there), then ``--rounds`` timed epochs each. Prints ms
per step (median over the timed epochs) and the losses, equal where the models are.
"""
import argparse
import json
import os
import subprocess
import sys
import time

STEPS, VOCAB, UNITS, SAMPLES, BATCH = 100, 10000, 64, 1024, 64
ENGINES = ("rnncore RNN(LSTMCell)", "rnncore LSTM", "keras RNN(LSTMCell)", "keras LSTM")


def _data():
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.integers(1, VOCAB, (SAMPLES, STEPS)).astype(np.int32)
    y = (x[:, -10:].mean(axis=1) > VOCAB / 2).astype(np.float32)
    return x, y


def _model(lib, cell):
    recurrent = (lib.layers.RNN(lib.layers.LSTMCell(UNITS)) if cell
                 else lib.layers.LSTM(UNITS))
    model = lib.Sequential([lib.Input(shape=(STEPS,), dtype="int32"),
                            lib.layers.Embedding(VOCAB, 64), recurrent,
                            lib.layers.Dense(1, activation="sigmoid")])
    model.compile(lib.optimizers.RMSprop(1e-4), "binary_crossentropy")
    return model


def worker(engine):
    """Reads 'epoch' lines on stdin, answers one JSON line per epoch."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if engine.startswith("keras"):
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        import keras as lib
    else:
        import rnncore as lib
    import numpy as np

    x, y = _data()
    model = _model(lib, "Cell" in engine)
    model.set_weights(list(np.load(sys.argv[3], allow_pickle=True)))
    for _ in sys.stdin:
        t0 = time.perf_counter()
        hist = model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
        dt = time.perf_counter() - t0
        print(json.dumps({"seconds": dt, "steps": SAMPLES // BATCH,
                          "loss": float(hist.history["loss"][-1])}), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import tempfile

    import numpy as np

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import rnncore

    weights = [w.astype(np.float32) for w in _model(rnncore, False).get_weights()]
    path = os.path.join(tempfile.mkdtemp(), "w.npy")
    arr = np.empty(len(weights), object)
    arr[:] = weights
    np.save(path, arr, allow_pickle=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    removed = [k for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ]
    procs = {e: subprocess.Popen([sys.executable, __file__, "--worker", e, path], env=env,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for e in ENGINES}
    times = {e: [] for e in procs}
    losses = {e: [] for e in procs}
    for round_ in range(args.rounds + 1):
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
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), "unknown")
    flags = open("/proc/cpuinfo").read()
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"
    print(f"Embedding({VOCAB}, 64) → recurrent({UNITS}) → Dense(1); x ({SAMPLES}, {STEPS}), "
          f"batch {BATCH}, RMSprop(1e-4), float32")
    print(f"CPU: {cpu} ({isa}), {os.cpu_count()} cores; removed from the engines' "
          f"environment: {removed or 'nothing'}")
    for e in procs:
        ms = sorted(t * 1e3 for t in times[e])
        print(f"{e:22s} median {ms[len(ms) // 2]:7.2f} ms/step  (epochs: "
              f"{', '.join(f'{t:.2f}' for t in ms)})  losses per epoch: "
              f"{', '.join(f'{v:.5f}' for v in losses[e])}")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        worker(sys.argv[2])
    else:
        main()
