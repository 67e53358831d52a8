"""The optimizer's state travels in ``.keras`` (``optimizer/vars`` in ``model.weights.h5``):
training resumed in the other engine continues from the same step (issue 14)."""
import numpy as np
import pytest

import rnncore

OPTIMIZERS = {"rmsprop": lambda lib: lib.optimizers.RMSprop(1e-2),
              "adam": lambda lib: lib.optimizers.Adam(1e-2),
              "sgd-momentum": lambda lib: lib.optimizers.SGD(0.05, momentum=0.9)}


def _model(lib, optimizer):
    L = lib.layers
    model = lib.Sequential([L.Input((8,), dtype="int32"), L.Embedding(30, 4), L.GRU(5),
                            L.Dense(1, activation="sigmoid")])
    model.compile(OPTIMIZERS[optimizer](lib), "binary_crossentropy")
    return model


def _data(rng):
    return rng.integers(0, 30, (48, 8)), rng.integers(0, 2, (48, 1)).astype("float32")


def _resume(model, x, y):
    return model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0).history["loss"]


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("direction", ["rnncore-to-keras", "keras-to-rnncore"])
def test_training_resumes_in_the_other_engine_from_the_same_step(keras, rng, tmp_path,
                                                                 optimizer, direction):
    source, target = (rnncore, keras) if direction == "rnncore-to-keras" else (keras, rnncore)
    x, y = _data(rng)
    model = _model(source, optimizer)
    model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)  # 6 steps
    model.save(tmp_path / "m.keras")
    loaded = target.models.load_model(tmp_path / "m.keras")
    assert int(np.asarray(loaded.optimizer.iterations)) == 6
    # the same next steps: the original goes on in its engine, the file in the other one
    expected = _resume(model, x, y)
    got = _resume(loaded, x, y)
    np.testing.assert_allclose(got, expected, rtol=1e-3)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-3, atol=1e-5)


def test_without_the_state_the_next_steps_differ(rng, tmp_path):
    # include_optimizer=False writes no optimizer/vars: the state starts afresh, so the
    # comparison above can tell a restored state from a fresh one
    x, y = _data(rng)
    model = _model(rnncore, "adam")
    model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    model.save(tmp_path / "with.keras")
    model.save(tmp_path / "without.keras", include_optimizer=False)
    fresh = rnncore.models.load_model(tmp_path / "without.keras")
    restored = rnncore.models.load_model(tmp_path / "with.keras")
    assert fresh.optimizer.iterations == 0 and restored.optimizer.iterations == 6
    assert _resume(restored, x, y) == _resume(model, x, y)
    assert _resume(fresh, x, y) != _resume(rnncore.models.load_model(tmp_path / "with.keras"),
                                            x, y)
