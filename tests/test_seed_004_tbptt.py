"""Seed 004's hand-written NumPy RNN backpropagates through the last 10 steps only; rnncore's
``truncate_gradient=10`` must give exactly its gradients.

One correction: the seed carries the error to the previous step with
``np.dot(err_to_cell, self.w1h)``; the gradient of ``h_{t-1}·w1h`` needs ``w1h.T`` there (the
seed's version is only right for a symmetric ``w1h``). The class below uses ``w1h.T``; the
finite-difference tests of the ops confirm which one is the gradient.
"""
import numpy as np
import pytest

import rnncore


class Seed004RNN:
    """The forward pass and backprop of seed 004's RecurrentNetwork (with ``w1h.T``)."""

    def __init__(self, w1x, w1h, b1, w2, b2):
        self.w1x, self.w1h, self.b1, self.w2, self.b2 = w1x, w1h, b1, w2, b2

    def forpass(self, x):
        self.h = [np.zeros((x.shape[0], self.w1h.shape[0]))]
        seq = np.swapaxes(x, 0, 1)
        for x in seq:
            z1 = np.dot(x, self.w1x) + np.dot(self.h[-1], self.w1h) + self.b1
            h = np.tanh(z1)
            self.h.append(h)
            z2 = np.dot(h, self.w2) + self.b2
        return z2

    def backprop(self, x, err):
        m = len(x)
        w2_grad = np.dot(self.h[-1].T, err) / m
        b2_grad = np.sum(err) / m
        seq = np.swapaxes(x, 0, 1)
        w1h_grad = w1x_grad = b1_grad = 0
        err_to_cell = np.dot(err, self.w2.T) * (1 - self.h[-1] ** 2)
        for x, h in zip(seq[::-1][:10], self.h[:-1][::-1][:10]):
            w1h_grad += np.dot(h.T, err_to_cell)
            w1x_grad += np.dot(x.T, err_to_cell)
            b1_grad += np.sum(err_to_cell, axis=0)
            err_to_cell = np.dot(err_to_cell, self.w1h.T) * (1 - h ** 2)
        return w1h_grad / m, w1x_grad / m, b1_grad / m, w2_grad, b2_grad


@pytest.mark.parametrize("engine", ["kernel", "numpy"])
@pytest.mark.parametrize("T", [10, 25])
def test_truncate_gradient_is_seed_004s_tbptt(engine, T):
    rng = np.random.default_rng(4)
    B, I, H = 16, 12, 32
    x = rng.normal(size=(B, T, I))
    w1x, w1h = rng.normal(size=(I, H)) * 0.3, rng.normal(size=(H, H)) * 0.2
    b1, w2, b2 = rng.normal(size=H) * 0.1, rng.normal(size=(H, 1)), np.zeros(1)
    y = (rng.random((B, 1)) > 0.5).astype(float)

    seed = Seed004RNN(w1x, w1h, b1, w2, b2)
    a = 1 / (1 + np.exp(-seed.forpass(x)))
    w1h_g, w1x_g, b1_g, _, _ = seed.backprop(x, -(y - a))

    h_last, _, cache = rnncore.recurrent.simple_rnn_forward(x, w1x, w1h, b1, truncate_gradient=10,
                                                      engine=engine)
    np.testing.assert_allclose(h_last, seed.h[-1], rtol=1e-12)
    # the mean binary crossentropy's gradient at the cell output, as the seed computes it
    d_h = (a - y) @ w2.T / B
    grads = rnncore.recurrent.simple_rnn_backward(cache, d_h)
    np.testing.assert_allclose(grads["recurrent_kernel"], w1h_g, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(grads["kernel"], w1x_g, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(grads["bias"], b1_g, rtol=1e-10, atol=1e-14)
    if T > 10:
        assert np.all(grads["x"][:, : T - 10] == 0)
        assert np.all(grads["initial_state"] == 0)
