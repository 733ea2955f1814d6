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


# -- the findings of the first long campaign ------------------------------------------------------
@pytest.fixture
def small_memory(monkeypatch):
    """A 64 MiB cap (bionn's own, read by Python and C++ alike), so huge sizes are refused quickly."""
    monkeypatch.setenv("BIONN_MAX_BYTES", str(64 << 20))


@pytest.mark.parametrize(
    "call, words",
    [
        # were hangs: a loop count past what the C++ int loops (and any run) take, a huge allocation
        (lambda: attacks.evaluate_robustness(image_model(), IMAGES, LABELS, repeats=2**32), "repeats must be <="),
        (
            lambda: attacks.evaluate_robustness(image_model(), IMAGES, LABELS, seed=2**64 - 1, repeats=2),
            "seed + repeats",
        ),
        (lambda: selforg.MetaLearner().run(None, None, meta_steps=2 * 10**10), "meta_steps must be <="),
        (lambda: selforg.MetaLearner(epochs_per_step=2**31), "epochs_per_step must be <="),
        (lambda: selforg.histogram_entropy(np.arange(10.0), bins=2**31), "bins = 2147483648 elements"),
        (
            lambda: data.make_focus_blobs(40, 4, n_test=2_300_000_000),
            "(n_samples + n_test) * (n_informative + n_noise)",
        ),
        # were MemoryError / numpy-internal messages
        (lambda: data.make_focus_blobs(40, 4, noise_ratio=1e12), "(n_samples + n_test) * (n_informative + n_noise)"),
        (lambda: data.make_focus_blobs(40, 2**33), "n_classes * n_clusters_per_class * n_informative"),
        (lambda: data.random_crop(IMAGES, 4, padding=2**30, rng=0), "(H + 2 * padding)"),
        (lambda: data.random_translate(IMAGES, 2**30, rng=0), "(H + 2 * max_shift)"),
        (
            lambda: data.make_cluttered_mnist(np.random.rand(4, 8, 8), np.arange(4), 5, size=2**20, clutter_size=2),
            "n * size * size",
        ),
        (lambda: nn.Conv2d(1, 2, 3, padding=2**31), "padding must be <= 2147483647"),
        (lambda: nn.AvgPool2d(2, padding=2), "padding must be <= 1"),
        (lambda: nn.FlexibleConv2d(1, 2, 3, input_size=(8, 8), padding=2**31), "padding must be <= 2147483647"),
    ],
)
def test_sizes_and_counts_that_cannot_run_are_refused_before_anything_runs(small_memory, call, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        call()


def test_a_padding_whose_activations_cannot_fit_is_refused_at_forward(small_memory):
    """The padding is valid for some input; for this one the output would need terabytes: refused
    (was std::bad_alloc as a MemoryError), naming the input and the bytes, the model unchanged."""
    model = nn.Sequential([nn.Conv2d(1, 2, 3, padding=2**20), nn.ReLU()], seed=0)
    before = model.state_dict()
    x = np.zeros((4, 1, 8, 8), np.float32)
    for call in (lambda: model.forward(x), lambda: model.predict(x), lambda: attacks.fgsm(model, x, [0] * 4)):
        with pytest.raises(ValueError, match=r"x|X|images") as info:
            call()
        assert "bytes" in str(info.value) and "(4, 2, 2097158, 2097158)" in str(info.value)
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize(
    "call, exc, words",
    [
        (lambda: data.make_focus_classification(return_info=np.array([1, 2])), TypeError, "return_info"),
        (lambda: nn.SecondaryActivation(6, amplifying=[[1, 2], [3]]), TypeError, "amplifying must be array-like"),
        (
            lambda: data.subsample(np.zeros((4, 2)), np.arange(4) % 2, 1, classes=[[0], [1, 2]]),
            TypeError,
            "classes must be array-like",
        ),
        (lambda: data.subsample(np.zeros((4, 2)), np.arange(4) % 2, 1, classes=5), ValueError, "classes must be 1-D"),
        (lambda: callbacks.ModelCheckpoint("m-{epoch:q}.bionn"), ValueError, "{epoch}"),
        (lambda: callbacks.ModelCheckpoint("m-{val_loss:d}.bionn"), ValueError, "{val_loss}"),
        (lambda: callbacks.ModelCheckpoint("m-{}.bionn"), ValueError, "log key"),
        (lambda: callbacks.ModelCheckpoint("m-{epoch.real}.bionn"), ValueError, "log key"),
        (lambda: callbacks.ModelCheckpoint("m-{epoch.bionn"), ValueError, "not a valid format string"),
    ],
)
def test_more_arguments_are_named(call, exc, words):
    with pytest.raises(exc, match=re.escape(words)):
        call()


def test_model_checkpoint_accepts_the_documented_templates(tmp_path):
    for t in ("ckpt-{epoch:02d}-{val_loss:.3f}.npz", "m-{epoch}.bionn", "{{literal}}-{epoch!r}.bionn", "plain.bionn"):
        callbacks.ModelCheckpoint(str(tmp_path / t))


def test_validation_data_that_does_not_fit_names_validation_data():
    model = nn.Sequential([nn.Dense(6, 3)], seed=0)
    X, y = np.zeros((8, 6), np.float32), np.arange(8) % 3
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"^validation_data\[0\] does not fit the model"):
        model.fit(X, y, loss=losses.CrossEntropy(), optimizer=opt, validation_data=(X[:, :5], y), verbose=0)


def test_labels_beyond_the_model_but_within_the_surrogate_are_named_labels():
    """A surrogate with more classes accepts the labels; the accuracy on the model then refused
    them as ``y`` (evaluate's argument), not ``labels``."""
    model = image_model()
    surrogate = nn.Sequential([nn.Flatten(), nn.Dense(16, 8)], seed=1)
    labels = np.array([0, 1, 5, 1])
    with pytest.raises(ValueError, match=r"^labels has label 5, but the model outputs 3 classes"):
        attacks.evaluate_robustness(model, IMAGES, labels, eps=0.1, surrogate=surrogate)
    with pytest.raises(ValueError, match=r"^labels has label 5"):
        attacks.accuracy(model, IMAGES, labels)
    with pytest.raises(ValueError, match=r"^images does not fit the model"):
        attacks.accuracy(model, IMAGES[:, :, :3], LABELS)
    assert attacks.accuracy(model, IMAGES, LABELS) == attacks.accuracy(model, IMAGES.tolist(), LABELS.tolist())


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: losses.CrossEntropy()(np.zeros((2, 3)), [[1, 2], [3]]), "target must be array-like"),
        (lambda: losses.MSE()([[1, 2], [3]], np.zeros(2)), "pred must be array-like"),
        (lambda: nn.MixLU(6, negative_units=[[1], [2, 3]]), "negative_units must be array-like"),
        (lambda: nn.FocusDense(4, 3, mu_init=[[0.1], [0.2, 0.3]]), "mu_init must be array-like"),
        (
            lambda: nn.Sequential([nn.Dense(2, 2)]).load_state_dict({"0.weight": [[1.0], [2.0, 3.0]]}, strict=False),
            "0.weight",
        ),
        (lambda: corruptions.evaluate_corruptions(image_model(), IMAGES, [[0], [1, 2]]), "labels"),
    ],
)
def test_ragged_sequences_are_refused_naming_the_argument(call, words):
    """numpy's "inhomogeneous shape" ValueError used to reach the user without the argument's name."""
    with pytest.raises(TypeError, match=re.escape(words)):
        call()


@pytest.mark.parametrize(
    "call, exc, words",
    [
        (lambda: nn.amplifying_mlp(1, 1, width=8536975422762), ValueError, "width, depth"),
        (lambda: nn.amplifying_mlp(1, 1, width=1, depth=2**40), ValueError, "width, depth and"),
        (lambda: nn.amplifying_mlp(2**53, 1), ValueError, "in_features, width"),
        (lambda: nn.amplifying_mlp(1, 2**40), ValueError, "depth and out_features"),
        (lambda: nn.FlexibleConv2d(1, 2, 28, input_size=(6, 6)), ValueError, "kernel_size (28, 28) is larger"),
        (lambda: data.subsample((1, 2, 3), (1, 2, 3), 2), ValueError, "y has too few samples of a class"),
        (lambda: data.make_focus_blobs(40, 4, noise_ratio=2**63), ValueError, "noise_ratio * n_informative"),
    ],
)
def test_builders_name_their_own_arguments(call, exc, words):
    """Found by the second campaign: amplifying_mlp's width was reported as a layer's ``features``,
    FlexibleConv2d's kernel_size as "the kernel"."""
    with pytest.raises(exc, match=re.escape(words)):
        call()


def test_non_finite_values_are_counted_across_chunks_without_a_full_size_mask():
    """as_array checks finiteness chunk by chunk (the mask of a whole training set would cost as much
    memory as a byte per element): the count is exact across chunk borders and the message names it."""
    from bionn import _validation as v

    n = 3 * v._FINITE_CHUNK + 5
    x = np.zeros((n, 1), np.float32)
    bad = [0, v._FINITE_CHUNK - 1, v._FINITE_CHUNK, 2 * v._FINITE_CHUNK + 7, n - 1]
    x[bad[:3], 0] = np.nan
    x[bad[3:], 0] = [np.inf, -np.inf]
    assert v._count_nonfinite(x) == 5 and v._count_nonfinite(np.zeros(10, np.int64)) == 0
    with pytest.raises(ValueError, match=r"^X contains 5 NaN or infinite value\(s\) \(as float32\)$"):
        v.as_array(x, "X", np.float32, max_ndim=2)
    big = np.full(10, 1e39, np.float64)  # beyond float32's range: inf once converted
    with pytest.raises(ValueError, match=r"contains 10 NaN or infinite"):
        v.as_array(big, "X", np.float32)
