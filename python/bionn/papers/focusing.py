"""The focusing-neuron paper (``../shared/papers/focusing-neuron.txt``): claims checked so far.

* ``focusing.fig2_left_noise``: Fig. 2b — with noise columns on the left of the informative ones,
  foci initialised at the centre (Focus-c) move right during training (paired one-sided Wilcoxon
  test over seeds on the mean centre before vs after training, p < 0.05).
* ``focusing.fig9_prune_1e7``: Fig. 9 — pruning effective weights where phi < 1e-7 leaves test
  accuracy unchanged (largest change over seeds <= 0.001).

Data: :func:`bionn.datasets.make_focus_blobs` (§4.1, Table 1's generator) with 20 informative and 20
noise columns, 2 classes. Network: FocusDense(40, 10) -> ReLU -> Dense(10, 2), SGD momentum 0.9 with
the paper's learning rates (weights 0.1, mu 0.01, sigma 0.01). Quick mode: 6 seeds, 1000 samples,
30 epochs; full mode: 20 seeds, 2000 samples, 100 epochs. The paper's Table 2 (MNIST/Fashion-MNIST
800-800 networks), Fig. 3 and the CNN comparison are not registered yet (issue 4).

Not registered because it does not reproduce with this protocol yet: Fig. 2a (noise on both sides,
spread foci move inward). Here the share of focus mass on informative inputs does not grow (quick
mode: 0.736 before, 0.627-0.754 after over 6 seeds; narrower initial apertures move the foci
outward), so the protocol (apertures, widths, epochs) needs the paper's exact settings first.
``train_blobs(seed, noise="both", mu_init="spread")`` reports the numbers.
"""
from __future__ import annotations

import functools
from typing import Any, Dict, Optional, Tuple

import numpy as np

from ..experiments import register_claim, repeat, wilcoxon

__all__ = ["train_blobs", "SETTINGS"]

PAPER = "focusing"
SETTINGS: Dict[str, Dict[str, Any]] = {
    "quick": {"seeds": 6, "n_samples": 1000, "epochs": 30},
    "full": {"seeds": 20, "n_samples": 2000, "epochs": 100},
}
_NOTE = "quick: 6 seeds, 1000 samples, 30 epochs (full: 20 seeds, 2000 samples, 100 epochs)"


def train_blobs(seed: int, noise: str = "left", mu_init: str = "center", n_samples: int = 1000, epochs: int = 30,
                hidden: int = 10, sigma_init: float = 0.1) -> Dict[str, float]:
    """Trains FocusDense -> ReLU -> Dense on §4.1's blobs; reports how the foci moved.

    Returns
    -------
    dict
        ``mu_mean_before/after``, ``mu_std_before/after``, ``focus_on_informative_before/after``
        (share of the focus mass on informative inputs), ``accuracy`` (test),
        ``pruned_accuracy`` and ``sparsity`` after pruning at phi < 1e-7.
    """
    from .. import datasets, losses, nn, optim

    X, y, X_test, y_test, info = datasets.make_focus_blobs(n_samples=n_samples, n_informative=20, noise=noise,
                                                           n_classes=2, seed=seed, return_info=True)
    informative = np.asarray(info["informative"])
    m = X.shape[1]
    net = nn.Sequential([nn.FocusDense(m, hidden, mu_init=mu_init, sigma_init=sigma_init), nn.ReLU(),
                         nn.Dense(hidden, 2)], seed=seed)
    focus = net[0]
    mu0 = focus.mu.copy()
    # Share of the focus mass that lies on informative inputs: what "locating the features" means.
    def on_informative() -> float:
        phi = focus.focus()
        return float(phi[:, informative].sum() / phi.sum())

    mass0 = on_informative()
    groups = optim.groups_by_tag(net.parameters(), {"mu": {"lr": 0.01}, "sigma": {"lr": 0.01}})
    loss = losses.CrossEntropy()
    net.fit(X, y, loss=loss, optimizer=optim.SGD(groups, lr=0.1, momentum=0.9), epochs=epochs, batch_size=32)
    mu1 = focus.mu.copy()
    mass1 = on_informative()
    accuracy = net.evaluate(X_test, y_test, loss)["accuracy"]
    sparsity = focus.prune(1e-7)
    pruned = net.evaluate(X_test, y_test, loss)["accuracy"]
    return {"mu_mean_before": float(mu0.mean()), "mu_mean_after": float(mu1.mean()),
            "mu_std_before": float(mu0.std()), "mu_std_after": float(mu1.std()),
            "focus_on_informative_before": mass0, "focus_on_informative_after": mass1,
            "accuracy": float(accuracy), "pruned_accuracy": float(pruned), "sparsity": float(sparsity)}


@functools.lru_cache(maxsize=8)
def _runs(mode: str, noise: str, mu_init: str, backend: str, address: Optional[str], n_workers: Optional[int]) -> Any:
    s = SETTINGS[mode]
    config = {"noise": noise, "mu_init": mu_init, "n_samples": s["n_samples"], "epochs": s["epochs"]}
    return repeat(train_blobs, seeds=range(s["seeds"]), configs=[config], backend=backend, address=address,
                  n_workers=n_workers)


@register_claim(id="focusing.fig2_left_noise", paper=PAPER, where="Fig. 2b, §4.1",
                description="noise on the left: foci initialised at the centre move right while training "
                            "(paired one-sided Wilcoxon on the mean centre, after > before)",
                paper_value="foci shift right, p < 0.05", compare="significant", alpha=0.05, quick_note=_NOTE)
def fig2_left_noise(mode: str, backend: str = "serial", address: Optional[str] = None,
                    n_workers: Optional[int] = None) -> Tuple[float, Dict[str, Any]]:
    df = _runs(mode, "left", "center", backend, address, n_workers)
    res = wilcoxon(df["mu_mean_after"].to_numpy(), df["mu_mean_before"].to_numpy(), alternative="greater")
    return res.pvalue, {"mu_mean_before": float(df["mu_mean_before"].mean()),
                        "mu_mean_after": float(df["mu_mean_after"].mean()), "seeds": len(df)}


@register_claim(id="focusing.fig9_prune_1e7", paper=PAPER, where="Fig. 9, §4.4",
                description="pruning effective weights where phi < 1e-7 leaves test accuracy unchanged "
                            "(largest absolute change over seeds)",
                paper_value=0.001, compare="<=", quick_note=_NOTE)
def fig9_prune(mode: str, backend: str = "serial", address: Optional[str] = None,
               n_workers: Optional[int] = None) -> Tuple[float, Dict[str, Any]]:
    df = _runs(mode, "left", "center", backend, address, n_workers)
    change = float(np.abs(df["pruned_accuracy"] - df["accuracy"]).max())
    return change, {"mean_sparsity": float(df["sparsity"].mean()), "mean_accuracy": float(df["accuracy"].mean())}
