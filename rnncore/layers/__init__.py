"""Layers with Keras's names, arguments, weight names, shapes and order."""
from ._base import Layer
from ._rnn import RNNBase
from ._simple_rnn import SimpleRNN
from ._lstm import LSTM
from ._gru import GRU
from ._cells import GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from ._rnn_layer import RNN
from ._core import Activation, Dense, Dropout, Flatten, Input, InputLayer
from ._embedding import Embedding
from ._pooling import GlobalAveragePooling1D, GlobalMaxPooling1D
from ._pooling import (GlobalAveragePooling2D, GlobalAveragePooling3D, GlobalMaxPooling2D,
                       GlobalMaxPooling3D)
from ._bidirectional import Bidirectional
from ._lambda import Lambda
from . import _op_layer  # noqa: F401  (ops on symbolic tensors, their operators)
from ._normalization import BatchNormalization, LayerNormalization
from ._convolutional import Conv1D
from ._pooling_nd import AveragePooling1D, MaxPooling1D
from ._pooling_nd import (AdaptiveAveragePooling1D, AdaptiveAveragePooling2D,
                          AdaptiveAveragePooling3D, AdaptiveMaxPooling1D, AdaptiveMaxPooling2D,
                          AdaptiveMaxPooling3D, AveragePooling2D, AveragePooling3D,
                          MaxPooling2D, MaxPooling3D)
from ._zero_padding import ZeroPadding2D, ZeroPadding3D
from ._cropping import Cropping2D, Cropping3D
from ._up_sampling import UpSampling2D, UpSampling3D
from ._attention import AdditiveAttention, Attention
from ._reshaping import Permute, RepeatVector, Reshape
from ._activation_layers import ELU, LeakyReLU, PReLU, ReLU, Softmax
from ._noise import GaussianDropout, GaussianNoise, SpatialDropout1D
from ._noise import SpatialDropout2D, SpatialDropout3D
from ._masking import Masking
from ._text_vectorization import TextVectorization
from ._merging import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract,
                       add, average, concatenate, dot, maximum, minimum, multiply, subtract)
from ._wrappers import TimeDistributed, Wrapper
from ._identity import Identity
from ._activity_regularization import ActivityRegularization
from ._rescaling import Rescaling
from ._zero_padding1d import ZeroPadding1D
from ._cropping1d import Cropping1D
from ._up_sampling1d import UpSampling1D
from ._normalization_adapt import Normalization
from ._multi_head_attention import MultiHeadAttention
from ._conv_transpose_nd import Conv1DTranspose, Conv2DTranspose, Conv3DTranspose
from ._conv_nd import Conv2D, Conv3D
from ._depthwise_separable import (DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D,
                                   SeparableConv2D)
from ._registry import deserialize, serialize
from ._input_spec import InputSpec

# Keras's other names for the same classes (keras.layers.MaxPool1D is MaxPooling1D)
AvgPool1D, MaxPool1D = AveragePooling1D, MaxPooling1D
GlobalAvgPool1D, GlobalMaxPool1D = GlobalAveragePooling1D, GlobalMaxPooling1D
Convolution1D, Convolution1DTranspose = Conv1D, Conv1DTranspose
Convolution2D, Convolution3D = Conv2D, Conv3D
Convolution2DTranspose, Convolution3DTranspose = Conv2DTranspose, Conv3DTranspose
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D
AvgPool2D, AvgPool3D, MaxPool2D, MaxPool3D = AveragePooling2D, AveragePooling3D, MaxPooling2D, \
    MaxPooling3D
GlobalAvgPool2D, GlobalAvgPool3D = GlobalAveragePooling2D, GlobalAveragePooling3D
GlobalMaxPool2D, GlobalMaxPool3D = GlobalMaxPooling2D, GlobalMaxPooling3D

from ._conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D

__all__ = ["Layer", "RNNBase", "SimpleRNN", "LSTM", "GRU", "RNN", "SimpleRNNCell",
           "LSTMCell", "GRUCell", "StackedRNNCells", "Activation", "Dense", "Dropout",
           "Flatten", "Input", "InputLayer", "Embedding", "GlobalAveragePooling1D",
           "GlobalMaxPooling1D", "Bidirectional", "Lambda",
           "BatchNormalization", "LayerNormalization", "Conv1D", "AveragePooling1D",
           "MaxPooling1D", "AdditiveAttention", "Attention", "deserialize", "serialize",
           "RepeatVector", "Reshape", "Permute", "Wrapper", "TimeDistributed", "ReLU",
           "LeakyReLU", "ELU", "Softmax", "PReLU", "SpatialDropout1D", "GaussianNoise",
           "GaussianDropout", "Masking", "Concatenate", "Add", "Subtract", "Multiply",
           "Average", "Maximum", "Minimum", "Dot", "concatenate", "add", "subtract",
           "multiply", "average", "maximum", "minimum", "dot", "TextVectorization",
           "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D",
           "Identity", "ActivityRegularization", "Rescaling", "ZeroPadding1D", "Cropping1D",
           "UpSampling1D", "Normalization", "MultiHeadAttention", "Conv1DTranspose", "AvgPool1D",
           "MaxPool1D", "GlobalAvgPool1D", "GlobalMaxPool1D", "Convolution1D",
           "Convolution1DTranspose",
           "Conv2D", "Conv3D", "Convolution2D", "Convolution3D", "Conv2DTranspose",
           "Conv3DTranspose", "Convolution2DTranspose", "Convolution3DTranspose",
           "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
           "SeparableConvolution1D", "SeparableConvolution2D",
           "MaxPooling2D", "MaxPooling3D", "AveragePooling2D", "AveragePooling3D", "MaxPool2D",
           "MaxPool3D", "AvgPool2D", "AvgPool3D", "GlobalAveragePooling2D",
           "GlobalAveragePooling3D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
           "GlobalAvgPool2D", "GlobalAvgPool3D", "GlobalMaxPool2D", "GlobalMaxPool3D",
           "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
           "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D",
           "ZeroPadding2D", "ZeroPadding3D", "Cropping2D", "Cropping3D", "UpSampling2D",
           "UpSampling3D", "SpatialDropout2D", "SpatialDropout3D"]
from ._normalization_more import GroupNormalization, RMSNormalization, UnitNormalization
from ._alpha_dropout import AlphaDropout
__all__ += ["GroupNormalization", "RMSNormalization", "UnitNormalization", "AlphaDropout"]
from ._einsum_dense import EinsumDense
__all__ += ["EinsumDense"]
from ._integer_lookup import IntegerLookup
from ._string_lookup import StringLookup
__all__ += ["IntegerLookup", "StringLookup"]
from ._category_encoding import CategoryEncoding
__all__ += ["CategoryEncoding"]
from ._discretization import Discretization
from ._hashing import Hashing
__all__ += ["Discretization", "Hashing"]
from ._hashed_crossing import HashedCrossing
__all__ += ["HashedCrossing"]
__all__ += ["InputSpec"]
