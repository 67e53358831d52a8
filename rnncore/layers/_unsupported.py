"""Keras layers rnncore does not have yet: each raises NotImplementedError naming itself, so a
Keras program that uses one stops with a clear message instead of an AttributeError."""


def _unsupported(name, why):
    def __init__(self, *args, **kwargs):
        raise NotImplementedError(f"rnncore does not support {name} yet: {why}")

    return type(name, (), {"__init__": __init__, "__doc__": f"Not supported: {why}",
                           "from_config": classmethod(lambda cls, config: cls(**config))})


_CONV_LSTM = ("convolutional recurrent layers are not among rnncore's fused kernels; use "
              "Keras for them, or TimeDistributed(Conv1D) followed by an LSTM")
ConvLSTM1D = _unsupported("ConvLSTM1D", _CONV_LSTM)
ConvLSTM2D = _unsupported("ConvLSTM2D", _CONV_LSTM)
ConvLSTM3D = _unsupported("ConvLSTM3D", _CONV_LSTM)
