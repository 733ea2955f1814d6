"""bionn.plot draws the expected axes and lines (Agg backend, nothing shown)."""

import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib", reason="matplotlib is not installed (pip install bionn[plot])")
matplotlib.use("Agg", force=True)
import matplotlib.pyplot as plt  # noqa: E402

from bionn import plot  # noqa: E402
from bionn.metrics import confusion_matrix as metrics_confusion_matrix  # noqa: E402
from bionn.nn import History  # noqa: E402

HIST = {
    "loss": [1.0, 0.6, 0.4],
    "accuracy": [0.6, 0.75, 0.8],
    "lr": [0.1, 0.1, 0.05],
    "val_loss": [0.8, 0.6, 0.55],
    "val_accuracy": [0.7, 0.77, 0.79],
}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _line_labels(ax):
    return [line.get_label() for line in ax.get_lines()]


# -- training curves ----------------------------------------------------------------------------
def test_training_curves_dict_default_is_loss_and_accuracy():
    fig = plot.training_curves(HIST)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes) == 2
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    for ax in fig.axes:
        assert _line_labels(ax) == ["train", "validation"]
        assert ax.get_xlabel() == "epoch"
    train = fig.axes[0].get_lines()[0]
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(train.get_ydata(), HIST["loss"])
    np.testing.assert_allclose(fig.axes[1].get_lines()[1].get_ydata(), HIST["val_accuracy"])


def test_training_curves_from_history_object_uses_its_epochs():
    h = History()
    for i in range(4):
        h.append({"epoch": i + 3, "loss": 1.0 / (i + 1), "lr": 0.1})
    fig = plot.training_curves(h)
    assert len(fig.axes) == 1  # no accuracy, no validation
    ax = fig.axes[0]
    assert _line_labels(ax) == ["train"]
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [3, 4, 5, 6])


def test_training_curves_from_dataframe():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(HIST, index=pd.Index([1, 2, 3], name="epoch"))
    fig = plot.training_curves(df, metrics=["loss"])
    assert len(fig.axes) == 1 and len(fig.axes[0].get_lines()) == 2


def test_training_curves_real_fit():
    from bionn import losses, nn, optim

    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 5)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    model = nn.Sequential([nn.Dense(5, 2)], seed=0)
    hist = model.fit(
        X,
        y,
        loss=losses.CrossEntropy(),
        optimizer=optim.SGD(model.parameters(), lr=0.1),
        epochs=3,
        batch_size=16,
        validation_data=(X, y),
    )
    fig = plot.training_curves(hist, metrics=["loss", "accuracy", "lr"])
    assert len(fig.axes) == 3
    assert [len(ax.get_lines()) for ax in fig.axes] == [2, 2, 1]
    assert all(len(ax.get_lines()[0].get_xdata()) == 3 for ax in fig.axes)


def test_training_curves_metric_selection_and_val_prefix():
    fig = plot.training_curves(HIST, metrics="val_accuracy")
    assert [ax.get_title() for ax in fig.axes] == ["accuracy"]
    fig = plot.training_curves(HIST, metrics=["lr", "loss", "loss"])
    assert [ax.get_title() for ax in fig.axes] == ["lr", "loss"]


def test_training_curves_custom_metric_only_history():
    fig = plot.training_curves({"mae": [0.5, 0.4], "val_mae": [0.6, 0.5], "lr": [0.1, 0.1]})
    assert [ax.get_title() for ax in fig.axes] == ["mae"]


def test_training_curves_on_given_axes():
    fig, axes = plt.subplots(2, 1)
    out = plot.training_curves(HIST, ax=axes)
    assert out is fig
    assert [len(ax.get_lines()) for ax in axes] == [2, 2]
    fig, ax = plt.subplots()
    assert plot.training_curves(HIST, metrics="loss", ax=ax) is fig
    assert len(ax.get_lines()) == 2


def test_training_curves_validation():
    with pytest.raises(ValueError, match="'f1' is not in the history"):
        plot.training_curves(HIST, metrics=["f1"])
    with pytest.raises(ValueError, match="one Axes per metric"):
        _, ax = plt.subplots()
        plot.training_curves(HIST, ax=ax)
    with pytest.raises(ValueError, match="empty"):
        plot.training_curves({})
    with pytest.raises(ValueError, match="empty"):
        plot.training_curves(History())
    with pytest.raises(ValueError, match="numbers"):
        plot.training_curves({"loss": ["a", "b"]})
    with pytest.raises(TypeError, match="History"):
        plot.training_curves([1.0, 2.0])
    with pytest.raises(ValueError, match="at least one metric"):
        plot.training_curves(HIST, metrics=[])
    with pytest.raises(TypeError, match="matplotlib Axes"):
        plot.training_curves(HIST, metrics="loss", ax="not an axes")


# -- confusion matrix ---------------------------------------------------------------------------
def test_confusion_matrix_plot_counts_and_labels():
    y = np.array([0, 0, 1, 2, 2, 2])
    p = np.array([0, 1, 1, 2, 0, 2])
    names = ["cat", "dog", "bird"]
    fig = plot.confusion_matrix(y, p, class_names=names)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes) == 2  # heat map + colour bar
    ax = fig.axes[0]
    image = ax.get_images()[0]
    np.testing.assert_array_equal(image.get_array(), metrics_confusion_matrix(y, p, 3))
    assert [t.get_text() for t in ax.get_xticklabels()] == names
    assert [t.get_text() for t in ax.get_yticklabels()] == names
    assert len(ax.texts) == 9  # one annotation per cell
    assert "0.667" in ax.get_title()  # accuracy 4/6
    assert ax.get_xlabel() == "predicted" and ax.get_ylabel() == "true"


def test_confusion_matrix_plot_normalized_from_logits():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(100, 4))
    y = rng.integers(0, 4, 100)
    fig = plot.confusion_matrix(y, logits, normalize="true")
    shown = fig.axes[0].get_images()[0].get_array()
    assert shown.shape == (4, 4)
    np.testing.assert_allclose(np.asarray(shown).sum(axis=1), 1.0)
    assert all("." in t.get_text() for t in fig.axes[0].texts)


def test_confusion_matrix_plot_on_axes_and_no_annotation_for_many_classes():
    fig, ax = plt.subplots()
    y = np.arange(30)
    assert plot.confusion_matrix(y, y, ax=ax) is fig
    assert ax.get_images()[0].get_array().shape == (30, 30)
    assert len(ax.texts) == 0
    assert plot.compute_confusion_matrix is metrics_confusion_matrix


def test_confusion_matrix_plot_validation():
    with pytest.raises(ValueError, match="class_names has 2 names but there are 3 classes"):
        plot.confusion_matrix([0, 1, 2], [0, 1, 2], num_classes=3, class_names=["a", "b"])
    with pytest.raises(ValueError, match="num_classes is 2"):
        plot.confusion_matrix([0, 1, 2], [0, 1, 2], class_names=["a", "b"])
    with pytest.raises(ValueError, match="normalize"):
        plot.confusion_matrix([0, 1], [0, 1], normalize="row")
    with pytest.raises(ValueError, match="single string"):
        plot.confusion_matrix([0, 1], [0, 1], class_names="ab")


# -- sweep summary ------------------------------------------------------------------------------
def _sweep_df():
    pd = pytest.importorskip("pandas")
    return pd.DataFrame(
        {
            "arch": ["mlp"] * 3 + ["cnn"] * 3,
            "lr": [0.1] * 6,
            "seed": [0, 1, 2] * 2,
            "test_accuracy": [0.85, 0.86, 0.855, 0.89, 0.90, 0.895],
        }
    )


def test_sweep_summary_box():
    df = _sweep_df()
    fig = plot.sweep_summary(df, "test_accuracy", by="arch")
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["mlp", "cnn"]  # order of appearance
    points = [l for l in ax.get_lines() if l.get_gid() == "runs"]
    assert len(points) == 2 and sorted(len(l.get_ydata()) for l in points) == [3, 3]
    np.testing.assert_allclose(sorted(points[0].get_ydata()), [0.85, 0.855, 0.86])
    assert ax.get_ylabel() == "test_accuracy"


def test_sweep_summary_bar_mean_and_error():
    df = _sweep_df()
    fig = plot.sweep_summary(df, "test_accuracy", by=["arch", "lr"], kind="bar", show_points=False)
    ax = fig.axes[0]
    bars = ax.patches
    assert len(bars) == 2
    np.testing.assert_allclose([b.get_height() for b in bars], [0.855, 0.895])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["arch=mlp, lr=0.1", "arch=cnn, lr=0.1"]
    assert not [l for l in ax.get_lines() if l.get_gid() == "runs"]
    # the mean of every group lies inside the visible range
    lo, hi = ax.get_ylim()
    assert lo < 0.85 and hi > 0.90


def test_sweep_summary_on_given_axes():
    fig, axes = plt.subplots(1, 2)
    df = _sweep_df()
    assert plot.sweep_summary(df, "test_accuracy", "arch", ax=axes[1]) is fig
    assert len(axes[0].get_lines()) == 0 and len(axes[1].get_lines()) > 0


def test_sweep_summary_validation():
    df = _sweep_df()
    with pytest.raises(ValueError, match="column 'acc' is not in the DataFrame"):
        plot.sweep_summary(df, "acc", "arch")
    with pytest.raises(ValueError, match="column 'model'"):
        plot.sweep_summary(df, "test_accuracy", "model")
    with pytest.raises(ValueError, match="numeric"):
        plot.sweep_summary(df, "arch", "seed")
    with pytest.raises(ValueError, match="kind"):
        plot.sweep_summary(df, "test_accuracy", "arch", kind="violin")
    with pytest.raises(ValueError, match="error"):
        plot.sweep_summary(df, "test_accuracy", "arch", kind="bar", error="ci")
    with pytest.raises(ValueError, match="no rows"):
        plot.sweep_summary(df.iloc[:0], "test_accuracy", "arch")
    with pytest.raises(TypeError, match="DataFrame"):
        plot.sweep_summary({"a": [1]}, "a", "a")


# -- optional dependency ------------------------------------------------------------------------
def test_missing_matplotlib_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install bionn\[plot\]"):
        plot.training_curves(HIST)
    with pytest.raises(ImportError, match=r"pip install bionn\[plot\]"):
        plot.confusion_matrix([0, 1], [0, 1])
