"""Optimizers: Keras 3's update rules, defaults and state layout on NumPy arrays.

Each optimizer updates ``Variable.value`` in place. The arithmetic runs in the variable's dtype in
Keras's order, so float32 training matches Keras to rounding. One detail matters for float64:
where Keras does ``ops.cast(python_float, dtype)`` TensorFlow first rounds the number to float32
(the learning rate, SGD's momentum, Adam's betas in the bias correction, weight decay); where
it combines a Python float with a tensor directly the number is converted at full precision.
The helpers :func:`_cast` and ``dtype.type(x)`` reproduce the two.

A gradient may also be an :class:`~rnncore._indexed_slices.IndexedSlices` (an Embedding's): one
slice per id occurrence, repeats not summed, as the ``tf.IndexedSlices`` Keras's TensorFlow
backend produces. Keras's ops keep such a gradient sparse where they can (``square``,
``multiply``/``divide`` by a scalar, ``clip``, ``clip_by_norm``), densify it by summing the
slices where it meets a dense tensor in ``add``/``subtract``, and gather the dense operand's rows
where it is divided by or multiplied with one; ``assign_add``/``assign_sub`` scatter the slices
one by one in order, touching only the rows they name, and so does rnncore. Each optimizer's
``_sparse_update_step`` follows those ops, so a square is taken per occurrence (``sum_k g_k**2``,
not ``(sum_k g_k)**2``) and clipping acts on the occurrences. Not reproducible: when the dense
divisor holds a zero or a NaN anywhere (``epsilon=0``; centered RMSprop's ``v - a**2`` turning
negative) Keras's divide takes a path that fails on repeated indices (InvalidArgumentError);
rnncore keeps to the slices' rows there.
"""
from . import schedules
from ._adadelta import Adadelta
from ._adafactor import Adafactor
from ._adagrad import Adagrad
from ._adam import Adam
from ._adamax import Adamax
from ._adamw import AdamW
from ._base import Optimizer
from ._ftrl import Ftrl
from ._lamb import Lamb
from ._lion import Lion
from ._loss_scale_optimizer import LossScaleOptimizer
from ._nadam import Nadam
from ._rmsprop import RMSprop
from ._sgd import SGD

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Nadam", "Adamax", "Adadelta",
           "Lion", "Ftrl", "Adafactor", "Lamb", "LossScaleOptimizer",
           "schedules",
           "get", "serialize", "deserialize"]


_OPTIMIZERS = {c.__name__.lower(): c for c in (SGD, RMSprop, Adam, AdamW, Adagrad, Nadam,
                                                Adamax, Adadelta, Lion, Ftrl, Adafactor,
                                                Lamb, LossScaleOptimizer)}


def serialize(optimizer):
    """An optimizer as Keras's serialized dict (``module``, ``class_name``, ``config``)."""
    return {"module": "keras.optimizers", "class_name": type(optimizer).__name__,
            "config": optimizer.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None, **kwargs):
    """Inverse of :func:`serialize`; ``class_name`` is matched case-insensitively, as Keras.
    ``custom_objects`` (``{name: class}``) and registered classes resolve the program's own
    optimizers."""
    name = str(config.get("class_name", "")).lower() if isinstance(config, dict) else None
    if name not in _OPTIMIZERS and isinstance(config, dict) and "config" in config:
        from .._serialization import deserialize_keras_object

        return deserialize_keras_object(config, custom_objects)
    if name not in _OPTIMIZERS:
        raise ValueError(f"Could not interpret optimizer config: received optimizer={config!r}. "
                         f"Known class names: {sorted(_OPTIMIZERS)}.")
    return _OPTIMIZERS[name].from_config(config.get("config", {}))


def get(identifier):
    """An optimizer from a name (``'adam'``, case-insensitive), a config dict or an instance.

    Parameters
    ----------
    identifier : str, dict, Optimizer or None.

    Returns
    -------
    Optimizer or None
    """
    if identifier is None or isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str) and identifier.lower() in _OPTIMIZERS:
        return _OPTIMIZERS[identifier.lower()]()
    raise ValueError(f"Could not interpret optimizer identifier: received "
                     f"optimizer={identifier!r}. Expected one of {sorted(_OPTIMIZERS)}, "
                     "an Optimizer instance or a config dict.")
