"""The :class:`Sequential` model: training loop (C++, GIL released), evaluation, state and files.

Example
-------
>>> from bionn import nn, optim, losses
>>> model = nn.Sequential([nn.Dense(784, 800), nn.BatchNorm1d(800), nn.ReLU(), nn.Dropout(0.2),
...                        nn.Dense(800, 10)], seed=0)
>>> opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
>>> history = model.fit(X, y, loss=losses.CrossEntropy(), optimizer=opt, epochs=10,
...                     batch_size=128, validation_data=(Xv, yv), verbose=1)   # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
import warnings
from collections import OrderedDict
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .. import _core
from .._validation import (
    INT32_MAX,
    as_array,
    as_labels,
    as_ndarray,
    check_bool,
    check_int,
    check_path,
    check_seed,
    core_errors,
    suffix,
)
from ..io import load_archive, save_archive
from .base import _LAYER_REGISTRY, Layer, Parameter, allocation_budget

__all__ = ["Sequential", "History", "load", "FORMAT_NAME", "FORMAT_VERSION"]

FORMAT_NAME = "bionn.Sequential"
FORMAT_VERSION = 1


class History:
    """Per-epoch metrics of :meth:`Sequential.fit`, Keras-style: ``history.history["val_loss"]``."""

    def __init__(self) -> None:
        self.history: Dict[str, List[float]] = {}
        self.epoch: List[int] = []
        self.stopped_early: bool = False
        self.stop_reason: Optional[str] = None

    def append(self, record: Dict[str, float]) -> None:
        self.epoch.append(int(record.get("epoch", len(self.epoch) + 1)))
        for key, value in record.items():
            if key == "epoch":
                continue
            self.history.setdefault(key, []).append(float(value))

    def __getitem__(self, key: str) -> List[float]:
        return self.history[key]

    def __contains__(self, key: str) -> bool:
        return key in self.history

    def __len__(self) -> int:
        return len(self.epoch)

    def to_dataframe(self) -> Any:
        """The history as a pandas DataFrame indexed by epoch (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(self.history, index=pd.Index(self.epoch, name="epoch"))

    def __repr__(self) -> str:
        last = {k: round(v[-1], 4) for k, v in self.history.items()}
        return f"History(epochs={len(self)}, last={last})"


class _StopTraining(Exception):
    """Raised inside a fit hook to end training early (caught by Sequential.fit)."""


class Sequential:
    """A stack of layers trained by a C++ loop.

    Parameters
    ----------
    layers : sequence of Layer
        All of one dtype.
    seed : int, optional
        Seeds the model's random engine (shuffling, dropout) and, when given, re-initialises every
        parameter from it, so one seed fixes init, shuffling and dropout. When omitted, the layers
        keep the parameters drawn at construction (from the generator :func:`bionn.manual_seed`
        seeds) and the engine's seed is drawn from that generator too.

    Notes
    -----
    Threads: :meth:`predict`, :meth:`evaluate`, :meth:`input_gradient` (eval mode) and the attacks
    in :mod:`bionn.attacks` may be called on one model from several threads at once; each call
    runs on its own copy of the layers' activations (the weights are copied per call, not per
    batch) and returns exactly what a serial call returns. Calls that change the model (``fit``,
    ``train_step``, ``forward``/``backward``, ``input_gradient(training=True)``,
    ``reset_parameters``, ``load_state_dict``) need it to themselves: while another thread uses
    the model they raise ``RuntimeError`` naming both calls, having changed nothing (a callback
    of ``fit`` may still predict). Direct writes to ``parameter.data`` are not guarded.

    Ctrl-C stops ``fit``, ``predict``, ``evaluate`` and the attacks within about one layer's
    computation; an interrupted ``fit`` leaves the weights, optimizer state and running statistics
    of the last completed step (gradients zeroed).
    """

    def __init__(self, layers: Sequence[Layer], seed: Optional[int] = None) -> None:
        if isinstance(layers, Layer) or not isinstance(layers, (list, tuple)):
            raise TypeError(f"layers must be a list of bionn.nn.Layer, got {type(layers).__name__}")
        layers = list(layers)
        if not layers:
            raise ValueError("layers must contain at least one layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layers[{i}] must be a bionn.nn.Layer, got {type(layer).__name__}")
        dtypes = {np.dtype(l.dtype) for l in layers}
        if len(dtypes) != 1:
            raise TypeError(f"all layers must share one dtype, got {sorted(d.name for d in dtypes)}")
        if len({id(l) for l in layers}) != len(layers):
            raise ValueError("a layer instance appears twice in layers; create separate layers")
        self.layers: List[Layer] = layers
        self.dtype = dtypes.pop()
        self.training = True
        self.history: Optional[History] = None
        if seed is None:
            self.seed = int(_core.draw_seed())
            self._impl = self._core_cls("Sequential")([l._impl for l in layers], self.seed)
        else:
            self.seed = check_seed(seed)
            self._impl = self._core_cls("Sequential")([l._impl for l in layers], self.seed)
            self._impl.reset_parameters()

    def _core_cls(self, name: str) -> Any:
        return getattr(_core, name + suffix(self.dtype))

    def _check_parameters(self) -> None:
        """Constrained parameters (e.g. focus apertures > 0) are valid: a clear error here instead
        of NaN outputs after a bad write to ``p.data``."""
        for i, layer in enumerate(self.layers):
            try:
                layer._check_parameters()
            except ValueError as exc:
                raise ValueError(f"layer {i}: {exc}") from None

    # -- structure -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i: int) -> Layer:
        return self.layers[i]

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __repr__(self) -> str:
        body = "".join(f"\n  ({i}): {l!r}" for i, l in enumerate(self.layers))
        return f"Sequential({body}\n)"

    def named_parameters(self) -> List[Tuple[str, Parameter]]:
        """``("<layer index>.<name>", Parameter)`` pairs, e.g. ``("0.weight", ...)``."""
        return [(f"{i}.{p.name}", p) for i, l in enumerate(self.layers) for p in l.parameters()]

    def parameters(
        self,
        tags: Optional[Iterable[str]] = None,
        exclude_tags: Optional[Iterable[str]] = None,
        layers: Optional[Iterable[Union[int, type]]] = None,
    ) -> List[Parameter]:
        """Parameters, optionally selected by tag and by layer (index or layer class).

        ``model.parameters(tags=["mu", "sigma"])`` picks the focus parameters so an optimizer can
        give them their own learning rate; ``exclude_tags`` picks the rest.
        """
        tag_set = None if tags is None else _tag_set(tags, "tags")
        excl = set() if exclude_tags is None else _tag_set(exclude_tags, "exclude_tags")
        chosen: Optional[List[Layer]] = None
        if layers is not None:
            if not isinstance(layers, (list, tuple, range)):
                raise TypeError(
                    f"layers must be a sequence of layer indices or Layer types, got {type(layers).__name__}"
                )
            chosen = []
            n = len(self.layers)
            for sel in layers:
                if isinstance(sel, type):
                    chosen.extend(l for l in self.layers if isinstance(l, sel))
                else:
                    i = check_int(sel, "layers[i]", minimum=-n, maximum=n - 1)
                    chosen.append(self.layers[i])
        out = []
        for layer in self.layers:
            if chosen is not None and not any(layer is c for c in chosen):
                continue
            for p in layer.parameters():
                if (tag_set is None or p.tag in tag_set) and p.tag not in excl:
                    out.append(p)
        return out

    def num_parameters(self) -> int:
        return int(sum(p.data.size for p in self.parameters()))

    def train(self, mode: bool = True) -> Sequential:
        """Training mode for :meth:`forward` (dropout active, BatchNorm uses batch statistics)."""
        self.training = check_bool(mode, "mode")
        return self

    def eval(self) -> Sequential:
        return self.train(False)

    def reset_parameters(self, seed: Optional[int] = None) -> None:
        """Re-draws all parameters from the model's engine (reseeded first if ``seed`` is given)."""
        if seed is not None:
            self.seed = check_seed(seed)
            self._impl.reseed(self.seed)
        self._impl.reset_parameters()

    # -- computation ---------------------------------------------------------------------------
    def forward(self, x: Any, training: Optional[bool] = None) -> np.ndarray:
        """Output for the batch ``x`` (train/eval mode from :meth:`train` unless given)."""
        self._check_parameters()
        mode = self.training if training is None else check_bool(training, "training")
        x = as_array(x, "x", self.dtype)
        with core_errors("x"):
            return self._impl.forward(x, mode)

    __call__ = forward

    def backward(self, grad_output: Any) -> np.ndarray:
        """Back-propagates through the last :meth:`forward`; returns dLoss/dInput."""
        return self._impl.backward(as_array(grad_output, "grad_output", self.dtype))

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad[...] = 0

    def _targets(
        self, y: Any, n: int, loss: Any, name: str = "y", X: Optional[np.ndarray] = None, x_name: str = "X"
    ) -> np.ndarray:
        if loss.is_classification:
            labels = as_labels(y, name, n, self.dtype)
            if X is not None and labels.size:
                # The core would find a label out of range only after the forward pass has updated
                # BatchNorm's running statistics: checked here, so a rejected call changes nothing.
                out = self._output_shape(X, x_name)
                if len(out) == 1 and labels.max() >= out[0]:
                    raise ValueError(f"{name} has label {int(labels.max())}, but the model outputs {out[0]} classes")
            return labels
        arr = as_array(y, name, self.dtype)
        if arr.shape[0] != n:
            raise ValueError(f"{name} has {arr.shape[0]} samples but X has {n}")
        if arr.ndim == 1:  # regression targets given as a vector: one output per sample
            arr = arr.reshape(n, 1)
        if X is not None:
            out = self._output_shape(X, x_name)  # checked before the core's forward pass, as labels are
            if arr.shape[1:] != out:
                raise ValueError(
                    f"{name} has per-sample shape {arr.shape[1:]}, the model outputs {out} (for loss {loss!r})"
                )
        return arr

    def _output_shape(self, X: np.ndarray, name: str = "X") -> Tuple[int, ...]:
        """The per-sample output shape for inputs like ``X``: one sample in eval mode (no running
        statistics change), remembered per input shape (the architecture is fixed)."""
        key = X.shape[1:]
        cache = self.__dict__.setdefault("_output_shapes", {})
        if key not in cache:
            with core_errors(name):
                cache[key] = tuple(self._impl.predict(X[:1], 1).shape[1:])
        return cache[key]

    def _check_x(self, x: Any, name: str = "X") -> np.ndarray:
        return as_array(x, name, self.dtype)

    def predict(self, X: Any, batch_size: int = 1024) -> np.ndarray:
        """Model output (eval mode) for every sample of ``X``, computed in batches."""
        self._check_parameters()
        X = self._check_x(X)
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        with core_errors("X", "y"):
            return self._impl.predict(X, batch_size)

    def evaluate(self, X: Any, y: Any, loss: Any, batch_size: int = 1024) -> Dict[str, float]:
        """Mean loss (and accuracy for classification losses) in eval mode."""
        self._check_parameters()
        X = self._check_x(X)
        core_loss = _core_loss(loss, self.dtype)
        y = self._targets(y, X.shape[0], loss, X=X)
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        with core_errors("X", "y"):
            return dict(self._impl.evaluate(X, y, core_loss, batch_size))

    def input_gradient(self, X: Any, y: Any, loss: Any, training: bool = False) -> np.ndarray:
        """dLoss/dX for a batch (mean-reduced loss), in eval mode by default; parameter gradients
        are left as they were. This is what gradient-based attacks need."""
        self._check_parameters()
        X = self._check_x(X)
        core_loss = _core_loss(loss, self.dtype)
        y = self._targets(y, X.shape[0], loss, X=X)
        with core_errors("X", "y"):
            return self._impl.input_gradient(X, y, core_loss, check_bool(training, "training"))

    def train_step(self, X: Any, y: Any, loss: Any, optimizer: Any) -> float:
        """One optimisation step on the batch ``(X, y)``; returns the batch loss."""
        self._check_parameters()
        X = self._check_x(X)
        core_loss = _core_loss(loss, self.dtype)
        y = self._targets(y, X.shape[0], loss, X=X)
        core_opt = _core_optimizer(optimizer, self.dtype)
        with core_errors("X", "y"):
            return float(self._impl.train_step(X, y, core_loss, core_opt))

    def fit(
        self,
        X: Any,
        y: Any,
        *,
        loss: Any,
        optimizer: Any,
        epochs: int = 1,
        batch_size: int = 32,
        validation_data: Optional[Tuple[Any, Any]] = None,
        shuffle: Any = True,
        drop_last: bool = False,
        scheduler: Any = None,
        callbacks: Optional[Sequence[Any]] = None,
        verbose: int = 0,
        eval_batch_size: int = 1024,
    ) -> History:
        """Trains the model; the loop runs in C++ with the GIL released.

        Parameters
        ----------
        X, y : array-like
            Inputs (N, ...) and targets: integer labels for classification losses, arrays of the
            output's shape (or a vector for a single output) otherwise.
        loss : bionn.losses.Loss
        optimizer : bionn.optim.Optimizer
        epochs, batch_size : int
            Any batch size from 1 up; the last batch may be smaller unless ``drop_last``.
        validation_data : (X_val, y_val), optional
            Evaluated after every epoch (``val_loss``, ``val_accuracy``).
        scheduler : bionn.optim scheduler, optional
            Stepped after every epoch.
        callbacks : sequence of bionn.callbacks.Callback, optional
        shuffle : bool or "replacement"
            True: every epoch is one pass over a fresh permutation; False: the data's order;
            ``"replacement"``: every epoch draws N samples uniformly at random with replacement
            (classic online SGD; with ``batch_size=1`` each step trains on one random sample).
        verbose : int
            0 silent, 1 a progress bar (tqdm) per epoch, 2 one line per epoch.

        Returns
        -------
        History
            Also kept as ``model.history``; Ctrl-C stops between batches, leaving the model usable
            and the history of finished epochs in ``model.history``.
        """
        from ..callbacks import CallbackList

        self._check_parameters()
        X = self._check_x(X)
        core_loss = _core_loss(loss, self.dtype)
        y = self._targets(y, X.shape[0], loss, X=X)
        epochs = check_int(epochs, "epochs", minimum=0, maximum=INT32_MAX)
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        eval_batch_size = check_int(eval_batch_size, "eval_batch_size", minimum=1)
        verbose = check_int(verbose, "verbose", minimum=0)
        val_x = val_y = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("validation_data must be a pair (X_val, y_val)")
            val_x = self._check_x(validation_data[0], "validation_data[0]")
            val_y = self._targets(
                validation_data[1], val_x.shape[0], loss, "validation_data[1]", X=val_x, x_name="validation_data[0]"
            )
            if val_x.shape[1:] != X.shape[1:]:
                raise ValueError(f"validation_data[0] has sample shape {val_x.shape[1:]}, X has {X.shape[1:]}")
        if isinstance(shuffle, str):
            if shuffle != "replacement":
                raise ValueError(f"shuffle must be True, False or 'replacement', got {shuffle!r}")
        elif not isinstance(shuffle, (bool, np.bool_)):
            raise TypeError(f"shuffle must be True, False or 'replacement', got {shuffle!r}")
        replacement = shuffle == "replacement"
        core_opt = _core_optimizer(optimizer, self.dtype)
        core_sched = None
        if scheduler is not None:
            core_sched = getattr(scheduler, "_impl", None)
            if core_sched is None or getattr(scheduler, "optimizer", None) is not optimizer:
                raise ValueError("scheduler must be a bionn.optim scheduler built on this optimizer")
        if epochs:
            from .._sysinfo import check_threads

            check_threads(stacklevel=3)  # warns once when the threads get far less CPU than their number
        n = X.shape[0]
        batches = (n // min(batch_size, n)) if drop_last else -(-n // min(batch_size, n))
        history = History()
        self.history = history
        cbs = CallbackList(callbacks, model=self, verbose=verbose, epochs=epochs, batches=batches)
        cbs.on_train_begin()

        nonfinite_warned = False

        def on_epoch(record: Dict[str, float]) -> bool:
            nonlocal nonfinite_warned
            history.append(record)
            value = record.get("loss", 0.0)
            if not nonfinite_warned and not math.isfinite(value):
                nonfinite_warned = True  # once per fit: the following epochs stay non-finite
                warnings.warn(
                    f"fit: the training loss became {value} at epoch {int(record['epoch'])}; the weights are "
                    "no longer usable (lower the learning rate or check the inputs; "
                    "callbacks=[bionn.callbacks.TerminateOnNaN()] stops at the first such batch)",
                    RuntimeWarning,
                    stacklevel=3,  # on_epoch <- fit <- the caller
                )
            return bool(cbs.on_epoch_end(int(record["epoch"]) - 1, dict(record)))

        def on_batch(epoch: int, batch: int, nbatches: int, value: float) -> None:
            if cbs.on_batch_end(epoch, batch, value):
                raise _StopTraining()

        self.training = True
        try:
            with core_errors("X", "y"):
                self._impl.fit(
                    X,
                    y,
                    core_loss,
                    core_opt,
                    epochs,
                    batch_size,
                    shuffle=replacement or bool(shuffle),
                    drop_last=check_bool(drop_last, "drop_last"),
                    eval_batch_size=eval_batch_size,
                    val_x=val_x,
                    val_y=val_y,
                    scheduler=core_sched,
                    on_batch=on_batch if cbs.wants_batches else None,
                    on_epoch=on_epoch,
                    replacement=replacement,
                )
        except _StopTraining:
            history.stopped_early = True
        finally:
            cbs.on_train_end()
        if cbs.stop_reason:
            history.stopped_early = True
            history.stop_reason = cbs.stop_reason
        return history

    # -- state -----------------------------------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Copies of all parameters and buffers, keyed ``"<layer>.<name>"``."""
        sd: OrderedDict[str, np.ndarray] = OrderedDict()
        for i, layer in enumerate(self.layers):
            for p in layer.parameters():
                sd[f"{i}.{p.name}"] = p.data.copy()
            for name, buf in layer.buffers().items():
                sd[f"{i}.{name}"] = buf.copy()
        return sd

    def load_state_dict(self, state: Dict[str, Any], strict: bool = True) -> None:
        """Copies arrays into the parameters and buffers (shapes must match).

        All arrays are checked before any is written, so a bad dict leaves the model unchanged:
        shapes, finite numbers, and the constraints of constrained parameters (a focus aperture
        ``sigma`` must be > 0), each failure a ValueError naming the entry.
        """
        if not isinstance(state, Mapping):
            raise TypeError(
                f"state must be a mapping of names to arrays (from state_dict()), got {type(state).__name__}"
            )
        targets: Dict[str, np.ndarray] = {}
        owners: Dict[str, Tuple[Layer, Any]] = {}
        buffer_owners: Dict[str, Tuple[Layer, str]] = {}
        for i, layer in enumerate(self.layers):
            for p in layer.parameters():
                targets[f"{i}.{p.name}"] = p.data
                owners[f"{i}.{p.name}"] = (layer, p)
            for name, buf in layer.buffers().items():
                targets[f"{i}.{name}"] = buf
                buffer_owners[f"{i}.{name}"] = (layer, name)
        if check_bool(strict, "strict"):
            missing = sorted(set(targets) - set(state))
            unexpected = sorted(set(state) - set(targets))
            if missing or unexpected:
                raise ValueError(f"state dict mismatch: missing {missing}, unexpected {unexpected}")
        staged = []
        for key, dest in targets.items():
            if key not in state:
                continue
            src = as_ndarray(state[key], f"state dict entry {key!r}")
            if src.shape != dest.shape:
                raise ValueError(f"state dict entry {key!r} has shape {src.shape}, expected {dest.shape}")
            if src.dtype.kind not in "biuf":
                raise TypeError(f"state dict entry {key!r} has non-numeric dtype {src.dtype}")
            if not np.isfinite(src).all():
                raise ValueError(f"state dict entry {key!r} contains NaN or Inf")
            with np.errstate(over="ignore"):
                src = src.astype(dest.dtype, copy=False)
            if not np.isfinite(src).all():  # e.g. float64 values beyond float32's range
                raise ValueError(f"state dict entry {key!r} overflows to Inf as {dest.dtype}")
            if key in owners:
                layer, p = owners[key]
                layer._check_value(p, src, f"state dict entry {key!r}")
            if key in buffer_owners:
                layer, name = buffer_owners[key]
                layer._check_buffer(name, src, f"state dict entry {key!r}")
            staged.append((dest, src))
        # Writes in place: raises RuntimeError while another thread predicts or trains with the
        # model, and keeps other threads out until done.
        self._impl.begin_loading()
        try:
            for dest, src in staged:
                dest[...] = src
        finally:
            self._impl.end_loading()

    def config(self) -> Dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "dtype": np.dtype(self.dtype).name,
            "seed": self.seed,
            "layers": [{"type": type(l).__name__, "config": l.config()} for l in self.layers],
        }

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Writes ``path`` (.npz): parameters, buffers and the JSON architecture. No pickle.

        The file is written to a temporary file beside it and renamed, so an interrupted save
        never leaves a truncated model behind or destroys the previous file.
        """
        from .. import __version__

        cfg = dict(self.config(), bionn_version=__version__)
        save_archive(path, cfg, self.state_dict())

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> Sequential:
        return load(path)


def _tag_set(value: Any, name: str) -> set:
    if isinstance(value, str):
        return {value}
    if not isinstance(value, (list, tuple, set, frozenset)) or not all(isinstance(t, str) for t in value):
        raise TypeError(f"{name} must be a str or a sequence of str (parameter tags), got {value!r}")
    return set(value)


def load(path: Union[str, os.PathLike]) -> Sequential:
    """Loads a model written by :meth:`Sequential.save`.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        The file is not a bionn model, is truncated or corrupt, or its arrays do not match its
        architecture.
    """
    path = check_path(path)
    built: Dict[str, Any] = {}

    def expect(cfg: Dict[str, Any], members: Dict[str, Any]) -> Dict[str, Tuple[int, ...]]:
        # Builds the model from the header, before any array is read, within a budget of what the
        # arrays declare (a crafted architecture cannot allocate gigabytes first), and returns the
        # shapes its parameters and buffers need; load_archive compares them with the entries.
        declared = sum(int(np.prod(shape, dtype=object)) for shape, _ in members.values())
        try:
            seed = cfg.get("seed")
            if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64:
                raise ValueError(f"seed must be an integer in [0, 2**64), got {seed!r}")
            layers = []
            # 4x: a layer's size check counts its gradients and work buffers too; + 2**16 for the
            # layers whose per-unit state is not saved (masks, activation kinds).
            with allocation_budget(4 * declared + 2**16):
                for i, spec in enumerate(cfg["layers"]):
                    layer_cls = _LAYER_REGISTRY.get(spec["type"])
                    if layer_cls is None:
                        raise ValueError(f"unknown layer type {spec['type']!r} at index {i}")
                    if not isinstance(spec["config"], dict):
                        raise TypeError(f"layer {i}'s config must be an object")
                    layers.append(layer_cls(**spec["config"]))
            model = Sequential(layers, seed=None)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise ValueError(f"{path!r} has a malformed architecture: {exc}") from None
        model.seed = seed
        built["model"] = model
        shapes: Dict[str, Tuple[int, ...]] = {}
        for i, layer in enumerate(model.layers):
            for p in layer.parameters():
                shapes[f"{i}.{p.name}"] = p.shape
            for name, buf in layer.buffers().items():
                shapes[f"{i}.{name}"] = tuple(buf.shape)
        return shapes

    _, state = load_archive(path, FORMAT_NAME, FORMAT_VERSION, what="bionn model file", expect=expect)
    model = built["model"]
    model._impl.reseed(model.seed)
    try:
        model.load_state_dict(state, strict=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path!r} holds invalid arrays: {exc}") from None
    return model


def _core_loss(loss: Any, dtype: np.dtype) -> Any:
    getter = getattr(loss, "_for_dtype", None)
    if getter is None or isinstance(loss, type):
        what = (
            f"the class {loss.__name__} (call it: {loss.__name__}())" if isinstance(loss, type) else type(loss).__name__
        )
        raise TypeError(f"loss must be a bionn.losses loss, got {what}")
    return getter(dtype)


def _core_optimizer(optimizer: Any, dtype: np.dtype) -> Any:
    impl = getattr(optimizer, "_impl", None)
    if impl is None:
        raise TypeError(f"optimizer must be a bionn.optim optimizer, got {type(optimizer).__name__}")
    if np.dtype(optimizer.dtype) != np.dtype(dtype):
        raise TypeError(
            f"optimizer is for {np.dtype(optimizer.dtype).name} parameters, model is {np.dtype(dtype).name}"
        )
    return impl
