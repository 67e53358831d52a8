"""Models that take raw text: Input(dtype="string") → TextVectorization → Embedding → RNN, as
Keras's text classification programs build them, trained to Keras's numbers."""
import numpy as np
import pytest

import rnncore

TEXTS = np.array(["The movie was great!", "Terrible, awful film.", "great acting, great plot",
                  "awful awful plot", "I liked it", "not good at all"])
Y = np.array([1, 0, 1, 0, 1, 0], "float32")


def _functional(lib, vec):
    inp = lib.Input(shape=(1,), dtype="string")
    out = lib.layers.Dense(1, activation="sigmoid")(
        lib.layers.LSTM(4)(lib.layers.Embedding(30, 8)(vec(inp))))
    return lib.Model(inp, out)


def _sequential(lib, vec):
    return lib.Sequential([lib.Input(shape=(1,), dtype="string"), vec,
                           lib.layers.Embedding(30, 8), lib.layers.GRU(4),
                           lib.layers.Dense(1, activation="sigmoid")])


@pytest.mark.parametrize("build", [_functional, _sequential])
def test_text_model_trains_as_keras(keras, tf, build):
    results, start = [], None
    for lib in (keras, rnncore):
        vec = lib.layers.TextVectorization(max_tokens=30, output_sequence_length=6)
        vec.adapt(TEXTS)
        model = build(lib, vec)
        if start is None:
            start = model.get_weights()
        model.set_weights(start)
        model.compile(lib.optimizers.SGD(0.5), "binary_crossentropy",
                      metrics=["accuracy", "mae"])
        # Keras's fit takes text as a tf tensor; rnncore takes NumPy strings (or the tensor)
        x = tf.constant(TEXTS[:, None]) if lib is keras else TEXTS[:, None]
        history = model.fit(x, Y, epochs=3, batch_size=3, shuffle=False, verbose=0).history
        probe = np.array([["great film"], ["awful acting"]])
        results.append((model, history, model.predict(
            tf.constant(probe) if lib is keras else probe, verbose=0)))
    (_, k_hist, k_pred), (_, r_hist, r_pred) = results
    for key in k_hist:
        np.testing.assert_allclose(r_hist[key], k_hist[key], rtol=1e-5)
    np.testing.assert_allclose(r_pred, k_pred, atol=1e-6)


def test_text_is_refused_where_numbers_are_expected():
    model = rnncore.Sequential([rnncore.Input((3,)), rnncore.layers.Dense(1)])
    with pytest.raises(ValueError, match=r"x must be a numeric array"):
        model.predict(np.array([["a", "b", "c"]]), verbose=0)
