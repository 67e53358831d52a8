"""Keras's guide "Understanding masking & padding" run with rnncore as with Keras: the
TemporalSoftmax layer divides by zero on padded steps, which gives nan there silently (as
TensorFlow does), and the rest of its output matches Keras."""
import warnings

import numpy as np

import rnncore


def _model(lib):
    ops, layers = lib.ops, lib.layers

    class TemporalSoftmax(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs, mask=None):
            broadcast_float_mask = ops.expand_dims(ops.cast(mask, "float32"), -1)
            inputs_exp = ops.exp(inputs) * broadcast_float_mask
            inputs_sum = ops.sum(inputs_exp * broadcast_float_mask, axis=-1, keepdims=True)
            return inputs_exp / inputs_sum

    inputs = lib.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(input_dim=10, output_dim=4, mask_zero=True)(inputs)
    return lib.Model(inputs, TemporalSoftmax()(layers.Dense(1)(x)))


def test_temporal_softmax_on_padding_as_keras_without_warnings(keras):
    padded = keras.utils.pad_sequences([[7, 6, 1], [7, 3, 2, 5, 9], [3, 1]], padding="post")
    k_model, r_model = _model(keras), _model(rnncore)
    r_model.set_weights(k_model.get_weights())
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        r_out = r_model.predict(padded, verbose=0)
        r_eager = np.asarray(r_model(padded))
    k_out = k_model.predict(padded, verbose=0)
    np.testing.assert_allclose(r_out, k_out, atol=1e-6)  # nan where Keras has nan
    np.testing.assert_allclose(r_eager, k_out, atol=1e-6)
    assert np.isnan(r_out[padded == 0]).all()
