"""Ctrl-C inside long loops (issue 15): a real SIGINT to a child process stops each long call
within a fraction of a second, and the object stays usable. The C++ loops poll for signals between
layers, chunks, attack steps and settling passes (core/interrupt.h), the corruptions between
slices of images; before, fit checked between batches only and predict/pgd/transform never."""

import pytest

from interrupt_child import interrupt_child

# Latency bound asserted (the brief asks for ~100 ms; the margin is for a loaded CI machine). The
# measured latencies are printed (pytest -s) and reported in the pull request.
MAX_LATENCY = 0.5

PRELUDE = """
import signal, time
import numpy as np
signal.signal(signal.SIGINT, signal.default_int_handler)
import bionn
from bionn import attacks, losses, nn, optim
bionn.set_num_threads(1)

def deep(width=512, depth=10, seed=0):
    layers = [nn.Dense(64, width), nn.ReLU()]
    for _ in range(depth - 2):
        layers += [nn.Dense(width, width), nn.ReLU()]
    return nn.Sequential(layers + [nn.Dense(width, 10)], seed=seed)

def run(op):
    print("READY", flush=True)
    try:
        op()
        print("FINISHED", flush=True)
    except KeyboardInterrupt:
        print(f"INTERRUPTED {time.time()}", flush=True)
"""

CASES = {
    # One batch of 4096 through 10 layers of width 512 takes seconds: the check is between layers.
    "fit_large_batch": """
model = deep()
X = np.random.default_rng(0).normal(size=(4096, 64)).astype(np.float32)
y = np.random.default_rng(1).integers(0, 10, 4096)
opt = optim.SGD(model.parameters(), lr=1e-3)
model.fit(X[:256], y[:256], loss=losses.CrossEntropy(), optimizer=opt, epochs=1, batch_size=256)
before = model.state_dict()
steps = opt._impl.steps_taken
run(lambda: model.fit(X, y, loss=losses.CrossEntropy(), optimizer=opt, epochs=1000, batch_size=4096))
after = model.state_dict()
# A step is all or nothing: the weights are those after the last completed step.
done = opt._impl.steps_taken - steps
print("STEPS", done, flush=True)
if done == 0:
    assert all(np.array_equal(before[k], after[k]) for k in before)
assert all(not p.grad.any() for p in model.parameters())
assert np.isfinite(model.predict(X[:8])).all()
model.fit(X[:256], y[:256], loss=losses.CrossEntropy(), optimizer=opt, epochs=1, batch_size=256)
print("USABLE", flush=True)
""",
    "predict": """
model = deep(width=256)
X = np.random.default_rng(0).normal(size=(400000, 64)).astype(np.float32)
run(lambda: model.predict(X, batch_size=4096))
assert np.isfinite(model.predict(X[:8])).all()
print("USABLE", flush=True)
""",
    "pgd": """
model = nn.Sequential([nn.Flatten(), nn.Dense(64, 32), nn.ReLU(), nn.Dense(32, 10)], seed=0)
X = np.random.default_rng(0).uniform(0, 1, (64, 1, 8, 8)).astype(np.float32)
y = np.random.default_rng(1).integers(0, 10, 64)
ref = model.predict(X)
run(lambda: attacks.pgd(model, X, y, eps=0.1, alpha=0.01, steps=10**6))
assert np.array_equal(model.predict(X), ref)
assert all(not p.grad.any() for p in model.parameters())
attacks.pgd(model, X, y, eps=0.1, alpha=0.01, steps=2)
print("USABLE", flush=True)
""",
    "corruption": """
from bionn import corruptions
X = np.random.default_rng(0).uniform(0, 1, (8000, 3, 32, 32)).astype(np.float32)
corruptions.corrupt(X[:2], "defocus_blur", 1)  # imports SciPy first (an import cut by Ctrl-C stays broken)
# A 21 x 21 disk kernel: one SciPy call over the whole batch would take seconds.
run(lambda: corruptions.corrupt(X, "defocus_blur", 5, table="imagenet"))
assert corruptions.corrupt(X[:4], "defocus_blur", 1).shape == X[:4].shape
print("USABLE", flush=True)
""",
    "noise_corruption": """
from bionn import corruptions
X = np.random.default_rng(0).uniform(0, 1, (16000, 3, 32, 32)).astype(np.float32)
# One Poisson draw over the batch takes ~2 s (4000 images took 0.56 s: done before the signal at
# 0.7 s on an idle machine); the draws go slice by slice.
run(lambda: corruptions.corrupt(X, "shot_noise", 5, seed=0))
assert corruptions.corrupt(X[:4], "shot_noise", 1, seed=0).shape == X[:4].shape
print("USABLE", flush=True)
""",
    # The processes backend: the parent stops the worker processes (each in a long run, more runs
    # queued to them) instead of waiting for their runs; finished runs stay recorded.
    "sweep_processes": """
import multiprocessing, os, sys, tempfile, textwrap
from bionn.experiments import RunStore, repeat
tmp = tempfile.mkdtemp()
with open(os.path.join(tmp, "sweep_fns.py"), "w") as fh:
    fh.write(textwrap.dedent('''
        import numpy as np
        from bionn import losses, nn, optim
        def long_run(seed, epochs):
            m = nn.Sequential([nn.Dense(8, 64), nn.ReLU(), nn.Dense(64, 1)], seed=seed)
            X = np.random.default_rng(seed).normal(size=(64, 8)).astype(np.float32)
            opt = optim.SGD(m.parameters(), lr=1e-3)
            m.fit(X, X[:, :1], loss=losses.MSE(), optimizer=opt, epochs=epochs, batch_size=1, verbose=0)
            return {"loss": float(m.evaluate(X, X[:, :1], losses.MSE())["loss"])}
    '''))
sys.path.insert(0, tmp)
os.environ["PYTHONPATH"] = tmp + os.pathsep + os.environ.get("PYTHONPATH", "")
from sweep_fns import long_run
store = RunStore(os.path.join(tmp, "records"))
kw = dict(backend="processes", n_workers=2, progress=False, store=store, paper="p", experiment="e")
repeat(long_run, seeds=[0], configs=[{"epochs": 1}], **kw)  # one finished run on record
run(lambda: repeat(long_run, seeds=range(6), configs=[{"epochs": 10**6}], **kw))
assert not multiprocessing.active_children(), multiprocessing.active_children()
assert store.load("p", "e", {"epochs": 1}, 0) is not None
print("USABLE", flush=True)
""",
    "selforg_fit": """
from bionn.selforg import SelfOrganizingNetwork, Topology
X = np.random.default_rng(0).random((8192, 20, 20)).astype(np.float32)
net = SelfOrganizingNetwork(Topology.handcrafted("A3"), seed=0, batch_size=8192)
net.fit(X[:64], epochs=1)
run(lambda: net.fit(X, epochs=5000))
assert np.isfinite(net.transform(X[:8])).all()
net.fit(X[:64], epochs=1)
print("USABLE", flush=True)
""",
    "selforg_transform": """
from bionn.selforg import SelfOrganizingNetwork, Topology
X = np.random.default_rng(0).random((200000, 20, 20)).astype(np.float32)
net = SelfOrganizingNetwork(Topology.handcrafted("A3"), seed=0, batch_size=32)
net.fit(X[:64], epochs=1)
run(lambda: net.transform(X))
assert np.isfinite(net.transform(X[:8])).all()
print("USABLE", flush=True)
""",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_ctrl_c_stops_long_calls_promptly_and_leaves_them_usable(case):
    lines, err, sent, returncode = interrupt_child(PRELUDE + CASES[case], ready="READY", delay=0.7, kill_after=240)
    assert returncode == 0, (lines[-10:], err[-3000:])
    assert "FINISHED" not in lines
    interrupted = [line for line in lines if line.startswith("INTERRUPTED")]
    assert len(interrupted) == 1, (lines[-10:], err[-3000:])
    latency = float(interrupted[0].split()[1]) - sent
    print(f"{case}: Ctrl-C latency {latency * 1000:.0f} ms")
    assert latency < MAX_LATENCY, f"{case}: stopped {latency:.2f} s after SIGINT"
    assert "USABLE" in lines, (lines[-10:], err[-3000:])
