"""Where the learning-rate schedules lived before ``rnncore.optimizers`` became a package.

Only so that models pickled then, whose optimizer holds a schedule, still load: pickle names a
class by its module. New code imports ``rnncore.optimizers.schedules``.
"""
from .optimizers.schedules import *  # noqa: F401,F403
from .optimizers.schedules import __all__  # noqa: F401
