"""The self-organizing network from several threads (issue 15): concurrent transform/entropies
equal the serial results; fit while another thread transforms raises RuntimeError (or runs
whole), never corrupting the network."""

import threading

import numpy as np

from bionn.selforg import SelfOrganizingNetwork, Topology


def test_concurrent_transform_equals_serial_and_fit_is_rejected_meanwhile():
    X = np.random.default_rng(0).random((96, 20, 20)).astype(np.float32)
    net = SelfOrganizingNetwork(Topology.handcrafted("A3"), seed=0, batch_size=32)
    net.fit(X[:64], epochs=1)
    parts = [X[i * 24 : (i + 1) * 24] for i in range(4)]
    serial = [net.transform(p) for p in parts]
    outs, errors = [], []
    stop = threading.Event()

    def worker(k):
        try:
            for r in range(6):
                i = (k + r) % 4
                try:
                    outs.append((i, net.transform(parts[i])))
                except RuntimeError as e:  # the fit below runs meanwhile
                    assert "transform" in str(e) and "fit" in str(e), e
        except Exception as e:  # pragma: no cover
            errors.append(e)

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in ts:
        t.start()
    rejected = []
    while any(t.is_alive() for t in ts) and not stop.is_set():
        try:
            net.fit(X[:32], epochs=1)
            stop.set()  # one whole fit ran; the transforms after it see the new weights
        except RuntimeError as e:
            rejected.append(str(e))
    for t in ts:
        t.join()
    assert not errors, errors
    for msg in rejected:
        assert "fit" in msg and "another thread" in msg, msg
    trained = [net.transform(p) for p in parts]
    for i, out in outs:
        assert np.array_equal(out, serial[i]) or np.array_equal(out, trained[i])
    assert all(np.isfinite(t).all() for t in trained)
