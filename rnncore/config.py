"""Keras's ``keras.config``: the settings a Keras program reads or changes (float type,
epsilon, image data format, dtype policy, interactive logging, traceback filtering, unsafe
deserialization, the debugging caps on epochs and steps)."""
from . import _config
from ._config import (epsilon, floatx, image_data_format, max_epochs, max_steps_per_epoch,
                      set_epsilon, set_floatx, set_image_data_format, set_max_epochs,
                      set_max_steps_per_epoch)
from .backend import backend
from .mixed_precision import dtype_policy, set_dtype_policy
from .utils._progbar import (disable_interactive_logging, enable_interactive_logging,
                             is_interactive_logging_enabled)

__all__ = ["floatx", "set_floatx", "epsilon", "set_epsilon", "backend", "image_data_format",
           "set_image_data_format", "dtype_policy", "set_dtype_policy",
           "enable_interactive_logging", "disable_interactive_logging",
           "is_interactive_logging_enabled", "enable_traceback_filtering",
           "disable_traceback_filtering", "is_traceback_filtering_enabled",
           "enable_unsafe_deserialization", "max_epochs", "set_max_epochs",
           "max_steps_per_epoch", "set_max_steps_per_epoch"]


def enable_traceback_filtering():
    """Keras's switch for trimming its own frames from tracebacks. rnncore's errors are raised
    at the boundary they check, so its tracebacks are short either way: the flag is kept for
    programs that set or read it."""
    _config.set_flag("traceback_filtering", True)


def disable_traceback_filtering():
    """See :func:`enable_traceback_filtering`."""
    _config.set_flag("traceback_filtering", False)


def is_traceback_filtering_enabled():
    return _config.flag("traceback_filtering")


def enable_unsafe_deserialization():
    """Keras's switch that lets ``load_model`` rebuild lambdas from a file. rnncore never runs
    code stored in a file (see ``rnncore.saving``), so a ``Lambda`` layer is still refused
    with an error that says to build it in code; the call is accepted so that programs that
    make it run."""
    _config.set_flag("unsafe_deserialization", True)
