"""Adamax, Adadelta, Lion and the cosine/polynomial schedules against Keras 3: dense and
sparse (IndexedSlices) steps, a small Embedding -> LSTM -> Dense model trained from equal
weights, configs, get() by name, the state Keras saves."""
import warnings

import numpy as np
import pytest

import rnncore
from _parity import rel_err
from rnncore import optimizers
from rnncore._indexed_slices import IndexedSlices
from rnncore._variable import Variable

STEPS = 5
ROWS, COLS, N_IDS = 10, 3, 15

CASES = [
    ("Adamax", {}),
    ("Adamax", {"learning_rate": 0.01, "beta_2": 0.9, "clipnorm": 1.0}),
    ("Adadelta", {}),
    ("Adadelta", {"learning_rate": 1.0, "rho": 0.8, "weight_decay": 0.01}),
    ("Lion", {}),
    ("Lion", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9}),
    ("Ftrl", {}),
    ("Ftrl", {"learning_rate": 0.05, "learning_rate_power": -0.75,
              "l1_regularization_strength": 0.01, "l2_regularization_strength": 0.02,
              "l2_shrinkage_regularization_strength": 0.03, "beta": 0.1}),
    ("SGD", {"schedule": ("CosineDecay", (0.1, 4), {"alpha": 0.1})}),
    ("SGD", {"schedule": ("CosineDecay", (0.01, 3), {"warmup_target": 0.1,
                                                     "warmup_steps": 2})}),
    ("SGD", {"schedule": ("CosineDecayRestarts", (0.1, 2), {"t_mul": 2.0, "m_mul": 0.5})}),
    ("SGD", {"schedule": ("CosineDecayRestarts", (0.1, 2), {"t_mul": 1.0, "alpha": 0.2})}),
    ("Adam", {"schedule": ("PolynomialDecay", (0.01, 3), {"power": 2.0})}),
    ("Adam", {"schedule": ("PolynomialDecay", (0.01, 2), {"cycle": True})}),
]
IDS = [f"{n}-{'-'.join(k) if 'schedule' not in k else k['schedule'][0]}"
       f"{'-' + '-'.join(k['schedule'][2]) if 'schedule' in k else ''}" for n, k in CASES]


def _make(module, name, kwargs):
    kwargs = dict(kwargs)
    if "schedule" in kwargs:
        sched, args, kw = kwargs.pop("schedule")
        kwargs["learning_rate"] = getattr(module.schedules, sched)(*args, **kw)
    return getattr(module, name)(**kwargs)


def _tol(dtype):
    return 1e-6 if dtype == np.float32 else 1e-12


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_dense_steps_match_keras(keras, name, kwargs, dtype, rng):
    shapes = {"kernel": (4, 3), "bias": (3,)}
    init = {k: rng.normal(size=s).astype(dtype) for k, s in shapes.items()}
    ours = [Variable(init[k].copy(), name=k, path=f"dense/{k}") for k in shapes]
    theirs = [keras.Variable(init[k].copy(), name=k, dtype=np.dtype(dtype).name) for k in shapes]
    opt, kopt = _make(optimizers, name, kwargs), _make(keras.optimizers, name, kwargs)
    for step in range(STEPS):
        grads = [rng.normal(size=shapes[k]).astype(dtype) for k in shapes]
        opt.apply_gradients(zip(grads, ours))
        kopt.apply_gradients(zip(grads, theirs))
        for ov, kv in zip(ours, theirs):
            assert rel_err(ov.value, kv.numpy()) <= _tol(dtype), (ov.name, step)
            assert ov.value.dtype == dtype
        assert opt.learning_rate == pytest.approx(float(np.asarray(kopt.learning_rate)),
                                                  rel=1e-6)
    kvars = [np.asarray(v) for v in kopt.variables]
    assert len(opt.variables) == len(kvars)
    for o, k in zip(opt.variables, kvars):
        assert rel_err(o, k) <= _tol(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kwargs", CASES[:8], ids=IDS[:8])
def test_sparse_steps_match_keras(keras, tf, name, kwargs, dtype, rng):
    init = {"embeddings": rng.normal(size=(ROWS, COLS)), "bias": rng.normal(size=(COLS,))}
    ours = [Variable(v.astype(dtype), name=k, path=f"layer/{k}") for k, v in init.items()]
    theirs = [keras.Variable(v.astype(dtype), name=k, dtype=np.dtype(dtype).name)
              for k, v in init.items()]
    opt, kopt = _make(optimizers, name, kwargs), _make(keras.optimizers, name, kwargs)
    for step in range(STEPS):
        ids = rng.integers(0, 7, size=N_IDS)  # repeats, and rows 7..9 never named
        values = (rng.normal(size=(N_IDS, COLS)) * 2.0).astype(dtype)
        bias_grad = rng.normal(size=COLS).astype(dtype)
        opt.apply_gradients([(IndexedSlices(ids, values, (ROWS, COLS)), ours[0]),
                             (bias_grad, ours[1])])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kopt.apply_gradients([(tf.IndexedSlices(tf.constant(values), tf.constant(ids),
                                                    tf.constant([ROWS, COLS])), theirs[0]),
                                  (tf.constant(bias_grad), theirs[1])])
        for ov, kv in zip(ours, theirs):
            assert rel_err(ov.value, kv.numpy()) <= _tol(dtype), (ov.name, step)
    for o, k in zip(opt.variables, kopt.variables):
        assert rel_err(o, np.asarray(k)) <= _tol(dtype)


def _model(lib):
    return lib.Sequential([lib.Input(shape=(6,), dtype="int32"), lib.layers.Embedding(20, 4),
                           lib.layers.LSTM(5), lib.layers.Dense(1, activation="sigmoid")])


@pytest.mark.parametrize("name,kwargs", [("Adamax", {"learning_rate": 0.01}),
                                         ("Adadelta", {"learning_rate": 1.0}),
                                         ("Lion", {"learning_rate": 0.001}),
                                         ("Ftrl", {"learning_rate": 0.1})])
def test_embedding_lstm_model_trains_like_keras(keras, rng, name, kwargs):
    k_model, r_model = _model(keras), _model(rnncore)
    r_model.set_weights(k_model.get_weights())
    k_model.compile(getattr(keras.optimizers, name)(**kwargs), "binary_crossentropy")
    r_model.compile(getattr(rnncore.optimizers, name)(**kwargs), "binary_crossentropy")
    x = rng.integers(1, 6, size=(16, 6)).astype("int32")  # repeated ids: sparse slices sum
    y = (x[:, :2].mean(axis=1) > 3).astype("float32")
    for step in range(4):
        k_loss = k_model.train_on_batch(x, y)
        r_loss = r_model.train_on_batch(x, y)
        assert rel_err(r_loss, k_loss) <= 1e-5, (step, r_loss, k_loss)
    for r_w, k_w in zip(r_model.get_weights(), k_model.get_weights()):
        assert rel_err(r_w, k_w) <= 1e-4


@pytest.mark.parametrize("name", ["Adamax", "Adadelta", "Lion", "Ftrl"])
def test_config_round_trip_and_get(keras, name):
    opt, kopt = getattr(optimizers, name)(), getattr(keras.optimizers, name)()
    config = opt.get_config()
    assert config == {**kopt.get_config(), "name": name.lower()}  # Keras numbers its names
    assert optimizers.deserialize(optimizers.serialize(opt)).get_config() == config
    assert type(optimizers.get(name.lower())) is type(opt)


@pytest.mark.parametrize("name,args,kwargs", [
    ("CosineDecay", (0.1, 10), {"alpha": 0.1, "warmup_target": 0.2, "warmup_steps": 3}),
    ("CosineDecayRestarts", (0.1, 5), {"t_mul": 1.5}),
    ("PolynomialDecay", (0.1, 5), {"cycle": True}),
])
def test_schedule_config_and_values(keras, name, args, kwargs):
    mine = getattr(optimizers.schedules, name)(*args, **kwargs)
    theirs = getattr(keras.optimizers.schedules, name)(*args, **kwargs)
    assert mine.get_config() == theirs.get_config()
    again = optimizers.schedules.deserialize(optimizers.schedules.serialize(mine))
    assert again.get_config() == mine.get_config()
    for step in range(0, 40, 3):
        assert float(mine(step)) == pytest.approx(float(theirs(step)), rel=1e-6, abs=1e-9), step


def test_slot_variables_are_named_as_keras(keras):
    # the .keras file stores optimizer state by position; the names must still line up
    for name in ("Adamax", "Adadelta", "Lion", "Ftrl"):
        v = Variable(np.ones((2, 2), "float32"), name="kernel", path="dense/kernel")
        kv = keras.Variable(np.ones((2, 2), "float32"), name="kernel")
        opt, kopt = getattr(optimizers, name)(), getattr(keras.optimizers, name)()
        opt.build([v])
        kopt.build([kv])
        theirs = [x.name for x in kopt.variables[2:]]
        assert [n.rsplit("_", 1)[-1] for n, _ in opt._slots] == \
            [n.rsplit("_", 1)[-1] for n in theirs]


def test_learning_rate_assign_in_a_callback_trains_like_keras(keras, rng):
    # Keras 3's learning rate is a Variable that callbacks .assign; tf.keras 2 programs call
    # backend.set_value on it (gone from Keras 3, kept by rnncore)
    def run(lib):
        class Halve(lib.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                lr = self.model.optimizer.learning_rate
                if epoch == 1:
                    lr.assign(float(lr) / 2)
                if epoch == 2 and lib is rnncore:
                    lib.backend.set_value(self.model.optimizer.learning_rate, 0.02)
                elif epoch == 2:
                    lr.assign(0.02)
        model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(2)])
        model.compile(lib.optimizers.Adam(0.1), "mse")
        return model, Halve()

    (k_model, k_cb), (r_model, r_cb) = run(keras), run(rnncore)
    r_model.set_weights(k_model.get_weights())
    x, y = rng.normal(size=(8, 3)).astype("float32"), rng.normal(size=(8, 2)).astype("float32")
    k_model.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0, callbacks=[k_cb])
    r_model.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0, callbacks=[r_cb])
    assert float(r_model.optimizer.learning_rate) == pytest.approx(0.02)
    assert r_model.optimizer.learning_rate.numpy() == k_model.optimizer.learning_rate.numpy()
    for r_w, k_w in zip(r_model.get_weights(), k_model.get_weights()):
        assert rel_err(r_w, k_w) <= 1e-5


def test_learning_rate_reads_as_float_and_plain_assignment_still_works():
    opt = optimizers.SGD(0.1)
    lr = opt.learning_rate
    assert lr == pytest.approx(0.1) and isinstance(lr, float) and lr.dtype == "float32"
    opt.learning_rate = 0.5
    assert float(opt.learning_rate) == 0.5
    scheduled = optimizers.SGD(optimizers.schedules.CosineDecay(0.1, 10))
    with pytest.raises(TypeError, match="not settable"):
        scheduled.learning_rate.assign(0.3)


@pytest.mark.parametrize("name", ["Adamax", "Adadelta", "Lion", "Ftrl"])
def test_state_saved_in_keras_file_loads_in_keras(keras, rng, tmp_path, name):
    model = _model(rnncore)
    model.compile(getattr(rnncore.optimizers, name)(learning_rate=0.01), "binary_crossentropy")
    x = rng.integers(1, 6, size=(8, 6)).astype("int32")
    model.fit(x, (x[:, 0] > 2).astype("float32"), epochs=2, batch_size=4, verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    theirs = keras.models.load_model(path)
    ours = rnncore.models.load_model(path)
    assert type(theirs.optimizer).__name__ == type(ours.optimizer).__name__ == name
    saved = model.optimizer.variables
    for loaded in (ours.optimizer.variables, [np.asarray(v) for v in theirs.optimizer.variables]):
        assert len(loaded) == len(saved)
        for a, b in zip(loaded, saved):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_config_and_backend_answer_as_keras(keras):
    for module in ("config", "backend"):
        mine, theirs = getattr(rnncore, module), getattr(keras, module)
        assert mine.floatx() == theirs.floatx() == "float32"
        assert mine.epsilon() == theirs.epsilon()
        assert mine.image_data_format() == theirs.image_data_format()
    assert rnncore.config.backend() == rnncore.backend.backend() == "numpy"
