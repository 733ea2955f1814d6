"""bionn.selforg.network and .topology: entropy estimator, masked AE gradients (float64, finite
differences and PyTorch), feature-map write-back, retained weights, topologies, input validation,
Ctrl-C."""

import numpy as np
import pytest
import scipy.stats

from bionn import _core, selforg
from bionn._validation import pair
from bionn.selforg import SelfOrganizingNetwork, Topology
from interrupt_child import interrupt_child

NAMES = ("encoder_weight", "encoder_bias", "decoder_weight", "decoder_bias")


def images(n=48, seed=0):
    return np.random.default_rng(seed).random((n, 20, 20)).astype(np.float32)


# ------------------------------------------------------------------------------------------------
# entropy (Eq. 2)
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dist", ["normal", "uniform", "exponential", "relu", "two_values"])
def test_histogram_entropy_matches_scipy(dist):
    rng = np.random.default_rng(1)
    x = {
        "normal": rng.normal(size=5000),
        "uniform": rng.random(5000),
        "exponential": rng.exponential(size=5000),
        "relu": np.maximum(rng.normal(size=5000), 0),
        "two_values": rng.integers(0, 2, 5000).astype(float),
    }[dist]
    expected = scipy.stats.entropy(np.histogram(x, bins=100)[0])
    assert selforg.histogram_entropy(x, bins=100) == pytest.approx(expected, rel=1e-12)
    assert _core.selforg_histogram_entropy_f32(x.astype(np.float32), 100) == pytest.approx(
        scipy.stats.entropy(np.histogram(x.astype(np.float32), bins=100)[0]), rel=1e-6
    )


def test_histogram_entropy_known_values_and_errors():
    assert selforg.histogram_entropy(np.arange(100.0), bins=100) == pytest.approx(np.log(100))
    assert selforg.histogram_entropy(np.full(7, 2.5)) == 0.0
    with pytest.raises(ValueError, match="NaN"):
        selforg.histogram_entropy([0.0, np.nan])
    with pytest.raises(ValueError, match="bins"):
        selforg.histogram_entropy([0.0, 1.0], bins=0)


# ------------------------------------------------------------------------------------------------
# masked AE unit: gradients
# ------------------------------------------------------------------------------------------------
def small_unit(dtype="f64", seed=3):
    topo = Topology(
        fields=[[(0, 0), (2, 3)]],
        map_shape=(6, 8),
        image_shape=(4, 4),
        window=2,
        hidden_shape=(2, 2),
        unit_locations=[(0, 4)],
    )
    unit = getattr(_core, "SelfOrgAEUnit_" + dtype)(48, 4)
    unit.set_field(topo.layout().field_indices([[0, 0], [2, 3]]))
    unit.reset_parameters(seed, 8)
    return topo, unit


@pytest.mark.parametrize("dropout,l2", [(0.0, 0.0), (0.3, 0.05)])
def test_masked_ae_gradcheck_float64(dropout, l2):
    _, unit = small_unit()
    maps = np.random.default_rng(0).random((5, 48))

    def loss():
        unit.forward(maps, training=dropout > 0, dropout=dropout, seed=7)
        return unit.loss(l2)

    loss()
    unit.backward(l2)
    analytic = {n: unit.grad(n).copy() for n in NAMES}
    eps = 1e-6
    for name in NAMES:
        p = unit.get(name)
        flat = p.reshape(-1)
        numeric = np.zeros_like(flat)
        for i in range(flat.size):
            orig = flat[i]
            flat[i] = orig + eps
            unit.set(name, p)
            fp = loss()
            flat[i] = orig - eps
            unit.set(name, p)
            fm = loss()
            flat[i] = orig
            unit.set(name, p)
            numeric[i] = (fp - fm) / (2 * eps)
        np.testing.assert_allclose(analytic[name].reshape(-1), numeric, rtol=1e-5, atol=1e-8, err_msg=name)
        if name == "encoder_weight":  # zero outside the field: delta_k masks the weights
            mask = np.zeros(48, bool)
            mask[unit.field] = True
            assert np.all(analytic[name][:, ~mask] == 0)


def test_masked_ae_matches_torch():
    torch = pytest.importorskip("torch")
    _, unit = small_unit()
    maps = np.random.default_rng(2).random((6, 48))
    l2 = 0.01
    unit.forward(maps, training=False)
    ours = unit.backward(l2)
    mask = np.zeros(48)
    mask[unit.field] = 1
    m = torch.tensor(mask)
    W = torch.tensor(unit.get("encoder_weight"), requires_grad=True)
    b = torch.tensor(unit.get("encoder_bias"), requires_grad=True)
    V = torch.tensor(unit.get("decoder_weight"), requires_grad=True)
    c = torch.tensor(unit.get("decoder_bias"), requires_grad=True)
    x = torch.tensor(maps)
    We, Ve = W * m, V * m[:, None]  # theta o delta (§2.2)
    h = torch.relu(x @ We.T + b)
    xhat = h @ Ve.T + c
    loss = (((xhat - x) * m) ** 2).sum() / (x.shape[0] * m.sum()) + 0.5 * l2 * ((We**2).sum() + (Ve**2).sum())
    loss.backward()
    assert ours == pytest.approx(loss.item(), rel=1e-10)
    np.testing.assert_allclose(unit.forward(maps), h.detach().numpy(), rtol=1e-10)
    # Decoder bias outside the field does not enter the loss, so torch's gradient there is 0 too.
    for name, t in zip(NAMES, (W, b, V, c)):
        np.testing.assert_allclose(unit.grad(name), t.grad.numpy(), rtol=1e-8, atol=1e-12, err_msg=name)


# ------------------------------------------------------------------------------------------------
# network: map write-back, retained weights, training
# ------------------------------------------------------------------------------------------------
def test_feature_map_holds_image_and_codes():
    net = SelfOrganizingNetwork(Topology.handcrafted("A3"), seed=0)
    X = images(5)
    maps = net.feature_maps(X)
    codes = net.transform(X).reshape(5, 3, 10, 10)
    assert maps.shape == (5, 20, 40)
    np.testing.assert_array_equal(maps[:, :, :20], X)
    for k, (r, c) in enumerate(net.topology.unit_locations):
        np.testing.assert_array_equal(maps[:, r : r + 10, c : c + 10], codes[:, k])
    assert np.all(maps[:, 10:, 30:] == 0)  # the unused block stays "non-activation"


def test_units_read_each_other_through_the_map():
    net = SelfOrganizingNetwork(Topology.handcrafted("A3"), seed=0)
    X = images(4)
    before = net.transform(X).reshape(4, 3, 100)
    net._impl.unit(0).set("encoder_bias", np.full(100, 3.0, np.float32))
    after = net.transform(X).reshape(4, 3, 100)
    np.testing.assert_array_equal(before[:, 1], after[:, 1])  # unit 1 reads only the image
    assert not np.allclose(before[:, 2], after[:, 2])  # unit 2 reads unit 0's code


def test_training_keeps_weights_outside_the_field():
    topo = Topology.handcrafted("A1")
    net = SelfOrganizingNetwork(topo, seed=1, lr=1e-2)
    before = [net.unit_parameters(k) for k in range(3)]
    net.fit(images(64), epochs=2)
    for k in range(3):
        mask = topo.mask(k).reshape(-1)
        after = net.unit_parameters(k)
        np.testing.assert_array_equal(after["encoder_weight"][:, ~mask], before[k]["encoder_weight"][:, ~mask])
        np.testing.assert_array_equal(after["decoder_weight"][~mask], before[k]["decoder_weight"][~mask])
        assert not np.array_equal(after["encoder_weight"][:, mask], before[k]["encoder_weight"][:, mask])
    assert len(net.history["entropy"]) == 2 and len(net.history["entropy"][0]) == 3
    assert net.history["loss"][1][0] < net.history["loss"][0][0] * 1.5


def test_fit_is_reproducible_with_a_seed_and_differs_across_seeds():
    X = images(64)
    a = SelfOrganizingNetwork(Topology.handcrafted("A2"), seed=5).fit(X, epochs=2)
    b = SelfOrganizingNetwork(Topology.handcrafted("A2"), seed=5).fit(X, epochs=2)
    c = SelfOrganizingNetwork(Topology.handcrafted("A2"), seed=6).fit(X, epochs=2)
    assert a.history == b.history
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert a.history != c.history


def test_float64_network_and_input_layouts():
    X = images(16)
    net = SelfOrganizingNetwork(Topology.handcrafted("A3"), seed=0, dtype=np.float64).fit(X, epochs=1)
    F = net.transform(X)
    assert F.dtype == np.float64 and F.shape == (16, 300)
    np.testing.assert_array_equal(net.transform(X[:, None]), F)
    np.testing.assert_array_equal(net.transform(X.reshape(16, 400)), F)
    Xi = (X * 255).astype(np.uint8)  # any real dtype is converted once
    np.testing.assert_array_equal(net.transform(Xi), net.transform(Xi.astype(np.float64)))


# ------------------------------------------------------------------------------------------------
# topologies
# ------------------------------------------------------------------------------------------------
def test_handcrafted_hierarchy_levels():
    assert Topology.handcrafted("A1").levels() == [1, 1, 1]
    assert Topology.handcrafted("A2").levels() == [1, 2, 3]
    assert Topology.handcrafted("a3").levels() == [1, 1, 2]
    r = Topology.handcrafted("A3").reads(2)
    assert r["image"] == 0 and r["unit0"] == 0.5 and r["unit1"] == 0.5


def test_random_topology_is_seeded_and_inside_the_map():
    a, b, c = Topology.random(3), Topology.random(3), Topology.random(4)
    assert a.fields == b.fields and a.fields != c.fields
    for r, col in (cell for unit in a.fields for cell in unit):
        assert 0 <= r <= 10 and 0 <= col <= 30
    assert Topology.from_dict(a.to_dict()) == a


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"fields": [[(0, 0)], [(0, 31)], [(0, 0)]]}, "outside"),
        ({"fields": [[(0, 0)]] * 3, "unit_locations": [(0, 20), (5, 25), (10, 20)]}, "overlapping"),
        ({"fields": [[(0, 0)]] * 3, "window": 25}, "larger than"),
        ({"fields": [[(0, 0)]] * 2}, "3 units"),
        ({"fields": [[(0, 0)]] * 3, "unit_locations": [(0, 15), (0, 30), (10, 20)]}, "image"),
        ({"fields": [[(0, 0)], [], [(0, 0)]]}, "non-empty"),
        ({"fields": [[(0, -1)]] * 3}, ">= 0"),
    ],
)
def test_bad_topologies_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Topology(**kwargs)


def test_pair_helper_and_topology_cells():
    assert pair(5, "size") == (5, 5) and pair([2, 3], "size") == (2, 3) and pair(np.array([4, 1]), "s") == (4, 1)
    assert pair(np.int64(2), "size", 1) == (2, 2) and pair(np.array(7), "size") == (7, 7)
    for bad, exc in (
        ("ab", TypeError),
        (2.5, TypeError),
        (True, TypeError),
        (None, TypeError),
        ({1: 2}, TypeError),
        ([1, 2, 3], ValueError),
        ((1, "2"), TypeError),
        ((1, -1), ValueError),
        ((0, 5), ValueError),
    ):
        with pytest.raises(exc, match="size"):
            pair(bad, "size", 1)
    # sizes accept an int; map cells (window corners, unit blocks, image corner) must be pairs, so a
    # fields list one nesting level short is an error, not two units with diagonal windows
    assert Topology(
        fields=Topology.handcrafted("A3").fields, hidden_shape=10, window=10, name="A3"
    ) == Topology.handcrafted("A3")
    with pytest.raises(TypeError, match=r"fields\[0\]\[0\]"):
        Topology(fields=[(0, 0), (10, 0), (5, 0)])
    with pytest.raises(TypeError, match="image_at"):
        Topology(fields=Topology.handcrafted("A3").fields, image_at=0)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="A1"):
        Topology.handcrafted("A4")
    with pytest.raises(TypeError, match="fields"):
        Topology(fields="abc")
    with pytest.raises(TypeError, match="Topology"):
        SelfOrganizingNetwork("A3")
    with pytest.raises(ValueError, match="dropout"):
        SelfOrganizingNetwork(Topology.handcrafted("A3"), dropout=1.0)
    with pytest.raises(ValueError, match="lr"):
        SelfOrganizingNetwork(Topology.handcrafted("A3"), lr=0)
    net = SelfOrganizingNetwork(Topology.handcrafted("A3"))
    with pytest.raises(ValueError, match="20 x 20"):
        net.fit(np.zeros((4, 28, 28)))
    with pytest.raises(ValueError, match="NaN"):
        net.fit(np.full((4, 20, 20), np.nan))
    with pytest.raises(ValueError, match="empty"):
        net.fit(np.zeros((0, 20, 20)))
    with pytest.raises(RuntimeError, match="fit"):
        _ = net.max_entropy
    with pytest.raises(ValueError, match="batch_size"):
        net.transform(images(2), batch_size=0)
    with pytest.raises(ValueError, match="batch_size"):
        net._impl.transform(images(2).reshape(2, 400), 0)
    assert "A3" in repr(net) and "epochs_trained=0" in repr(net)


# ------------------------------------------------------------------------------------------------
# Ctrl-C
# ------------------------------------------------------------------------------------------------
CTRL_C_CHILD = """
import signal, sys, time
import numpy as np
signal.signal(signal.SIGINT, signal.default_int_handler)
from bionn.selforg import SelfOrganizingNetwork, Topology

X = np.random.default_rng(0).random((512, 20, 20)).astype(np.float32)
net = SelfOrganizingNetwork(Topology.handcrafted("A3"), seed=0, batch_size=32)
net.fit(X[:64], epochs=1)
print("START", flush=True)
try:
    net.fit(X, epochs=5000)
    print("FINISHED", flush=True)
except KeyboardInterrupt:
    print(f"INTERRUPTED {time.time()}", flush=True)
assert np.isfinite(net.transform(X[:8])).all()
net.fit(X[:64], epochs=1)
print("USABLE", flush=True)
"""


def test_ctrl_c_interrupts_fit_between_batches_and_leaves_a_usable_network():
    # A real SIGINT to a child process (as Ctrl-C in a terminal or Jupyter's interrupt): the C++
    # loop polls PyErr_CheckSignals between batches, so fit stops long before its 5000 epochs.
    lines, err, sent, returncode = interrupt_child(CTRL_C_CHILD, ready="START", delay=0.5, kill_after=240)
    assert returncode == 0, err[-3000:]
    assert "FINISHED" not in lines
    interrupted = [line for line in lines if line.startswith("INTERRUPTED")]
    assert len(interrupted) == 1, (lines, err[-3000:])
    assert float(interrupted[0].split()[1]) - sent < 10
    assert "USABLE" in lines
