"""``ops.ctc_loss`` and ``ops.ctc_decode`` against Keras's (TensorFlow backend): the loss and
its gradient under ``GradientTape`` on the label layouts CTC programs use (repeats, padding,
empty and impossible label sequences, short inputs, another blank), the loss against a sum
over every alignment and the gradient against finite differences (float64), and both
decoders' labels and scores."""
import itertools

import numpy as np
import pytest

from _tolerance import assert_finite_difference_close, assert_keras_grad_close
from rnncore import losses, ops
from rnncore.ops._tape import Tensor, backward, recording

# name -> (labels, label lengths, logit lengths, mask_index); logits (3, 6, 5)
T, C = 6, 5
LOSS_CASES = {
    "distinct": ([[1, 2, 3], [4, 1, 2], [3, 4, 1]], [3, 3, 3], [6, 6, 6], 0),
    "repeated": ([[1, 1, 2], [3, 3, 3], [2, 4, 4]], [3, 3, 3], [6, 6, 6], 0),
    "padded": ([[1, 2, 0, 0], [4, 4, 1, 0], [3, 0, 0, 0]], [2, 3, 1], [6, 6, 6], 0),
    "padding_out_of_range": ([[1, 2, -1, 99], [4, 1, 99, 99], [3, 3, 3, 2]], [2, 2, 4],
                             [6, 6, 6], 0),
    "zero_length": ([[1, 2, 0], [0, 0, 0], [2, 0, 0]], [2, 0, 0], [6, 6, 3], 0),
    # five repeats need nine frames; a length past the labels' width has no end state
    "too_long": ([[1, 1, 1, 1, 1], [1, 2, 3, 4, 1], [2, 3, 0, 0, 0]], [5, 5, 6],
                 [6, 3, 6], 0),
    "short_inputs": ([[1, 2, 3], [4, 4, 0], [1, 0, 0]], [3, 2, 1], [4, 0, 2], 0),
    "lengths_past_frames": ([[1, 2], [3, 0], [4, 4]], [2, 1, 2], [9, -1, 6], 0),
    "blank_last": ([[0, 1, 2], [3, 3, 0], [2, 1, 0]], [3, 3, 2], [6, 6, 6], 4),
    "blank_middle": ([[0, 1, 3], [4, 4, 0], [1, 3, 4]], [3, 3, 2], [6, 5, 6], 2),
    "blank_negative": ([[0, 1, 2], [3, 3, 1], [0, 0, 0]], [3, 3, 1], [6, 6, 6], -1),
    "blank_none": ([[1, 2, 3], [4, 4, 1], [2, 0, 0]], [3, 3, 1], [6, 6, 6], None),
}


def _case(name, dtype):
    labels, label_length, logit_length, mask_index = LOSS_CASES[name]
    rng = np.random.default_rng(sorted(LOSS_CASES).index(name))
    logits = (1.5 * rng.normal(size=(3, T, C))).astype(dtype)
    return (np.array(labels), logits, np.array(label_length), np.array(logit_length),
            mask_index)


def _loss_and_grad(labels, logits, label_length, logit_length, mask_index, weights):
    with recording():
        leaf = Tensor(logits)
        loss = ops.ctc_loss(labels, leaf, label_length, logit_length, mask_index=mask_index)
        grad = backward([loss], [weights.astype(loss.dtype)]).of(leaf)
    return loss.value, grad


# float64 on the cases that exercise its own constants and paths (Keras runs it in float32,
# each case a few TensorFlow loops: the rest only in float32)
@pytest.mark.parametrize("name, dtype", [(name, "float32") for name in sorted(LOSS_CASES)] + [
    (name, "float64") for name in ("distinct", "too_long", "zero_length", "blank_middle")])
def test_loss_and_gradient_match_keras(name, dtype, keras, tf):
    labels, logits, label_length, logit_length, mask_index = _case(name, dtype)
    weights = np.array([1.0, -0.5, 2.0], dtype)
    variable = tf.Variable(logits)
    with tf.GradientTape() as tape:
        theirs = keras.ops.ctc_loss(labels, variable, label_length, logit_length,
                                    mask_index=mask_index)
        objective = tf.reduce_sum(theirs * weights)
    their_grad = tape.gradient(objective, variable).numpy()
    loss, grad = _loss_and_grad(labels, logits, label_length, logit_length, mask_index,
                                weights)
    assert loss.dtype == np.dtype(theirs.dtype.as_numpy_dtype) == dtype
    # Keras computes float64 in float32: both dtypes agree with it to float32's precision
    np.testing.assert_allclose(loss, theirs.numpy(), rtol=2e-6)
    assert grad.dtype == dtype
    assert_keras_grad_close(grad, their_grad)


def _alignments_probability(labels, logits, blank):
    """p(labels | logits) summed over every frame-by-frame path that collapses to them."""
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    total = 0.0
    for path in itertools.product(range(logits.shape[1]), repeat=logits.shape[0]):
        merged = [c for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
        if [c for c in merged if c != blank] == list(labels):
            total += np.prod(probs[np.arange(len(path)), path])
    return total


@pytest.mark.parametrize("labels, frames, blank", [
    ([1, 2], 4, 0), ([2, 2], 5, 0), ([1, 1, 1], 5, 0), ([], 3, 0), ([0, 2], 4, 1),
    ([1], 2, 2)])
def test_loss_sums_every_alignment(labels, frames, blank, rng):
    logits = rng.normal(size=(1, frames, 3))
    padded = np.array([labels + [0] * (3 - len(labels))])
    loss = ops.ctc_loss(padded, logits, [len(labels)], [frames], mask_index=blank)
    np.testing.assert_allclose(
        loss, [-np.log(_alignments_probability(labels, logits[0], blank))], rtol=1e-12)


@pytest.mark.parametrize("name", ["repeated", "padded", "short_inputs", "blank_middle"])
def test_gradient_matches_finite_differences(name):
    labels, logits, label_length, logit_length, mask_index = _case(name, "float64")
    weights = np.array([0.7, -1.3, 0.4])
    _, grad = _loss_and_grad(labels, logits, label_length, logit_length, mask_index, weights)
    numeric = np.zeros_like(logits)
    eps = 1e-6
    for i in np.ndindex(logits.shape):
        hi, lo = logits.copy(), logits.copy()
        hi[i] += eps
        lo[i] -= eps
        diff = (ops.ctc_loss(labels, hi, label_length, logit_length, mask_index=mask_index)
                - ops.ctc_loss(labels, lo, label_length, logit_length, mask_index=mask_index))
        numeric[i] = np.sum(weights * diff) / (2 * eps)
    assert_finite_difference_close(grad, numeric, "logits")


def test_losses_ctc_reads_lengths_as_keras(keras):
    """``keras.losses.ctc`` and ``CTC``: label lengths are the non-zero labels, every frame
    counts, the reduction averages over the batch."""
    rng = np.random.default_rng(3)
    y_true = np.array([[1, 2, 2, 0], [3, 0, 0, 0], [4, 1, 3, 2]], "float32")
    y_pred = rng.normal(size=(3, 8, 5)).astype("float32")
    np.testing.assert_allclose(losses.ctc(y_true, y_pred),
                               keras.losses.ctc(y_true, y_pred).numpy(), rtol=1e-6)
    for kwargs in ({}, {"reduction": "sum"}, {"reduction": None}):
        np.testing.assert_allclose(losses.CTC(**kwargs)(y_true, y_pred),
                                   keras.losses.CTC(**kwargs)(y_true, y_pred).numpy(),
                                   rtol=1e-6)
    assert losses.get("ctc") is losses.ctc
    assert losses.get("CTC").name == "ctc"
    assert losses.CTC().get_config() == keras.losses.CTC().get_config()
    assert isinstance(losses.deserialize(keras.losses.serialize(keras.losses.CTC())),
                      losses.CTC)


@pytest.mark.parametrize("form", ["object", "function"])
def test_losses_ctc_in_a_recorded_call_has_kerass_gradient(form, keras, tf):
    """An endpoint layer's ``self.add_loss(keras.losses.CTC()(y_true, y_pred))`` (or
    ``keras.losses.ctc``): the loss recorded, its gradient Keras's."""
    rng = np.random.default_rng(4)
    y_true = np.array([[2, 2, 1], [3, 0, 0]], "float32")
    y_pred = rng.random((2, 6, 4)).astype("float32")  # a softmax output, read as logits
    variable = tf.Variable(y_pred)
    with tf.GradientTape() as tape:
        theirs = (keras.losses.CTC()(y_true, variable) if form == "object" else
                  tf.reduce_sum(keras.losses.ctc(y_true, variable)))
    their_grad = tape.gradient(theirs, variable).numpy()
    with recording():
        leaf = Tensor(y_pred)
        loss = (losses.CTC()(y_true, leaf) if form == "object" else
                ops.sum(losses.ctc(y_true, leaf)))
        grad = backward([loss], [np.ones((), "float32")]).of(leaf)
    np.testing.assert_allclose(loss.value, theirs.numpy(), rtol=1e-6)
    assert_keras_grad_close(grad, their_grad)


# name -> (kwargs of ctc_decode, sequence lengths); inputs (3, 7, 5), some of them
# probabilities (a softmax output, as the Keras examples decode) and some logits
DECODE_CASES = {
    "greedy": ({}, [7, 4, 0]),
    "greedy_unmerged": ({"merge_repeated": False}, [7, 7, 3]),
    "greedy_blank_none": ({"mask_index": None}, [7, 5, 7]),
    "greedy_blank_negative": ({"mask_index": -2}, [7, 7, 7]),
    "beam": ({"strategy": "beam_search"}, [7, 6, 0]),
    "beam_narrow_top3": ({"strategy": "beam_search", "beam_width": 3, "top_paths": 3},
                         [7, 7, 5]),
    "beam_width1": ({"strategy": "beam_search", "beam_width": 1}, [7, 7, 7]),
    "beam_blank_last": ({"strategy": "beam_search", "beam_width": 4, "top_paths": 2,
                         "mask_index": 4}, [7, 3, 7]),
    "beam_blank_middle": ({"strategy": "beam_search", "beam_width": 5, "top_paths": 2,
                           "mask_index": 2}, [7, 7, 6]),
    "beam_blank_none": ({"strategy": "beam_search", "beam_width": 6, "top_paths": 4,
                         "mask_index": None}, [7, 7, 7]),
    "beam_unmerged_ignored": ({"strategy": "beam_search", "merge_repeated": False,
                               "beam_width": 8, "top_paths": 3}, [7, 7, 7]),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("probabilities", [False, True], ids=["logits", "probabilities"])
@pytest.mark.parametrize("name", sorted(DECODE_CASES))
def test_decode_matches_keras(name, probabilities, dtype, keras):
    kwargs, lengths = DECODE_CASES[name]
    rng = np.random.default_rng(sorted(DECODE_CASES).index(name))
    x = (2.0 * rng.normal(size=(3, 7, 5))).astype(dtype)
    if probabilities:
        x = (np.exp(x) / np.exp(x).sum(-1, keepdims=True)).astype(dtype)
    decoded, scores = ops.ctc_decode(x, np.array(lengths), **kwargs)
    their_decoded, their_scores = keras.ops.ctc_decode(x, np.array(lengths), **kwargs)
    assert decoded.dtype == np.int32
    assert scores.dtype == np.dtype(their_scores.dtype.as_numpy_dtype) == dtype
    np.testing.assert_array_equal(decoded, their_decoded.numpy())
    np.testing.assert_allclose(scores, their_scores.numpy(), rtol=2e-6, atol=1e-6)


def test_beam_search_follows_tensorflows_growth_order(keras):
    """Random logits over many frames with a narrow beam: the cases where TensorFlow's order
    of growing the beam drops a pruned prefix's children (replayed in order) come up often."""
    rng = np.random.default_rng(11)
    x = (2.0 * rng.normal(size=(24, 9, 4))).astype("float32")
    lengths = rng.integers(1, 10, size=24)
    for width, top in ((2, 1), (3, 2), (6, 3)):
        decoded, scores = ops.ctc_decode(x, lengths, strategy="beam_search", beam_width=width,
                                         top_paths=top)
        theirs = keras.ops.ctc_decode(x, lengths, strategy="beam_search", beam_width=width,
                                      top_paths=top)
        np.testing.assert_array_equal(decoded, theirs[0].numpy())
        np.testing.assert_allclose(scores, theirs[1].numpy(), rtol=2e-6, atol=1e-6)


def test_negative_blank_of_beam_search_is_the_class_from_the_end(keras):
    """Keras's backend mis-slices a negative mask_index for the beam search; rnncore takes
    it as the class counted from the end, which Keras computes for the positive index."""
    x = np.random.default_rng(5).normal(size=(2, 6, 4)).astype("float32")
    mine = ops.ctc_decode(x, [6, 4], strategy="beam_search", beam_width=5, mask_index=-3)
    theirs = keras.ops.ctc_decode(x, [6, 4], strategy="beam_search", beam_width=5,
                                  mask_index=1)
    np.testing.assert_array_equal(mine[0], theirs[0].numpy())
    np.testing.assert_allclose(mine[1], theirs[1].numpy(), rtol=2e-6)


def test_ops_on_symbolic_tensors_have_kerass_shapes(keras):
    import rnncore

    for lib in (keras, rnncore):
        logits = lib.Input((T, C))
        labels = lib.Input((3,), dtype="int32")
        lengths = lib.Input((), dtype="int32")
        loss = lib.ops.ctc_loss(labels, logits, lengths, lengths)
        decoded, scores = lib.ops.nn.ctc_decode(logits, lengths, strategy="beam_search",
                                                beam_width=4, top_paths=2)
        shapes = [tuple(t.shape) for t in (loss, decoded, scores)]
        if lib is keras:
            expected = shapes
    assert shapes == expected


@pytest.mark.parametrize("call, message", [
    (lambda: ops.ctc_loss([[1]], np.zeros((2, 4)), [1], [4]),
     r"`output` must be a tensor of shape \(batch_size, max_length, num_classes\); received "
     r"output.shape=\(2, 4\)"),
    (lambda: ops.ctc_loss([1, 2], np.zeros((2, 4, 3)), [1, 1], [4, 4]),
     r"`target` must be a tensor of shape \(batch_size, max_length\); received "
     r"target.shape=\(2,\)"),
    (lambda: ops.ctc_loss([[1]], np.zeros((2, 4, 3)), [1], [4, 4]),
     r"Arguments `target` and `output` must have the same first dimension. Received shapes: "
     r"`\(1, 1\)` and `\(2, 4, 3\)`"),
    (lambda: ops.ctc_loss([[1], [2]], np.zeros((2, 4, 3)), [1, 1], [4]),
     r"Arguments `output_length` and `output` must have the same first dimension"),
    (lambda: ops.ctc_loss([[1], [2]], np.zeros((2, 4, 3)), [[1], [1]], [4, 4]),
     r"`target_length` must be a tensor of shape \(batch_size,\); received "
     r"target_length.shape=\(2, 1\)"),
    (lambda: ops.ctc_loss([["a"]], np.zeros((1, 4, 3)), [1], [4]),
     r"`target` must hold integers; received an array of dtype <U1"),
    (lambda: ops.ctc_loss([[1]], np.zeros((1, 4, 3)), [1], [4], mask_index=3),
     r"`mask_index` must be a class index in \[-3, 3\) for 3 classes; received mask_index=3"),
    (lambda: ops.ctc_decode(np.zeros((1, 4, 3)), [4], strategy="best"),
     r"Invalid strategy best. Supported values are 'greedy' and 'beam_search'."),
    (lambda: ops.ctc_decode(np.zeros((1, 4, 3)), [5]),
     r"`sequence_lengths` must be at most the number of frames of `inputs` \(4\); received "
     r"sequence_lengths\[0\]=5"),
    (lambda: ops.ctc_decode(np.zeros((2, 4, 3)), [4]),
     r"`sequence_lengths` must have shape \(batch_size,\) = \(2,\); received "
     r"sequence_lengths.shape=\(1,\)"),
    (lambda: ops.ctc_decode(np.zeros((1, 4, 3)), [4], strategy="beam_search", beam_width=2,
                            top_paths=3),
     r"`top_paths` must be at most `beam_width`.*top_paths=3, beam_width=2"),
    (lambda: ops.ctc_decode(np.zeros((1, 4, 3)), [4], strategy="beam_search", beam_width=0),
     r"`beam_width` must be a positive integer; received beam_width=0"),
    (lambda: ops.ctc_decode(np.zeros((1, 4, 3)), [0], strategy="beam_search", top_paths=2),
     r"fewer prefixes in the beam \(1\) than top_paths=2"),
    (lambda: ops.ctc_decode(np.zeros((1, 4, 3)), [4], mask_index=1.5),
     r"`mask_index` must be an integer or None; received mask_index=1.5"),
    (lambda: losses.CTC()(np.zeros((2, 3, 1)), np.zeros((2, 4, 3))),
     r"Targets `y_true` are expected to be a tensor of shape `\(batch_size, max_length\)` "
     r"in integer format. Received: y_true.shape=\(2, 3, 1\)"),
    (lambda: losses.ctc(np.zeros((2, 3)), np.zeros((2, 4))),
     r"Logits `y_pred` are expected to be a tensor of shape `\(batch_size, max_length, "
     r"num_classes\)`. Received: y_pred.shape=\(2, 4\)"),
])
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_keras_raises_the_same_errors_for_ranks_and_strategy(keras):
    with pytest.raises(ValueError, match="Received: y_true.shape=.2, 3, 1."):
        keras.losses.CTC()(np.zeros((2, 3, 1)), np.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match="Invalid strategy best."):
        keras.ops.ctc_decode(np.zeros((1, 4, 3)), [4], strategy="best")
