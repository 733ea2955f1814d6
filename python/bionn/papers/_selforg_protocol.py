"""The self-organizing network paper's protocol constants — the paper's numbers, the settings of
today's protocol, the Table 2 controls and sensitivity configs — shared by :mod:`bionn.papers.selforg`
(experiments, claims) and :mod:`bionn.papers._selforg_report` (evidence, report sections)."""

from __future__ import annotations

from typing import Any, Dict

PAPER = "selforg"
TOPOLOGIES = ("A1", "A2", "A3", "AR1", "AR2", "AR3")
RANDOM = ("AR1", "AR2", "AR3")
# Table 1 (MNIST, mean accuracy % of 10 runs) and Table 2 (MNIST medians, % and p-value).
PAPER_TABLE1 = {"A1": 96.4, "A2": 94.21, "A3": 96.6, "AR1": 93.03, "AR2": 93.76, "AR3": 90.28}
PAPER_TABLE2 = {"x0": 91.24, "x1": 92.40, "max": 96.22, "p": 0.009}
PAPER_PEARSON_R = 0.75

# Today's protocol (the notebook reads it too). "runs" / "meta_runs" are the seeds per topology /
# meta-learning runs: full = the paper's 10 (§3.2, Tables 1-2). n_train / n_test = the whole 10k
# sample split 80/20. meta_steps / epochs_per_step are declared readings (the paper gives neither;
# the authors' config.yaml has meta_steps 20 and 2 AE epochs per meta-heuristic call).
SETTINGS: Dict[str, Dict[str, Any]] = {
    "quick": {
        "runs": 3,
        "n_train": 2000,
        "n_test": 1000,
        "epochs": 5,
        "meta_runs": 6,
        "meta_steps": 4,
        "epochs_per_step": 2,
    },
    "full": {
        "runs": 10,
        "n_train": 8000,
        "n_test": 2000,
        "epochs": 10,
        "meta_runs": 10,
        "meta_steps": 20,
        "epochs_per_step": 2,
    },
}
# Table 2's controls (run inside each meta-learning run, from the same initial network):
# "extra_epochs" - the same network trained, without meta-steps, for as many epochs as the hill
# climber trained candidates (the total budget; the epochs its accepted candidates kept are also
# recorded); "random_search" - entropy-accepted random search (§2.2) given as many candidate
# trainings as the hill climber used.
CONTROLS = ("extra_epochs", "random_search")
# The sensitivity check of the declared readings (meta_steps, epochs_per_step): configs of
# table2_mnist beside the main one, without controls; the Table 2 claims read the main config.
SENSITIVITY = (
    {"meta_steps": 20, "epochs_per_step": 1},
    {"meta_steps": 20, "epochs_per_step": 5},
    {"meta_steps": 40, "epochs_per_step": 2},
)
# The AE units' and the readout's settings (this project's choices; the paper gives none).
AE_SETTINGS: Dict[str, Any] = {
    "lr": 1e-3,
    "l2": 1e-4,
    "dropout": 0.1,
    "batch_size": 64,
    "bins": 100,
    "entropy_samples": 1000,
}
READOUT_SETTINGS: Dict[str, Any] = {
    "readout_lr": 1e-2,
    "readout_epochs": 20,
    "readout_batch_size": 128,
    "readout_weight_decay": 1e-4,
}

#: Table 2's main config: the declared reading of M and the epochs per candidate.
T2_MAIN = {"meta_steps": SETTINGS["full"]["meta_steps"], "epochs_per_step": SETTINGS["full"]["epochs_per_step"]}
