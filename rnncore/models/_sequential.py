"""Sequential: a plain stack of layers, Keras's most common model."""
from ..layers._base import Layer, SymbolicTensor, unique_name
from ..layers._core import Input, InputLayer
from .._serialization import with_custom_objects
from ._model import Model


class Sequential(Model):
    """A linear stack of layers: ``Sequential([Embedding(500, 16), LSTM(8), Dense(1)])``.

    The input shape comes from an ``Input``/``InputLayer`` first element, from the first
    layer's ``input_shape=`` (or Embedding's ``input_length=``), or from the first data.
    """

    def __init__(self, layers=None, name=None, trainable=True):
        super().__init__(name=name or unique_name("sequential"), trainable=trainable)
        self._layers = []
        self._batch_input_shape = None
        self._shapes = None
        self._chain = self._functional = None  # the symbolic chain and its graph
        self.built = False
        for layer in layers or []:
            self.add(layer, rebuild=False)
        if self._layers and self._batch_input_shape is not None:
            self.build(self._batch_input_shape)  # once, as Keras's constructor

    @property
    def layers(self):
        return list(self._layers)

    def add(self, layer, rebuild=True):
        """Append a layer (or set the input shape with an ``Input`` tensor); with `rebuild`,
        build the model again when its input shape is known."""
        if isinstance(layer, SymbolicTensor):
            layer = layer._keras_history[0]
        if isinstance(layer, InputLayer):
            given = getattr(self, "_input_layer", None)
            if given is not None:
                raise ValueError(f"Sequential model '{self.name}' has already been configured "
                                 f"to use input shape {given.batch_shape}. You cannot add a "
                                 "different Input layer to it.")
            if self._layers:
                raise ValueError("an Input can only be the first element of a Sequential model")
            self._batch_input_shape = layer.batch_shape
            self._input_layer = layer
            return
        if not isinstance(layer, Layer):
            raise ValueError("Only instances of `keras.Layer` (rnncore Layers) can be added to "
                             f"a Sequential model. Received: {layer!r} (of type "
                             f"{type(layer).__name__})")
        if getattr(layer, "return_state", False):
            raise ValueError(f"Layer {layer.name!r} has return_state=True, which gives several "
                             "outputs; use the functional API (rnncore.Model) for it")
        if any(existing.name == layer.name for existing in self._layers):
            raise ValueError(f"All layers added to a Sequential model should have unique names. "
                             f"Name {layer.name!r} is already the name of a layer in this model.")
        if not self._layers and self._batch_input_shape is None and \
                layer._batch_input_shape is not None:
            self._batch_input_shape = layer._batch_input_shape
        self._layers.append(layer)
        self.built = False
        if rebuild and self._batch_input_shape is not None:
            self.build(self._batch_input_shape)

    def pop(self):
        if not self._layers:
            raise ValueError("pop: there are no layers in the model")
        layer = self._layers.pop()
        if self._layers and self._batch_input_shape is not None:
            self.build(self._batch_input_shape)
        return layer

    def build(self, input_shape=None):
        """Create every layer's weights for inputs of ``input_shape`` (batch dim included)."""
        if input_shape is None:
            input_shape = self._batch_input_shape
        if input_shape is None:
            raise ValueError("build: pass input_shape, e.g. model.build((None, 100))")
        shape = tuple(input_shape)
        given = getattr(self, "_input_layer", None)
        if given is not None and tuple(given.batch_shape) != shape:
            raise ValueError(f"Sequential model '{self.name}' has already been configured to use "
                             f"input shape {tuple(given.batch_shape)}. You cannot build it with "
                             f"input_shape {shape}")
        shapes = [shape]
        for layer in self._layers:
            layer.check_input_shape(shape)
            fresh = not layer.built and getattr(self, "_paths_in_scope", True)
            layer._maybe_build(shape)
            if fresh:
                # Keras builds a Sequential's layers inside its name scope: the weights'
                # paths start with the model's name (sequential/dense/kernel), except those
                # of a layer built before it joined the model
                for var in layer.weights:
                    var.path = f"{self.name}/{var.path}"
            shape = tuple(layer.compute_output_shape(shape))
            shapes.append(shape)
        self._shapes = shapes
        self.built = bool(self._layers)
        if self._layers:
            self._chain_layers(shapes[0])

    def _n_inputs(self):
        return 1

    def _string_inputs(self):
        given = getattr(self, "_input_layer", None)
        text = (given is not None and given.input_dtype == "string") or (
            self._layers and getattr(self._layers[0], "_takes_strings", False))
        return (0,) if text else ()

    def _check_inputs(self, x):
        if not self._layers:
            raise ValueError(f"Sequential model {self.name!r} has no layers")
        declared = self._batch_input_shape
        if declared is not None:
            if x.ndim != len(declared) or any(d is not None and d != s
                                              for d, s in zip(declared[1:], x.shape[1:])):
                raise ValueError(f"Input to model {self.name!r} has shape {x.shape}, expected "
                                 f"{declared} (None = any size)")
        return self._layers[0].check_input(x)

    def _build_from(self, x):
        size_of = getattr(self, "_build_batch", None)
        self.build((None if size_of is None else int(size_of(x.shape[0])),) +
                   tuple(x.shape[1:]))

    def _output_layer(self, i=0):
        return self._layers[-1]

    @property
    def inputs(self):
        """Keras's ``model.inputs``: the input tensor of the graph the built model's layers are
        chained in (so that ``layer.output`` works and ``Model(seq.inputs, layer.output)``
        makes a sub-model, as in Keras)."""
        return [self._graph()[0]]

    @property
    def outputs(self):
        return [self._graph()[1]]

    @property
    def input(self):
        return self._graph()[0]

    @property
    def output(self):
        return self._graph()[1]

    @property
    def input_shape(self):
        """The input's shape (batch dimension None) once the model has an input, as Keras."""
        if getattr(self, "_functional", None) is None:
            raise AttributeError(f"Sequential model '{self.name}' has no defined input shape "
                                 "yet.")
        return self._functional.input_shape

    @property
    def output_shape(self):
        if getattr(self, "_functional", None) is None:
            raise AttributeError(f"Sequential model '{self.name}' has no defined output shape "
                                 "yet.")
        return self._functional.output_shape

    def _graph(self):
        if getattr(self, "_chain", None) is None:
            raise AttributeError(f"Sequential model {self.name!r} has no input tensor yet: "
                                 "start it with an Input, or build it")
        return self._chain

    def _chain_layers(self, shape):
        """Call the layers on a symbolic input of `shape`, one after another, as Keras's
        Sequential does when it is built: each layer then has its (first) input and output
        tensors, and the model runs as the functional model of that chain."""
        given = getattr(self, "_input_layer", None)
        tensor = given.output if given is not None and tuple(given.batch_shape) == shape else \
            Input(batch_shape=shape)
        first = tensor
        for layer in self._layers:
            tensor = layer(tensor)
        self._chain = (first, tensor)
        # as in Keras, the Sequential runs as the functional model of its chain: one walk
        from ._functional import Functional

        # Keras builds an unnamed Functional each time, which takes a "functional" name: the
        # user's next Model is numbered after it
        unique_name("functional")
        self._functional = Functional(first, tensor, name=self.name)

    @property
    def output_names(self):
        return [self._layers[-1].name] if self._layers else []

    def _output_shape(self, x, i=0):
        return (x.shape[0],) + tuple(self._shapes[-1][1:])

    def _forward(self, x, training):
        graph = self._functional
        graph._projections, graph._input_grads = self._projections, self._input_grads
        out = graph._forward(x, training)
        self._output_mask, self._output_masks = graph._output_mask, graph._output_masks
        return out

    def _backward(self, d, from_logits=False):
        return self._functional._backward(d, from_logits)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self._layers:
            shape = tuple(layer.compute_output_shape(shape))
        return shape

    def _maybe_build(self, input_shape):
        if not self.built:
            self.build(input_shape)

    def get_config(self):
        from ..layers import serialize

        config = {"name": self.name, "layers": [serialize(layer) for layer in self._layers]}
        if self._batch_input_shape is not None:
            config["build_input_shape"] = list(self._batch_input_shape)
        elif self._shapes is not None:
            config["build_input_shape"] = list(self._shapes[0])
        return config

    @classmethod
    @with_custom_objects
    def from_config(cls, config):
        from ..layers import deserialize

        model = cls(name=config.get("name"))
        # Keras builds the layers of a loaded Sequential from their own build configs, outside
        # the model's name scope: their weights' paths do not start with the model's name
        model._paths_in_scope = False
        try:
            for layer_config in config["layers"]:
                model.add(deserialize(layer_config))
            shape = config.get("build_input_shape")
            if shape is not None and not model.built:
                model.build(tuple(shape))
        finally:
            model._paths_in_scope = True
        return model
