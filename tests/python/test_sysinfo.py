"""bionn.show_config() and the oversubscription warning of Sequential.fit (issue 16)."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest

import bionn
from bionn import _sysinfo, losses, nn, optim


def test_show_config(capsys):
    info = bionn.show_config(mode="dicts")
    assert info["bionn"]["version"] == bionn.__version__
    assert info["build"]["openmp"] == bool(bionn._core.has_openmp)
    assert info["runtime"]["threads"] == bionn.get_num_threads()
    assert info["runtime"]["cpus"] >= 1 and "isa" in info["build"] and "eigen" in info["build"]
    assert bionn.show_config() is None
    out = capsys.readouterr().out
    for word in ("compiler:", "openmp:", "threads:", "eigen:", "cpu_simd:"):
        assert word in out
    with pytest.raises(ValueError, match="mode"):
        bionn.show_config(mode="json")


def _budget(cpus, busy):
    return dict(cpu_count=cpus, affinity=cpus, quota=None, cpus=float(cpus), load=busy, others=busy, busy=busy)


@pytest.fixture
def fake_budget(monkeypatch):
    def set_budget(cpus, busy):
        monkeypatch.setattr(_sysinfo, "_CACHE", {"budget": _budget(cpus, busy), "at": time.monotonic()})
        monkeypatch.setattr(_sysinfo, "_WARNED", set())

    return set_budget


def test_expected_share():
    assert _sysinfo.expected_share(2, _budget(2, 0)) == 2
    assert _sysinfo.expected_share(2, _budget(2, 2)) == pytest.approx(1.0)
    assert _sysinfo.expected_share(4, _budget(2, 0)) == pytest.approx(2.0)  # a quota / affinity below the threads


def test_check_threads_warns_once_when_far_below(fake_budget):
    fake_budget(2, 6)
    with pytest.warns(bionn.OversubscriptionWarning, match="busy.*set_num_threads\\(1\\)"):
        assert _sysinfo.check_threads(2) is not None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _sysinfo.check_threads(2) is not None  # once per process and thread count
        assert _sysinfo.check_threads(1) is None  # one thread never oversubscribes
    fake_budget(2, 0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _sysinfo.check_threads(2) is None  # an idle machine
    fake_budget(1, 0)
    with pytest.warns(bionn.OversubscriptionWarning, match="may use 1 CPU"):
        _sysinfo.check_threads(4)


def test_fit_warns_when_oversubscribed(fake_budget, rng):
    fake_budget(2, 8)
    net = nn.Sequential([nn.Dense(3, 2)], seed=0)
    X, y = rng.random((4, 3), dtype=np.float32), np.array([0, 1, 0, 1])
    before = bionn.get_num_threads()
    bionn.set_num_threads(2)
    try:
        with pytest.warns(bionn.OversubscriptionWarning):
            net.fit(X, y, loss=losses.CrossEntropy(), optimizer=optim.SGD(net.parameters()), epochs=1)
    finally:
        bionn.set_num_threads(before)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.fit(X, y, loss=losses.CrossEntropy(), optimizer=optim.SGD(net.parameters()), epochs=1)  # 1 thread


def test_cpu_budget_reads_this_machine():
    b = _sysinfo.cpu_budget()
    assert 1 <= b["cpus"] <= b["cpu_count"] and b["affinity"] >= 1
