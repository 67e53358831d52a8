"""Discretization: real values to the index of their bin, with bin boundaries given or
learnt by ``adapt`` from approximate quantiles (Keras's own summary algorithm)."""
import numbers

import numpy as np

from ._base import as_float_array
from ._tf_data import TFDataLayer
from ._vocabulary import adapt_batches, encode_ids

_OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count")


def _summary_of(values, epsilon):
    """A (2, k) float32 summary of a batch: every ``step``-th sorted value (``step`` about
    ``n * epsilon``, at least 1) with weight ``step``."""
    values = np.sort(np.reshape(values, -1))
    step = max(values.size * epsilon, 1)
    picked = values[int(step - 1)::int(step)]
    return np.stack([picked, np.ones_like(picked) * step])


def _compressed(summary, epsilon):
    """The summary resampled at the cumulative-weight fractions epsilon, 2·epsilon, ..., 1
    (linear interpolation), unless it already has fewer than 1/epsilon columns."""
    if summary.shape[1] * epsilon < 1:
        return summary
    fractions = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    where = cumulative / cumulative[-1]
    values = np.interp(fractions, where, summary[0])
    cumulative = np.interp(fractions, where, cumulative)
    weights = np.diff(cumulative, prepend=0.0)
    return np.stack((values, weights)).astype("float32")


class Discretization(TFDataLayer):
    """Buckets real values: output ``i`` when ``bin_boundaries[i-1] <= x < bin_boundaries[i]``
    (int32 ids in "int" mode, else float32 one-hot rows or bags of ``len(bin_boundaries) + 1``
    bins). Give ``bin_boundaries``, or ``num_bins`` and call ``adapt(data)`` to place the
    boundaries at approximate quantiles (within ``epsilon``), as Keras does.

    >>> Discretization(bin_boundaries=[0.0, 1.0])(np.array([[-1.0, 0.5, 2.0]]))
    array([[0, 1, 2]], dtype=int32)
    """

    _accepts_scalar = True  # Keras bins (and encodes) a scalar too
    _integer_dtype_ok = True  # dtype="int32": integer outputs, as in Keras

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int",
                 sparse=False, dtype=None, name=None, **kwargs):
        kwargs.pop("trainable", None)  # not Keras's arguments, but rnncore's configs had them
        super().__init__(name=name, dtype=dtype, **kwargs)
        if sparse:
            raise ValueError(f"Discretization: rnncore's outputs are dense; sparse must be "
                             f"False. Received: sparse={sparse!r}")
        if output_mode not in _OUTPUT_MODES:
            raise ValueError(f"Discretization: `output_mode` must be one of {_OUTPUT_MODES}. "
                             f"Received: output_mode={output_mode!r}")
        if num_bins is not None and (not isinstance(num_bins, numbers.Integral)
                                     or isinstance(num_bins, bool) or num_bins < 0):
            raise ValueError(f"`num_bins` must be greater than or equal to 0. Received: "
                             f"`num_bins={num_bins!r}`")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError(f"Both `num_bins` and `bin_boundaries` should not be set. "
                             f"Received: `num_bins={num_bins}` and "
                             f"`bin_boundaries={bin_boundaries}`")
        if num_bins is None and bin_boundaries is None:
            raise ValueError("You need to set either `num_bins` or `bin_boundaries`.")
        if bin_boundaries is not None:
            bounds = np.asarray(bin_boundaries, dtype=np.float64)
            if bounds.ndim != 1 or np.any(np.diff(bounds) < 0):
                raise ValueError(f"Discretization: `bin_boundaries` must be a sorted list of "
                                 f"numbers. Received: bin_boundaries={bin_boundaries!r}")
            bin_boundaries = [float(b) for b in bounds]
        if not isinstance(epsilon, numbers.Real) or not 0 < epsilon <= 1:
            raise ValueError(f"Discretization: `epsilon` must be a number in (0, 1]. "
                             f"Received: epsilon={epsilon!r}")
        self.bin_boundaries, self.num_bins = bin_boundaries, num_bins
        self.epsilon, self.output_mode, self.sparse = epsilon, output_mode, False
        self.reset_state()
        self.built = True

    # ---- adapt -----------------------------------------------------------------------------
    def reset_state(self):
        self._summary = np.zeros((2, 0), dtype="float32")

    def adapt(self, data, batch_size=None, steps=None):
        """Place the boundaries of ``num_bins`` bins at approximate quantiles of `data` (an
        array, or an iterable of batches; a batch ``(x, y)`` gives its ``x``)."""
        if self.num_bins is None:
            raise ValueError("Cannot adapt a Discretization layer that has been initialized "
                             "with `bin_boundaries`, use `num_bins` instead.")
        self.reset_state()
        for batch, _ in adapt_batches(data, steps, "Discretization.adapt", whole=np.ndarray):
            self.update_state(batch)
        self.finalize_state()

    def update_state(self, data):
        if hasattr(data, "numpy") and not isinstance(data, np.ndarray):
            data = data.numpy()
        batch = _summary_of(np.array(data).astype("float32"), self.epsilon)
        merged = np.concatenate((self._summary, batch), axis=1)
        merged = merged[:, np.argsort(merged[0])]
        self._summary = _compressed(merged, self.epsilon)

    def finalize_state(self):
        if self.num_bins is not None:
            self.bin_boundaries = _compressed(self._summary, 1.0 / self.num_bins)[0, :-1] \
                .tolist()

    # ---- calling ---------------------------------------------------------------------------
    def check_input(self, x):
        if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
            x = x.numpy()
        return as_float_array(x, "inputs", "float32")

    @property
    def _output_dtype(self):
        """Keras's "int" ids are int32 whatever the layer's dtype."""
        return "int32" if self.output_mode == "int" else None

    def _depth(self):
        return len(self.bin_boundaries) + 1 if self.bin_boundaries is not None \
            else self.num_bins

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        if self.output_mode == "int":
            return shape
        if self.output_mode == "one_hot":
            if len(shape) > 1 and shape[-1] == 1:
                return shape[:-1] + (self._depth(),)
            return shape + (self._depth(),)
        return (shape[0],) + shape[2:] + (self._depth(),) if len(shape) >= 2 \
            else (self._depth(),)

    def forward(self, inputs, training=False, mask=None):
        if self.bin_boundaries is None:
            raise ValueError("You need to either pass the `bin_boundaries` argument at "
                             "construction time or call `adapt(dataset)` before you can start "
                             "using the `Discretization` layer.")
        # TensorFlow's Bucketize compares in float32
        ids = np.digitize(inputs, np.asarray(self.bin_boundaries, dtype=np.float32))
        if self.output_mode == "int":
            return ids.astype(np.int32)
        return encode_ids(ids, self.output_mode, self._depth(), self.dtype)

    def backward(self, d_outputs):
        """Bins have no gradient."""
        return None

    def get_config(self):
        """Keras's config: its Discretization takes no ``trainable`` and a plain dtype name."""
        return {"bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins,
                "epsilon": self.epsilon, "output_mode": self.output_mode, "sparse": False,
                "name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        """An adapted layer's config holds both ``num_bins`` and its learnt boundaries."""
        config = dict(config)
        bounds = config.pop("bin_boundaries", None)
        if bounds is not None and config.get("num_bins") is not None:
            layer = cls(**config)
            layer.bin_boundaries = [float(b) for b in bounds]
            return layer
        return cls(bin_boundaries=bounds, **config)
