"""Demo "paper": a hidden ReLU layer lets an MLP solve a task a linear model cannot.

The data are two interleaved half-moons (generated here in NumPy, no download), which no straight
line separates. Both claims train real bionn models over several seeds:

* ``demo.mlp_beats_linear``: the MLP's test accuracy exceeds the linear model's (one-sided Welch
  t-test over seeds, p < 0.05).
* ``demo.mlp_accuracy``: the MLP's mean test accuracy is at least 0.95.

Quick mode: 3 seeds, 300 training points, 40 epochs. Full mode: 10 seeds, 1000 points, 100 epochs.
"""

from __future__ import annotations

import functools
from typing import Any, Dict, Optional, Tuple

import numpy as np

from ..experiments import register_claim, repeat, ttest

__all__ = ["make_moons", "train_moons", "moons_runs", "SETTINGS"]

PAPER = "demo"
NOISE = 0.15
SETTINGS: Dict[str, Dict[str, Any]] = {
    "quick": {"seeds": 3, "n_train": 300, "n_test": 1000, "epochs": 40},
    "full": {"seeds": 10, "n_train": 1000, "n_test": 5000, "epochs": 100},
}
_QUICK_NOTE = "quick: 3 seeds, 300 training points, 40 epochs (full: 10 seeds, 1000 points, 100 epochs)"


def make_moons(n: int, noise: float, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """Two interleaved half-circles with Gaussian noise, centred at the origin.

    Parameters
    ----------
    n : int
        Number of points (half per class).
    noise : float
        Standard deviation of the Gaussian noise added to each coordinate.
    rng : numpy.random.Generator

    Returns
    -------
    X : ndarray of float32, shape (n, 2)
    y : ndarray of int64, shape (n,)
        Class labels 0 (upper moon) and 1 (lower moon), shuffled.
    """
    n0 = n // 2
    n1 = n - n0
    t0 = rng.uniform(0.0, np.pi, n0)
    t1 = rng.uniform(0.0, np.pi, n1)
    X = np.concatenate([np.c_[np.cos(t0), np.sin(t0)], np.c_[1.0 - np.cos(t1), 0.5 - np.sin(t1)]])
    y = np.r_[np.zeros(n0, np.int64), np.ones(n1, np.int64)]
    X = X + rng.normal(0.0, noise, X.shape) - np.array([0.5, 0.25])
    order = rng.permutation(n)
    return X[order].astype(np.float32), y[order]


def train_moons(
    seed: int,
    model: str = "mlp",
    n_train: int = 300,
    n_test: int = 1000,
    epochs: int = 40,
    hidden: int = 32,
    lr: float = 0.02,
    noise: float = NOISE,
) -> Dict[str, float]:
    """Trains a linear model or a one-hidden-layer ReLU MLP on fresh moons data.

    ``seed`` fixes the data and the model (initialisation, shuffling), so ``"linear"`` and
    ``"mlp"`` with the same seed see the same data.

    Parameters
    ----------
    seed : int
    model : {"linear", "mlp"}
    n_train, n_test, epochs, hidden : int
    lr : float
        Adam learning rate.
    noise : float

    Returns
    -------
    dict
        ``test_accuracy``, ``train_accuracy``, ``train_loss`` (final epoch).
    """
    from .. import losses, nn, optim

    rng = np.random.default_rng(seed)
    X, y = make_moons(n_train, noise, rng)
    X_test, y_test = make_moons(n_test, noise, rng)
    if model == "linear":
        layers = [nn.Dense(2, 2)]
    elif model == "mlp":
        layers = [nn.Dense(2, hidden), nn.ReLU(), nn.Dense(hidden, 2)]
    else:
        raise ValueError(f"model must be 'linear' or 'mlp', got {model!r}")
    net = nn.Sequential(layers, seed=seed)
    loss = losses.CrossEntropy()
    history = net.fit(X, y, loss=loss, optimizer=optim.Adam(net.parameters(), lr=lr), epochs=epochs, batch_size=32)
    test = net.evaluate(X_test, y_test, loss)
    return {
        "test_accuracy": float(test["accuracy"]),
        "train_accuracy": float(history["accuracy"][-1]),
        "train_loss": float(history["loss"][-1]),
    }


@functools.lru_cache(maxsize=8)
def _cached_runs(mode: str, backend: str, address: Optional[str], n_workers: Optional[int]) -> Any:
    s = SETTINGS[mode]
    common = {"n_train": s["n_train"], "n_test": s["n_test"], "epochs": s["epochs"]}
    configs = [dict(common, model="linear"), dict(common, model="mlp")]
    return repeat(
        train_moons, seeds=range(s["seeds"]), configs=configs, backend=backend, address=address, n_workers=n_workers
    )


def moons_runs(
    mode: str = "quick", backend: str = "serial", address: Optional[str] = None, n_workers: Optional[int] = None
) -> Any:
    """Both models over the mode's seeds, as a :func:`bionn.experiments.repeat` DataFrame (cached
    per arguments, so the two claims share one set of runs)."""
    return _cached_runs(mode, backend, address, n_workers).copy()


def _accuracies(df: Any, model: str) -> np.ndarray:
    return df.loc[df["model"] == model, "test_accuracy"].to_numpy()


@register_claim(
    id="demo.mlp_beats_linear",
    paper=PAPER,
    where="synthetic two-moons task",
    description="an MLP with a hidden ReLU layer beats a linear model on test accuracy "
    "(one-sided Welch t-test over seeds)",
    paper_value="MLP > linear, p < 0.05",
    compare="significant",
    alpha=0.05,
    quick_note=_QUICK_NOTE,
)
def mlp_beats_linear(
    mode: str, backend: str = "serial", address: Optional[str] = None, n_workers: Optional[int] = None
) -> Tuple[float, Dict[str, Any]]:
    df = moons_runs(mode, backend, address, n_workers)
    mlp, linear = _accuracies(df, "mlp"), _accuracies(df, "linear")
    res = ttest(mlp, linear, welch=True, alternative="greater")
    return res.pvalue, {
        "mlp_accuracy_mean": float(mlp.mean()),
        "linear_accuracy_mean": float(linear.mean()),
        "t": res.statistic,
        "seeds": int(mlp.size),
    }


@register_claim(
    id="demo.mlp_accuracy",
    paper=PAPER,
    where="synthetic two-moons task",
    description="the MLP's mean test accuracy on two-moons is at least 0.95",
    paper_value=0.95,
    compare=">=",
    quick_note=_QUICK_NOTE,
)
def mlp_accuracy(
    mode: str, backend: str = "serial", address: Optional[str] = None, n_workers: Optional[int] = None
) -> Tuple[float, Dict[str, Any]]:
    df = moons_runs(mode, backend, address, n_workers)
    mlp = _accuracies(df, "mlp")
    return float(mlp.mean()), {"std": float(mlp.std(ddof=1)) if mlp.size > 1 else None, "seeds": int(mlp.size)}
