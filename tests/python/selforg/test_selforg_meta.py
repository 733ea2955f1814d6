"""bionn.selforg.meta: the meta-learning rules of §2.2 (Algorithm 2) and their argument checks."""

import numpy as np
import pytest

from bionn import _core
from bionn.selforg import MetaLearner, SelfOrganizingNetwork, Topology


def images(n=48, seed=0):
    return np.random.default_rng(seed).random((n, 20, 20)).astype(np.float32)


def test_meta_learner_bad_arguments_raise():
    net = SelfOrganizingNetwork(Topology.handcrafted("A3"))
    with pytest.raises(RuntimeError, match="fit"):
        MetaLearner().step(net, images(8))
    with pytest.raises(ValueError, match="method"):
        MetaLearner("annealing")
    with pytest.raises(ValueError, match="epochs_per_step"):
        MetaLearner(epochs_per_step=0)
    with pytest.raises(TypeError, match="SelfOrganizingNetwork"):
        MetaLearner().step("net", images(8))


# ------------------------------------------------------------------------------------------------
# meta-learning (§2.2, Algorithm 2)
# ------------------------------------------------------------------------------------------------
def test_acceptance_rule_is_strict():
    assert _core.selforg_accept_candidate(2.0, 1.0)
    assert not _core.selforg_accept_candidate(1.0, 1.0)
    assert not _core.selforg_accept_candidate(0.5, 1.0)


def test_neighbours_move_one_window_by_one_cell():
    topo = Topology.random(7)
    for k in range(3):
        for f in _core.selforg_neighbours(topo.layout(), [list(map(list, u)) for u in topo.fields], k):
            diff = sum(abs(a - b) for u, v in zip(f, topo.fields) for cu, cv in zip(u, v) for a, b in zip(cu, cv))
            assert diff == 1
            assert [tuple(map(tuple, u)) for j, u in enumerate(f) if j != k] == [
                u for j, u in enumerate(topo.fields) if j != k
            ]


@pytest.mark.parametrize("method", ["hill_climbing", "local_search", "random_search"])
def test_meta_learning_never_accepts_lower_entropy_and_is_seeded(method):
    X = images(48)

    def run(seed):
        net = SelfOrganizingNetwork(Topology.random(11), seed=0, batch_size=16).fit(X, epochs=1)
        meta = MetaLearner(method, seed=seed)
        trace = []
        for _ in range(3 if method != "local_search" else 1):
            before_fields, before_h = net.topology.fields, net.last_entropy
            r = meta.step(net, X)
            if r["accepted"]:
                if method == "random_search":
                    assert sum(r["entropy"]) > sum(before_h)
                else:
                    assert r["entropy"][r["unit"]] > before_h[r["unit"]]
                    moved = [k for k in range(3) if net.topology.fields[k] != before_fields[k]]
                    assert moved == [r["unit"]]
            else:
                assert net.topology.fields == before_fields and net.last_entropy == before_h
            trace.append((r["accepted"], r["fields"], r["entropy"]))
        return trace

    assert run(3) == run(3)


def test_meta_learner_run_calls_back_per_step():
    X = images(32)
    net = SelfOrganizingNetwork(Topology.random(2), seed=0, batch_size=16).fit(X, epochs=1)
    seen = []
    out = MetaLearner(seed=1).run(net, X, 2, on_step=lambda m, n, r: seen.append((m, r["accepted"])))
    assert [s[0] for s in seen] == [1, 2] and len(out) == 2
