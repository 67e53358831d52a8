"""rnncore saves and loads Keras's files without TensorFlow or Keras (issue 14): run in a
subprocess where importing either raises ImportError."""
import subprocess
import sys
import textwrap

_PROGRAM = textwrap.dedent("""
    import sys

    class _Blocked:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("tensorflow", "keras", "tf_keras", "jax", "torch"):
                raise ImportError(f"{name} is blocked in this test")
            return None

    sys.meta_path.insert(0, _Blocked())
    for name in list(sys.modules):
        if name.split(".")[0] in ("tensorflow", "keras"):
            del sys.modules[name]

    import os
    import numpy as np
    import rnncore as keras

    directory = sys.argv[1]
    model = keras.Sequential()
    model.add(keras.layers.Embedding(500, 16, input_length=100))
    model.add(keras.layers.LSTM(8))
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-4),
                  loss="binary_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 500, (64, 100)), rng.integers(0, 2, (64,))
    checkpoint = keras.callbacks.ModelCheckpoint(os.path.join(directory, "best-lstm-model.h5"))
    model.fit(x, y, epochs=1, batch_size=32, verbose=0, callbacks=[checkpoint])
    model.save(os.path.join(directory, "m.keras"))
    model.save_weights(os.path.join(directory, "m.weights.h5"))
    expected = model.predict(x, verbose=0)
    for name in ("best-lstm-model.h5", "m.keras"):
        loaded = keras.models.load_model(os.path.join(directory, name))
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), expected)
        assert loaded.optimizer.iterations == 2
    model.load_weights(os.path.join(directory, "m.weights.h5"))
    assert not any(n.split(".")[0] in ("tensorflow", "keras") for n in sys.modules)
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        print("ok without tensorflow")
""")


def test_save_and_load_run_with_tensorflow_and_keras_blocked(tmp_path):
    result = subprocess.run([sys.executable, "-c", _PROGRAM, str(tmp_path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok without tensorflow")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best-lstm-model.h5", "m.keras",
                                                          "m.weights.h5"]
