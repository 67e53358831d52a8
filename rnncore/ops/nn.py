"""Keras's ``keras.ops.nn``: the activations and losses of :mod:`rnncore.ops` under their
``nn`` names."""
from ._core import (elu, hard_sigmoid, leaky_relu, log_softmax, one_hot,  # noqa: F401
                    relu, relu6, selu, sigmoid, silu, softmax, softplus, softsign, swish)
from ._conv import conv, conv_transpose, depthwise_conv, separable_conv  # noqa: F401
from ._more import gelu, log_sigmoid  # noqa: F401
from ._pooling import (adaptive_average_pool, adaptive_max_pool,  # noqa: F401
                       average_pool, max_pool)
from ._ctc import ctc_loss  # noqa: F401
from ._ctc_decode import ctc_decode  # noqa: F401
from ._nn import (binary_crossentropy, categorical_crossentropy,  # noqa: F401
                  dot_product_attention, moments, sparse_categorical_crossentropy)
from ._nn_more import (  # noqa: F401
    batch_normalization, celu, depth_to_space, fold, glu, hard_shrink, hard_silu, hard_swish,
    hard_tanh, layer_normalization, multi_hot, normalize, polar, psnr, rms_normalization,
    soft_shrink, space_to_depth, sparse_plus, sparse_sigmoid, sparsemax, squareplus,
    tanh_shrink, threshold, unfold)

__all__ = ["conv", "conv_transpose", "depthwise_conv", "separable_conv",
           "adaptive_average_pool", "adaptive_max_pool", "average_pool", "max_pool",
           "binary_crossentropy", "categorical_crossentropy", "dot_product_attention", "elu",
           "gelu", "hard_sigmoid", "leaky_relu", "log_sigmoid", "log_softmax", "moments",
           "one_hot", "relu", "relu6", "selu", "sigmoid", "silu", "softmax", "softplus",
           "softsign", "sparse_categorical_crossentropy", "swish"]
__all__ += ["ctc_decode", "ctc_loss"]
__all__ += [
    "batch_normalization", "celu", "depth_to_space", "fold", "glu", "hard_shrink", "hard_silu",
    "hard_swish", "hard_tanh", "layer_normalization", "multi_hot", "normalize", "polar", "psnr",
    "rms_normalization", "soft_shrink", "space_to_depth", "sparse_plus", "sparse_sigmoid",
    "sparsemax", "squareplus", "tanh_shrink", "threshold", "unfold"]

from ._symbolic import wrap_namespace  # noqa: E402

wrap_namespace(globals(), __all__)
