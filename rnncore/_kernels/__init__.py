"""Compiled kernels (Cython). Private: use :mod:`rnncore.ops`."""
