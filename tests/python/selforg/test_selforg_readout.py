"""bionn.selforg.readout: the logistic-regression readout (the extrinsic metric)."""

import numpy as np
import pytest

from bionn.selforg import Readout


def test_readout_learns_a_linear_problem_and_validates():
    rng = np.random.default_rng(0)
    F = rng.normal(size=(400, 5))
    y = (F[:, 0] + F[:, 1] > 0).astype(int) + 2 * (F[:, 2] > 0)
    clf = Readout(n_classes=4, epochs=100, lr=0.05, seed=0).fit(F[:300], y[:300])
    assert clf.score(F[300:], y[300:]) > 0.85
    with pytest.raises(ValueError, match="features"):
        clf.predict(F[:, :3])
    with pytest.raises(ValueError, match="n_classes"):
        Readout(n_classes=2).fit(F, y)
    with pytest.raises(RuntimeError, match="fit"):
        Readout().predict(F)
