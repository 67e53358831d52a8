"""Custom layers, subclassed models, a custom RNN cell and a custom loss: the same Keras code
(``_custom_programs``) runs on Keras and on rnncore, and from equal weights trains to the same
losses and predictions. Then the errors a wrong program gets."""
import numpy as np
import pytest

import rnncore

from _custom_programs import PROGRAMS


def _head(x):
    return [v[:2] for v in x] if isinstance(x, list) else x[:2]


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_trains_to_kerass_numbers(name, keras):
    theirs, x, y, loss = PROGRAMS[name](keras, keras.ops)
    mine, _, _, my_loss = PROGRAMS[name](rnncore, rnncore.ops)
    theirs(_head(x))
    mine(_head(x))
    assert [w.shape for w in mine.get_weights()] == [w.shape for w in theirs.get_weights()]
    mine.set_weights(theirs.get_weights())
    theirs.compile(optimizer=keras.optimizers.Adam(0.01), loss=loss)
    mine.compile(optimizer=rnncore.optimizers.Adam(0.01), loss=my_loss)
    their_losses = [float(theirs.train_on_batch(x, y)) for _ in range(5)]
    my_losses = [float(mine.train_on_batch(x, y)) for _ in range(5)]
    np.testing.assert_allclose(my_losses, their_losses, rtol=1e-3)
    assert their_losses[-1] < their_losses[0]
    # (the weights are not compared one by one: the attention score's bias has a gradient
    # of exactly zero, the softmax over time cancels it, and Adam turns its rounding noise
    # into steps of any sign)
    np.testing.assert_allclose(mine.predict(x, verbose=0), theirs.predict(x, verbose=0),
                               rtol=1e-3, atol=1e-4)


def test_metric_function_written_with_ops_gives_kerass_values(keras):
    def metric(K):
        def within_half(y_true, y_pred):
            close = K.ops.less_equal(K.ops.abs(y_true - y_pred), 0.5)
            return K.ops.mean(K.ops.cast(close, "float32"), axis=-1)
        return within_half

    models = []
    for lib in (keras, rnncore):
        model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(2)])
        model.compile("sgd", "mse", metrics=[metric(lib)])
        models.append(model)
    models[1].set_weights(models[0].get_weights())
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(32, 3)).astype("float32"), rng.normal(size=(32, 2)).astype("float32")
    theirs = models[0].evaluate(x, y, verbose=0, return_dict=True)
    mine = models[1].evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(mine) == sorted(theirs) == ["loss", "within_half"]
    for key in theirs:
        np.testing.assert_allclose(mine[key], theirs[key], rtol=1e-5, err_msg=key)
