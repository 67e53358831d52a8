"""Keras's ``keras.Function``: the computation from some symbolic tensors to others, callable
on arrays (a functional model without training or saving)."""
from . import tree
from ._naming import unique_name


class Function:
    """``Function(inputs, outputs)``: ``inputs`` and ``outputs`` are (structures of) symbolic
    tensors of one graph, as for a functional ``Model``; calling it on arrays in the structure
    of ``inputs`` gives arrays in the structure of ``outputs``.

    >>> a, b = keras.Input((3,)), keras.Input((3,))
    >>> fn = keras.Function([a, b], keras.layers.Add()([a, b]))
    >>> fn([np.ones((2, 3)), np.ones((2, 3))]).shape
    (2, 3)
    """

    def __init__(self, inputs, outputs, name=None):
        from .models import Model

        self.name = name or unique_name("function")
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self._model = Model(inputs, outputs, name=self.name)

    @property
    def inputs(self):
        return tree.flatten(self._inputs_struct)

    @property
    def outputs(self):
        return tree.flatten(self._outputs_struct)

    def __call__(self, inputs):
        try:
            tree.assert_same_structure(self._inputs_struct, inputs)
        except ValueError:
            raise ValueError("Function was called with an invalid input structure. Expected "
                             f"input structure: {self._inputs_struct}\nReceived input "
                             f"structure: {inputs!r:.200}") from None
        return self._model(inputs)
