"""How Keras 3 writes each op applied to a symbolic tensor, read from Keras's own configs.

``python tests/_keras_op_table.py`` builds, for each op below, a small functional model with
real Keras, reads the op's entry of ``model.get_config()`` (what ``config.json`` holds:
module, class, constructor config, call arguments) and Keras's signatures, and prints the
table ``rnncore/layers/_keras_op_table.py`` holds. ``test_saving_keras_ops.py`` rebuilds it
and compares, so the table follows the installed Keras.
"""
import inspect
import os

# one call per op, written for both libraries: x, y float (batch, 6, 4); i int32 (batch, 6)
SAMPLES = {
    # arithmetic and comparisons (also what the Python operators make)
    "add": "ops.add(x, y)", "subtract": "ops.subtract(x, 1.0)",
    "multiply": "ops.multiply(x, y)", "divide": "ops.divide(x, y)",
    "true_divide": "ops.true_divide(x, 2.0)", "floor_divide": "ops.floor_divide(x, 2.0)",
    "mod": "ops.mod(x, 2.0)", "power": "ops.power(x, 2.0)", "maximum": "ops.maximum(x, y)",
    "minimum": "ops.minimum(x, 0.5)", "matmul": "ops.matmul(x, ops.transpose(y, (0, 2, 1)))",
    "dot": "ops.dot(x, ops.transpose(y, (0, 2, 1)))",
    "equal": "ops.equal(x, y)", "not_equal": "ops.not_equal(x, 0.0)", "less": "ops.less(x, y)",
    "less_equal": "ops.less_equal(x, y)", "greater": "ops.greater(x, 0.0)",
    "greater_equal": "ops.greater_equal(x, y)",
    "logical_and": "ops.logical_and(x > 0, y > 0)", "logical_or": "ops.logical_or(x > 0, y > 0)",
    "logical_not": "ops.logical_not(x > 0)", "where": "ops.where(x > 0, x, y)",
    # element-wise
    "abs": "ops.abs(x)", "absolute": "ops.absolute(x)", "negative": "ops.negative(x)",
    "exp": "ops.exp(x)", "log": "ops.log(ops.abs(x) + 1.0)", "log1p": "ops.log1p(ops.abs(x))",
    "expm1": "ops.expm1(x)", "sqrt": "ops.sqrt(ops.abs(x))", "rsqrt": "ops.rsqrt(ops.abs(x) + 1.0)",
    "square": "ops.square(x)", "tanh": "ops.tanh(x)", "sin": "ops.sin(x)", "cos": "ops.cos(x)",
    "sign": "ops.sign(x)", "floor": "ops.floor(x)", "ceil": "ops.ceil(x)", "round": "ops.round(x)",
    "reciprocal": "ops.reciprocal(x + 10.0)", "erf": "ops.erf(x)",
    "log10": "ops.log10(ops.abs(x) + 1.0)", "log2": "ops.log2(ops.abs(x) + 1.0)",
    "clip": "ops.clip(x, -0.5, 0.5)", "cast": "ops.cast(x, 'float16')",
    "isnan": "ops.isnan(x)", "isfinite": "ops.isfinite(x)", "isinf": "ops.isinf(x)",
    "stop_gradient": "ops.stop_gradient(x)", "nan_to_num": "ops.nan_to_num(x)",
    "zeros_like": "ops.zeros_like(x)", "ones_like": "ops.ones_like(x)",
    "full_like": "ops.full_like(x, 3.0)",
    # activations
    "sigmoid": "ops.sigmoid(x)", "relu": "ops.relu(x)", "relu6": "ops.relu6(x)",
    "elu": "ops.elu(x)", "selu": "ops.selu(x)", "softplus": "ops.softplus(x)",
    "softsign": "ops.softsign(x)", "silu": "ops.silu(x)", "swish": "ops.swish(x)",
    "gelu": "ops.gelu(x)", "hard_sigmoid": "ops.hard_sigmoid(x)",
    "leaky_relu": "ops.leaky_relu(x, 0.1)", "log_sigmoid": "ops.log_sigmoid(x)",
    "softmax": "ops.softmax(x, axis=1)", "log_softmax": "ops.log_softmax(x)",
    # reductions
    "mean": "ops.mean(x, axis=1)", "sum": "ops.sum(x, axis=(1, 2), keepdims=True)",
    "max": "ops.max(x, axis=-1)", "min": "ops.min(x, axis=1, keepdims=True)",
    "amax": "ops.amax(x, axis=1)", "amin": "ops.amin(x, axis=1)", "prod": "ops.prod(x, axis=2)",
    "std": "ops.std(x, axis=1)", "var": "ops.var(x, axis=-1)", "all": "ops.all(x > 0, axis=1)",
    "any": "ops.any(x > 0, axis=-1)", "argmax": "ops.argmax(x, axis=-1)",
    "argmin": "ops.argmin(x, axis=1)", "logsumexp": "ops.logsumexp(x, axis=-1)",
    "cumsum": "ops.cumsum(x, axis=1)", "norm": "ops.norm(x, axis=-1)",
    "moments": "ops.moments(x, axes=[1])[1]",
    # shapes
    "reshape": "ops.reshape(x, (-1, 24))", "transpose": "ops.transpose(x, (0, 2, 1))",
    "expand_dims": "ops.expand_dims(x, 1)", "squeeze": "ops.squeeze(x[:, :1], axis=1)",
    "concatenate": "ops.concatenate([x, y], axis=-1)", "stack": "ops.stack([x, y], axis=1)",
    "get_item": "x[:, -1, 1:3]", "tile": "ops.tile(x, (1, 2, 1))",
    "repeat": "ops.repeat(x, 2, axis=1)", "flip": "ops.flip(x, axis=1)",
    "swapaxes": "ops.swapaxes(x, 1, 2)", "moveaxis": "ops.moveaxis(x, 1, 2)",
    "take": "ops.take(x, i, axis=1)", "one_hot": "ops.one_hot(i, 5)",
    "tril": "ops.tril(x)", "triu": "ops.triu(x, 1)", "sort": "ops.sort(x)",
    "hstack": "ops.hstack([x, y])",
    "take_along_axis": "ops.take_along_axis(x, ops.argsort(x, axis=1), axis=1)",
    "split": "ops.split(x, 2, axis=-1)[1]", "unstack": "ops.unstack(x, axis=1)[-1]",
    "top_k": "ops.top_k(x, 2)[1]", "argsort": "ops.argsort(x, axis=1)",
    "tensordot": "ops.tensordot(x, y, axes=([1, 2], [1, 2]))",
    # convolutions, with constant NumPy kernels (both libraries write them as __numpy__);
    # not conv_transpose, whose node Keras 3.15 cannot run (ConvTranspose.call passes
    # output_padding where the backend takes padding)
    "conv": "ops.conv(x, ops.convert_to_numpy(ops.ones((3, 4, 2))) * 0.1, 2, 'same')",
    "depthwise_conv": "ops.depthwise_conv(x, ops.convert_to_numpy(ops.ones((3, 4, 2))) * 0.1, "
                      "padding='same')",
    "separable_conv": "ops.separable_conv(x, ops.convert_to_numpy(ops.ones((3, 4, 1))) * 0.1, "
                      "ops.convert_to_numpy(ops.ones((1, 4, 3))) * 0.1)",
    # pooling
    "max_pool": "ops.max_pool(x, 2)", "average_pool": "ops.average_pool(x, 3, 2, 'same')",
    "adaptive_max_pool": "ops.adaptive_max_pool(x, (3,))",
    "adaptive_average_pool": "ops.adaptive_average_pool(x, (4,))",
    # the later ops most likely in a saved model (each sample is one save/load test)
    "arctan": "ops.arctan(x)", "cosh": "ops.cosh(x)", "celu": "ops.celu(x, alpha=0.5)",
    "hard_silu": "ops.hard_silu(x)", "normalize": "ops.normalize(x, axis=1)",
    "roll": "ops.roll(x, 2, axis=1)", "cumprod": "ops.cumprod(x, axis=-1)",
    "logaddexp": "ops.logaddexp(x, y)",
}


def _class_defaults(cls):
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    return tuple((p.name, None if p.default is p.empty else p.default) for p in params
                 if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name != "name")


def _function_params(fn):
    params = inspect.signature(fn).parameters.values()
    return tuple((p.name, None if p.default is p.empty else p.default) for p in params
                 if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))


def keras_table(keras):
    """``{Keras function name: (Keras class, its module under ``keras.src.ops``, the
    function's parameters as (name, default), the constructor's parameters, which the op's
    config holds, the parameters ``call`` takes positionally, in order)}``, read from
    Keras."""
    import importlib

    ops = keras.ops
    x, y = keras.Input((6, 4), name="x"), keras.Input((6, 4), name="y")
    i = keras.Input((6,), dtype="int32", name="i")
    table = {}
    for name, expression in SAMPLES.items():
        out = eval(expression, {"ops": ops, "x": x, "y": y, "i": i})  # noqa: S307
        model = keras.Model([x, y, i], out)
        entry = [e for e in model.get_config()["layers"]
                 if e["name"] == out._keras_history[0].name][0]
        module, class_name = entry["module"], entry["class_name"]
        (node,) = entry["inbound_nodes"]
        cls = getattr(importlib.import_module(module), class_name)
        init = tuple(p for p, _ in _class_defaults(cls))
        assert tuple(entry["config"])[1:] == init, name
        call = tuple(inspect.signature(cls.call).parameters)[1:len(node["args"]) + 1]
        assert not node["kwargs"], (name, node["kwargs"])
        function = getattr(ops, name)
        params = _function_params(function)
        assert {p for p, _ in params} == set(init) | set(call), name
        written = _written_defaults(function, out, params, call)
        params = tuple((p, written.get(p, default)) for p, default in params)
        table[name] = (class_name, module.rpartition(".")[2], params, init, call)
    return table


def _written_defaults(function, out, params, call):
    """What Keras writes for each constructor argument left out of a call: the function
    may not pass its own default on (``one_hot``'s dtype None is written "float32"). The op
    is made again with its tensors and required arguments only."""
    operation = out._keras_history[0]
    given = dict(zip(call, operation._inbound_nodes[0].arguments.args))
    config = operation.get_config()
    signature = inspect.signature(function).parameters
    required = {p: config[p] for p, _ in params
                if p not in call and signature[p].default is signature[p].empty}
    try:
        again = function(**given, **required)
    except ValueError:  # unstack's num cannot be left out on the batch axis: defaults kept
        return {}
    if isinstance(again, (list, tuple)):  # split, unstack, top_k: one op, several outputs
        again = again[0]
    written = again._keras_history[0].get_config()
    return {p: written[p] for p, _ in params
            if p not in call and p not in required and p in written}


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    print("KERAS_OPS = {")
    for name, (class_name, module, params, init, call) in sorted(keras_table(keras).items()):
        head = f"    {name!r}: ({class_name!r}, {module!r}, {params!r},"
        tail = f"{init!r}, {call!r}),"
        print(f"{head} {tail}" if len(head) + len(tail) < 96 else f"{head}\n        {tail}")
    print("}")
