"""Keras 3's text progress bar, printed character for character the same.

``Progbar`` is what ``fit``, ``evaluate`` and ``predict`` print through
:class:`rnncore.callbacks.ProgbarLogger`; it is also public, as
``keras.utils.Progbar`` is, for hand-written loops.
"""
import logging
import math
import os
import sys
import time

import numpy as np

from .. import _config

__all__ = ["Progbar", "enable_interactive_logging", "disable_interactive_logging",
           "is_interactive_logging_enabled"]

_BAR_CHAR = "━"
# ANSI escapes: bold, green, light grey, reset.
_BOLD, _GREEN, _GREY, _RESET = "\x1b[1m", "\x1b[32m", "\x1b[37m", "\x1b[0m"


def enable_interactive_logging():
    """Keras's default: progress bars and logs go to standard output."""
    _config.set_flag("interactive_logging", True)


def disable_interactive_logging():
    """Send progress bars and logs to Python's ``logging`` (at INFO level, logger
    ``rnncore``) instead of standard output, as Keras sends them to ``absl.logging``: for jobs
    on a server."""
    _config.set_flag("interactive_logging", False)


def is_interactive_logging_enabled():
    return _config.flag("interactive_logging")


def print_msg(message, line_break=True):
    """Write ``message`` to ``sys.stdout`` and flush, as Keras's ``print_msg``; with
    interactive logging disabled, log it at INFO level instead.

    A console whose encoding cannot show the bar character (cp949, cp1252 on
    Windows) gets ``=`` instead of ``━`` rather than a ``UnicodeEncodeError``.
    """
    message = str(message)
    if not is_interactive_logging_enabled():
        logging.getLogger("rnncore").info(message)
        return
    if line_break:
        message += "\n"
    try:
        sys.stdout.write(message)
    except UnicodeEncodeError:
        encoding = sys.stdout.encoding or "utf-8"
        message = message.replace(_BAR_CHAR, "=")
        sys.stdout.write(message.encode(encoding, errors="ignore").decode(encoding))
    sys.stdout.flush()


def _stdout_is_dynamic():
    # Keras redraws the line in place ("\b"s and "\r") on any POSIX system, even
    # when stdout is a pipe or a file, and elsewhere only on a terminal, in a
    # notebook or in PyCharm; everywhere else each update starts a new line.
    # We follow the same rule so that logs captured from rnncore and Keras match.
    return (
        os.name == "posix"
        or (hasattr(sys.stdout, "isatty") and sys.stdout.isatty())
        or "ipykernel" in sys.modules
        or "PYCHARM_HOSTED" in os.environ
    )


def _format_duration(seconds):
    """ETA text: ``7s``, ``2:05`` or ``1:02:05``."""
    if seconds > 3600:
        return "%d:%02d:%02d" % (seconds // 3600, (seconds % 3600) // 60, seconds % 60)
    if seconds > 60:
        return "%d:%02d" % (seconds // 60, seconds % 60)
    return "%ds" % seconds


def _format_time_per_unit(seconds, unit_name):
    """`` 3ms/step``, `` 12us/step`` or `` 2s/step`` (leading space included)."""
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f" {seconds * 1e3:.0f}ms/{unit_name}"
    return f" {seconds * 1e6:.0f}us/{unit_name}"


class Progbar:
    """Displays a progress bar on standard output.

    Parameters
    ----------
    target : int or None
        Total number of steps expected; ``None`` if unknown (the bar then shows
        ``      7/Unknown``).
    width : int, default 20
        Width of the bar in characters.
    verbose : {0, 1, 2}, default 1
        0 prints nothing; 1 redraws one line after each update (at most every
        ``interval`` seconds) and ends it with the total time; 2 prints one line
        only when the bar is finalised.
    interval : float, default 0.05
        Minimum number of seconds between two redraws when ``verbose=1``.
    stateful_metrics : iterable of str, optional
        Names whose values are shown as given. All other values are averaged
        over the steps seen, each weighted by the steps it covers. Give this or
        ``stateless_metrics``, not both; with neither, every value is averaged.
    unit_name : str, default "step"
        Unit shown in the time per unit (``3ms/step``).
    stateless_metrics : iterable of str, optional
        The opposite choice: only these names are averaged, all others are
        shown as given. :class:`~rnncore.callbacks.ProgbarLogger` passes an
        empty set, since the trainer's logs are already running averages.

    Examples
    --------
    >>> bar = Progbar(20)
    >>> for step in range(1, 21):
    ...     bar.update(step, [("loss", 0.69)])        # doctest: +SKIP
    20/20 ━━━━━━━━━━━━━━━━━━━━ 0s 3ms/step - loss: 0.6900
    """

    def __init__(self, target, width=20, verbose=1, interval=0.05,
                 stateful_metrics=None, unit_name="step", stateless_metrics=None):
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError(
                "Progbar takes `stateful_metrics` or `stateless_metrics`, not both. "
                f"Received: stateful_metrics={stateful_metrics!r}, "
                f"stateless_metrics={stateless_metrics!r}")
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        if stateless_metrics is not None:
            self.stateful_metrics = None
            self.stateless_metrics = set(stateless_metrics)
        else:
            self.stateful_metrics = set(stateful_metrics or ())
            self.stateless_metrics = None
        self._dynamic_display = _stdout_is_dynamic()
        self._seen_so_far = 0
        # name -> [weighted sum, weight]; a stateful value is stored as [value, 1].
        self._values = {}
        self._values_order = []
        self._start = time.time()
        self._last_update = 0
        self._time_after_first_step = None
        self._prev_total_width = 0

    def _is_averaged(self, name):
        if self.stateful_metrics is not None:
            return name not in self.stateful_metrics
        return name in self.stateless_metrics

    def update(self, current, values=None, finalize=None):
        """Record the progress at step ``current`` and redraw the bar.

        Parameters
        ----------
        current : int
            Index of the current step (1-based: the number of steps done).
        values : list of (str, number) pairs, optional
            Each value covers the steps since the previous update; averaged
            values are weighted by that count, stateful ones shown as given.
        finalize : bool, optional
            Whether this is the last update; by default ``current >= target``
            (never, when the target is unknown).
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target

        for name, value in values or ():
            if name not in self._values_order:
                self._values_order.append(name)
            if self._is_averaged(name) and not finalize:
                steps = max(current - self._seen_so_far, 1)
                total = self._values.setdefault(name, [0, 0])
                total[0] += value * steps
                total[1] += steps
            else:
                # A final value is the epoch's own result: it replaces the average.
                self._values[name] = [value, 1]
        self._seen_so_far = current

        now = time.time()
        time_per_unit = self._step_duration(current, now)

        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            self._print_line(current, now, time_per_unit, finalize)
        elif self.verbose == 2 and finalize and self.target is not None and self.target > 0:
            self._print_summary(current, now, time_per_unit)
        self._last_update = now

    def add(self, n, values=None):
        """Advance the bar by ``n`` steps (see :meth:`update`)."""
        self.update(self._seen_so_far + n, values)

    def _average(self, name):
        total, weight = self._values[name]
        if not isinstance(total, float):
            total = np.mean(total)
        return total / max(1, weight)

    def _print_line(self, current, now, time_per_unit, finalize):
        """verbose=1: redraw the single progress line."""
        # Escape sequences take no room on screen; count them out of the width.
        invisible = 0
        if self.target is not None and self.target > 0:
            digits = int(math.log10(self.target)) + 1
            bar = f"{_BOLD}{'%*d/%d' % (digits, current, self.target)}{_RESET} "
            invisible += len(_BOLD) + len(_RESET)
            done = int(self.width * (float(current) / self.target))
            if done > 0:
                bar += f"{_GREEN}{_BAR_CHAR * done}{_RESET}"
                invisible += len(_GREEN) + len(_RESET)
            bar += f"{_GREY}{_BAR_CHAR * (self.width - done)}{_RESET}"
            invisible += len(_GREY) + len(_RESET)
        else:
            bar = "%7d/Unknown" % current

        if self.target is not None and self.target > 0 and not finalize:
            shown_time = _format_duration(time_per_unit * (self.target - current))
        else:
            shown_time = f"{now - self._start:.0f}s"
        info = f" {_BOLD}{shown_time}{_RESET}"
        invisible += len(_BOLD) + len(_RESET)
        info += _format_time_per_unit(time_per_unit, self.unit_name)
        for name in self._values_order:
            avg = self._average(name)
            info += f" - {name}: {avg:.4f}" if abs(avg) > 1e-3 else f" - {name}: {avg:.4e}"

        prefix = "\b" * self._prev_total_width + "\r" if self._dynamic_display else "\n"
        total_width = len(bar) + len(info) - invisible
        # Blank out what is left of a longer previous line.
        padding = " " * max(self._prev_total_width - total_width, 0)
        print_msg(prefix + bar + info + padding + ("\n" if finalize else ""), line_break=False)
        self._prev_total_width = total_width

    def _print_summary(self, current, now, time_per_unit):
        """verbose=2: one line per finalised bar, no escapes."""
        digits = int(math.log10(self.target)) + 1
        info = "%*d/%d" % (digits, current, self.target) + f" - {now - self._start:.0f}s"
        info += " -" + _format_time_per_unit(time_per_unit, self.unit_name)
        for name in self._values_order:
            avg = self._average(name)
            # Keras compares the signed value here (not its magnitude), so
            # negative values print in exponent form; kept for identical logs.
            info += f" - {name}: {avg:.4f}" if avg > 1e-3 else f" - {name}: {avg:.4e}"
        print_msg(info + "\n", line_break=False)

    def _step_duration(self, current, now):
        """Seconds per step, leaving out the (slow, warm-up) first step once
        more steps have been seen."""
        if not current:
            return 0
        if self._time_after_first_step is not None and current > 1:
            duration = (now - self._time_after_first_step) / (current - 1)
        else:
            duration = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return duration
