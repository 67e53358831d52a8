"""scikit-learn's handwritten digits as short sequences (rows as time steps).

The 1,797 8x8 images of ``sklearn.datasets.load_digits`` (shipped inside
scikit-learn, no download), each read as a sequence of 8 rows of 8 pixels: a
small real data set for sequence classifiers.
"""
import numpy as np

__all__ = ["load_data"]


def load_data(test_split=0.2, seed=113):
    """Load the digits as ``(samples, 8 timesteps, 8 features)`` sequences.

    Parameters
    ----------
    test_split : float, default 0.2
        Fraction of the samples held out for testing, in [0, 1).
    seed : int, default 113
        Seed of the shuffle before the split; the same seed gives the same
        split.

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        ``x_*``: float32, shape ``(n, 8, 8)``, pixel values scaled to [0, 1];
        ``y_*``: int64 digits 0..9. ``n`` is ``int(1797 * (1 - test_split))``
        for training and the rest for testing.

    Raises
    ------
    ImportError
        If scikit-learn is not installed.
    ValueError
        If ``test_split`` is not in [0, 1).

    Examples
    --------
    >>> (x_train, y_train), (x_test, y_test) = load_data()
    >>> x_train.shape, x_test.shape
    ((1437, 8, 8), (360, 8, 8))
    """
    if isinstance(test_split, bool) or not isinstance(
            test_split, (int, float, np.integer, np.floating)) \
            or not 0 <= test_split < 1:
        raise ValueError("`test_split` must be a number in [0, 1). "
                         f"Received: test_split={test_split!r}")
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise ImportError(
            "rnncore.datasets.digits needs scikit-learn, which ships the "
            "digits data: `pip install scikit-learn`") from exc
    digits = load_digits()
    # Pixels are 0..16 integers in scikit-learn's copy.
    x = (digits.images / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    order = np.random.RandomState(seed).permutation(len(y))
    x, y = x[order], y[order]
    n_train = int(len(y) * (1 - test_split))
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])
