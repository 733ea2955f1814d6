"""Training callbacks for :meth:`bionn.nn.Sequential.fit` (Keras-style).

A callback overrides any of ``on_train_begin()``, ``on_batch_end(epoch, batch, loss)``,
``on_epoch_end(epoch, logs)`` and ``on_train_end()``. Returning ``True`` from ``on_batch_end`` or
``on_epoch_end`` stops training; set ``self.stop_reason`` to say why. Per-batch hooks make the C++
loop call back into Python, so they are only installed when some callback defines one.
"""

from __future__ import annotations

import inspect
import math
import string
import sys
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import numpy as np

from ._validation import as_list, check_bool, check_float, check_int, check_path

__all__ = [
    "Callback",
    "ProgressBar",
    "EarlyStopping",
    "ModelCheckpoint",
    "LearningRateScheduler",
    "StepDecay",
    "TerminateOnNaN",
    "ParameterRecorder",
    "CallbackList",
]


class Callback:
    model: Any = None
    stop_reason: Optional[str] = None

    def set_model(self, model: Any) -> None:
        self.model = model

    def on_train_begin(self) -> None:
        pass

    def on_batch_end(self, epoch: int, batch: int, loss: float) -> Optional[bool]:
        return None

    def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> Optional[bool]:
        return None

    def on_train_end(self) -> None:
        pass


def _check_mode(mode: Any) -> str:
    if not isinstance(mode, str) or mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    return mode


def _check_monitor(monitor: Any) -> str:
    if not isinstance(monitor, str) or not monitor:
        raise TypeError(f"monitor must be the name of a logged metric (str, e.g. 'val_loss'), got {monitor!r}")
    return monitor


def _defines(cb: Callback, name: str) -> bool:
    return getattr(type(cb), name) is not getattr(Callback, name)


class ProgressBar(Callback):
    """A tqdm progress bar per epoch (``tqdm.auto``: renders in Jupyter) showing the running loss.

    Falls back to one printed line per epoch when tqdm is not installed.
    """

    def __init__(self, epochs: int, batches: int, per_batch: bool = True) -> None:
        self.epochs = check_int(epochs, "epochs", minimum=0)
        self.batches = check_int(batches, "batches", minimum=0)
        self.per_batch = check_bool(per_batch, "per_batch")
        self._bar: Any = None
        self._loss_sum = 0.0
        self._count = 0
        try:
            from tqdm.auto import tqdm

            self._tqdm = tqdm
        except ImportError:  # pragma: no cover - tqdm is in the test extra
            self._tqdm = None

    def _open(self, epoch: int) -> None:
        if self._tqdm is not None:
            self._bar = self._tqdm(
                total=self.batches,
                desc=f"epoch {epoch + 1}/{self.epochs}",
                unit="batch",
                leave=True,
                dynamic_ncols=True,
            )
        self._loss_sum, self._count = 0.0, 0

    def on_batch_end(self, epoch: int, batch: int, loss: float) -> None:
        if not self.per_batch:
            return None
        if self._bar is None and batch == 0:
            self._open(epoch)
        self._loss_sum += loss
        self._count += 1
        if self._bar is not None:
            self._bar.update(1)
            if batch % 10 == 0 or batch == self.batches - 1:
                self._bar.set_postfix(loss=f"{self._loss_sum / self._count:.4f}", refresh=False)
        return None

    def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> None:
        shown = {k: f"{v:.4f}" for k, v in logs.items() if k not in ("epoch", "lr")}
        if self._bar is not None:
            self._bar.set_postfix(shown, refresh=True)
            self._bar.close()
            self._bar = None
        else:
            print(f"epoch {epoch + 1}/{self.epochs} " + " ".join(f"{k}={v}" for k, v in shown.items()), file=sys.stderr)
        return None

    def on_train_end(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class EarlyStopping(Callback):
    """Stops when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    Parameters
    ----------
    monitor : str
        A key of the epoch logs, e.g. ``"val_loss"`` or ``"val_accuracy"``.
    mode : {"auto", "min", "max"}
        "auto" maximises keys containing "acc", minimises the rest.
    restore_best_weights : bool
        Put back the parameters of the best epoch when stopping.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = False,
    ) -> None:
        mode = _check_mode(mode)
        monitor = _check_monitor(monitor)
        patience = check_int(patience, "patience", minimum=0)
        self.monitor, self.patience = monitor, patience
        self.min_delta = abs(check_float(min_delta, "min_delta"))
        self.maximise = mode == "max" or (mode == "auto" and "acc" in monitor)
        self.restore_best_weights = check_bool(restore_best_weights, "restore_best_weights")
        self.best: Optional[float] = None
        self.best_epoch = -1
        self.wait = 0
        self._best_state: Optional[Dict[str, np.ndarray]] = None

    def on_train_begin(self) -> None:
        self.best, self.best_epoch, self.wait, self._best_state = None, -1, 0, None

    def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> bool:
        if self.monitor not in logs:
            raise KeyError(
                f"EarlyStopping monitors {self.monitor!r}, but the epoch logs have {sorted(logs)}; "
                "pass validation_data to fit for val_* metrics"
            )
        value = logs[self.monitor]
        better = self.best is None or (
            value > self.best + self.min_delta if self.maximise else value < self.best - self.min_delta
        )
        if better:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self._best_state = self.model.state_dict()
            return False
        self.wait += 1
        if self.wait > self.patience:
            self.stop_reason = (
                f"early stopping: {self.monitor} did not improve for {self.patience} epoch(s) "
                f"after epoch {self.best_epoch + 1} ({self.best:.6g})"
            )
            if self.restore_best_weights and self._best_state is not None:
                self.model.load_state_dict(self._best_state)
            return True
        return False


def _check_template(filepath: str) -> str:
    """Checks at construction what ``str.format`` would reject at the end of an epoch: the syntax,
    field names (``epoch`` or a log key; no positional, attribute or index fields) and format specs
    (``epoch`` is an int, log values are floats)."""
    try:
        fields = list(string.Formatter().parse(filepath))
    except ValueError as exc:
        raise ValueError(f"filepath {filepath!r} is not a valid format string: {exc}") from None
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if not name.isidentifier():
            raise ValueError(
                f"filepath {filepath!r}: field {{{name}}} must be {{epoch}} or a log key such as {{val_loss}}"
            )
        if conversion not in (None, "r", "s", "a"):
            raise ValueError(f"filepath {filepath!r}: unknown conversion !{conversion} in {{{name}}}")
        try:
            format(1 if name == "epoch" else 0.5, spec or "")
        except (ValueError, TypeError) as exc:
            kind = "an int" if name == "epoch" else "a float"
            raise ValueError(
                f"filepath {filepath!r}: format spec {spec!r} of {{{name}}} does not fit {kind}: {exc}"
            ) from None
    return filepath


class ModelCheckpoint(Callback):
    """Saves the model (atomically) after each epoch, or only when ``monitor`` improves.

    ``filepath`` may contain ``{epoch}`` and any log key, e.g. ``"ckpt-{epoch:02d}-{val_loss:.3f}.npz"``.
    """

    def __init__(
        self, filepath: str, monitor: str = "val_loss", save_best_only: bool = False, mode: str = "auto"
    ) -> None:
        mode = _check_mode(mode)
        self.filepath, self.monitor = _check_template(check_path(filepath, "filepath")), _check_monitor(monitor)
        self.save_best_only = check_bool(save_best_only, "save_best_only")
        self.maximise = mode == "max" or (mode == "auto" and "acc" in self.monitor)
        self.best: Optional[float] = None
        self.saved: List[str] = []

    def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> None:
        if self.save_best_only:
            if self.monitor not in logs:
                raise KeyError(f"ModelCheckpoint monitors {self.monitor!r}, not in the logs {sorted(logs)}")
            value = logs[self.monitor]
            if self.best is not None and not (value > self.best if self.maximise else value < self.best):
                return None
            self.best = value
        path = self.filepath.format(epoch=epoch + 1, **{k: v for k, v in logs.items() if k != "epoch"})
        try:
            self.model.save(path)
        except ValueError as exc:  # non-finite weights: keep the last good checkpoint
            warnings.warn(f"ModelCheckpoint skipped epoch {epoch + 1}: {exc}", RuntimeWarning, stacklevel=2)
            return None
        self.saved.append(path)
        return None


class LearningRateScheduler(Callback):
    """Sets learning rates from a schedule after every epoch: ``lr <- schedule(epoch, lr)`` with
    ``epoch`` the 1-based number of the epoch about to start.

    Parameters
    ----------
    optimizer : bionn.optim.Optimizer
    schedule : callable or sequence of (callable or None)
        One ``schedule(epoch, lr) -> lr`` for every parameter group, or one per group in the order
        of ``optimizer.param_groups`` (None leaves that group's rate alone), e.g. separate decays
        for the weights and the focus parameters of a focusing network.

    Raises
    ------
    ValueError
        A schedule list whose length is not the number of groups, or (during training) a schedule
        returning a rate that is not a finite number >= 0.

    Examples
    --------
    >>> groups = optim.groups_by_tag(net.parameters(), {"mu": {"lr": 0.01}})  # doctest: +SKIP
    >>> opt = optim.SGD(groups, lr=0.1)  # doctest: +SKIP
    >>> sched = LearningRateScheduler(opt, [lambda e, lr: lr * 0.5 if e % 10 == 0 else lr, None])  # doctest: +SKIP
    """

    def __init__(
        self,
        optimizer: Any,
        schedule: Union[Callable[[int, float], float], Sequence[Optional[Callable[[int, float], float]]]],
    ) -> None:
        groups = getattr(optimizer, "param_groups", None)
        if groups is None:
            raise TypeError(f"optimizer must be a bionn optimizer, got {type(optimizer).__name__}")
        if callable(schedule):
            schedules = [schedule] * len(groups)
        else:
            try:
                schedules = list(schedule)
            except TypeError:
                raise TypeError(
                    f"schedule must be a callable(epoch, lr) or a sequence of them, got {type(schedule).__name__}"
                ) from None
            if len(schedules) != len(groups):
                raise ValueError(f"schedule has {len(schedules)} entries for {len(groups)} parameter groups")
            for i, f in enumerate(schedules):
                if f is not None and not callable(f):
                    raise TypeError(f"schedule[{i}] must be a callable(epoch, lr) or None, got {type(f).__name__}")
        for f in schedules:
            if f is None:
                continue
            try:
                inspect.signature(f).bind(0, 0.1)
            except TypeError as exc:
                raise TypeError(f"schedule must be called as schedule(epoch, lr), but {f!r} cannot: {exc}") from None
            except ValueError:  # no signature (some builtins): checked when called
                pass
        self.optimizer, self.schedule, self.schedules = optimizer, schedule, schedules

    def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> None:
        new = []
        for i, (group, f) in enumerate(zip(self.optimizer.param_groups, self.schedules)):
            if f is None:
                new.append(None)
                continue
            lr = f(epoch + 1, group["lr"])
            if (
                isinstance(lr, bool)
                or not isinstance(lr, (int, float, np.floating, np.integer))
                or not (0 <= float(lr) < math.inf)
            ):
                raise ValueError(
                    f"schedule for parameter group {i} returned {lr!r} at epoch {epoch + 1}; expected a finite lr >= 0"
                )
            new.append(float(lr))
        for group, lr in zip(self.optimizer.param_groups, new):
            if lr is not None:
                group["lr"] = lr
        return None


class StepDecay(Callback):
    """Multiplies learning rates by a factor at given epochs, with one factor per parameter group
    if wanted (like ``torch.optim.lr_scheduler.MultiStepLR``, but per group).

    Parameters
    ----------
    optimizer : bionn.optim.Optimizer
    milestones : sequence of int
        Epochs (1-based, counted at their end) after which the rates are multiplied: ``(100, 150)``
        decays after the 100th and the 150th epoch.
    gamma : float or sequence of float
        One factor for every group, or one per group in the order of ``optimizer.param_groups``
        (e.g. the focusing paper's ``(0.5, 0.9, 0.5)`` for weights, mu and sigma).

    Examples
    --------
    >>> decay = StepDecay(opt, milestones=(100, 150), gamma=(0.5, 0.9, 0.5))  # doctest: +SKIP
    >>> net.fit(X, y, loss=loss, optimizer=opt, epochs=200, callbacks=[decay])  # doctest: +SKIP
    """

    def __init__(self, optimizer: Any, milestones: Sequence[int], gamma: Union[float, Sequence[float]] = 0.1) -> None:
        groups = getattr(optimizer, "param_groups", None)
        if groups is None:
            raise TypeError(f"optimizer must be a bionn optimizer, got {type(optimizer).__name__}")
        ms = [milestones] if isinstance(milestones, (int, np.integer)) else as_list(milestones, "milestones")
        for m in ms:
            if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
                raise ValueError(f"milestones must be epochs >= 1, got {milestones!r}")
        factors = [gamma] * len(groups) if isinstance(gamma, (int, float, np.floating)) else as_list(gamma, "gamma")
        if len(factors) != len(groups):
            raise ValueError(f"gamma has {len(factors)} factors for {len(groups)} parameter groups")
        for g in factors:
            if isinstance(g, bool) or not isinstance(g, (int, float, np.floating)) or not (0 < g < math.inf):
                raise ValueError(f"gamma factors must be finite numbers > 0, got {gamma!r}")
        self.optimizer, self.milestones, self.gamma = optimizer, sorted(int(m) for m in ms), [float(g) for g in factors]

    def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> None:
        if epoch + 1 in self.milestones:
            for group, g in zip(self.optimizer.param_groups, self.gamma):
                group["lr"] *= g
        return None


class TerminateOnNaN(Callback):
    """Stops training at the first batch whose loss is NaN or infinite, naming epoch and batch."""

    def on_batch_end(self, epoch: int, batch: int, loss: float) -> bool:
        if not math.isfinite(loss):
            self.stop_reason = (
                f"training stopped: loss became {loss} at epoch {epoch + 1}, batch {batch + 1}; "
                "lower the learning rate or check the inputs"
            )
            warnings.warn(self.stop_reason, RuntimeWarning, stacklevel=2)
            return True
        return False


class ParameterRecorder(Callback):
    """Keeps a copy of selected parameters before training and after every epoch, e.g. the focus
    centres and apertures for their trajectories (``bionn.plot.parameter_trajectories``).

    Parameters
    ----------
    tags : sequence of str
        Parameter tags to record (``"mu"``, ``"sigma"``, ...); records are keyed by the
        parameter's name in the model, e.g. ``"0.mu"``.
    """

    def __init__(self, tags: Sequence[str] = ("mu", "sigma")) -> None:
        if isinstance(tags, str):
            tags = (tags,)
        if not isinstance(tags, (list, tuple, set, frozenset)) or not all(isinstance(t, str) for t in tags):
            raise TypeError(f"tags must be a str or a sequence of str (parameter tags), got {tags!r}")
        self.tags = set(tags)
        self.records: Dict[str, List[np.ndarray]] = {}

    def _snapshot(self) -> None:
        for name, p in self.model.named_parameters():
            if p.tag in self.tags:
                self.records.setdefault(name, []).append(p.data.copy())

    def on_train_begin(self) -> None:
        if not self.records:
            self._snapshot()

    def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> None:
        self._snapshot()
        return None


class CallbackList:
    """Dispatches the hooks of several callbacks; used by ``fit``."""

    def __init__(
        self, callbacks: Optional[Sequence[Callback]], model: Any, verbose: int = 0, epochs: int = 0, batches: int = 0
    ) -> None:
        if isinstance(callbacks, Callback):
            raise TypeError(f"callbacks must be a list of callbacks, got one {type(callbacks).__name__}; pass [it]")
        cbs = [] if callbacks is None else as_list(callbacks, "callbacks", "a list of bionn.callbacks.Callback")
        for cb in cbs:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be bionn.callbacks.Callback objects, got {type(cb).__name__}")
        if verbose:
            cbs.append(ProgressBar(epochs, batches, per_batch=verbose == 1))
        for cb in cbs:
            cb.set_model(model)
        self.callbacks = cbs
        self.wants_batches = any(_defines(cb, "on_batch_end") for cb in cbs)
        self.stop_reason: Optional[str] = None

    def on_train_begin(self) -> None:
        for cb in self.callbacks:
            cb.on_train_begin()

    def _collect(self, results: List[Any]) -> bool:
        stop = False
        for cb, res in zip(self.callbacks, results):
            if res:
                stop = True
                self.stop_reason = self.stop_reason or cb.stop_reason or f"stopped by {type(cb).__name__}"
        return stop

    def on_batch_end(self, epoch: int, batch: int, loss: float) -> bool:
        return self._collect([cb.on_batch_end(epoch, batch, loss) for cb in self.callbacks])

    def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> bool:
        return self._collect([cb.on_epoch_end(epoch, logs) for cb in self.callbacks])

    def on_train_end(self) -> None:
        for cb in self.callbacks:
            cb.on_train_end()
