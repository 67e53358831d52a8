"""The command line behind ``python -m rnncore``: ``demo`` and ``bench``.

- ``demo``: trains seed 001's model with rnncore, then the same model from the same weights
  with the peers, Keras on TensorFlow, Keras on JAX and PyTorch, and prints them side by side
  (:mod:`.demo`).
- ``bench``: the seeds' models x engines, train and predict speed (:mod:`.bench`).

Each engine runs in its own child process (:mod:`._worker`), so that TensorFlow's, XLA's and
PyTorch's thread pools never share a process with each other or with rnncore's, and with
``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE`` removed from its environment (:mod:`._machine`).
The model builders for the engines live in :mod:`._engines`; tables, JSON, Markdown and
plots in :mod:`._report`. ``import rnncore`` never imports this package.
"""
