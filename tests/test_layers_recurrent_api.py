"""``rnncore.layers.SimpleRNN`` / ``LSTM`` / ``GRU`` as Keras users meet them, every test run for
every cell of ``_recurrent_cells.CELLS``: weights with Keras's names, shapes and order, config,
argument and input checks, input conversion, dtypes and stateful bookkeeping. Numerics against
Keras: test_layers_recurrent.py. Cell-specific tests are at the end."""
import numpy as np
import pytest

from rnncore import layers
from _recurrent_cells import BY_ID, built_layer, cell_params, over_cells
from _tolerance import FLOAT32_VS_FLOAT64_ATOL

SMALL = (4, 7, 3, 5)  # B, T, I, H


def _as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


# ---- weights and config ---------------------------------------------------------------------
@pytest.mark.parametrize("use_bias", [True, False])
@over_cells
def test_weights_have_keras_names_shapes_and_order(keras, cell, use_bias):
    layer = cell.layer(5, use_bias=use_bias)
    k = cell.layer(5, lib=keras, use_bias=use_bias)
    assert layer.weights == [] and not layer.built
    layer(np.zeros((2, 3, 7), np.float32))
    k.build((2, 3, 7))
    assert [v.name for v in layer.weights] == [v.name for v in k.weights]
    assert [v.name for v in layer.trainable_weights] == [v.name for v in k.trainable_weights]
    assert [w.shape for w in layer.get_weights()] == [w.shape for w in k.get_weights()]
    assert layer.count_params() == k.count_params()
    # Keras weights load into rnncore (and back) in get_weights order
    layer.set_weights(k.get_weights())
    for a, b in zip(layer.get_weights(), k.get_weights()):
        np.testing.assert_array_equal(a, b)


@over_cells
def test_set_weights_rejects_the_wrong_count_or_shape(rng, cell):
    layer = built_layer(rng, cell, 4, 3)
    with pytest.raises(ValueError, match="expects 3 weights, but the weights list has 2"):
        layer.set_weights(layer.get_weights()[:2])
    bad = layer.get_weights()
    bad[1] = np.zeros((4, 4 * cell.gates + 1), np.float32)
    with pytest.raises(ValueError, match=rf"recurrent_kernel.*expected shape \(4, "
                                         rf"{4 * cell.gates}\), got \(4, {4 * cell.gates + 1}\)"):
        layer.set_weights(bad)


def _config_kwargs(cell):
    kwargs = dict(units=6, activation="relu", use_bias=False, dropout=0.25,
                  recurrent_dropout=0.1, return_sequences=True, return_state=True,
                  go_backwards=True, stateful=False, seed=7, kernel_initializer="he_uniform",
                  recurrent_initializer="orthogonal", bias_initializer="zeros")
    if cell.gated:
        kwargs["recurrent_activation"] = "hard_sigmoid"
    if cell.layer_name == "LSTM":
        kwargs["unit_forget_bias"] = False
    if cell.layer_name == "GRU":
        kwargs["reset_after"] = cell.options["reset_after"]
    return kwargs


@over_cells
def test_get_config_round_trips_with_keras_keys(keras, rng, cell):
    kwargs = _config_kwargs(cell)
    layer = getattr(layers, cell.layer_name)(truncate_gradient=4, name="rnn_cfg", **kwargs)
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    assert config["truncate_gradient"] == 4 and config["name"] == "rnn_cfg"
    assert isinstance(layers.deserialize(layers.serialize(layer)), type(layer))
    # the arguments a Keras user knows are recorded under Keras's keys and values
    k_config = getattr(keras.layers, cell.layer_name)(**kwargs).get_config()
    for key in [k for k in kwargs if k != "seed" and not k.endswith("_initializer")] + \
            ["unroll", "zero_output_for_mask"]:
        assert config[key] == k_config[key], key
    for key in ("kernel_initializer", "recurrent_initializer", "bias_initializer"):
        assert config[key]["class_name"] == k_config[key]["class_name"], key
    # and the clone computes the same function once it holds the same weights
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    layer(x)
    clone(x)
    clone.set_weights(layer.get_weights())
    for a, b in zip(layer(x), clone(x)):
        np.testing.assert_array_equal(a, b)


@over_cells
def test_defaults_are_keras_defaults(keras, cell):
    ours = getattr(layers, cell.layer_name)(3).get_config()
    theirs = getattr(keras.layers, cell.layer_name)(3).get_config()
    for key in theirs:
        if key in ("name", "dtype", "seed") or key.endswith(("_initializer", "_regularizer",
                                                             "_constraint")):
            continue
        assert ours[key] == theirs[key], key


@over_cells
def test_compute_output_shape_matches_the_output(rng, cell):
    B, T, I, H = SMALL
    x = np.zeros((B, T, I), np.float32)
    for kwargs in ({}, {"return_sequences": True}, {"return_state": True},
                   {"return_sequences": True, "return_state": True}):
        layer = built_layer(rng, cell, H, I, **kwargs)
        shapes = layer.compute_output_shape((B, T, I))
        outs = _as_list(layer(x))
        shapes = shapes if isinstance(shapes, list) else [shapes]
        assert len(outs) == 1 + (cell.n_states if kwargs.get("return_state") else 0)
        assert [o.shape for o in outs] == [tuple(s) for s in shapes]


# ---- inputs ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["int64", "int32", "bool", "float64", "non-contiguous",
                                  "fortran-order"])
@over_cells
def test_convertible_inputs_are_converted_not_rejected(rng, cell, kind):
    layer = built_layer(rng, cell, 5, 3, return_sequences=True)
    base = rng.integers(-3, 4, size=(4, 6, 3))
    if kind == "bool":
        base = base > 0
    ref_in = np.ascontiguousarray(base, dtype=np.float32)
    if kind in ("int64", "int32", "bool", "float64"):
        given = base.astype(kind)
    elif kind == "non-contiguous":
        given = np.repeat(ref_in, 2, axis=1)[:, ::2]
        assert not given.flags.c_contiguous
    else:
        given = np.asfortranarray(ref_in)
    out = layer(given)
    assert out.dtype == np.float32
    d_given = layer.backward(np.ones_like(out))
    np.testing.assert_array_equal(out, layer(ref_in))
    np.testing.assert_array_equal(d_given, layer.backward(np.ones_like(out)))


@over_cells
def test_float64_layer_matches_float32_layer(rng, cell):
    x = rng.standard_normal((3, 5, 2))
    l32 = built_layer(rng, cell, 4, 2, return_sequences=True)
    l64 = built_layer(rng, cell, 4, 2, return_sequences=True, dtype="float64")
    l64.set_weights(l32.get_weights())
    y32, y64 = l32(x), l64(x)
    assert y32.dtype == np.float32
    assert y64.dtype == np.float64 and l64.kernel.dtype == np.float64
    np.testing.assert_allclose(y32, y64, atol=FLOAT32_VS_FLOAT64_ATOL)


def _bad_inputs(cell):
    return [
        ("2D", np.zeros((4, 3), np.float32),
         r"inputs must be 3D \(batch, timesteps, features\), got shape \(4, 3\)"),
        ("4D", np.zeros((2, 4, 3, 1), np.float32),
         r"inputs must be 3D .*got shape \(2, 4, 3, 1\)"),
        ("str", np.full((2, 4, 3), "a"), r"inputs must be a numeric array.*, got dtype <U1"),
        ("object", np.full((2, 4, 3), None),
         r"inputs must be a numeric array.*, got dtype object"),
        ("features", np.zeros((2, 4, 5), np.float32),
         r"inputs have 5 features, but the layer was built for 3"),
    ]


@pytest.mark.parametrize("cell,name,inputs,match", cell_params(_bad_inputs))
def test_bad_inputs_are_value_errors_naming_them(rng, cell, name, inputs, match):
    layer = built_layer(rng, cell, 6, 3)
    with pytest.raises(ValueError, match=match):
        layer(inputs)


def _bad_states(cell):
    n = cell.n_states
    ok = np.zeros((2, 6), np.float32)
    rows = [
        ("units", [np.zeros((2, 5), np.float32)] + [ok] * (n - 1),
         r"initial_state\[0\] must have shape \(2, 6\), got \(2, 5\)"),
        ("batch", [np.zeros((3, 6), np.float32)] + [ok] * (n - 1),
         r"initial_state\[0\] must have shape \(2, 6\), got \(3, 6\)"),
        ("1D", [np.zeros((6,), np.float32)] + [ok] * (n - 1),
         r"initial_state\[0\] must have shape \(2, 6\), got \(6,\)"),
        ("one-too-many", [ok] * (n + 1),
         rf"initial_state must be a list of {n} array\(s\).*got {n + 1}"),
        ("str", [np.full((2, 6), "x")] + [ok] * (n - 1),
         r"initial_state\[0\] must be a numeric array.*, got dtype <U1"),
    ]
    if n == 2:
        rows += [("one-too-few", [ok], r"initial_state must be a list of 2 array\(s\).*got 1"),
                 ("second", [ok, np.zeros((2, 4))],
                  r"initial_state\[1\] must have shape \(2, 6\), got \(2, 4\)")]
    else:  # a single state may come without its list
        rows += [("bare-array", np.zeros((2, 5), np.float32),
                  r"initial_state\[0\] must have shape \(2, 6\), got \(2, 5\)")]
    return rows


@pytest.mark.parametrize("cell,name,state,match", cell_params(_bad_states))
def test_bad_initial_state_is_a_value_error_naming_it(rng, cell, name, state, match):
    layer = built_layer(rng, cell, 6, 3)
    with pytest.raises(ValueError, match=match):
        layer(np.zeros((2, 4, 3), np.float32), initial_state=state)


@over_cells
def test_bad_mask_shape_is_a_value_error(rng, cell):
    layer = built_layer(rng, cell, 6, 3)
    with pytest.raises(ValueError, match=r"mask must have shape .*\(2, 4\).*got \(2, 5\)"):
        layer(np.zeros((2, 4, 3), np.float32), mask=np.ones((2, 5), bool))


def _bad_arguments(cell):
    rows = [
        ("units-0", {"units": 0}, r"units must be a positive integer, got 0"),
        ("units-neg", {"units": -3}, r"units must be a positive integer, got -3"),
        ("units-float", {"units": 2.5}, r"units must be a positive integer, got 2.5"),
        ("truncate-0", {"truncate_gradient": 0}, r"truncate_gradient must be -1 .*got 0"),
        ("truncate-neg", {"truncate_gradient": -2}, r"truncate_gradient must be -1 .*got -2"),
        ("activation", {"activation": "swishh"}, r"activation: unknown activation 'swishh'"),
        ("dtype", {"dtype": "int32"}, r"dtype must be 'float32' or 'float64', got 'int32'"),
    ]
    if cell.gated:
        rows += [
            ("recurrent_activation", {"recurrent_activation": "sigmoidd"},
             r"recurrent_activation: unknown activation 'sigmoidd'"),
            ("implementation", {"implementation": 3}, r"implementation must be 0, 1 or 2, got 3"),
            ("use_cudnn", {"use_cudnn": "maybe"},
             r"use_cudnn must be 'auto', True or False, got 'maybe'"),
        ]
    if cell.layer_name == "LSTM":
        rows += [("unit_forget_bias", {"unit_forget_bias": "yes"}, r"unit_forget_bias.*'yes'")]
    if cell.layer_name == "GRU":
        rows += [("reset_after-" + repr(v), {"reset_after": v},
                  rf"reset_after must be True or False, got {v!r}") for v in ("yes", 1, None)]
    return rows


@pytest.mark.parametrize("cell,name,kwargs,match", cell_params(_bad_arguments))
def test_bad_arguments_are_value_errors_naming_them(cell, name, kwargs, match):
    kwargs = {"units": 4, **kwargs}
    with pytest.raises(ValueError, match=match):
        cell.layer(**kwargs)


# ---- stateful bookkeeping -------------------------------------------------------------------
@over_cells
def test_stateful_rejects_another_batch_size(rng, cell):
    layer = built_layer(rng, cell, 3, 2, stateful=True)
    layer(np.zeros((4, 5, 2), np.float32))
    with pytest.raises(ValueError, match="stateful with batch size 4, got a batch of 3"):
        layer(np.zeros((3, 5, 2), np.float32))


@over_cells
def test_reset_states_needs_a_stateful_layer(rng, cell):
    with pytest.raises(AttributeError, match="not stateful"):
        built_layer(rng, cell, 3, 2).reset_states()


# ==== cell-specific =========================================================================
def test_lstm_weights_have_keras_names_shapes_and_forget_bias():
    layer = layers.LSTM(3)
    layer.build((None, None, 2))
    assert [(w.name, w.shape) for w in layer.weights] == [
        ("kernel", (2, 12)), ("recurrent_kernel", (3, 12)), ("bias", (12,))]
    np.testing.assert_array_equal(layer.bias.value, [0] * 3 + [1] * 3 + [0] * 6)
    # the orthogonal (3, 12) recurrent kernel comes out of QR transposed: stored C-ordered all
    # the same, as the kernels and optimizers' in-place updates expect
    assert all(w.value.flags.c_contiguous for w in layer.weights)
    plain = layers.LSTM(3, unit_forget_bias=False)
    plain.build((None, None, 2))
    np.testing.assert_array_equal(plain.bias.value, 0)
    no_bias = layers.LSTM(3, use_bias=False)
    assert no_bias(np.zeros((1, 2, 2))).shape == (1, 3)
    assert [w.name for w in no_bias.weights] == ["kernel", "recurrent_kernel"]


def test_gru_weights_of_the_other_variant_do_not_load():
    layer = BY_ID["gru-reset_before"].layer(4)
    layer(np.zeros((1, 2, 3), np.float32))
    other = BY_ID["gru-reset_after"].layer(4)
    other(np.zeros((1, 2, 3), np.float32))
    with pytest.raises(ValueError, match=r"weight 'bias': expected shape \(12,\), got \(2, 12\)"):
        layer.set_weights(other.get_weights())

