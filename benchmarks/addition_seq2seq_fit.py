"""Time per training step of Keras's "addition" sequence-to-sequence example (LSTM encoder →
RepeatVector → LSTM decoder → TimeDistributed(Dense(softmax))) trained with ``fit`` in rnncore
and in Keras 3 (TensorFlow), on the same data, from equal weights.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/addition_seq2seq_fit.py

Each engine runs in its own process (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its
environment, see README); the processes take turns: one untimed epoch (Keras traces its step
there), then ``--rounds`` timed epochs each, alternating engines. Prints ms per step (median
over the timed epochs) and the final losses, which agree when the libraries do.
"""
import argparse
import json
import os
import subprocess
import sys
import time

CHARS, DIGITS = "0123456789+ ", 3
MAXLEN = DIGITS + 1 + DIGITS
UNITS, SAMPLES, BATCH = 128, 4000, 32


def _data():
    """Keras's addition_rnn data: "12+345 " → "357 ", one-hot, questions reversed."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.integers(0, 10 ** DIGITS, SAMPLES)
    b = rng.integers(0, 10 ** DIGITS, SAMPLES)

    def encode(texts, length):
        out = np.zeros((len(texts), length, len(CHARS)), np.float32)
        for n, text in enumerate(texts):
            for i, c in enumerate(text.ljust(length)):
                out[n, i, CHARS.index(c)] = 1
        return out

    x = encode([f"{i}+{j}" for i, j in zip(a, b)], MAXLEN)[:, ::-1]
    y = encode([str(i + j) for i, j in zip(a, b)], DIGITS + 1)
    return np.ascontiguousarray(x), y


def _model(lib):
    L = lib.layers
    model = lib.Sequential([lib.Input(shape=(MAXLEN, len(CHARS))), L.LSTM(UNITS),
                            L.RepeatVector(DIGITS + 1), L.LSTM(UNITS, return_sequences=True),
                            L.TimeDistributed(L.Dense(len(CHARS), activation="softmax"))])
    model.compile(lib.optimizers.Adam(1e-3), "categorical_crossentropy", metrics=["accuracy"])
    return model


def worker(engine):
    """Reads 'epoch' lines on stdin, answers one JSON line per epoch."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if engine == "keras":
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        import keras as lib
    else:
        import rnncore as lib
    import numpy as np

    x, y = _data()
    model = _model(lib)
    weights = np.load(sys.argv[3], allow_pickle=True)
    model.set_weights(list(weights))
    for line in sys.stdin:
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

    weights = [w.astype(np.float32) for w in _model(rnncore).get_weights()]
    path = os.path.join(tempfile.mkdtemp(), "w.npy")
    arr = np.empty(len(weights), object)
    arr[:] = weights
    np.save(path, arr, allow_pickle=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    removed = [k for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ]
    procs = {e: subprocess.Popen([sys.executable, __file__, "--worker", e, path], env=env,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for e in ("rnncore", "keras")}
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
    print(f"addition seq2seq LSTM({UNITS})→RepeatVector({DIGITS + 1})→LSTM({UNITS}, "
          f"return_sequences)→TimeDistributed(Dense({len(CHARS)}, softmax)); x ({SAMPLES}, "
          f"{MAXLEN}, {len(CHARS)}), batch {BATCH}, Adam, categorical crossentropy, float32")
    print(f"CPU: {cpu} ({isa}), {os.cpu_count()} cores; removed from the engines' "
          f"environment: {removed or 'nothing'}")
    for e in procs:
        ms = sorted(t * 1e3 for t in times[e])
        print(f"{e:8s} median {ms[len(ms) // 2]:7.2f} ms/step  (epochs: "
              f"{', '.join(f'{t:.2f}' for t in ms)})  losses per epoch: "
              f"{', '.join(f'{v:.5f}' for v in losses[e])}")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        worker(sys.argv[2])
    else:
        main()
