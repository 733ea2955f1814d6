"""Bad arguments found by the API fuzz campaign (issue 15), each refused with an exception that
names the argument: no pybind11 signature dump, OverflowError, numpy-internal message, hang on a
FIFO or silent acceptance."""

from __future__ import annotations

import os
import re
import warnings

import numpy as np
import pytest

import bionn
from bionn import attacks, callbacks, corruptions, data, losses, nn, optim, selforg


def image_model():
    return nn.Sequential([nn.Flatten(), nn.Dense(16, 3)], seed=0)


IMAGES = np.random.default_rng(0).random((4, 1, 4, 4)).astype(np.float32)
LABELS = np.array([0, 1, 2, 1])


# -- the issue's examples --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: nn.Dropout(p=10**400), "p must be finite"),
        (lambda: nn.Dense(2**63, 3), "in_features must be <="),
        (lambda: nn.Dense(10**18, 3), "in_features * out_features"),
        (lambda: attacks.pgd(image_model(), IMAGES, LABELS, steps=2**31), "steps must be <="),
    ],
)
def test_the_issues_out_of_range_arguments_are_named(make, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        make()


@pytest.mark.parametrize("family", corruptions.CORRUPTIONS)
@pytest.mark.parametrize("seed, exc", [(-1, ValueError), (1.5, TypeError), (True, TypeError)])
def test_every_corruption_family_rejects_a_bad_seed(family, seed, exc):
    """The deterministic families used to ignore the seed: -1 was accepted by 7 of 11."""
    x = np.random.default_rng(0).random((1, 3, 8, 8)).astype(np.float32)
    with pytest.raises(exc, match="seed"):
        corruptions.corrupt(x, family, 1, seed=seed)
    with pytest.raises(exc, match="seed"):
        getattr(corruptions, family)(x, 1, seed=seed)


@pytest.mark.parametrize("attack", [attacks.fgsm, attacks.pgd])
def test_attacks_take_integer_labels_of_shape_n(attack):
    model = image_model()
    with pytest.raises(TypeError, match="labels must hold integer class labels"):
        attack(model, IMAGES, LABELS.astype(float))
    with pytest.raises(ValueError, match=r"labels must be 1-D, got shape \(4, 1\)"):
        attack(model, IMAGES, LABELS[:, None])
    assert attack(model, IMAGES, LABELS.astype(np.uint8)).shape == IMAGES.shape
    # evaluate_robustness passes its checked labels on to the attacks
    assert set(attacks.evaluate_robustness(model, IMAGES, LABELS, eps=[0.0, 0.1], attack="pgd", steps=2)) == {0.0, 0.1}


def test_fit_warns_when_the_loss_becomes_non_finite_without_terminate_on_nan():
    model = nn.Sequential([nn.Dense(4, 16), nn.ReLU(), nn.Dense(16, 3)], seed=0)
    X = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    y = np.arange(64) % 3
    opt = optim.SGD(model.parameters(), lr=1e6)
    with pytest.warns(RuntimeWarning, match=r"training loss became nan at epoch 2") as record:
        history = model.fit(X, y, loss=losses.CrossEntropy(), optimizer=opt, epochs=4, batch_size=16)
    assert np.isnan(history["loss"][-1])
    assert sum("training loss became" in str(w.message) for w in record) == 1, "warned once per fit"
    assert record[0].filename == __file__, "the warning points at the caller's fit"


def test_fit_does_not_warn_while_the_loss_is_finite():
    model = nn.Sequential([nn.Dense(4, 3)], seed=0)
    X = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        model.fit(X, np.arange(16) % 3, loss=losses.CrossEntropy(), optimizer=optim.SGD(model.parameters()), epochs=2)


# -- found by the campaign ------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [0.5, 3, {"a": 1}, "float17"])
def test_a_bad_dtype_is_named(bad):
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        nn.ReLU(dtype=bad)
    with pytest.raises(TypeError, match="dtype must be"):
        data.one_hot(np.array([0, 1]), 2, dtype=bad)


def test_one_hot_refuses_a_size_it_cannot_allocate():
    with pytest.raises(ValueError, match=r"len\(y\) \* num_classes"):
        data.one_hot(np.array([0, 1]), 2**62)


@pytest.mark.parametrize("path", [3.5, 7, None, b"/tmp/m.bionn", "", "a\0b"])
def test_paths_of_the_wrong_type_are_named(tmp_path, path):
    model = image_model()
    for call in (lambda: model.save(path), lambda: nn.load(path), lambda: selforg.load(path)):
        with pytest.raises((TypeError, ValueError), match="path"):
            call()
    with pytest.raises((TypeError, ValueError), match="filepath"):
        callbacks.ModelCheckpoint(path)


def test_reading_a_fifo_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for call in (lambda: data.read_idx(fifo), lambda: data.sha256_file(fifo), lambda: data.read_cifar10_batch(fifo)):
        with pytest.raises(ValueError, match="not a regular file"):
            call()


def test_random_topologies_refuse_a_window_count_they_cannot_hold():
    """windows_per_unit=2**32 used to run (and allocate) for as long as it was let."""
    with pytest.raises(ValueError, match=r"n_units \* windows_per_unit"):
        selforg.Topology.random(0, windows_per_unit=2**32)


def test_set_num_threads_is_range_checked():
    with pytest.raises(ValueError, match="n must be <="):
        bionn.set_num_threads(64081862718)  # was a pybind11 "incompatible function arguments" dump
    assert bionn.get_num_threads() >= 1


@pytest.mark.parametrize(
    "call, exc, words",
    [
        (lambda m: m.forward(np.zeros((2, 16)), training=np.ones(3)), TypeError, "training must be a bool"),
        (lambda m: m.predict(np.zeros((2, 5))), ValueError, "X does not fit the model"),
        (lambda m: m.parameters(layers=0.5), TypeError, "layers must be"),
        (lambda m: m.parameters(layers=[99]), ValueError, "layers[i] must be <= 1"),
        (lambda m: m.parameters(tags=3), TypeError, "tags must be"),
        (lambda m: m.load_state_dict(3.0), TypeError, "state must be a mapping"),
        (lambda m: nn.Sequential(3), TypeError, "layers must be a list"),
    ],
)
def test_sequential_arguments_are_named(call, exc, words):
    model = image_model()
    with pytest.raises(exc, match=re.escape(words)):
        call(model)


@pytest.mark.parametrize(
    "make, exc, words",
    [
        (lambda o: callbacks.EarlyStopping(patience={"a": 1}), TypeError, "patience"),
        (lambda o: callbacks.EarlyStopping(monitor=None), TypeError, "monitor"),
        (lambda o: callbacks.ParameterRecorder(tags=3), TypeError, "tags"),
        (lambda o: callbacks.StepDecay(o, milestones=0.5), TypeError, "milestones"),
        (lambda o: callbacks.LearningRateScheduler(o, lambda epoch: 1.0), TypeError, "schedule(epoch, lr)"),
        (lambda o: optim.groups_by_tag([], 3), TypeError, "overrides"),
        (lambda o: optim.groups_by_tag([], {"weight": 3}), TypeError, "overrides"),
    ],
)
def test_callback_and_optimizer_arguments_are_named(make, exc, words):
    opt = optim.SGD(image_model().parameters())
    with pytest.raises(exc, match=re.escape(words)):
        make(opt)


@pytest.mark.parametrize(
    "call, exc, words",
    [
        (lambda: corruptions.bandpass_response(5, 1.0, 1.0), TypeError, "shape"),
        (lambda: corruptions.bandpass_response((), 1.0, 1.0), ValueError, "shape"),
        (lambda: corruptions.bandpass_response((2**40, 2**40), 1.0, 1.0), ValueError, "shape[0]"),
        (lambda: corruptions.bandpass_response((8, 8), 1.0, 1.0, units=np.arange(3)), ValueError, "units"),
        (lambda: corruptions.bandpass_filter(np.zeros((1, 1, 8, 8)), 1.0, 1.0, clip=np.arange(3)), TypeError, "clip"),
        (lambda: list(corruptions.corrupt_all(np.zeros((1, 1, 8, 8)), names=0.5)), TypeError, "names"),
        (lambda: nn.amplifying_mlp(2, 1, depth=2, special_layers=0.5), TypeError, "special_layers"),
        (lambda: data.locate("mnist", files=0.5), TypeError, "files"),
        (lambda: data.sha256_file(__file__, chunk_size=0.5), TypeError, "chunk_size"),
    ],
)
def test_other_arguments_are_named(call, exc, words):
    with pytest.raises(exc, match=re.escape(words)):
        call()
