"""What ``compile`` gives each model output: its loss, loss weight and metrics (Keras's
CompileLoss and CompileMetrics, one entry per output).

A single-output model has one head named None: its logs are ``loss`` and the metrics' own
names, as always. A model with several outputs has one head per output, named as Keras names
them (``model.output_names``); its logs are the weighted total ``loss``, each output's
unweighted ``<name>_loss``, and ``<name>_<metric>``.
"""

from .. import losses as _losses
from .. import metrics as _metrics


class Head:
    """One output's loss (None: the output is not trained on), weight and metrics."""

    def __init__(self, name, loss, weight, metric_ids, weighted_metric_ids):
        self.name = name
        self.loss = loss
        self.loss_obj = None if loss is None else _losses.get(loss)
        self.weight = weight
        self.metric_ids = list(metric_ids)
        self.weighted_metric_ids = list(weighted_metric_ids)
        self.metrics = None  # resolved when the output and target shapes are known
        self.weighted = []  # per metric: whether it takes the sample weights
        self.loss_tracker = None if name is None else _metrics.Mean(name=f"{name}_loss")
        for m in self.metric_ids + self.weighted_metric_ids:
            # resolve now so an unknown name fails at compile, as Keras does; the accuracy
            # variant is picked again when the output shape is known
            _metrics.get(m, loss=self.loss_obj)

    def compiled_metrics(self, output_shape, target_shape):
        """The metrics, then the weighted metrics (``weighted_<name>`` on a name clash)."""
        if self.metrics is None:
            def resolve(ids):
                return [_metrics.get(m, loss=self.loss_obj, output_shape=output_shape,
                                     target_shape=target_shape) for m in ids]
            plain, weighted = resolve(self.metric_ids), resolve(self.weighted_metric_ids)
            names = {m.name for m in plain}
            for m in weighted:
                if m.name in names:
                    m.name = f"weighted_{m.name}"
            if self.name is not None:
                for m in plain + weighted:
                    m.name = f"{self.name}_{m.name}"
            self.metrics = plain + weighted
            self.weighted = [False] * len(plain) + [True] * len(weighted)
        return self.metrics

    def trackers(self):
        return ([] if self.loss_tracker is None else [self.loss_tracker]) + list(
            self.metrics or [])


def _per_output(value, names, argument, default, single_ok=True):
    """`value` spread over the outputs `names`: a dict by name (missing names get
    `default`), a list/tuple with one entry per output, or (`single_ok`) one value for all."""
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(f"compile: {argument} has keys {unknown} that are not outputs of "
                             f"the model; its outputs are {names}")
        return [value.get(name, default) for name in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(f"compile: {argument} must have one entry per output ({len(names)}"
                             f": {names}), or be a dict keyed by output name; received "
                             f"{argument}={value!r}")
        return list(value)
    if not single_ok:
        raise ValueError(f"compile: {argument} must be a list with one entry per output or a "
                         f"dict keyed by output name ({names}); received {argument}={value!r}")
    return [value] * len(names)


def _metric_lists(metrics, names, argument):
    """Keras's rules for `metrics` of a model with several outputs: a dict by output name, or
    a list with one entry (a metric or a list of them) per output."""
    if metrics is None:
        return [[] for _ in names]
    if not isinstance(metrics, (list, tuple, dict)):
        raise ValueError(f"compile: {argument} must be a list or a dict, got {metrics!r}")
    per_output = _per_output(metrics, names, argument, None, single_ok=False)
    return [[] if m is None else list(m) if isinstance(m, (list, tuple)) else [m]
            for m in per_output]


def make_heads(loss, loss_weights, metrics, weighted_metrics, output_names):
    """The heads of a model with outputs `output_names` from compile's arguments."""
    if loss is None:
        raise ValueError("compile: loss must be given (a name such as 'binary_crossentropy' or "
                         "a Loss object)")
    if len(output_names) <= 1:
        name = output_names[0] if output_names else None
        if isinstance(loss, dict):
            loss = _per_output(loss, [name], "loss", None)[0]
        elif isinstance(loss, (list, tuple)):
            loss = _per_output(loss, [name], "loss", None)[0]
        if loss_weights is not None:
            weight = _per_output(loss_weights, [name], "loss_weights", None)[0]
            loss_weights = None if weight is None else float(weight)
        lists = []
        for argument, given in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            if isinstance(given, dict):
                given = _per_output(given, [name], argument, None)[0] or []
                given = given if isinstance(given, (list, tuple)) else [given]
            if given is not None and not isinstance(given, (list, tuple)):
                raise ValueError(f"compile: {argument} must be a list, got {given!r}")
            lists.append(list(given or ()))
        if loss is None:
            raise ValueError("compile: loss must be given for the model's output")
        return [Head(None, loss, loss_weights, *lists)]
    losses = _per_output(loss, output_names, "loss", None)
    if all(item is None for item in losses):
        raise ValueError(f"compile: no output of {output_names} has a loss; received "
                         f"loss={loss!r}")
    weights = [None] * len(output_names) if loss_weights is None else [
        None if w is None else float(w)
        for w in _per_output(loss_weights, output_names, "loss_weights", None)]
    plain = _metric_lists(metrics, output_names, "metrics")
    weighted = _metric_lists(weighted_metrics, output_names, "weighted_metrics")
    return [Head(name, item, w, p, q)
            for name, item, w, p, q in zip(output_names, losses, weights, plain, weighted)]


def total_loss(values, weights, dtype):
    """Keras's compiled loss: each output's loss times its weight, summed one after another
    in the loss dtype (float32 for float32 outputs)."""
    total = dtype.type(0)
    for value, weight in zip(values, weights):
        value = dtype.type(value)
        total = total + (value if weight is None else value * dtype.type(weight))
    return total
