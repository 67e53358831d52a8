"""Keras's ``keras.mixed_precision``: dtype policies and the global policy.

A policy names the dtype of a layer's weights and of its computations. rnncore computes in
float32 or float64, so the policies it runs are ``"float32"`` and ``"float64"``. Keras's mixed
policies, ``"mixed_float16"`` and ``"mixed_bfloat16"``, are accepted and run in float32: the
weights are float32 as in Keras (``get_weights`` and saved files are the same), and the
computations are float32 too, which Keras would run in float16 (outputs are float32, and
differ from Keras's in the low digits). A one-time warning says so. A mixed policy is a speed
feature of GPUs; refusing it would stop a Keras program on a machine where it would gain
nothing. ``"float16"`` and ``"bfloat16"`` (weights in half precision too) are refused.

>>> import rnncore as keras
>>> keras.mixed_precision.set_global_policy("mixed_float16")   # warns once, runs float32
>>> keras.mixed_precision.global_policy().variable_dtype
'float32'
>>> keras.mixed_precision.set_global_policy("float32")
"""
import warnings

import numpy as np

from . import _config

__all__ = ["DTypePolicy", "LossScaleOptimizer", "Policy", "dtype_policy", "global_policy",
           "set_dtype_policy", "set_global_policy"]

# Keras's mixed policies: their compute dtype; their variables are float32
_MIXED = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}
_state = {"policy": None, "warned": set()}


def _policy_name(policy):
    """The name of a policy given as a name, a dtype, a DTypePolicy or Keras's config dict."""
    if isinstance(policy, DTypePolicy):
        return policy.name
    if isinstance(policy, dict) and isinstance(policy.get("config"), dict):
        return policy["config"].get("name")
    if isinstance(policy, str):
        return policy
    try:
        return np.dtype(policy).name
    except TypeError:
        raise ValueError(f"dtype must be a dtype name such as 'float32' or a DTypePolicy. "
                         f"Received: dtype={policy!r}") from None


def layer_dtype(policy, warn=True):
    """The float dtype rnncore keeps a layer's weights in and computes in, for Keras's layer
    argument ``dtype`` (None: the global policy)."""
    name = _policy_name(global_policy() if policy is None else policy)
    if name in _MIXED:
        if warn and name not in _state["warned"]:
            _state["warned"].add(name)
            warnings.warn(
                f"dtype policy {name!r}: rnncore keeps the weights in float32, as Keras does, "
                f"and also computes in float32 (it has no {_MIXED[name]} kernels), so outputs "
                f"are float32 and may differ from Keras's {_MIXED[name]} results in the low "
                "digits.", UserWarning, stacklevel=4)
        return "float32"
    try:
        dtype = np.dtype(name)
    except TypeError:
        dtype = None
    if dtype not in (np.float32, np.float64):
        half = ": rnncore has no float16 or bfloat16 kernels" if name in (
            "float16", "bfloat16", "half") else ""
        raise ValueError(f"dtype must be 'float32' or 'float64', got {policy!r}{half} (Keras's "
                         "'mixed_float16' and 'mixed_bfloat16' policies run in float32)")
    return dtype.name


class DTypePolicy:
    """Keras's ``DTypePolicy(name)``: ``"float32"``, ``"float64"``, ``"mixed_float16"`` or
    ``"mixed_bfloat16"`` (the last two run in float32, see the module docstring). None: the
    ``floatx()`` dtype. ``compute_dtype`` and ``variable_dtype`` are Keras's."""

    def __init__(self, name=None):
        if name is None:
            name = _config.floatx()
        if not isinstance(name, str):
            raise TypeError(f"'name' must be a string, such as 'mixed_float16'. "
                            f"Received: name={name!r} (of type {type(name).__name__})")
        layer_dtype(name, warn=False)  # refuses what rnncore cannot run; layers warn
        self._name = name

    @property
    def name(self):
        return self._name

    @property
    def variable_dtype(self):
        return "float32" if self._name in _MIXED else np.dtype(self._name).name

    @property
    def compute_dtype(self):
        return _MIXED.get(self._name) or np.dtype(self._name).name

    @property
    def quantization_mode(self):
        return None

    def get_config(self):
        return {"name": self._name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return isinstance(other, DTypePolicy) and other.name == self.name

    def __hash__(self):
        return hash(self._name)

    def __repr__(self):
        return f'<DTypePolicy "{self._name}">'


Policy = DTypePolicy


def set_global_policy(policy):
    """The policy of layers made without ``dtype`` from now on: a name, a DTypePolicy, or None
    (back to ``floatx()``)."""
    if policy is None:
        _state["policy"] = None
        return
    if not isinstance(policy, DTypePolicy):
        if not isinstance(policy, str):
            raise ValueError(f"Invalid `policy` argument. Expected the string name of a policy "
                             f"(such as 'mixed_float16') or a `DTypePolicy` instance. "
                             f"Received: policy={policy!r}")
        policy = DTypePolicy(policy)
    _state["policy"] = policy


def global_policy():
    """The global DTypePolicy (``floatx()``'s unless :func:`set_global_policy` set one)."""
    return _state["policy"] or DTypePolicy(_config.floatx())


set_dtype_policy = set_global_policy
dtype_policy = global_policy


from .optimizers import LossScaleOptimizer  # noqa: E402  (keras.mixed_precision's name too)
