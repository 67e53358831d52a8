"""The arguments of the spatial ops and layers (convolutions, pools, ConvLSTM), checked as
Keras checks them and in its words."""
import numbers


def standardize_tuple(value, n, name, allow_zero=False):
    """Keras's ``standardize_tuple``: an int for every dimension, or a tuple of `n` ints, each
    positive (``>= 0`` with `allow_zero`); otherwise Keras's ValueError naming `name`."""
    message = f"The `{name}` argument must be a tuple of {n} integers. Received {name}={value}"
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        values = (int(value),) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            raise ValueError(message) from None
        if len(values) != n or not all(isinstance(v, numbers.Integral) and
                                       not isinstance(v, bool) for v in values):
            raise ValueError(message)
        values = tuple(int(v) for v in values)
    bad = {v for v in values if (v < 0 if allow_zero else v <= 0)}
    if bad:
        raise ValueError(f"{message}, including values {bad} that do not satisfy "
                         f"`value {'>= 0' if allow_zero else '> 0'}`")
    return values


def standardize_data_format(data_format):
    """None → ``rnncore.config.image_data_format()``; else one of Keras's two names."""
    if data_format is None:
        from ..backend import image_data_format

        return image_data_format()
    value = str(data_format).lower()
    if value not in ("channels_last", "channels_first"):
        raise ValueError("The `data_format` argument must be one of {'channels_first', "
                         f"'channels_last'}}. Received: data_format={data_format!r}")
    return value
