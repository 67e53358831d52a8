"""One model, four engines: rnncore, Keras on TensorFlow, Keras on JAX and PyTorch behind the
same small interface.

A :class:`ModelSpec` describes the seeds' models::

    [Embedding(vocab, embed_dim)] -> {SimpleRNN, LSTM, GRU}(units) per layer
        -> [Flatten -> Dense(flatten_dense, tanh)] -> Dense(outputs)

with a sigmoid output and binary crossentropy when ``outputs == 1``, else softmax and sparse
categorical crossentropy; RMSprop or Adam. rnncore and Keras build it from the very same code
(:func:`build_keras_api_model`: only the module differs, which is rnncore's promise; Keras runs
on TensorFlow or JAX as ``KERAS_BACKEND`` says); PyTorch gets the equivalent ``nn.Embedding``
+ ``nn.LSTM``/``GRU``/``RNN`` per layer + ``nn.Linear``.

Weights always travel in Keras's ``get_weights()`` order and layout;
:func:`keras_to_torch_state` converts them for PyTorch:

- ``kernel (I, G*H)`` -> ``weight_ih (G*H, I)`` and ``recurrent_kernel (H, G*H)`` ->
  ``weight_hh (G*H, H)``, transposed. LSTM gates are i, f, c, o in both. GRU gates are
  z, r, h in Keras and r, z, n in PyTorch, so the blocks are reordered.
- PyTorch has two biases. LSTM / SimpleRNN: Keras's bias goes to ``bias_ih``, ``bias_hh`` is
  zero. GRU with ``reset_after=True`` (Keras's default) has two biases too, shape (2, 3H):
  row 0 (input) -> ``bias_ih``, row 1 (recurrent, inside the reset gate) -> ``bias_hh``.
- Dense ``kernel (H, K)`` -> Linear ``weight (K, H)``.

Every engine object has ``prepare(x, y)`` (NumPy arrays into what the engine takes, outside
any timing), ``set_weights(list)``, ``train_batch(x, y)``, ``predict(x, batch)``,
``evaluate(x, y, batch)``, ``fit(...)`` returning the History dict and per-epoch times, and
``info()`` (versions, threads).
"""
import dataclasses
import importlib.util
import time

import numpy as np

CELLS = ("rnn", "lstm", "gru")
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
KERAS_NAMES = {"rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
ENGINES = ("rnncore", "keras", "jax", "torch")
ENGINE_TITLES = {"rnncore": "rnncore", "keras": "Keras/TF", "jax": "Keras/JAX",
                 "torch": "PyTorch"}
#: the Keras backend each Keras engine runs on
KERAS_BACKENDS = {"keras": "tensorflow", "jax": "jax"}
#: what an engine imports, and how to install it
_REQUIRES = {"keras": ("keras", "tensorflow"), "jax": ("keras", "jax"), "torch": ("torch",)}
_INSTALL = {"keras": "pip install tensorflow-cpu", "jax": "pip install jax",
            "torch": "pip install torch"}
OPTIMIZERS = {"rmsprop": "RMSprop", "adam": "Adam"}


def missing(engine):
    """Why ``engine`` cannot run here (``"jax is not installed; pip install jax"``), or None.

    Looks the modules up without importing them (TensorFlow alone takes seconds to import);
    a module that is found but fails to import is reported by the engine's process.
    """
    absent = [m for m in _REQUIRES.get(engine, ()) if importlib.util.find_spec(m) is None]
    if absent:
        return f"{' and '.join(absent)} not installed; {_INSTALL[engine]}"
    return None


@dataclasses.dataclass
class ModelSpec:
    """The model a demo or benchmark trains.

    ``vocab``/``embed_dim`` set: integer token ids (batch, timesteps) go through an Embedding;
    otherwise float inputs (batch, timesteps, features). ``units``: one number for every
    layer, or a list with one per layer. ``dropout``: each recurrent layer's input dropout.
    ``flatten_dense``: the last recurrent layer returns sequences, flattened into a
    ``Dense(flatten_dense, tanh)`` before the output layer (seed 000's model).
    """
    cell: str = "lstm"
    units: int | list = 8
    layers: int = 1
    timesteps: int = 100
    vocab: int | None = 500
    embed_dim: int | None = 16
    features: int | None = None
    outputs: int = 1
    learning_rate: float = 1e-4
    dropout: float = 0.0
    flatten_dense: int | None = None
    optimizer: str = "rmsprop"

    def __post_init__(self):
        if isinstance(self.units, (list, tuple)):
            self.units = list(self.units)
            self.layers = len(self.units)

    @property
    def units_per_layer(self):
        return self.units if isinstance(self.units, list) else [self.units] * self.layers

    @property
    def input_dim(self):
        """Width of the first recurrent layer's input."""
        return self.embed_dim if self.vocab else self.features

    @property
    def loss(self):
        return "binary_crossentropy" if self.outputs == 1 else "sparse_categorical_crossentropy"

    @property
    def optimizer_title(self):
        return OPTIMIZERS[self.optimizer]

    def describe(self):
        """``Embedding(500, 16) -> LSTM(8) -> Dense(1, sigmoid)``."""
        parts = []
        if self.vocab:
            parts.append(f"Embedding({self.vocab}, {self.embed_dim})")
        else:
            parts.append(f"Input({self.timesteps}, {self.features})")
        extra = ((f", dropout={self.dropout:g}" if self.dropout else "")
                 + (", return_sequences" if self.flatten_dense else ""))
        units = self.units_per_layer
        rnns = [f"{KERAS_NAMES[self.cell]}({n}{extra})" for n in units]
        parts += [f"{len(units)} x {rnns[0]}"] if len(set(units)) == 1 < len(units) else rnns
        if self.flatten_dense:
            parts += ["Flatten", f"Dense({self.flatten_dense}, tanh)"]
        parts.append(f"Dense({self.outputs}, {'sigmoid' if self.outputs == 1 else 'softmax'})")
        return " -> ".join(parts)

    def layer_shapes(self):
        """``(I, H, G*H)`` of each recurrent layer."""
        shapes, width = [], self.input_dim
        for units in self.units_per_layer:
            shapes.append((width, units, GATES[self.cell] * units))
            width = units
        return shapes

    def forward_flops(self, batch):
        """FLOPs of the recurrent gemms of one forward pass over a batch.

        Per layer ``2*T*B*(I+H)*G*H``: the hoisted input product ``x @ kernel`` and the
        per-step recurrent products ``h @ recurrent_kernel``. Backward costs about twice this
        (``dz @ U^T`` per step, then ``dW``, ``dU``, ``dX`` as big gemms).
        """
        return sum(2 * self.timesteps * batch * (i + h) * gh for i, h, gh in self.layer_shapes())


# --------------------------------------------------------------------------------------------
# rnncore and Keras: one builder, two modules
# --------------------------------------------------------------------------------------------
def build_keras_api_model(keras, spec):
    """The spec's model in ``keras`` (the ``keras`` module or ``rnncore``), compiled."""
    layers = keras.layers
    if spec.vocab:
        stack = [keras.Input(shape=(spec.timesteps,), dtype="int32"),
                 layers.Embedding(spec.vocab, spec.embed_dim)]
    else:
        stack = [keras.Input(shape=(spec.timesteps, spec.features))]
    cell = getattr(layers, KERAS_NAMES[spec.cell])
    units = spec.units_per_layer
    options = {"dropout": spec.dropout} if spec.dropout else {}
    for i, n in enumerate(units):
        sequences = i < len(units) - 1 or bool(spec.flatten_dense)
        stack.append(cell(n, return_sequences=sequences, **options))
    if spec.flatten_dense:
        stack += [layers.Flatten(), layers.Dense(spec.flatten_dense, activation="tanh")]
    stack.append(layers.Dense(spec.outputs,
                              activation="sigmoid" if spec.outputs == 1 else "softmax"))
    model = keras.Sequential(stack)
    optimizer = getattr(keras.optimizers, spec.optimizer_title)
    model.compile(optimizer=optimizer(learning_rate=spec.learning_rate), loss=spec.loss,
                  metrics=["accuracy"])
    return model


class _EpochTimer:
    """Callback mixin body: training time of each epoch, validation excluded.

    The clock runs from ``on_epoch_begin`` to the end of the epoch's last training batch,
    so the validation pass that ``fit`` runs at the end of an epoch is not counted.
    """

    def on_train_begin(self, logs=None):
        self.train_s, self.total_s = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = self._last = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self._last = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.train_s.append(self._last - self._start)
        self.total_s.append(time.perf_counter() - self._start)


def _timer_callback(callbacks_module):
    cls = type("EpochTimer", (_EpochTimer, callbacks_module.Callback), {})
    return cls()


class KerasAPIEngine:
    """rnncore or Keras: the same calls on either module."""

    def __init__(self, name, spec):
        self.name, self.spec = name, spec
        if name == "rnncore":
            import rnncore as keras
        else:
            import keras
        self.keras = keras
        self.model = build_keras_api_model(keras, spec)

    def prepare(self, x, y=None):
        """Inputs as the engine takes them: NumPy arrays, unchanged."""
        return x if y is None else (x, y)

    def get_weights(self):
        return self.model.get_weights()

    def set_weights(self, weights):
        self.model.set_weights(weights)

    def train_batch(self, x, y):
        return self.model.train_on_batch(x, y)

    def predict(self, x, batch_size):
        return self.model.predict(x, batch_size=batch_size, verbose=0)

    def evaluate(self, x, y, batch_size):
        loss, acc = self.model.evaluate(x, y, batch_size=batch_size, verbose=0)
        return {"loss": float(loss), "accuracy": float(acc)}

    def fit(self, x, y, validation_data, epochs, batch_size, verbose):
        timer = _timer_callback(self.keras.callbacks)
        # shuffle=False: every engine sees the same batches in the same order (the data is
        # shuffled once beforehand), so the curves of equal models can be compared.
        history = self.model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=verbose,
                                 validation_data=validation_data, shuffle=False,
                                 callbacks=[timer])
        return ({k: [float(v) for v in vals] for k, vals in history.history.items()},
                timer.train_s, timer.total_s)

    def info(self):
        info = {"version": getattr(self.keras, "__version__", "?")}
        if self.name == "rnncore":
            from rnncore._kernels import ISA

            info.update(threads=self.keras.get_num_threads(), kernels=ISA)
            return info
        info["jit_compile"] = bool(self.model.jit_compile)
        if self.name == "jax":
            import os

            import jax

            info.update(jax=jax.__version__, devices=str(jax.devices()),
                        xla_flags=os.environ.get("XLA_FLAGS", ""))
            return info
        import tensorflow as tf

        info.update(tensorflow=tf.__version__,
                    intra_op_threads=tf.config.threading.get_intra_op_parallelism_threads(),
                    inter_op_threads=tf.config.threading.get_inter_op_parallelism_threads())
        return info


# --------------------------------------------------------------------------------------------
# PyTorch
# --------------------------------------------------------------------------------------------
def _torch_stacks(spec):
    """Runs of equal-width layers, ``[(units, [layer indices])]``: one PyTorch module each
    (``num_layers`` > 1 where the widths allow it, as a PyTorch user writes it)."""
    stacks = []
    for layer, units in enumerate(spec.units_per_layer):
        if stacks and stacks[-1][0] == units:
            stacks[-1][1].append(layer)
        else:
            stacks.append((units, [layer]))
    return stacks


def build_torch_model(spec):
    """``nn.Module`` equivalent of the spec's model; returns logits (batch, outputs).

    Dropout: Keras drops each recurrent layer's inputs with one mask per sample for all steps;
    here the input of each module gets such a mask, and the layers inside a multi-layer module
    PyTorch's own ``dropout`` between layers (a mask per step): the same amount of work.
    """
    import torch
    from torch import nn

    rnn = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[spec.cell]
    last = spec.units_per_layer[-1]

    class SeedModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(spec.vocab, spec.embed_dim) if spec.vocab else None
            width, self.rnns = spec.input_dim, nn.ModuleList()
            for units, layers in _torch_stacks(spec):
                self.rnns.append(rnn(width, units, num_layers=len(layers), batch_first=True,
                                     dropout=spec.dropout if len(layers) > 1 else 0.0))
                width = units
            self.hidden = (nn.Linear(spec.timesteps * last, spec.flatten_dense)
                           if spec.flatten_dense else None)
            self.dense = nn.Linear(spec.flatten_dense or last, spec.outputs)

        def forward(self, x):
            if self.embedding is not None:
                x = self.embedding(x)
            for module in self.rnns:
                if self.training and spec.dropout:
                    keep = 1.0 - spec.dropout
                    mask = x.new_empty((x.shape[0], 1, x.shape[2])).bernoulli_(keep)
                    x = x * mask / keep
                x, _ = module(x)
            if self.hidden is not None:
                return self.dense(torch.tanh(self.hidden(x.flatten(1))))
            return self.dense(x[:, -1])

    torch.manual_seed(0)
    return SeedModel()


def _torch_gate_order(cell, units):
    """Column order that turns Keras's gate blocks into PyTorch's."""
    if cell == "gru":  # Keras z, r, h -> PyTorch r, z, n
        blocks = (1, 0, 2)
        return np.concatenate([np.arange(b * units, (b + 1) * units) for b in blocks])
    return np.arange(GATES[cell] * units)  # LSTM: i, f, c(g), o in both; SimpleRNN: one block


def keras_to_torch_state(spec, weights):
    """PyTorch ``state_dict`` arrays (float32) from Keras-ordered ``weights``."""
    weights = [np.asarray(w, dtype=np.float32) for w in weights]
    state, i = {}, 0
    if spec.vocab:
        state["embedding.weight"] = weights[0]
        i = 1
    for stack, (units, layers) in enumerate(_torch_stacks(spec)):
        order = _torch_gate_order(spec.cell, units)
        for k in range(len(layers)):
            kernel, recurrent, bias = weights[i:i + 3]
            i += 3
            name = f"rnns.{stack}.%s_l{k}"
            state[name % "weight_ih"] = kernel[:, order].T
            state[name % "weight_hh"] = recurrent[:, order].T
            if bias.ndim == 2:  # GRU reset_after: (input bias, recurrent bias)
                state[name % "bias_ih"], state[name % "bias_hh"] = bias[0, order], bias[1, order]
            else:
                state[name % "bias_ih"], state[name % "bias_hh"] = bias[order], 0 * bias
    for dense in ("hidden", "dense") if spec.flatten_dense else ("dense",):
        state[f"{dense}.weight"], state[f"{dense}.bias"] = weights[i].T, weights[i + 1]
        i += 2
    if i != len(weights):
        raise ValueError(f"expected {i} Keras weights for {spec.describe()}, "
                         f"got {len(weights)}")
    return {k: np.ascontiguousarray(v) for k, v in state.items()}


class TorchEngine:
    """The spec's model in PyTorch, trained with a standard loop.

    RMSprop: ``torch.optim.RMSprop(lr, alpha=0.9, eps=1e-7)`` has Keras's rho and epsilon but
    adds epsilon outside the square root (Keras: ``g / sqrt(v + eps)``, PyTorch:
    ``g / (sqrt(v) + eps)``), so its training is close to Keras's, not identical. Adam:
    ``torch.optim.Adam(lr, eps=1e-7)``, Keras's defaults.
    """

    name = "torch"

    def __init__(self, spec):
        import torch

        self.torch, self.spec = torch, spec
        self.model = build_torch_model(spec)
        params = self.model.parameters()
        self.optimizer = (
            torch.optim.Adam(params, lr=spec.learning_rate, eps=1e-7) if spec.optimizer == "adam"
            else torch.optim.RMSprop(params, lr=spec.learning_rate, alpha=0.9, eps=1e-7))
        self.loss_fn = (torch.nn.BCEWithLogitsLoss() if spec.outputs == 1
                        else torch.nn.CrossEntropyLoss())

    def set_weights(self, weights):
        state = keras_to_torch_state(self.spec, weights)
        self.model.load_state_dict({k: self.torch.from_numpy(v) for k, v in state.items()})

    def prepare(self, x, y=None):
        """Inputs as PyTorch wants them (int64 ids, float32 features; float or int targets)."""
        torch = self.torch
        x = torch.from_numpy(np.ascontiguousarray(
            x, dtype=np.int64 if self.spec.vocab else np.float32))
        if y is None:
            return x
        if self.spec.outputs == 1:
            y = torch.from_numpy(np.asarray(y, dtype=np.float32).reshape(-1, 1))
        else:
            y = torch.from_numpy(np.asarray(y, dtype=np.int64).reshape(-1))
        return x, y

    def _step(self, xb, yb):
        self.model.train()
        self.optimizer.zero_grad()
        logits = self.model(xb)
        loss = self.loss_fn(logits, yb)
        loss.backward()
        self.optimizer.step()
        return loss, logits

    def train_batch(self, xb, yb):
        """One optimizer step on tensors from :meth:`prepare`."""
        return self._step(xb, yb)[0].item()

    def _correct(self, logits, yb):
        if self.spec.outputs == 1:
            return float(((logits > 0).float() == yb).sum())
        return float((logits.argmax(dim=1) == yb).sum())

    def predict(self, x, batch_size):
        """Probabilities, batch by batch, without autograd (``x`` a tensor)."""
        torch = self.torch
        self.model.eval()
        out = []
        with torch.inference_mode():
            for start in range(0, len(x), batch_size):
                logits = self.model(x[start:start + batch_size])
                out.append(torch.sigmoid(logits) if self.spec.outputs == 1
                           else torch.softmax(logits, dim=1))
        return torch.cat(out).numpy()

    def evaluate(self, x, y, batch_size):
        torch = self.torch
        self.model.eval()
        total = correct = 0.0
        with torch.inference_mode():
            for start in range(0, len(x), batch_size):
                xb, yb = x[start:start + batch_size], y[start:start + batch_size]
                logits = self.model(xb)
                total += float(self.loss_fn(logits, yb)) * len(xb)
                correct += self._correct(logits, yb)
        return {"loss": total / len(x), "accuracy": correct / len(x)}

    def fit(self, x, y, validation_data, epochs, batch_size, verbose):
        """Keras-like History from a plain loop; prints one line per epoch when verbose."""
        history = {}
        train_s, total_s = [], []
        n = len(x)
        for epoch in range(epochs):
            start = time.perf_counter()
            loss_sum = correct = 0.0
            for b in range(0, n, batch_size):
                xb, yb = x[b:b + batch_size], y[b:b + batch_size]
                loss, logits = self._step(xb, yb)
                loss_sum += loss.item() * len(xb)
                correct += self._correct(logits.detach(), yb)
            train_s.append(time.perf_counter() - start)
            logs = {"accuracy": correct / n, "loss": loss_sum / n}
            if validation_data is not None:
                val = self.evaluate(*validation_data, batch_size)
                logs.update({"val_accuracy": val["accuracy"], "val_loss": val["loss"]})
            total_s.append(time.perf_counter() - start)
            for k, v in logs.items():
                history.setdefault(k, []).append(v)
            if verbose:
                metrics = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
                print(f"Epoch {epoch + 1}/{epochs} - {total_s[-1]:.1f}s - {metrics}",
                      flush=True)
        return history, train_s, total_s

    def info(self):
        torch = self.torch
        return {"version": torch.__version__, "threads": torch.get_num_threads(),
                "interop_threads": torch.get_num_interop_threads(),
                "mkldnn": bool(torch.backends.mkldnn.is_available())}


def make_engine(name, spec):
    """The engine object for ``name`` in :data:`ENGINES`."""
    if name == "torch":
        return TorchEngine(spec)
    if name in ENGINES:
        return KerasAPIEngine(name, spec)
    raise ValueError(f"unknown engine {name!r}; expected one of {ENGINES}")
