"""rnncore: fast CPU training of recurrent networks with Keras's API and numerics."""
try:
    from ._kernels import _blas, _simple_rnn  # noqa: F401
except ImportError as exc:  # pragma: no cover - only in an unbuilt source tree
    raise ImportError(
        "rnncore's compiled kernels are not built. From the source tree run "
        "`pip install -e .` (or `python setup.py build_ext --inplace`), or `make test`, "
        f"which sets everything up. ({exc})") from exc

from ._config import floatx, get_num_threads, set_floatx, set_num_threads
from . import ops, reference

__version__ = "0.1.0"
__all__ = ["ops", "reference", "floatx", "set_floatx", "get_num_threads", "set_num_threads"]
