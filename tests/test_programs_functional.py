"""Programs from Keras's "The Functional API" guide and its neighbours, run with rnncore as
with Keras: a model whose outputs are a dict (the guide's ticket classifier) orders its
outputs, layers and weights by the dict's sorted keys, as Keras's ``tree.flatten``."""
import numpy as np
import pytest

import rnncore


def _ticket_model(lib):
    """The guide's multi-input, multi-output ticket classifier, its dict of outputs written
    with 'priority' before 'department' (not sorted)."""
    layers = lib.layers
    title = lib.Input(shape=(None,), name="title")
    body = lib.Input(shape=(None,), name="body")
    tags = lib.Input(shape=(6,), name="tags")
    t = layers.LSTM(5)(layers.Embedding(50, 4)(title))
    b = layers.LSTM(3)(layers.Embedding(50, 4)(body))
    x = layers.concatenate([t, b, tags])
    priority = layers.Dense(1, name="priority")(x)
    department = layers.Dense(4, name="department")(x)
    return lib.Model([title, body, tags], {"priority": priority, "department": department})


def _ticket_data(rng):
    x = {"title": rng.integers(0, 50, (16, 7)), "body": rng.integers(0, 50, (16, 9)),
         "tags": rng.integers(0, 2, (16, 6)).astype("float32")}
    y = {"priority": rng.random((16, 1)).astype("float32"),
         "department": np.eye(4, dtype="float32")[rng.integers(0, 4, 16)]}
    return x, y


def test_dict_outputs_order_layers_and_weights_by_sorted_keys(keras):
    keras.backend.clear_session()  # the automatic names start afresh in both
    k_model = _ticket_model(keras)
    rnncore.backend.clear_session()
    r_model = _ticket_model(rnncore)
    assert [layer.name for layer in r_model.layers] == [layer.name for layer in k_model.layers]
    assert [w.shape for w in r_model.get_weights()] == [w.shape for w in k_model.get_weights()]
    # Keras's weights load as they are: the user's usual way of moving a model over
    r_model.set_weights(k_model.get_weights())
    x, _ = _ticket_data(np.random.default_rng(0))
    k_out, r_out = k_model.predict(x, verbose=0), r_model.predict(x, verbose=0)
    assert list(r_out) == list(k_out) == ["priority", "department"]
    for key in k_out:
        np.testing.assert_allclose(r_out[key], k_out[key], atol=1e-5)


@pytest.mark.parametrize("order", [("priority", "department"), ("department", "priority")])
def test_evaluate_lists_output_losses_in_loss_dict_order(keras, order):
    rng = np.random.default_rng(1)
    x, y = _ticket_data(rng)
    results = []
    for lib in (keras, rnncore):
        model = _ticket_model(lib)
        if lib is rnncore:
            model.set_weights(weights)
        weights = model.get_weights()
        losses = {"priority": lib.losses.BinaryCrossentropy(from_logits=True),
                  "department": lib.losses.CategoricalCrossentropy(from_logits=True)}
        model.compile(optimizer=lib.optimizers.RMSprop(1e-3),
                      loss={k: losses[k] for k in order},
                      loss_weights={"priority": 1.0, "department": 0.2},
                      metrics={"department": ["accuracy"]})
        history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        results.append((history.history, model.evaluate(x, y, verbose=0)))
    (k_hist, k_eval), (r_hist, r_eval) = results
    assert list(r_hist) == list(k_hist)
    for key in k_hist:
        np.testing.assert_allclose(r_hist[key], k_hist[key], rtol=1e-4)
    np.testing.assert_allclose(r_eval, k_eval, rtol=1e-4)
