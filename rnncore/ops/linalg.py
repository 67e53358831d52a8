"""Keras's ``keras.ops.linalg``: the linear algebra of :mod:`rnncore.ops` under its
``linalg`` names."""
from ._linalg_more import (  # noqa: F401
    cholesky, cholesky_inverse, det, eig, eigh, inv, lstsq, lu_factor, matrix_rank, pinv, qr,
    solve, solve_triangular, svd)
from ._control_more import jvp  # noqa: F401
from ._reductions import norm  # noqa: F401
from ._symbolic import wrap_namespace

__all__ = ["cholesky", "cholesky_inverse", "det", "eig", "eigh", "inv", "jvp", "lstsq",
           "lu_factor", "matrix_rank", "norm", "pinv", "qr", "solve", "solve_triangular", "svd"]

wrap_namespace(globals(), __all__)
