"""Benchmark session setup.

This machine sets OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, which make OpenBLAS pick an older,
slower kernel (about half the sgemm speed). OpenBLAS reads them when it is loaded, so they
must be unset before Python starts:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python -m pytest benchmarks/
"""
import os

import pytest

from rnncore._cli._machine import UNSET_VARS as OPENBLAS_VARS


def _openblas_overrides():
    return {v: os.environ[v] for v in OPENBLAS_VARS if v in os.environ}


def pytest_report_header(config):
    found = _openblas_overrides()
    if found:
        return (f"WARNING: {found} set: OpenBLAS runs an older, slower kernel (~2x slower "
                "gemm). Rerun with `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ...`.")
    return "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset (OpenBLAS picks its own kernel)."


def pytest_configure(config):
    found = _openblas_overrides()
    if found:
        config.issue_config_time_warning(pytest.PytestWarning(
            f"{found} set: OpenBLAS is slowed down for these benchmarks; unset them "
            "(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)"), stacklevel=2)


def pytest_benchmark_update_machine_info(config, machine_info):
    """Record the OpenBLAS overrides and the kernels' thread count in the benchmark JSON."""
    import rnncore

    machine_info["openblas_overrides"] = _openblas_overrides()
    machine_info["rnncore_num_threads"] = rnncore.get_num_threads()
