"""The public API under the fuzz contract: one :class:`Spec` per entry point (issue 15).

A spec names a callable, a valid value for each of its arguments, extra bad values for some of
them, and optionally what a correct result looks like (``check``) and which state a rejected call
must leave untouched (``state``). The campaign (``api_fuzz_child.py``) replaces one or two
arguments with generated values and classifies what happens; ``test_api_fuzz.py`` runs it.

Arguments in ``cost`` are iteration counts or sizes whose large *valid* values only take long: a
generated integer in ``(bound, limit]`` is replaced by ``bound`` (values above ``limit``, which
must be refused, are kept).
"""

from __future__ import annotations

import inspect
import os
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

import bionn
from bionn import attacks, callbacks, corruptions, data, losses, nn, optim, selforg

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "nn"))
import test_registry  # noqa: E402  (the registry test knows how to build every layer)

INT32_MAX = 2**31 - 1


class Fresh:
    """A valid value made anew for every case (models that a valid call trains, files)."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


@dataclass
class Spec:
    name: str
    fn: Callable[..., Any]
    valid: Dict[str, Any]
    bad: Dict[str, Sequence[Any]] = field(default_factory=dict)
    cost: Dict[str, tuple] = field(default_factory=dict)  # arg -> (bound, limit)
    check: Optional[Callable[[Any, Dict[str, Any]], None]] = None
    state: Optional[Callable[[Dict[str, Any]], Dict[str, np.ndarray]]] = None
    aliases: Dict[str, Sequence[str]] = field(default_factory=dict)
    fixed: Sequence[str] = ("self",)  # never fuzzed: the object a method is called on (and download=...)

    @property
    def fuzzed(self) -> List[str]:
        return [k for k in self.valid if k not in self.fixed]


# ------------------------------------------------------------------------------------------------
# Fixtures (built once per process)
# ------------------------------------------------------------------------------------------------
_TMP = tempfile.mkdtemp(prefix="bionn-api-fuzz-")
_CACHE: Dict[str, Any] = {}


def cached(key: str, make: Callable[[], Any]) -> Any:
    if key not in _CACHE:
        _CACHE[key] = make()
    return _CACHE[key]


def mlp(seed: int = 0) -> nn.Sequential:
    """6 features in, 3 classes; BatchNorm and Dropout so train/eval and buffers matter."""
    return nn.Sequential([nn.Dense(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.2), nn.Dense(8, 3)], seed=seed)


def image_model(seed: int = 0) -> nn.Sequential:
    """Images (1, 4, 4) in [0, 1], 3 classes."""
    return nn.Sequential([nn.Flatten(), nn.Dense(16, 5), nn.ReLU(), nn.Dense(5, 3)], seed=seed)


RNG = np.random.default_rng(0)
X6 = RNG.normal(size=(10, 6)).astype(np.float32)
Y3 = np.arange(10) % 3
IMAGES = RNG.random((4, 1, 4, 4)).astype(np.float32)
LABELS = np.array([0, 1, 2, 1])
CIFAR_LIKE = RNG.random((2, 3, 8, 8)).astype(np.float32)


def model_state(key: str) -> Callable[[Dict[str, Any]], Dict[str, np.ndarray]]:
    def state(args: Dict[str, Any]) -> Dict[str, np.ndarray]:
        m = args[key]
        if not isinstance(m, nn.Sequential):
            return {}
        out = {k: v.copy() for k, v in m.state_dict().items()}
        out["training"] = np.array(m.training)
        return out

    return state


def saved_model_file() -> str:
    path = os.path.join(_TMP, "model.bionn")
    if not os.path.exists(path):
        mlp().save(path)
    return path


def a_text_file() -> str:
    path = os.path.join(_TMP, "text.txt")
    with open(path, "w") as fh:
        fh.write("not a model\n")
    return path


def a_fifo() -> str:
    path = os.path.join(_TMP, "fifo")
    if not os.path.exists(path):
        os.mkfifo(path)
    return path


PATH_BAD = [
    "",
    "\0",
    "/nonexistent-dir-bionn/m.bionn",
    _TMP,
    "x" * 5000,
    Fresh(a_text_file),
    Fresh(a_fifo),
    b"/tmp/\xff",
    os.path.join(_TMP, "missing", "deeper", "m.bionn"),
]

IMAGE_BAD = [
    IMAGES * 2,
    -IMAGES,
    np.full((4, 1, 4, 4), np.nan, np.float32),
    IMAGES[:, :, :, :3],
    IMAGES[:2],
    IMAGES.reshape(4, 16),
    IMAGES.astype(np.complex64),
    IMAGES[None],
    np.zeros((0, 1, 4, 4)),
]
LABEL_BAD = [
    LABELS.astype(float),
    LABELS.astype(float) + 0.5,
    LABELS[:, None],
    LABELS[:2],
    -LABELS - 1,
    LABELS + 3,
    np.array([0, 1, 2, 2**40]),
    np.array(["a", "b", "c", "d"]),
]


def check_attack(result: Any, args: Dict[str, Any]) -> None:
    x = np.asarray(args["images"], dtype=np.float32)
    assert isinstance(result, np.ndarray) and result.shape == x.shape, "adversarial images have the images' shape"
    lo, hi = args.get("clip", (0.0, 1.0))
    assert np.isfinite(result).all()
    assert result.min() >= lo - 1e-6 and result.max() <= hi + 1e-6, "inside clip"
    eps = float(args["eps"])
    assert np.abs(result - x).max() <= eps * (1 + 1e-5) + 1e-6, "inside the eps-ball"


def check_corruption(result: Any, args: Dict[str, Any]) -> None:
    x = np.asarray(args["images"])
    assert isinstance(result, np.ndarray) and result.shape == x.shape and result.dtype == np.float32
    assert np.isfinite(result).all() and result.min() >= 0 and result.max() <= 1


def check_finite_array(result: Any, args: Dict[str, Any]) -> None:
    arr = np.asarray(result)
    assert np.isfinite(arr).all(), "finite output"


# ------------------------------------------------------------------------------------------------
# Specs
# ------------------------------------------------------------------------------------------------
def layer_specs() -> List[Spec]:
    """Every registered layer: every constructor argument (the five mechanisms' options included),
    then a forward pass on an input of the shape those arguments imply."""
    specs = []
    for name, cls in sorted(test_registry.REGISTRY.items()):
        valid = {}
        for pname, p in inspect.signature(cls.__init__).parameters.items():
            if pname == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            if p.default is not inspect.Parameter.empty:
                valid[pname] = p.default
        valid.update(test_registry.constructor_args(name))

        def build(_name=name, _cls=cls, **kw):
            layer = _cls(**kw)
            _forward_probe(_name, layer, kw)
            return layer

        specs.append(Spec(f"nn.{name}", build, valid, cost={k: (64, None) for k in _SIZE_ARGS if k in valid}))
    return specs


_SIZE_ARGS = ("in_features", "out_features", "num_features", "in_channels", "out_channels", "features", "num_units")


def _forward_probe(name: str, layer: Any, kw: Dict[str, Any]) -> None:
    """A built layer computes: its output on a probe batch is finite (a shape the arguments make
    impossible may be refused with ValueError)."""
    try:
        shape = test_registry.input_shape(name, kw)
        x = np.random.default_rng(0).uniform(-1, 1, size=(2, *shape))
    except Exception:
        return  # the shape is not derivable from these (valid) arguments: construction was the test
    try:
        out = nn.Sequential([layer], seed=0).predict(x)
    except ValueError as exc:
        raise _ForwardRefused(str(exc)) from None
    assert np.isfinite(out).all(), f"{name}: non-finite output for a finite input"


class _ForwardRefused(Exception):
    """The forward probe was refused with a ValueError (allowed: the shape may not fit)."""


def attack_specs() -> List[Spec]:
    model = Fresh(image_model)
    common = dict(model=model, images=IMAGES, labels=LABELS)
    bad = dict(images=IMAGE_BAD, labels=LABEL_BAD, model=[nn.ReLU(), Fresh(mlp)], surrogate=[Fresh(mlp), nn.ReLU()])
    bad["clip"] = [(1.0, 0.0), (0.0,), (0.0, np.nan), "01", (0, 2**400)]
    bad["start"] = [np.zeros((4, 1, 4, 4)), np.zeros((4, 16)), np.full((4, 1, 4, 4), np.inf)]
    state = model_state("model")
    return [
        Spec(
            "attacks.fgsm",
            attacks.fgsm,
            dict(common, eps=0.1, clip=(0.0, 1.0), batch_size=3, surrogate=None),
            bad,
            check=check_attack,
            state=state,
            aliases={"images": ["x"]},
        ),
        Spec(
            "attacks.pgd",
            attacks.pgd,
            dict(
                common,
                eps=0.1,
                alpha=0.02,
                steps=3,
                random_start=True,
                seed=1,
                start=None,
                clip=(0.0, 1.0),
                batch_size=3,
                surrogate=None,
            ),
            bad,
            cost=dict(steps=(20, INT32_MAX)),
            check=check_attack,
            state=state,
        ),
        Spec(
            "attacks.PGD",
            lambda model, images, labels, **kw: attacks.PGD(model, **kw)(images, labels),
            dict(common, eps=0.1, alpha=0.02, steps=2, random_start=False, seed=0, clip=(0.0, 1.0), batch_size=3),
            bad,
            cost=dict(steps=(20, INT32_MAX)),
            check=check_attack,
            state=state,
        ),
        Spec(
            "attacks.FGSM",
            lambda model, images, labels, **kw: attacks.FGSM(model, **kw)(images, labels),
            dict(common, eps=0.1, clip=(0.0, 1.0), batch_size=3),
            bad,
            check=check_attack,
            state=state,
        ),
        Spec(
            "attacks.evaluate_robustness",
            attacks.evaluate_robustness,
            dict(
                common,
                eps=(0.0, 0.1),
                attack="pgd",
                alpha=None,
                steps=2,
                random_start=True,
                seed=0,
                repeats=1,
                clip=(0.0, 1.0),
                batch_size=4,
                surrogate=None,
            ),
            dict(bad, eps=[(), [0.1, -1], [np.nan], "0.1"], attack=["PGD", "cw", None]),
            cost=dict(steps=(20, INT32_MAX), repeats=(3, None)),
            state=state,
        ),
    ]


def corruption_specs() -> List[Spec]:
    img_bad = [CIFAR_LIKE * 3, CIFAR_LIKE.transpose(0, 2, 3, 1), CIFAR_LIKE[:, :, :1, :1], CIFAR_LIKE[:, :2]]
    img_bad += [np.full((1, 3, 4, 4), np.nan), CIFAR_LIKE.astype(np.complex64), np.zeros((0, 3, 8, 8))]
    bad = dict(images=img_bad, severity=[0, 6, 2.0, "1"], seed=[-1, 2**64, 1.5], table=["CIFAR", "mnist", None])
    specs = [
        Spec(
            "corruptions.corrupt",
            corruptions.corrupt,
            dict(images=CIFAR_LIKE, name="gaussian_noise", severity=3, seed=0, table="cifar"),
            dict(bad, name=["Gaussian_noise", "fog", None, ""]),
            check=check_corruption,
        )
    ]
    for family in corruptions.CORRUPTIONS:
        specs.append(
            Spec(
                f"corruptions.{family}",
                getattr(corruptions, family),
                dict(images=CIFAR_LIKE, severity=2, seed=0, table="cifar"),
                bad,
                check=check_corruption,
            )
        )
    specs += [
        Spec(
            "corruptions.corrupt_all",
            lambda **kw: list(corruptions.corrupt_all(**kw)),
            dict(images=CIFAR_LIKE[:1], severities=(1, 5), names=("contrast", "shot_noise"), seed=0, table="cifar"),
            dict(bad, severities=[(0,), [1, 9], "12", 3], names=[("fog",), "contrast", [None]]),
            aliases=dict(severities=["severity"], names=["corruption"]),
        ),
        Spec(
            "corruptions.bandpass_filter",
            corruptions.bandpass_filter,
            dict(images=CIFAR_LIKE, center=2.0, bandwidth=1.0, units="cycles", clip=False),
            dict(images=img_bad, units=["Cycles", "hz", None], bandwidth=[0.0, -1.0]),
            check=check_finite_array,
        ),
        Spec(
            "corruptions.bandpass_response",
            corruptions.bandpass_response,
            dict(shape=(8, 8), center=2.0, bandwidth=1.0, units="cycles"),
            dict(shape=[(0, 8), (8,), (2**40, 2**40), (-1, 4), (8.0, 8)]),
            cost=dict(),
            check=check_finite_array,
        ),
        Spec(
            "corruptions.evaluate_corruptions",
            corruptions.evaluate_corruptions,
            dict(
                model=Fresh(lambda: nn.Sequential([nn.Flatten(), nn.Dense(192, 3)], seed=0)),
                images=CIFAR_LIKE,
                labels=np.array([0, 2]),
                names=("contrast",),
                severities=(1, 2),
                seed=0,
                batch_size=2,
                table="cifar",
                include_clean=True,
                as_frame=False,
            ),
            dict(bad, labels=[np.array([0.5, 1]), np.array([0]), np.array([-1, 0])], names=[("fog",), "contrast"]),
            state=model_state("model"),
            aliases=dict(severities=["severity"], names=["corruption"]),
        ),
    ]
    return specs


def selforg_specs() -> List[Spec]:
    topo = selforg.Topology.handcrafted("A1")
    X = np.random.default_rng(1).random((12, 20, 20)).astype(np.float32)

    def net(**kw):
        return selforg.SelfOrganizingNetwork(topo, **kw)

    def trained():
        return cached("son", lambda: net(seed=0, batch_size=8, entropy_samples=20).fit(X, epochs=1))

    net_valid = dict(lr=1e-3, l2=1e-4, dropout=0.1, batch_size=8, bins=20, entropy_samples=20, seed=0, dtype=np.float32)
    img_bad = [X[:, :10], X.reshape(12, 400), X * np.nan, X[:0], X.astype(np.complex64), X[None]]

    def son_state(args):
        n = cached("son_fit", lambda: net(seed=0, batch_size=8, entropy_samples=20))
        return {f"{k}.{j}": v.copy() for k in range(n.topology.n_units) for j, v in n.unit_parameters(k).items()}

    def son_fit(X, epochs, entropy_X):
        n = cached("son_fit", lambda: net(seed=0, batch_size=8, entropy_samples=20))
        return n.fit(X, epochs=epochs, entropy_X=entropy_X)

    def save_load(path):
        trained().save(path)
        return selforg.load(path)

    def readout(n_classes, lr, epochs, batch_size, weight_decay, seed, F, y):
        return selforg.Readout(n_classes, lr, epochs, batch_size, weight_decay, seed).fit(F, y).predict(F)

    F = np.random.default_rng(2).normal(size=(12, 5)).astype(np.float32)
    return [
        Spec(
            "selforg.SelfOrganizingNetwork",
            lambda topology, **kw: selforg.SelfOrganizingNetwork(topology, **kw).fit(X[:4], epochs=1),
            dict(topology=topo, **net_valid),
            dict(topology=["A1", topo.to_dict()], dtype=[np.float16, "int32"], dropout=[1.0, -0.1]),
            cost=dict(batch_size=(16, None), bins=(64, None), entropy_samples=(64, None)),
        ),
        Spec(
            "selforg.Topology.random",
            selforg.Topology.random,
            dict(seed=0, n_units=3, windows_per_unit=2),
            cost=dict(n_units=(8, None), windows_per_unit=(4, None)),
        ),
        Spec(
            "selforg.Topology.handcrafted",
            selforg.Topology.handcrafted,
            dict(name="A2"),
            dict(name=["a2", "A9", ""]),
        ),
        Spec(
            "selforg.Topology",
            selforg.Topology,
            dict(
                fields=[[(0, 0), (9, 9)]],
                map_shape=(20, 40),
                image_shape=(20, 20),
                image_at=(0, 0),
                window=10,
                hidden_shape=(10, 10),
                unit_locations=((0, 20),),
                name="custom",
            ),
            dict(
                fields=[[], [[(0, 0)]], [[(0, 0), (99, 99)]], [[(-1, 0), (0, 0)]]],
                map_shape=[(2**40, 2**40), (0, 0), (20,)],
                window=[0, 100],
                unit_locations=[(), ((0, 0),)],
            ),
            cost=dict(window=(20, None)),
            # "invalid topology: unit 0's window at (99, 99) lies outside the 20 x 40 feature map"
            aliases=dict(
                fields=["window"],
                map_shape=["feature map"],
                image_shape=["image region"],
                image_at=["image region"],
                window=["window"],
                hidden_shape=["hidden block"],
                unit_locations=["hidden block", "AE unit"],
            ),
        ),
        Spec(
            "selforg.network.fit",
            son_fit,
            dict(X=X, epochs=1, entropy_X=None),
            dict(X=img_bad, entropy_X=img_bad),
            cost=dict(epochs=(2, INT32_MAX)),
            state=son_state,
        ),
        Spec(
            "selforg.network.transform",
            lambda X, batch_size: trained().transform(X, batch_size=batch_size),
            dict(X=X, batch_size=5),
            dict(X=img_bad),
            check=check_finite_array,
        ),
        Spec("selforg.network.entropies", lambda X: trained().entropies(X), dict(X=X), dict(X=img_bad)),
        Spec("selforg.network.unit_parameters", lambda k: trained().unit_parameters(k), dict(k=1), dict(k=[3, -1])),
        Spec("selforg.save_load", save_load, dict(path=os.path.join(_TMP, "son.bionn")), dict(path=PATH_BAD)),
        Spec(
            "selforg.load", selforg.load, dict(path=Fresh(_son_file)), dict(path=PATH_BAD + [Fresh(saved_model_file)])
        ),
        Spec(
            "selforg.MetaLearner",
            lambda method, epochs_per_step, seed, meta_steps: selforg.MetaLearner(method, epochs_per_step, seed).run(
                net(seed=0, batch_size=8, entropy_samples=20).fit(X[:6]), X[:6], meta_steps
            ),
            dict(method="hill_climbing", epochs_per_step=1, seed=0, meta_steps=1),
            dict(method=["HILL", "", None]),
            cost=dict(epochs_per_step=(1, INT32_MAX), meta_steps=(2, INT32_MAX)),
        ),
        Spec(
            "selforg.Readout",
            readout,
            dict(n_classes=3, lr=0.01, epochs=2, batch_size=4, weight_decay=1e-4, seed=0, F=F, y=np.arange(12) % 3),
            dict(
                F=[F[:, :0], F * np.nan, F[:3]],
                y=[np.arange(12) % 5, np.arange(12) - 1.5, (np.arange(12) % 3)[:, None]],
            ),
            cost=dict(epochs=(4, INT32_MAX), n_classes=(64, None)),
        ),
        Spec(
            "selforg.histogram_entropy",
            selforg.histogram_entropy,
            dict(values=F, bins=10),
            dict(values=[F[:0], F * np.inf]),
            cost=dict(bins=(1000, None)),
        ),
    ]


def _son_file() -> str:
    path = os.path.join(_TMP, "son-valid.bionn")
    if not os.path.exists(path):
        topo = selforg.Topology.handcrafted("A1")
        selforg.SelfOrganizingNetwork(topo, seed=0, entropy_samples=20).save(path)
    return path


def data_specs() -> List[Spec]:
    X = RNG.random((12, 1, 6, 6)).astype(np.float32)
    y = np.arange(12) % 3
    gen = dict(seed=[-1, 1.5, "0", np.random.RandomState(0)])
    return [
        Spec(
            "data.train_val_split",
            data.train_val_split,
            dict(X=X, y=y, val_fraction=0.25, seed=0, stratify=True),
            dict(y=[y[:5], y.astype(float) + 0.5], val_fraction=[0.0, 1.0, 0.99], **gen),
        ),
        Spec(
            "data.standardize",
            data.standardize,
            dict(X_train=X, axis="auto", eps=1e-8),
            dict(axis=[5, (0, 9), "channel", -9]),
        ),
        Spec(
            "data.one_hot",
            data.one_hot,
            dict(y=y, num_classes=3, dtype=np.float32),
            dict(y=[y - 1, y.astype(float), y[:, None]], num_classes=[2, 2**40]),
            cost=dict(num_classes=(64, None)),
        ),
        Spec(
            "data.subsample",
            data.subsample,
            dict(X=X, y=y, per_class=2, seed=0, classes=None),
            dict(per_class=[5], classes=[[7], [0, 0], "0"], **gen),
            cost=dict(per_class=(4, None)),
            aliases=dict(classes=["class"]),
        ),
        Spec(
            "data.random_horizontal_flip", data.random_horizontal_flip, dict(X=X, p=0.5, rng=0), dict(rng=gen["seed"])
        ),
        Spec(
            "data.random_crop",
            data.random_crop,
            dict(X=X, size=4, padding=1, rng=0),
            dict(size=[(7, 7), (4, 4, 4)], rng=gen["seed"]),
            cost=dict(padding=(8, None)),
        ),
        Spec(
            "data.random_translate",
            data.random_translate,
            dict(X=X, max_shift=2, rng=0),
            dict(rng=gen["seed"]),
            cost=dict(max_shift=(8, None)),
        ),
        Spec(
            "data.make_focus_blobs",
            data.make_focus_blobs,
            dict(
                n_samples=40,
                n_informative=4,
                n_test=None,
                noise="left",
                noise_ratio=1.0,
                n_noise=None,
                noise_distribution="normal",
                noise_mean=0.0,
                noise_std=1.0,
                n_classes=2,
                n_clusters_per_class=1,
                cluster_std=1.0,
                class_sep=1.0,
                normalize=True,
                dtype=np.float32,
                return_info=False,
                seed=0,
            ),
            dict(noise=["LEFT", "up"], noise_distribution=["cauchy"], seed=gen["seed"]),
            cost=dict(
                n_samples=(200, None),
                n_informative=(32, None),
                n_test=(200, None),
                n_noise=(32, None),
                n_classes=(8, None),
                n_clusters_per_class=(4, None),
                noise_ratio=(8, None),
            ),
        ),
        Spec(
            "data.make_focus_classification",
            data.make_focus_classification,
            dict(
                n_samples=40,
                n_features=8,
                n_classes=2,
                n_clusters_per_class=1,
                noise_ratio=0.0,
                noise="left",
                noise_scale=1.0,
                test_size=0.3,
                split_seed=42,
                scale=True,
                dtype=np.float32,
                return_info=False,
                seed=0,
            ),
            dict(seed=gen["seed"]),
            cost=dict(
                n_samples=(200, None), n_features=(32, None), n_classes=(8, None), n_clusters_per_class=(4, None)
            ),
        ),
        Spec(
            "data.make_cluttered_mnist",
            data.make_cluttered_mnist,
            dict(
                X=RNG.random((6, 28, 28)).astype(np.float32),
                y=np.arange(6),
                n=4,
                size=40,
                n_clutter=2,
                clutter_size=8,
                seed=0,
                return_info=False,
            ),
            dict(n_clutter=[(3, 1), (1, 2, 3)], seed=gen["seed"]),
            cost=dict(n=(16, None), size=(64, None), n_clutter=(8, None), clutter_size=(16, None)),
        ),
        Spec(
            "data.read_idx", data.read_idx, dict(path=Fresh(_idx_file)), dict(path=PATH_BAD + [Fresh(saved_model_file)])
        ),
        Spec("data.read_cifar10_batch", data.read_cifar10_batch, dict(path=Fresh(_idx_file)), dict(path=PATH_BAD)),
        Spec(
            "data.load_mnist",
            data.load_mnist,
            dict(root=_TMP, split="train", download=False),
            dict(split=["val", "TRAIN", None], root=PATH_BAD),
            fixed=("self", "download"),
        ),
        Spec(
            "data.locate",
            data.locate,
            dict(name="mnist", files=("x",), root=_TMP),
            dict(name=["", "nope", None], files=["abc", [None]]),
        ),
        Spec("data.dataset_info", data.dataset_info, dict(name="mnist"), dict(name=["", "nope", None])),
        Spec(
            "data.sha256_file",
            data.sha256_file,
            dict(path=Fresh(saved_model_file), chunk_size=4096),
            dict(path=PATH_BAD),
            cost=dict(chunk_size=(1 << 20, None)),
        ),
    ]


def _idx_file() -> str:
    path = os.path.join(_TMP, "tiny-idx")
    if not os.path.exists(path):
        arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
        with open(path, "wb") as fh:
            fh.write(bytes([0, 0, 0x08, 3]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape) + arr.tobytes())
    return path


def model_specs() -> List[Spec]:
    m = Fresh(mlp)
    st = model_state("self")
    x_bad = [X6[:, :5], X6 * np.nan, X6[:0], X6.astype(np.complex64), X6[None], "X", X6.tolist()[:-1] + [[1]]]
    y_bad = [Y3[:4], Y3 - 1, Y3 + 0.5, Y3 + 7, Y3[:, None], np.ones((10, 3))]
    loss_bad = [losses.MSE(), "cross_entropy", nn.ReLU(), losses.CrossEntropy]

    def fit(self, X, y, loss, lr, **kw):
        opt = kw.pop("optimizer", None) or optim.SGD(self.parameters(), lr=lr)
        return self.fit(X, y, loss=loss, optimizer=opt, **kw)

    fit_valid = dict(
        self=m,
        X=X6,
        y=Y3,
        loss=losses.CrossEntropy(),
        lr=0.01,
        epochs=1,
        batch_size=4,
        validation_data=None,
        shuffle=True,
        drop_last=False,
        callbacks=None,
        verbose=0,
        eval_batch_size=8,
    )
    fit_bad = dict(
        X=x_bad,
        y=y_bad,
        loss=loss_bad,
        validation_data=[(X6,), (X6[:, :3], Y3), (X6, Y3[:3]), X6],
        shuffle=["yes", "replacement", None],
        callbacks=[[1], "cb", callbacks.TerminateOnNaN()],
        optimizer=[optim.SGD(mlp(1).parameters()), "sgd"],
    )
    return [
        Spec(
            "Sequential.fit",
            fit,
            fit_valid,
            fit_bad,
            cost=dict(epochs=(3, INT32_MAX)),
            state=st,
            aliases={"lr": ["lr"], "loss": ["loss"]},
        ),
        Spec(
            "Sequential.predict",
            lambda self, X, batch_size: self.predict(X, batch_size),
            dict(self=m, X=X6, batch_size=4),
            dict(X=x_bad),
            state=st,
            check=check_finite_array,
        ),
        Spec(
            "Sequential.evaluate",
            lambda self, X, y, loss, batch_size: self.evaluate(X, y, loss, batch_size),
            dict(self=m, X=X6, y=Y3, loss=losses.CrossEntropy(), batch_size=4),
            dict(X=x_bad, y=y_bad, loss=loss_bad),
            state=st,
        ),
        Spec(
            "Sequential.train_step",
            lambda self, X, y, loss, lr: self.train_step(X, y, loss, optim.Adam(self.parameters(), lr=lr)),
            dict(self=m, X=X6, y=Y3, loss=losses.CrossEntropy(), lr=0.01),
            dict(X=x_bad, y=y_bad, loss=loss_bad),
            state=st,
        ),
        Spec(
            "Sequential.input_gradient",
            lambda self, X, y, loss, training: self.input_gradient(X, y, loss, training),
            dict(self=m, X=X6, y=Y3, loss=losses.CrossEntropy(), training=False),
            dict(X=x_bad, y=y_bad, loss=loss_bad),
            state=st,
            check=check_finite_array,
        ),
        Spec(
            "Sequential.forward",
            lambda self, x, training: self.forward(x, training),
            dict(self=m, x=X6, training=False),
            dict(x=x_bad),
            check=check_finite_array,
        ),
        Spec(
            "Sequential.load_state_dict",
            lambda self, state, strict: self.load_state_dict(state, strict),
            dict(self=m, state=Fresh(lambda: mlp(3).state_dict()), strict=True),
            dict(state=[{"0.weight": np.zeros((2, 2))}, {"junk": 1}, Fresh(_bad_state), Fresh(_nan_state)]),
            state=st,
        ),
        Spec(
            "Sequential",
            lambda layers, seed: _probe_model(nn.Sequential(layers, seed=seed)),
            dict(layers=Fresh(lambda: [nn.Dense(6, 3)]), seed=0),
            dict(layers=[[nn.Dense(5, 3)], [], [nn.Dense(6, 3, dtype=np.float64), nn.ReLU()], [None], ["Dense"]]),
        ),
        Spec(
            "Sequential.parameters",
            lambda self, tags, exclude_tags, layers: self.parameters(tags, exclude_tags, layers),
            dict(self=m, tags=None, exclude_tags=None, layers=None),
            dict(tags=["weight", ["nope"]], layers=[[99], ["x"], [nn.Dense]]),
        ),
        Spec(
            "Sequential.reset_parameters",
            lambda self, seed: self.reset_parameters(seed),
            dict(self=m, seed=3),
            state=None,
        ),
        Spec(
            "Sequential.save",
            lambda self, path: self.save(path),
            dict(self=m, path=os.path.join(_TMP, "saved.bionn")),
            dict(path=PATH_BAD),
            state=st,
        ),
        Spec("bionn.load", nn.load, dict(path=Fresh(saved_model_file)), dict(path=PATH_BAD + [Fresh(_son_file)])),
        Spec("bionn.manual_seed", bionn.manual_seed, dict(seed=1)),
        Spec("bionn.set_num_threads", _threads, dict(n=1), cost=dict(n=(2, None))),
    ]


def _probe_model(model: nn.Sequential) -> nn.Sequential:
    try:
        model.predict(X6)
    except ValueError as exc:  # layers built for other inputs: construction was the test
        raise _ForwardRefused(str(exc)) from None
    return model


def _threads(n: Any) -> int:
    try:
        bionn.set_num_threads(n)
        return bionn.get_num_threads()
    finally:
        bionn.set_num_threads(1)  # the next cases run at one thread, as they began


def _bad_state() -> Dict[str, np.ndarray]:
    s = mlp(4).state_dict()
    key = next(k for k in s if k.endswith("running_var"))
    s[key] = -np.abs(s[key]) - 1
    return s


def _nan_state() -> Dict[str, np.ndarray]:
    s = mlp(4).state_dict()
    first = next(iter(s))
    s[first] = s[first] * np.nan
    return s


def training_specs() -> List[Spec]:
    """Optimizers, schedulers, callbacks and losses, each then used in a short fit."""

    def train_with_opt(cls):
        def run(lr, **kw):
            model = mlp()
            opt = cls(model.parameters(), lr=lr, **kw)
            model.fit(X6, Y3, loss=losses.CrossEntropy(), optimizer=opt, epochs=1, batch_size=5)
            return model

        return run

    specs = []
    for cls in (optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop):
        valid = {
            k: p.default
            for k, p in inspect.signature(cls.__init__).parameters.items()
            if k not in ("self", "params") and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        }
        specs.append(
            Spec(
                f"optim.{cls.__name__}",
                train_with_opt(cls),
                valid,
                dict(betas=[(0.9,), (1.0, 0.9), (0.9, -1)], lr=[-1.0, 0.0]),
            )
        )

    def sched(kind, step_size, gamma):
        model = mlp()
        opt = optim.SGD(model.parameters(), lr=0.1)
        s = optim.StepLR(opt, step_size, gamma) if kind == "step" else optim.ExponentialLR(opt, gamma)
        model.fit(X6, Y3, loss=losses.CrossEntropy(), optimizer=opt, scheduler=s, epochs=2, batch_size=5)
        return model

    specs.append(
        Spec("optim.StepLR", lambda step_size, gamma: sched("step", step_size, gamma), dict(step_size=1, gamma=0.5))
    )
    # a gamma > 1 grows the learning rate until the optimizer refuses it ("lr is too large ...")
    specs.append(
        Spec("optim.ExponentialLR", lambda gamma: sched("exp", 1, gamma), dict(gamma=0.5), aliases=dict(gamma=["lr"]))
    )
    specs.append(
        Spec(
            "optim.groups_by_tag",
            lambda overrides: optim.groups_by_tag(mlp().parameters(), overrides),
            dict(overrides={"weight": {"lr": 0.1}}),
            dict(overrides=[{"weight": {"lr": -1}}, {"weight": 3}, {"nope": {"lr": 1}}, {3: {}}]),
        )
    )

    def fit_with(cb):
        model = mlp()
        opt = optim.SGD(model.parameters(), lr=0.1)
        return model.fit(
            X6,
            Y3,
            loss=losses.CrossEntropy(),
            optimizer=opt,
            epochs=2,
            batch_size=5,
            validation_data=(X6, Y3),
            callbacks=[cb(model, opt)],
        )

    def cb_spec(name, make, valid, bad=None, cost=None, aliases=None):
        specs.append(
            Spec(
                f"callbacks.{name}",
                lambda **kw: fit_with(lambda m, o: make(m, o, **kw)),
                valid,
                bad or {},
                cost=cost or {},
                aliases=aliases or {},
            )
        )

    cb_spec(
        "EarlyStopping",
        lambda m, o, **kw: callbacks.EarlyStopping(**kw),
        dict(monitor="val_loss", patience=1, min_delta=0.0, mode="auto", restore_best_weights=True),
        dict(monitor=["nope", "", None], mode=["MAX", "up"]),
    )
    cb_spec(
        "ModelCheckpoint",
        lambda m, o, **kw: callbacks.ModelCheckpoint(**kw),
        dict(filepath=os.path.join(_TMP, "ckpt-{epoch}.bionn"), monitor="val_loss", save_best_only=False, mode="auto"),
        dict(filepath=PATH_BAD + ["{nope}.bionn", "{epoch:q}"], monitor=["nope"]),
    )
    cb_spec(
        "StepDecay",
        lambda m, o, **kw: callbacks.StepDecay(o, **kw),
        dict(milestones=(1,), gamma=0.5),
        dict(milestones=[(2, 1), (-1,), "1"], gamma=[(0.5, 0.5), (), -0.1]),
        aliases=dict(gamma=["lr"]),  # a huge factor: "SGD: lr is too large to represent ..."
    )
    cb_spec(
        "LearningRateScheduler",
        lambda m, o, **kw: callbacks.LearningRateScheduler(o, **kw),
        dict(schedule=lambda epoch, lr: lr * 0.5),
        dict(
            schedule=[
                lambda epoch, lr: -1.0,
                lambda epoch, lr: float("nan"),
                lambda epoch: 1.0,
                lambda epoch, lr: "x",
                [None, None],
            ]
        ),
    )
    cb_spec(
        "ParameterRecorder",
        lambda m, o, **kw: callbacks.ParameterRecorder(**kw),
        dict(tags=("weight",)),
        dict(tags=["weight", [None]]),
    )
    cb_spec(
        "ProgressBar",
        lambda m, o, **kw: callbacks.ProgressBar(**kw),
        dict(epochs=2, batches=2, per_batch=False),
        cost=dict(epochs=(8, None), batches=(8, None)),
    )

    def ce(label_smoothing, pred, target):
        return losses.CrossEntropy(label_smoothing)(pred, target)

    specs.append(
        Spec(
            "losses.CrossEntropy",
            ce,
            dict(label_smoothing=0.1, pred=X6[:, :3], target=Y3),
            dict(pred=[X6[:, :0], X6 * np.nan, X6[0]], target=[Y3 + 3, Y3 - 1, Y3[:4], Y3 + 0.5]),
        )
    )
    for cls in (losses.MSE, losses.L1, losses.LinearSquare, losses.BCEWithLogits):
        specs.append(
            Spec(
                f"losses.{cls.__name__}",
                lambda pred, target, _c=cls: _c()(pred, target),
                dict(pred=X6[:, :3], target=np.abs(np.tanh(X6[:, 3:]))),
                dict(pred=[X6[:, :0], X6 * np.nan], target=[X6, X6[:3, :3], X6[:, :3] * np.inf]),
            )
        )
    return specs


def amplifying_specs() -> List[Spec]:
    """The mechanism helpers that are functions, not registered layers."""
    return [
        Spec(
            "nn.amplifying_dense",
            lambda **kw: _probe_model(nn.Sequential(nn.amplifying_dense(**kw), seed=0)),
            dict(
                in_features=6,
                out_features=4,
                amplifying=[1],
                attenuating=[2],
                activation="parametric_softplus",
                a=0.3,
                b=1.0,
                bias=True,
                init="torch",
                dtype=np.float32,
            ),
            dict(amplifying=[[9], [-1], [1.5], "1"], attenuating=[[1], [99]], activation=["relu", "PS"]),
            cost=dict(out_features=(64, None)),
            aliases=dict(out_features=["features"], amplifying=["amplifying"], attenuating=["attenuating"]),
        ),
        Spec(
            "nn.amplifying_mlp",
            lambda **kw: _probe_model(nn.amplifying_mlp(**kw)),
            dict(
                in_features=6,
                out_features=3,
                width=5,
                depth=2,
                amplifying=1,
                attenuating=0,
                special_layers=None,
                activation="parametric_softplus",
                a=0.3,
                b=1.0,
                init="torch",
                seed=0,
                dtype=np.float32,
            ),
            dict(special_layers=[[5], [-1], "0"], amplifying=[9]),
            cost=dict(width=(32, None), depth=(6, None)),
        ),
    ]


def all_specs() -> Dict[str, Spec]:
    specs = (
        layer_specs()
        + amplifying_specs()
        + attack_specs()
        + corruption_specs()
        + selforg_specs()
        + data_specs()
        + model_specs()
        + training_specs()
    )
    out = {s.name: s for s in specs}
    assert len(out) == len(specs), "spec names are unique"
    return out
