"""rnncore: fast CPU training of recurrent networks with Keras's API and numerics.

Swap the import and a Keras program runs on rnncore's kernels::

    import rnncore as keras
    from rnncore import layers, models

Submodules mirror Keras's: ``layers``, ``models``, ``optimizers``, ``losses``, ``metrics``,
``callbacks``, ``initializers``, ``activations``, ``utils``, ``preprocessing``, ``datasets``;
``ops`` is Keras's ``keras.ops``; ``recurrent`` (an rnncore extension) holds the whole-layer
forward and backward of each recurrent cell over the kernels, and ``reference`` their NumPy twins.
"""
import importlib
import os

# Idle OpenMP threads sleep instead of spinning: rnncore's parallel regions are short, and
# spinning threads cost tens of milliseconds per call on a busy machine (a SimpleRNN kernel
# call measured 24 ms with spinning, 0.54 ms passive, on 2 loaded cores). Must be set before
# the OpenMP runtime starts; a value the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    from ._kernels import _blas, _recurrence  # noqa: F401
except ImportError as exc:  # pragma: no cover - only in an unbuilt source tree
    raise ImportError(
        "rnncore's compiled kernels are not built. From the source tree run "
        "`pip install -e .` (or `python setup.py build_ext --inplace`), or `make test`, "
        f"which sets everything up. ({exc})") from exc

from ._config import floatx, get_num_threads, set_floatx, set_num_threads

__version__ = "0.1.0"

_SUBMODULES = ("activations", "backend", "callbacks", "config", "constraints", "datasets",
               "initializers", "layers", "losses", "metrics", "mixed_precision", "models", "ops",
               "optimizers", "preprocessing", "random", "recurrent", "reference", "regularizers",
               "saving", "utils", "tree", "dtype_policies")
_FROM = {"Sequential": "models", "Model": "models", "Input": "layers",
         "Layer": "layers", "InputSpec": "layers", "Loss": "losses", "Metric": "metrics",
         "Optimizer": "optimizers", "Initializer": "initializers", "Regularizer": "regularizers",
         "DTypePolicy": "dtype_policies", "FloatDTypePolicy": "dtype_policies"}
_ALIASES = {"KerasTensor": ("layers._base", "SymbolicTensor"),
            "Variable": ("_variable", "Variable"), "name_scope": ("_name_scope", "name_scope"),
            "Function": ("_function", "Function")}

__all__ = list(_SUBMODULES) + list(_FROM) + list(_ALIASES) + ["floatx", "set_floatx", "get_num_threads",
                                              "set_num_threads", "__version__", "version"]


def version():
    """rnncore's version, as ``keras.version()`` gives Keras's."""
    return __version__


def __getattr__(name):
    # Submodules load on first use: `import rnncore` stays fast and `rnncore.layers` works
    # the way `keras.layers` does.
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _FROM:
        return getattr(importlib.import_module(f".{_FROM[name]}", __name__), name)
    if name in _ALIASES:
        module, attribute = _ALIASES[name]
        return getattr(importlib.import_module(f".{module}", __name__), attribute)
    raise AttributeError(f"module 'rnncore' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
