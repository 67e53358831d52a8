"""Merge layers (Concatenate, Add, Subtract, Multiply, Average, Maximum, Minimum, Dot) and
their functional forms against Keras (issue 12)."""
import numpy as np
import pytest

import rnncore
from _layer_parity import (assert_bad_argument, assert_config_round_trip,
                           assert_gradients_finite_difference, assert_matches_keras,
                           assert_pickles, rel_err, save_load_predict)
from _parity import train_pair_on_batch

B, T, F = 4, 5, 6

# name: (class name, kwargs, input shapes)
CASES = {
    "add": ("Add", {}, [(B, T, F), (B, T, F)]),
    "add_three": ("Add", {}, [(B, T, F), (B, T, F), (B, T, F)]),
    "add_broadcast": ("Add", {}, [(B, T, F), (B, 1, F)]),
    "add_lower_rank": ("Add", {}, [(B, T, F), (B, F)]),
    "subtract": ("Subtract", {}, [(B, T, F), (B, T, F)]),
    "multiply": ("Multiply", {}, [(B, T, F), (B, T, F), (B, T, F)]),
    "multiply_broadcast": ("Multiply", {}, [(B, T, F), (B, T, 1)]),
    "average": ("Average", {}, [(B, F), (B, F), (B, F)]),
    "maximum": ("Maximum", {}, [(B, T, F), (B, T, F), (B, T, F)]),
    "minimum": ("Minimum", {}, [(B, T, F), (B, T, F)]),
    "concatenate": ("Concatenate", {}, [(B, T, F), (B, T, 2)]),
    "concatenate_time": ("Concatenate", {"axis": 1}, [(B, T, F), (B, 2, F), (B, 1, F)]),
    "concatenate_2d": ("Concatenate", {"axis": 1}, [(B, F), (B, 3)]),
    "dot_2d": ("Dot", {"axes": 1}, [(B, F), (B, F)]),
    "dot_last": ("Dot", {"axes": -1}, [(B, T, F), (B, 3, F)]),
    "dot_pairs": ("Dot", {"axes": (1, 2)}, [(B, T, F), (B, 3, T)]),
    "dot_mixed_rank": ("Dot", {"axes": (2, 1)}, [(B, T, F), (B, F)]),
    "dot_normalize": ("Dot", {"axes": 2, "normalize": True}, [(B, T, F), (B, 3, F)]),
}


def make(lib, name, **extra):
    cls, kwargs, _ = CASES[name]
    return getattr(lib.layers, cls)(**kwargs, **extra)


def data(name, rng, dtype="float32"):
    return [rng.normal(size=s).astype(dtype) for s in CASES[name][2]]


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_and_backward_match_keras(keras, tf, rng, name):
    assert_matches_keras(tf, make(keras, name), make(rnncore, name), data(name, rng))


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_match_finite_differences(rng, name):
    assert_gradients_finite_difference(make(rnncore, name, dtype="float64"),
                                       data(name, rng, "float64"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_output_shape_config_and_pickling(keras, rng, name):
    shapes = [(None,) + s[1:] for s in CASES[name][2]]
    k_layer, r_layer = make(keras, name), make(rnncore, name)
    k_layer.build(shapes)
    r_layer._maybe_build(shapes)
    assert r_layer.compute_output_shape(shapes) == tuple(k_layer.compute_output_shape(shapes))
    assert r_layer.weights == [] and r_layer.count_params() == 0
    assert set(k_layer.get_config()) - {"dtype"} <= set(r_layer.get_config())
    assert_config_round_trip(r_layer)
    assert_pickles(make(rnncore, name), data(name, rng))


MASKED = ["add", "subtract", "average", "multiply", "maximum", "minimum", "concatenate",
          "concatenate_time", "dot_last"]


@pytest.mark.parametrize("which", ["both", "first", "second"])
@pytest.mark.parametrize("name", MASKED)
def test_masks_merge_as_keras(keras, tf, rng, name, which):
    # Keras hands a merge layer the masks of its inputs (here attached to the tensors): the
    # output mask, and for Multiply/Maximum/Minimum the values, follow from them
    xs = data(name, rng)[:2]
    masks = [rng.random(x.shape[:2]) < 0.6 for x in xs]
    if which == "first":
        masks[1] = None
    elif which == "second":
        masks[0] = None
    assert_matches_keras(tf, make(keras, name), make(rnncore, name), xs, mask=masks)


def test_a_single_mask_is_the_first_inputs(rng):
    # a single mask= given to the call: the first input's, the others unmasked
    xs = data("maximum", rng)[:2]
    mask = rng.random((B, T)) < 0.5
    for name in ("maximum", "multiply", "concatenate_time"):
        a, b = make(rnncore, name), make(rnncore, name)
        np.testing.assert_array_equal(a.forward(xs, mask=mask), b.forward(xs, mask=[mask, None]))
        np.testing.assert_array_equal(a.compute_mask(xs[0], mask),
                                      b.compute_mask(xs, [mask, None]))


def _two_branch_models(lib, merge):
    L = lib.layers
    a, b = lib.Input(shape=(T, 3), name="a"), lib.Input(shape=(7, 2), name="b")
    ha = L.LSTM(5, name="lstm")(a)
    hb = L.GRU(5, name="gru")(b)
    h = getattr(L, merge)([ha, hb])
    out = L.Dense(1, activation="sigmoid", name="out")(L.Dense(4, activation="relu",
                                                               name="hidden")(h))
    return lib.Model([a, b], out)


@pytest.mark.parametrize("merge", ["concatenate", "add", "subtract", "multiply", "average",
                                   "maximum", "minimum"])
def test_functional_forms_build_the_layers_keras_builds(keras, rng, merge):
    k_model, r_model = _two_branch_models(keras, merge), _two_branch_models(rnncore, merge)
    assert [type(layer).__name__ for layer in r_model.layers] == \
        [type(layer).__name__ for layer in k_model.layers]
    assert [w.shape for w in r_model.weights] == [tuple(w.shape) for w in k_model.weights]
    assert r_model.count_params() == k_model.count_params()
    r_model.set_weights(k_model.get_weights())
    xs = [rng.normal(size=(8, T, 3)).astype("float32"),
          rng.normal(size=(8, 7, 2)).astype("float32")]
    np.testing.assert_allclose(r_model.predict(xs, verbose=0), k_model.predict(xs, verbose=0),
                               atol=1e-5)


def test_two_input_program_trains_as_keras(keras, rng):
    # A Keras program: two sequences, an LSTM branch and a GRU branch, concatenated, fit
    # with validation data; histories compared epoch by epoch
    k_model, r_model = (_two_branch_models(keras, "concatenate"),
                        _two_branch_models(rnncore, "concatenate"))
    r_model.set_weights(k_model.get_weights())
    n = 96
    xs = [rng.normal(size=(n, T, 3)).astype("float32"),
          rng.normal(size=(n, 7, 2)).astype("float32")]
    y = ((xs[0][:, :, 0].sum(1) + xs[1][:, :, 1].sum(1)) > 0).astype("float32")
    histories = []
    for model, lib in ((k_model, keras), (r_model, rnncore)):
        model.compile(lib.optimizers.Adam(0.01), "binary_crossentropy", metrics=["accuracy"])
        histories.append(model.fit(xs, y, batch_size=16, epochs=3, shuffle=False, verbose=0,
                                   validation_split=0.25).history)
    k_hist, r_hist = histories
    assert sorted(r_hist) == sorted(k_hist)
    for key in k_hist:
        tol = 1e-3 if "loss" in key else 0.02  # an accuracy may flip on one borderline sample
        for r, k in zip(r_hist[key], k_hist[key]):
            assert abs(r - k) <= tol * max(1.0, abs(k)), (key, r_hist[key], k_hist[key])
    for r, k in zip(r_model.get_weights(), k_model.get_weights()):
        assert rel_err(r, k) <= 1e-3


def test_masks_through_merges_in_a_model_as_keras(keras, rng):
    # only the first input carries a mask: Concatenate then gives Keras's all-true mask, the
    # element-wise merges none, and the LSTM after them reads every step, in both libraries
    def build(lib, merge):
        L = lib.layers
        ids, feats = lib.Input(shape=(T,), dtype="int32"), lib.Input(shape=(T, 3))
        e = L.Embedding(12, 3, mask_zero=True)(ids)
        h = getattr(L, merge)([e, feats])
        return lib.Model([ids, feats], L.Dense(1)(L.LSTM(4)(h)))

    ids = rng.integers(1, 12, size=(6, T))
    ids[:, 3:] = 0
    xs = [ids, rng.normal(size=(6, T, 3)).astype("float32")]
    for merge in ("concatenate", "add", "maximum", "multiply"):
        k_model, r_model = build(keras, merge), build(rnncore, merge)
        r_model.set_weights(k_model.get_weights())
        np.testing.assert_allclose(r_model.predict(xs, verbose=0),
                                   k_model.predict(xs, verbose=0), atol=1e-5)


def _two_masked_inputs(lib, merge):
    L = lib.layers
    a, b = lib.Input(shape=(T,), dtype="int32"), lib.Input(shape=(T,), dtype="int32")
    h = getattr(L, merge)([L.Embedding(12, 3, mask_zero=True)(a),
                           L.Embedding(12, 3, mask_zero=True)(b)])
    return lib.Model([a, b], L.Dense(1, activation="sigmoid")(L.LSTM(4)(h)))


def _two_masked_ids(rng, n=6):
    a = rng.integers(1, 12, size=(n, T))
    b = rng.integers(1, 12, size=(n, T))
    a[:, 3:] = 0
    b[:, 2:] = 0  # the mask of the merge is a | b: steps 3 and 4 skipped
    b[0, 1] = 0  # a hole that only b has: a step Maximum and Multiply take from a alone
    return [a, b]


@pytest.mark.parametrize("merge", ["add", "concatenate", "maximum", "multiply", "minimum"])
def test_masks_of_every_merged_input_reach_the_merge_layer(keras, rng, merge):
    k_model, r_model = _two_masked_inputs(keras, merge), _two_masked_inputs(rnncore, merge)
    r_model.set_weights(k_model.get_weights())
    xs = _two_masked_ids(rng)
    np.testing.assert_allclose(r_model.predict(xs, verbose=0),
                               k_model.predict(xs, verbose=0), atol=1e-5)


def test_a_model_with_masked_merged_inputs_trains_as_keras(keras, rng):
    k_model, r_model = (_two_masked_inputs(keras, "maximum"),
                        _two_masked_inputs(rnncore, "maximum"))
    r_model.set_weights(k_model.get_weights())
    k_model.compile(keras.optimizers.Adam(0.01), "binary_crossentropy")
    r_model.compile(rnncore.optimizers.Adam(0.01), "binary_crossentropy")
    xs = _two_masked_ids(rng, 16)
    y = (xs[0][:, 0] > 6).astype("float32")
    train_pair_on_batch(k_model, r_model, xs, y, steps=3, tol=1e-4)


def test_save_load_and_eager_calls(rng, tmp_path):
    L = rnncore.layers
    a, b = rnncore.Input(shape=(T, F)), rnncore.Input(shape=(T, F))
    h = L.concatenate([L.add([a, b]), L.multiply([a, b]), L.maximum([a, b]),
                       L.minimum([a, b]), L.subtract([a, b]), L.average([a, b])], axis=-1)
    d = L.dot([h, a], axes=1)
    model = rnncore.Model([a, b], L.Dense(2)(L.Flatten()(d)))
    xs = [rng.normal(size=(3, T, F)).astype("float32") for _ in range(2)]
    loaded = save_load_predict(model, xs, tmp_path)
    assert [type(layer).__name__ for layer in loaded.layers][2:] == \
        ["Add", "Multiply", "Maximum", "Minimum", "Subtract", "Average", "Concatenate", "Dot",
         "Flatten", "Dense"]
    # eager: a list of arrays in, one array out
    np.testing.assert_array_equal(L.Add()([xs[0], xs[1]]), xs[0] + xs[1])
    np.testing.assert_array_equal(L.Concatenate(axis=1)(xs), np.concatenate(xs, axis=1))


BAD = [
    (lambda L: L.Concatenate(axis="last"), TypeError, "axis='last'"),
    (lambda L: L.Dot(axes="1"), TypeError, "axes='1'"),
    (lambda L: L.Dot(axes=(1, 2, 3)), ValueError, "axes=(1, 2, 3)"),
    (lambda L: L.Dot(axes=(1, 2.0)), ValueError, "axes=(1, 2.0)"),
    (lambda L: L.Add(axis=1), TypeError, "axis"),
]


@pytest.mark.parametrize("case", range(len(BAD)))
def test_bad_arguments_name_the_argument_and_value(case):
    assert_bad_argument(*BAD[case])


def test_bad_inputs_are_clear_errors():
    L = rnncore.layers
    x = rnncore.Input(shape=(T, F))
    with pytest.raises(ValueError, match="should be called on a list of inputs"):
        L.Add()(x)
    with pytest.raises(ValueError, match="should be called on a list of inputs"):
        L.Add()(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        L.Subtract()([x, x, x])
    with pytest.raises(ValueError, match="incompatible shapes"):
        L.Add()([x, rnncore.Input(shape=(T, 4))])
    with pytest.raises(ValueError, match="matching shapes except for the concatenation axis"):
        L.Concatenate(axis=1)([x, rnncore.Input(shape=(T, 4))])
    with pytest.raises(ValueError, match="axis values 6 .at axis 2. != 4"):
        L.Dot(axes=2)([x, rnncore.Input(shape=(T, 4))])
    with pytest.raises(ValueError, match="different batch sizes"):
        L.Add()([np.zeros((2, 3)), np.zeros((3, 3))])
    with pytest.raises(ValueError, match="same length"):
        L.Add()([np.zeros((2, 3, 1)), np.zeros((2, 3, 1))], mask=[None])
