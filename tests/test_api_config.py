"""keras.config and keras.backend settings: each changes in rnncore what it changes in Keras
(epsilon the clipping of losses, metrics and constraints; the image data format the layout of
layers made without ``data_format``; the caps on epochs and steps what fit runs; interactive
logging where fit's output goes), and the dtype helpers give Keras's answers."""
import itertools
import logging
import warnings

import numpy as np
import pytest

import rnncore


@pytest.fixture
def both(keras):
    """Keras and rnncore, with every setting these tests change put back afterwards."""
    yield keras, rnncore
    for lib in (keras, rnncore):
        lib.config.set_epsilon(1e-7)
        lib.config.set_image_data_format("channels_last")
        lib.config.set_max_epochs(None)
        lib.config.set_max_steps_per_epoch(None)
        lib.config.enable_interactive_logging()
        lib.config.enable_traceback_filtering()


def _small_model(lib, seed_weights=None):
    model = lib.Sequential([lib.Input((4, 3)), lib.layers.LSTM(3),
                            lib.layers.Dense(1, activation="sigmoid")])
    if seed_weights is not None:
        model.set_weights(seed_weights)
    model.compile(optimizer=lib.optimizers.SGD(0.1), loss="binary_crossentropy")
    return model


@pytest.mark.parametrize("make, probs", [
    (lambda m: m.losses.BinaryCrossentropy(), True),
    (lambda m: m.losses.CategoricalCrossentropy(), True),
    (lambda m: m.losses.KLDivergence(), True),
    (lambda m: m.losses.MeanAbsolutePercentageError(), False),
    (lambda m: m.losses.Poisson(), False),
    (lambda m: m.metrics.BinaryCrossentropy(), True),
])
def test_set_epsilon_changes_losses_and_metrics_as_keras(both, rng, make, probs):
    keras, _ = both
    t = rng.uniform(size=(6, 3)).astype("float32")
    t[:, 0] = 0.0
    p = rng.uniform(size=(6, 3)).astype("float32")
    p[:, 1] = 1e-6 if probs else 0.0  # inside the clip at 1e-3, outside it at 1e-7
    for value in (1e-3, 1e-7):
        results = []
        for lib in both:
            lib.config.set_epsilon(value)
            assert lib.backend.epsilon() == lib.config.epsilon() == value
            fn = make(lib)
            out = fn(t, p) if not hasattr(fn, "update_state") else (
                fn.update_state(t, p), fn.result())[1]
            results.append(float(np.asarray(out)))
        np.testing.assert_allclose(results[1], results[0], rtol=1e-5)


def test_set_epsilon_changes_unit_norm_constraint_as_keras(both):
    w = np.zeros((3, 2), "float32")
    w[0, 0] = 1e-4
    for lib in both:
        lib.config.set_epsilon(1e-3)
    k, r = (np.asarray(lib.constraints.UnitNorm()(w)) for lib in both)
    np.testing.assert_allclose(r, k, rtol=1e-6)


def test_set_epsilon_changes_dot_normalize_as_keras(both, rng):
    x = [rng.normal(size=(2, 3)).astype("float32") * 1e-3,
         rng.normal(size=(2, 3)).astype("float32")]
    for lib in both:
        lib.config.set_epsilon(1e-2)  # caps 1/|x| at 100: the first input's norm is below
    k, r = (np.asarray(lib.layers.Dot(axes=1, normalize=True)(x)) for lib in both)
    np.testing.assert_allclose(r, k, rtol=1e-5)


def test_set_epsilon_refuses_a_non_number():
    with pytest.raises(ValueError, match=r"value=.abc."):
        rnncore.config.set_epsilon("abc")


@pytest.mark.parametrize("make", [
    lambda m: m.layers.Flatten(),
    lambda m: m.layers.GlobalAveragePooling1D(),
    lambda m: m.layers.GlobalMaxPooling1D(),
    lambda m: m.layers.MaxPooling1D(2),
    lambda m: m.layers.AveragePooling1D(2),
    lambda m: m.layers.ZeroPadding1D(1),
    lambda m: m.layers.Conv1D(2, 2, kernel_initializer="ones"),
])
def test_image_data_format_is_the_default_data_format_as_keras(both, rng, make):
    x = rng.normal(size=(2, 3, 4)).astype("float32")
    for fmt in ("channels_first", "channels_last"):
        outs = []
        for lib in both:
            lib.config.set_image_data_format(fmt)
            assert lib.backend.image_data_format() == fmt
            layer = make(lib)
            assert layer.get_config()["data_format"] == fmt
            outs.append(np.asarray(layer(x)))
        np.testing.assert_allclose(outs[1], outs[0], rtol=1e-6)


def test_set_image_data_format_refuses_as_keras(both):
    for lib in both:
        with pytest.raises(ValueError, match=r"one of \{'channels_first', 'channels_last'\}. "
                                             r"Received: data_format=nhwc"):
            lib.backend.set_image_data_format("NHWC")


def test_max_epochs_and_max_steps_cap_fit_as_keras(both, rng):
    keras, _ = both
    x = rng.normal(size=(40, 4, 3)).astype("float32")
    y = (rng.uniform(size=(40, 1)) > 0.5).astype("float32")
    weights = _small_model(keras).get_weights()
    runs = []
    for lib in both:
        lib.config.set_max_epochs(2)
        lib.config.set_max_steps_per_epoch(3)
        assert (lib.config.max_epochs(), lib.config.max_steps_per_epoch()) == (2, 3)
        model = _small_model(lib, weights)
        seen = []
        counter = lib.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            history = model.fit(x, y, batch_size=5, epochs=5, shuffle=False, verbose=0,
                                callbacks=[counter])
        messages = {str(w.message) for w in caught}
        assert {"Limiting epochs to 2", "Limiting steps_per_epoch to 3"} <= messages
        runs.append((history.history["loss"], seen, model.get_weights()))
    (k_loss, k_seen, k_w), (r_loss, r_seen, r_w) = runs
    assert r_seen == k_seen == [0, 1, 2, 0, 1, 2]
    np.testing.assert_allclose(r_loss, k_loss, rtol=1e-4)
    for a, b in zip(r_w, k_w):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-6)


def test_max_steps_per_epoch_caps_predict_as_keras(both, rng):
    x = rng.normal(size=(40, 4, 3)).astype("float32")
    shapes = []
    for lib in both:
        lib.config.set_max_steps_per_epoch(2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            shapes.append(_small_model(lib).predict(x, batch_size=8, verbose=0).shape)
    assert shapes[1] == shapes[0] == (16, 1)


def test_disabled_interactive_logging_moves_fit_output_to_logging(both, rng, capsys, caplog):
    x = rng.normal(size=(8, 4, 3)).astype("float32")
    y = np.ones((8, 1), "float32")
    model = _small_model(rnncore)
    rnncore.config.disable_interactive_logging()
    assert not rnncore.config.is_interactive_logging_enabled()
    assert not rnncore.utils.is_interactive_logging_enabled()
    with caplog.at_level(logging.INFO, logger="rnncore"):
        model.fit(x, y, epochs=2, verbose=2)
        model.summary()
    assert capsys.readouterr().out == ""
    assert "Epoch 2/2" in caplog.text and "loss:" in caplog.text
    assert "Total params" in caplog.text
    rnncore.utils.enable_interactive_logging()
    model.fit(x, y, epochs=2, verbose=2)
    assert "Epoch 2/2" in capsys.readouterr().out


def test_flag_switches_answer_as_keras(both):
    for lib in both:
        lib.config.disable_traceback_filtering()
        assert lib.config.is_traceback_filtering_enabled() is False
        lib.config.enable_traceback_filtering()
        assert lib.config.is_traceback_filtering_enabled() is True
        lib.config.disable_interactive_logging()
        assert lib.config.is_interactive_logging_enabled() is False
    rnncore.config.enable_unsafe_deserialization()  # accepted; Lambdas stay refused on load


def test_dtype_policy_switch_as_keras(both):
    for lib in both:
        lib.config.set_dtype_policy("float64")
        try:
            assert lib.config.dtype_policy().name == "float64"
            assert lib.layers.Dense(2).dtype_policy.name == "float64"
        finally:
            lib.backend.clear_session()  # drops the global policy in both, so floatx rules again


def test_clear_session_drops_a_set_dtype_policy_as_keras(both):
    for lib in both:
        lib.config.set_dtype_policy("float32")
        lib.config.set_floatx("float64")
        try:
            assert lib.layers.Dense(2).dtype_policy.name == "float32"  # the set policy rules
            lib.backend.clear_session()
            assert lib.layers.Dense(2).dtype_policy.name == "float64"  # floatx's again
        finally:
            lib.config.set_floatx("float32")
            lib.backend.clear_session()


_DTYPES = [None, int, float, bool, "bool", "int8", "uint8", "int16", "uint32", "int32", "int64",
           "uint64", "float16", "bfloat16", "float32", "float64", "complex64", "complex128",
           np.float32, np.dtype("int16")]


def _outcome(fn, *args):
    try:
        return fn(*args)
    except ValueError as exc:
        return ("ValueError", str(exc))


def test_result_type_promotes_as_keras(keras):
    for n in (0, 1, 2):
        for combo in itertools.product(_DTYPES, repeat=n):
            assert _outcome(rnncore.backend.result_type, *combo) == \
                _outcome(keras.backend.result_type, *combo), combo
    assert _outcome(rnncore.backend.result_type, "float8_e5m2", "float32")[0] == "ValueError"


@pytest.mark.parametrize("dtype", [int, float, bool, str, "int", "float", np.float64, "int8",
                                   np.dtype("uint8"), "bfloat16", "string", None])
def test_dtype_names_as_keras(keras, dtype):
    for name in ("standardize_dtype", "is_float_dtype", "is_int_dtype"):
        assert _outcome(getattr(rnncore.backend, name), dtype) == \
            _outcome(getattr(keras.backend, name), dtype)
    assert rnncore.utils.standardize_dtype is rnncore.backend.standardize_dtype


def test_get_uid_counts_per_prefix_and_restarts_with_clear_session(keras):
    for lib in (keras, rnncore):
        assert [lib.backend.get_uid("uid_x"), lib.backend.get_uid("uid_x"),
                lib.backend.get_uid("uid_y")] == [1, 2, 1]
    rnncore.backend.clear_session(free_memory=False)  # as Keras, which is slow to call here
    assert rnncore.backend.get_uid("uid_x") == 1


def test_is_keras_tensor_as_keras(keras):
    for lib in (keras, rnncore):
        inp = lib.Input((3,))
        out = lib.layers.Dense(2)(inp)
        for fn in (lib.backend.is_keras_tensor, lib.utils.is_keras_tensor):
            assert fn(inp) and fn(out)
            assert not fn(np.zeros((2, 3))) and not fn(3.0)
