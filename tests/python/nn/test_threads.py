"""Concurrent use of one model from several threads (issue 15): inference calls (predict, evaluate,
input_gradient, the attacks) run in parallel and give exactly the serial results; training while
another thread uses the model raises a clear RuntimeError and never corrupts the weights."""

import threading

import numpy as np
import pytest

import bionn
from bionn import attacks, losses, nn, optim

THREADS = 4
ROUNDS = 12


@pytest.fixture
def omp_threads():
    """Several Python threads, one OpenMP thread each (the machine has few cores)."""
    before = bionn.get_num_threads()
    bionn.set_num_threads(1)
    yield
    bionn.set_num_threads(before)


def conv_model(seed=0):
    return nn.Sequential(
        [
            nn.Conv2d(1, 6, 3, padding=1),
            nn.BatchNorm2d(6),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Dense(6 * 6 * 6, 32),
            nn.Dropout(0.3),
            nn.ReLU(),
            nn.Dense(32, 5),
        ],
        seed=seed,
    )


def data(n, seed):
    r = np.random.default_rng(seed)
    return r.uniform(0, 1, (n, 1, 12, 12)).astype(np.float32), r.integers(0, 5, n)


def hammer(fn, inputs):
    """Calls fn(i, inputs[i]) for every i from THREADS threads at once, ROUNDS times each, and
    returns {i: [result per round]} and any exception raised."""
    results = {i: [] for i in range(len(inputs))}
    errors = []
    barrier = threading.Barrier(THREADS)

    def worker(t):
        try:
            barrier.wait()
            for r in range(ROUNDS):
                i = (t + r) % len(inputs)
                results[i].append(fn(inputs[i]))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    ts = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors
    return results


def assert_all_equal(results, serial):
    for i, outs in results.items():
        for out in outs:
            if isinstance(out, dict):
                assert out == serial[i]
            else:
                np.testing.assert_array_equal(out, serial[i])


@pytest.mark.parametrize("call", ["predict", "evaluate", "input_gradient", "fgsm", "pgd"])
def test_concurrent_inference_equals_serial(call, omp_threads):
    model = conv_model()
    x0, y0 = data(64, 1)
    model.fit(
        x0,
        y0,
        loss=losses.CrossEntropy(),
        optimizer=optim.Adam(model.parameters(), lr=1e-2),
        epochs=1,
        batch_size=16,
        verbose=0,
    )  # non-trivial BatchNorm running statistics
    inputs = [data(48, 10 + k) for k in range(THREADS)]
    ce = losses.CrossEntropy()
    fns = {
        "predict": lambda d: model.predict(d[0], batch_size=16),
        "evaluate": lambda d: model.evaluate(d[0], d[1], loss=ce, batch_size=16),
        "input_gradient": lambda d: model.input_gradient(d[0], d[1], loss=ce),
        "fgsm": lambda d: attacks.fgsm(model, d[0], d[1], eps=0.1),
        "pgd": lambda d: attacks.pgd(model, d[0], d[1], eps=0.1, alpha=0.02, steps=3, seed=1),
    }
    fn = fns[call]
    before = model.state_dict()
    grads = [p.grad.copy() for p in model.parameters()]
    serial = [fn(d) for d in inputs]
    results = hammer(fn, inputs)
    assert_all_equal(results, serial)
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)  # inference leaves the model unchanged
    # The parameter gradients are left as they were, too.
    assert all(np.array_equal(p.grad, g) for p, g in zip(model.parameters(), grads))


def test_fit_while_others_predict_raises_or_runs_and_matches_a_serial_fit(omp_threads):
    x, y = data(256, 3)
    xs, _ = data(64, 4)

    def trained(model):
        hist = model.fit(
            x,
            y,
            loss=losses.CrossEntropy(),
            optimizer=optim.Adam(model.parameters(), lr=1e-2),
            epochs=2,
            batch_size=32,
            verbose=0,
        )
        return hist["loss"]

    serial_model = conv_model(seed=5)
    serial_loss = trained(serial_model)
    reference = serial_model.state_dict()
    before_pred = conv_model(seed=5).predict(xs)

    model = conv_model(seed=5)
    stop = threading.Event()
    rejected, outputs, errors = [], [], []

    def predictor():
        try:
            while not stop.is_set():
                try:
                    outputs.append(model.predict(xs))
                except RuntimeError as e:
                    rejected.append(str(e))
        except Exception as e:  # pragma: no cover
            errors.append(e)

    ts = [threading.Thread(target=predictor) for _ in range(3)]
    for t in ts:
        t.start()
    fit_rejections = []
    try:
        while True:
            try:
                loss = trained(model)
                break
            except RuntimeError as e:
                fit_rejections.append(str(e))
                # A rejected fit leaves the model unchanged.
                assert all(np.array_equal(v, conv_model(seed=5).state_dict()[k]) for k, v in model.state_dict().items())
    finally:
        stop.set()
        for t in ts:
            t.join()
    assert not errors, errors
    for msg in fit_rejections:
        assert "fit" in msg and "predict" in msg and "another thread" in msg, msg
    for msg in rejected:
        assert "predict" in msg and "fit" in msg and "another thread" in msg, msg
    state = model.state_dict()
    assert all(np.isfinite(v).all() for v in state.values())
    assert all(np.array_equal(state[k], reference[k]) for k in reference)
    assert loss == serial_loss
    # Every prediction that ran saw either the untrained or the trained weights, never a mixture.
    after_pred = model.predict(xs)
    for out in outputs:
        assert np.array_equal(out, before_pred) or np.array_equal(out, after_pred)


def test_train_step_and_predict_while_another_thread_trains_are_rejected(omp_threads):
    model = conv_model()
    x, y = data(256, 6)
    ce = losses.CrossEntropy()
    paused, resume = threading.Event(), threading.Event()

    class Pause(bionn.callbacks.Callback):
        def on_batch_end(self, epoch, batch, loss):
            if epoch == 0 and batch == 0:
                paused.set()
                resume.wait(60)  # fit is inside its loop, between batches

    t = threading.Thread(
        target=model.fit,
        args=(x, y),
        kwargs=dict(
            loss=ce, optimizer=optim.SGD(model.parameters(), lr=1e-3), epochs=2, batch_size=64, callbacks=[Pause()]
        ),
    )
    t.start()
    try:
        assert paused.wait(60)
        before = model.state_dict()
        with pytest.raises(RuntimeError, match="train_step.*fit.*another thread"):
            model.train_step(x[:8], y[:8], loss=ce, optimizer=optim.SGD(model.parameters(), lr=1.0))
        with pytest.raises(RuntimeError, match="predict.*fit.*another thread"):
            model.predict(x[:8])
        with pytest.raises(RuntimeError, match="(fgsm|pgd).*fit.*another thread"):
            attacks.fgsm(model, x[:8], y[:8], eps=0.1)
        after = model.state_dict()
        assert all(np.array_equal(before[k], after[k]) for k in before)  # the rejected step changed nothing
    finally:
        resume.set()
        t.join()
    assert all(np.isfinite(v).all() for v in model.state_dict().values())


def test_predict_from_a_callback_of_the_training_thread_is_allowed():
    model = nn.Sequential([nn.Dense(4, 8), nn.ReLU(), nn.Dense(8, 2)], seed=0)
    x = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    seen = []

    class Peek(bionn.callbacks.Callback):
        def on_epoch_end(self, epoch, logs):
            seen.append(self.model.predict(x[:5]))

    model.fit(
        x,
        y,
        loss=losses.CrossEntropy(),
        optimizer=optim.SGD(model.parameters(), lr=0.1),
        epochs=2,
        batch_size=16,
        verbose=0,
        callbacks=[Peek()],
    )
    assert len(seen) == 2 and not np.array_equal(seen[0], seen[1])
    np.testing.assert_array_equal(seen[1], model.predict(x[:5]))
