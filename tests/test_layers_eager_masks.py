"""Eager layer calls carry Keras's masks: `output._keras_mask`, and a layer that supports
masking uses the mask its input carries (Keras's masking-and-padding guide)."""
import numpy as np

import rnncore

RAW = [[711, 632, 71], [73, 8, 3215, 55, 927], [83, 91, 1, 645, 1253, 927]]


def test_keras_mask_of_eager_outputs_as_keras(keras):
    padded = rnncore.preprocessing.sequence.pad_sequences(RAW, padding="post")
    results = []
    for lib in (keras, rnncore):
        emb = lib.layers.Embedding(input_dim=5000, output_dim=4, mask_zero=True)
        out = emb(padded)
        if results:
            emb.set_weights(results[0][0])
            out = emb(padded)
        lstm = lib.layers.LSTM(2, return_sequences=True)
        seq = lstm(out)
        if results:
            lstm.set_weights(results[0][1])
            seq = lstm(out)
        results.append((emb.get_weights(), lstm.get_weights(), np.asarray(out._keras_mask),
                        np.asarray(seq._keras_mask), np.asarray(seq)))
    (_, _, k_mask, k_seq_mask, k_seq), (_, _, r_mask, r_seq_mask, r_seq) = results
    np.testing.assert_array_equal(r_mask, k_mask)
    np.testing.assert_array_equal(r_seq_mask, k_seq_mask)
    # the LSTM used the carried mask: masked steps repeat the last real output, as in Keras
    np.testing.assert_allclose(r_seq, k_seq, atol=1e-6)


def test_masking_layer_mask_and_plain_arrays_without_one(rng):
    x = rng.random((3, 6, 4)).astype("float32")
    x[0, 3:] = 0
    out = rnncore.layers.Masking()(x)
    np.testing.assert_array_equal(np.asarray(out._keras_mask)[0], [1, 1, 1, 0, 0, 0])
    dense = rnncore.layers.Dense(2)(rng.random((3, 4)).astype("float32"))
    assert dense._keras_mask is None  # no mask
    assert type(dense.numpy()) is np.ndarray  # as TensorFlow's eager tensors
    assert (out * 2)._keras_mask is None  # NumPy results carry none
