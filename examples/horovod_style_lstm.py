"""A Keras program written for Horovod, run by rnncore with its imports changed.

Under Horovod (Keras 3 / TensorFlow) the first lines read::

    import keras
    import horovod.tensorflow.keras as hvd
    from keras.datasets import imdb            # here: the offline synthetic IMDB stand-in

Everything below them is Horovod's idiom, unchanged: init, scale the learning rate by the
number of processes, wrap the optimizer, broadcast rank 0's weights, average the metrics,
warm the rate up, let only rank 0 print and save.

Run::

    mpiexec -n 2 python examples/horovod_style_lstm.py
    mpiexec -n 2 python examples/horovod_style_lstm.py --epochs 1 --samples 2000   # quick
"""
import argparse

import rnncore as keras
import rnncore.distributed as hvd
from rnncore.datasets import synthetic_reviews as imdb

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=4)
parser.add_argument("--samples", type=int, default=25000)
parser.add_argument("--batch-size", type=int, default=64)
args = parser.parse_args()

# Horovod: initialize Horovod.
hvd.init()

max_features, maxlen = 500, 100
(x_train, y_train), (x_test, y_test) = imdb.load_data(num_words=max_features,
                                                      num_train=args.samples,
                                                      num_test=args.samples // 5)
x_train = keras.preprocessing.sequence.pad_sequences(x_train, maxlen=maxlen)
x_test = keras.preprocessing.sequence.pad_sequences(x_test, maxlen=maxlen)

# Horovod: each process trains on its own share of the data.
n = len(x_train) // hvd.size() * hvd.size()
x_train, y_train = x_train[hvd.rank():n:hvd.size()], y_train[hvd.rank():n:hvd.size()]

model = keras.Sequential([
    keras.layers.Input((maxlen,)),
    keras.layers.Embedding(max_features, 16),
    keras.layers.LSTM(8),
    keras.layers.Dense(1, activation="sigmoid"),
])

# Horovod: adjust the learning rate to the number of processes.
scaled_lr = 0.001 * hvd.size()
opt = keras.optimizers.RMSprop(learning_rate=scaled_lr)

# Horovod: add the Horovod Distributed Optimizer.
opt = hvd.DistributedOptimizer(opt)

model.compile(optimizer=opt, loss="binary_crossentropy", metrics=["acc"])

callbacks = [
    # Horovod: broadcast initial variable states from rank 0 to all other processes, so
    # that all start from the same weights (random initialization or a checkpoint).
    hvd.callbacks.BroadcastGlobalVariablesCallback(0),
    # Horovod: average metrics among workers at the end of every epoch. Must come before
    # the callbacks that read the metrics.
    hvd.callbacks.MetricAverageCallback(),
    # Horovod: the scaled learning rate is reached gradually over the first epochs.
    hvd.callbacks.LearningRateWarmupCallback(initial_lr=scaled_lr, warmup_epochs=1,
                                             verbose=1),
    keras.callbacks.EarlyStopping(monitor="val_loss", patience=2),
]

# Horovod: save checkpoints only on worker 0, so that the others cannot corrupt them.
if hvd.rank() == 0:
    callbacks.append(keras.callbacks.ModelCheckpoint("horovod-lstm.weights.h5",
                                                     save_weights_only=True))

# Horovod: print the progress only on worker 0.
verbose = 1 if hvd.rank() == 0 else 0

model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
          validation_data=(x_test, y_test), callbacks=callbacks, verbose=verbose)

score = model.evaluate(x_test, y_test, verbose=0)
if hvd.rank() == 0:
    print(f"test loss {score[0]:.4f}, test accuracy {score[1]:.4f} "
          f"({hvd.size()} processes)")
