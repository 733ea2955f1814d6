"""Demo "paper": a hidden ReLU layer lets an MLP solve a task a linear model cannot.

The template of a paper module: one :class:`~bionn.experiments.Experiment` (the protocol, whose
runs are recorded) and the :class:`~bionn.experiments.Claim` s that read its records. The data are
two interleaved half-moons generated here in NumPy (no download).

* ``demo.mlp_beats_linear``: the MLP's test accuracy exceeds the linear model's (two-sided Welch
  t-test over 10 seeds, p < 0.05, MLP ahead by at least 5 points).
* ``demo.mlp_accuracy``: the MLP's mean test accuracy is at least 0.95.

Full protocol: 10 seeds, 1000 training points, 100 epochs. Quick mode: 3 seeds, 300 points, 40 epochs.
"""

from __future__ import annotations

from typing import Dict, Tuple

import numpy as np

from ..experiments import Claim, Compare, Experiment, Group, Level, Quick, register_claim, register_experiment

__all__ = ["make_moons", "train_moons", "EXPERIMENT"]

PAPER = "demo"
NOISE = 0.15


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


EXPERIMENT = register_experiment(
    Experiment(
        paper=PAPER,
        name="moons",
        run=train_moons,
        configs=[
            {"model": model, "n_train": 1000, "n_test": 5000, "epochs": 100, "hidden": 32, "lr": 0.02}
            for model in ("linear", "mlp")
        ],
        seeds=range(10),
        quick=Quick(
            seeds=range(3),
            overrides={"n_train": 300, "n_test": 1000, "epochs": 40},
            note="3 seeds, 300 training points, 40 epochs",
        ),
        protocol={
            "data": f"two interleaved half-moons, Gaussian noise sd {NOISE}, fresh per seed",
            "models": "linear 2-2; MLP 2-32-2 with ReLU",
            "optimizer": "Adam, lr 0.02, batch 32, cross-entropy",
            "epochs": "100",
            "repeats": "10 seeds (data and initialisation)",
        },
        description="linear model vs one-hidden-layer MLP on two-moons",
    )
)

register_claim(
    Claim(
        id="demo.mlp_beats_linear",
        paper=PAPER,
        where="synthetic two-moons task",
        statement="an MLP with a hidden ReLU layer is more accurate than a linear model on two-moons",
        paper_value="MLP > linear (a linear boundary cannot separate the moons)",
        criterion=Compare(
            "test_accuracy",
            Group("moons", {"model": "mlp"}, "MLP"),
            Group("moons", {"model": "linear"}, "linear"),
            direction="greater",
            test="welch",
            min_difference=0.05,
            magnitude_note="a linear model misclassifies the moons' interleaved tips",
            scale=100,
            unit=" %",
            digits=2,
        ),
        quick_power=True,
    )
)

register_claim(
    Claim(
        id="demo.mlp_accuracy",
        paper=PAPER,
        where="synthetic two-moons task",
        statement="the MLP's mean test accuracy on two-moons is at least 95 %",
        paper_value="≥ 95 %",
        criterion=Level(
            "test_accuracy", Group("moons", {"model": "mlp"}, "MLP"), ">=", 0.95, scale=100, unit=" %", digits=2
        ),
        quick_power=True,
    )
)
