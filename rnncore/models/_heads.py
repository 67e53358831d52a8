"""What ``compile`` gives each model output: its loss, loss weight and metrics (Keras's
CompileLoss and CompileMetrics, one entry per output).

A single-output model has one head named None: its logs are ``loss`` and the metrics' own
names, as always. A model with several outputs has one head per output, named as Keras names
them (``model.output_names``); its logs are the weighted total ``loss``, each output's
unweighted ``<name>_loss``, and ``<name>_<metric>``. The outputs of a subclassed model whose
call returns a list have no names (None): as in Keras, each output's loss is then named after
its loss function (``mse_loss``) and its metrics plainly (``mae``, then ``mae_1``, ...). An
output's loss is tracked only when more than one output has a loss, as Keras's CompileLoss.
"""

from .. import losses as _losses
from .. import metrics as _metrics


class Head:
    """One output's loss (None: the output is not trained on), weight and metrics; `name`
    prefixes the metrics' names (None: no prefix), and with `tracked` the output's loss has
    its own ``Mean``, named ``<name>_loss`` (unnamed: ``<loss name>_loss``)."""

    def __init__(self, name, loss, weight, metric_ids, weighted_metric_ids, tracked=None):
        if isinstance(loss, (list, tuple)) and len(loss) == 1:
            loss = loss[0]  # Keras: one output's loss given as a list of one, {"out": ["mse"]}
        self.name = name
        self.loss = loss
        if isinstance(loss, str) and loss.lower() in ("crossentropy", "ce"):
            # Keras picks the crossentropy from the shapes of the first batch
            self.loss_obj = _losses._CrossentropyByShapes(loss)
        else:
            self.loss_obj = None if loss is None else _losses._for_compile(loss)
        self.weight = weight
        self.metric_ids = list(metric_ids)
        self.weighted_metric_ids = list(weighted_metric_ids)
        self.metrics = None  # resolved when the output and target shapes are known
        self.deferred_error = None  # compile's error that Keras raises at fit (make_heads)
        self.weighted = []  # per metric: whether it takes the sample weights
        if tracked is None:
            tracked = name is not None
        tracked = tracked and self.loss_obj is not None
        self.loss_tracker = _metrics.Mean(
            name=f"{self.loss_obj.name if name is None else name}_loss") if tracked else None
        self.loss_rank = 0  # where evaluate lists this output's loss (see make_heads)
        self.raw_names = ([], [])  # the metrics' own names, plain and weighted (Keras's order)
        for m in self.metric_ids + self.weighted_metric_ids:
            # resolve now so an unknown name fails at compile, as Keras does; the accuracy
            # variant is picked again when the output shape is known (None fails at fit)
            # (a class is not made here: its default name would be taken twice, auc_1)
            if m is not None and not isinstance(m, type):
                _metrics.get(m, loss=self.loss_obj)

    def compiled_metrics(self, output_shape, target_shape):
        """The metrics, then the weighted metrics (named by ``name_metrics`` once every
        output's are resolved)."""
        if self.deferred_error is not None:
            raise self.deferred_error
        if self.metrics is None:
            def resolve(ids):
                if any(m is None for m in ids):  # Keras raises it here, at fit
                    raise ValueError("Expected metric, received `None`")
                return [_metrics.get(m, loss=self.loss_obj, output_shape=output_shape,
                                     target_shape=target_shape) for m in ids]
            plain, weighted = resolve(self.metric_ids), resolve(self.weighted_metric_ids)
            self.raw_names = ([m.name for m in plain], [m.name for m in weighted])
            self.metrics = plain + weighted
            self.weighted = [False] * len(plain) + [True] * len(weighted)
            self.named = False
        return self.metrics

    def trackers(self):
        return ([] if self.loss_tracker is None else [self.loss_tracker]) + list(
            self.metrics or [])


def name_metrics(heads):
    """Keras's names for the compiled metrics of all outputs (CompileMetrics.result): each
    metric's name, prefixed with its output's name; a name already taken gets ``_1``,
    ``_2``, ... (a weighted metric first becomes ``weighted_<name>``). The plain metrics of
    every output are named first, then the weighted ones."""
    if all(getattr(h, "named", True) for h in heads):
        return
    taken = {}

    def claim(name):
        if name not in taken:
            taken[name] = 1
            return name
        index = taken[name]
        taken[name] += 1
        return f"{name}_{index}"

    def prefixed(head, name):
        return name if head.name is None else f"{head.name}_{name}"

    for head in heads:
        plain = head.raw_names[0]
        for m, raw in zip(head.metrics[:len(plain)], plain):
            m.name = claim(prefixed(head, raw))
    for head in heads:
        plain, weighted = head.raw_names
        for m, raw in zip(head.metrics[len(plain):], weighted):
            name = prefixed(head, raw)
            m.name = claim(name if name not in taken else prefixed(head, f"weighted_{raw}"))
        head.named = True


def result_order(heads, logs):
    """Keras's ``evaluate`` list for a model with several outputs (``_flatten_metrics_in_
    order``): the total loss, each compiled metric whose own name is a key of the logs
    (the unprefixed ones), each output's loss, each as often as it is listed; then the
    other keys, sorted."""
    listed = ["loss"] + [n for h in heads for n in h.raw_names[0]] + \
        [n for h in heads for n in h.raw_names[1]] + \
        [h.loss_tracker.name for h in sorted(heads, key=lambda h: h.loss_rank)
         if h.loss_tracker is not None]
    return [logs[k] for k in listed if k in logs] + \
        [logs[k] for k in sorted(logs) if k not in listed]


class _UnknownOutputError(KeyError, ValueError):
    """A key of compile's loss dict that names no output: Keras's KeyError, and a ValueError
    as rnncore's other compile errors."""

    def __str__(self):  # the message, not KeyError's quoted repr of it
        return str(self.args[0]) if self.args else ""


def _per_output(value, names, argument, default, single_ok=True):
    """`value` spread over the outputs `names`: a dict by name (missing names get
    `default`), a list/tuple with one entry per output, or (`single_ok`) one value for all."""
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown and argument == "loss":
            # Keras raises a KeyError here; it stays a ValueError for rnncore's callers
            raise _UnknownOutputError(
                f"compile: the path {tuple(unknown[:1])} in the `loss` argument, can't be found "
                f"in either the model's output (`y_pred`) or in the labels (`y_true`): loss has "
                f"keys {unknown} that are not outputs of the model; its outputs are {names}")
        if unknown:
            raise ValueError(f"compile: {argument} has keys {unknown} that are not outputs of "
                             f"the model; its outputs are {names}")
        return [value.get(name, default) for name in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            if None in names:
                raise ValueError(f"compile: {argument} must have one entry per output; the "
                                 f"model's call returns a list of {len(names)} outputs; "
                                 f"received {argument}={value!r}")
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
    if isinstance(metrics, dict) and not set(metrics) <= set(names):
        raise _UnknownMetricsOutput(_unknown_output_message(metrics, names, argument))
    per_output = _per_output(metrics, names, argument, None, single_ok=False)
    return [[] if m is None else list(m) if isinstance(m, (list, tuple)) else [m]
            for m in per_output]


class _UnknownMetricsOutput(ValueError):
    """A metrics dict keyed by a name that is no output: Keras raises it when the metrics are
    built, at the first batch of fit or evaluate, not at compile."""


def _as_tuples(value):
    if isinstance(value, dict):
        return {k: _as_tuples(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(_as_tuples(v) for v in value)
    return value


def _unknown_output_message(metrics, names, argument):
    # Keras's words (its nested-structure error, then CompileMetrics's explanation)
    return (f"Expected an instance of tuple, got {_as_tuples(metrics)}.\nInvalid `{argument}`. "
            f"`{argument}` should contain metrics objects and either be a dict or a list "
            f"matching the output names of the functional model {names} or match the output "
            f"structure of the model: {['X'] * len(names)}.\nReceived: {argument}={metrics}")


def make_heads(loss, loss_weights, metrics, weighted_metrics, output_names,
               loss_optional=False):
    """The heads of a model with outputs `output_names` from compile's arguments; a metrics
    dict naming no output gives heads that raise Keras's error when first used."""
    try:
        return _make_heads(loss, loss_weights, metrics, weighted_metrics, output_names,
                           loss_optional)
    except _UnknownMetricsOutput as error:
        heads = _make_heads(loss, loss_weights, None, None, output_names, loss_optional)
        for head in heads:
            head.deferred_error = error
        return heads


def _make_heads(loss, loss_weights, metrics, weighted_metrics, output_names,
                loss_optional=False):
    """The heads of a model with outputs `output_names` from compile's arguments (with
    `loss_optional`, outputs may have no loss: the model's compute_loss makes one)."""
    if loss is None and loss_optional:
        if len(output_names) <= 1:
            return [Head(None, None, None, list(metrics or ()), list(weighted_metrics or ()))]
        return [Head(name, None, None, m, w) for name, m, w in zip(
            output_names, _metric_lists(metrics, output_names, "metrics"),
            _metric_lists(weighted_metrics, output_names, "weighted_metrics"))]
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
                # Keras: with one output every metric of the dict applies to it, whatever
                # its key (in the keys' sorted order)
                given = [m for key in sorted(given) for m in (
                    given[key] if isinstance(given[key], (list, tuple)) else [given[key]])
                    if m is not None]
            if given is not None and not isinstance(given, (list, tuple)):
                raise ValueError(f"compile: {argument} must be a list, got {given!r}")
            lists.append(list(given or ()))
        if loss is None:
            raise ValueError("compile: loss must be given for the model's output")
        return [Head(None, loss, loss_weights, *lists)]
    if None in output_names:
        # a subclassed model's list of outputs: nothing to key a dict by
        for argument, value in (("loss", loss), ("loss_weights", loss_weights),
                                ("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            if isinstance(value, dict):
                raise ValueError(
                    f"compile: {argument} is a dict, but the model's outputs have no names (its "
                    f"call returns a list of {len(output_names)}); give {argument} as a list "
                    f"with one entry per output, or return a dict from call; received "
                    f"{argument}={value!r}")
    losses = _per_output(loss, output_names, "loss", None)
    if all(item is None for item in losses):
        raise ValueError(f"compile: no output of {output_names} has a loss; received "
                         f"loss={loss!r}")
    weights = [None] * len(output_names) if loss_weights is None else [
        None if w is None else float(w)
        for w in _per_output(loss_weights, output_names, "loss_weights", None)]
    plain = _metric_lists(metrics, output_names, "metrics")
    weighted = _metric_lists(weighted_metrics, output_names, "weighted_metrics")
    tracked = sum(item is not None for item in losses) > 1
    heads = [Head(name, item, w, p, q, tracked)
             for name, item, w, p, q in zip(output_names, losses, weights, plain, weighted)]
    # Keras's CompileLoss tracks the outputs' losses in the order of a loss dict's keys
    # (evaluate lists them so), else in the outputs' order
    keys = list(loss) if isinstance(loss, dict) else []
    for i, head in enumerate(heads):
        head.loss_rank = keys.index(head.name) if head.name in keys else len(keys) + i
    return heads


def total_loss(values, weights, dtype):
    """Keras's compiled loss: each output's loss times its weight, summed one after another
    in the loss dtype (float32 for float32 outputs)."""
    total = dtype.type(0)
    for value, weight in zip(values, weights):
        value = dtype.type(value)
        total = total + (value if weight is None else value * dtype.type(weight))
    return total
