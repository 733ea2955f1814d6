"""Meta-learning of the receptive fields by entropy (§2.2, Algorithm 2).

:class:`MetaLearner` moves a fitted network's windows (hill climbing, local search or random
search, in C++) and keeps a move only when the entropy rises.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from .. import _core
from .._validation import INT32_MAX, check_int, check_seed, suffix
from .network import SelfOrganizingNetwork, _images

__all__ = ["MetaLearner", "META_METHODS"]

META_METHODS = ("hill_climbing", "local_search", "random_search")


class MetaLearner:
    """Meta-learning of the receptive fields by entropy (§2.2).

    Parameters
    ----------
    method : {"hill_climbing", "local_search", "random_search"}
        ``hill_climbing`` is Algorithm 2: for units 1..K in order, move one random window of the
        unit by one cell (up/down/left/right), train the candidate, and keep it (and stop) at the
        first unit whose entropy rises strictly. ``local_search`` tries every such move of the unit
        and keeps the best if it raises that unit's entropy. ``random_search`` draws a fresh random
        topology and keeps it if the summed entropy rises.
    epochs_per_step : int
        Base-learning epochs per candidate: the meta-learner updates slower than base learning.
    seed : int
        Fixes the choice of candidates.
    """

    def __init__(self, method: str = "hill_climbing", epochs_per_step: int = 1, seed: int = 0) -> None:
        if not isinstance(method, str) or method not in META_METHODS:
            raise ValueError(f"method must be one of {META_METHODS}, got {method!r}")
        self.method = method
        self.epochs_per_step = check_int(epochs_per_step, "epochs_per_step", minimum=1, maximum=INT32_MAX)
        self.seed = check_seed(seed)
        opts = _core.SelfOrgMetaOptions()
        opts.method = method
        opts.epochs_per_step = self.epochs_per_step
        self._opts = opts
        self._impls: Dict[str, Any] = {}
        self.history: List[Dict[str, Any]] = []

    def step(self, network: SelfOrganizingNetwork, X: Any, entropy_X: Any = None) -> Dict[str, Any]:
        """One meta-step on a fitted ``network`` (changed in place when a candidate is accepted).

        Returns
        -------
        dict
            ``accepted``, ``unit`` (the moved unit, -1 if none or random search), ``candidates``
            (networks trained), ``entropy`` (per-unit, after the step), ``fields``.
        """
        if not isinstance(network, SelfOrganizingNetwork):
            raise TypeError(f"network must be a SelfOrganizingNetwork, got {type(network).__name__}")
        incumbent = network.last_entropy
        if incumbent is None:
            raise RuntimeError("fit() the network before meta-learning: the incumbent entropy is needed")
        Xc = _images(X, network.topology, network.dtype)
        E = network._entropy_set(Xc, entropy_X)
        key = network.dtype.name
        if key not in self._impls:
            self._impls[key] = getattr(_core, "SelfOrgMetaLearner" + suffix(network.dtype))(self._opts, self.seed)
        r = dict(self._impls[key].step(network._impl, incumbent, Xc, E))
        fields = [[tuple(c) for c in u] for u in network._impl.fields]
        if r["accepted"]:
            network._set_topology(network.topology.with_fields(fields))
            network.history["loss"].append(None)  # the candidate's epochs: losses not recorded
            network.history["entropy"].append(list(r["entropy"]))
        r["fields"] = fields
        self.history.append(r)
        return r

    def run(
        self,
        network: SelfOrganizingNetwork,
        X: Any,
        meta_steps: int,
        entropy_X: Any = None,
        on_step: Optional[Callable[[int, SelfOrganizingNetwork, Dict[str, Any]], None]] = None,
    ) -> List[Dict[str, Any]]:
        """``meta_steps`` meta-steps (Algorithm 2's outer loop); ``on_step(m, network, record)`` is
        called after each (e.g. to measure readout accuracy per meta-step, Fig. 6)."""
        meta_steps = check_int(meta_steps, "meta_steps", minimum=0, maximum=INT32_MAX)  # as epochs_per_step
        out = []
        for m in range(1, meta_steps + 1):
            r = self.step(network, X, entropy_X)
            r["step"] = m
            out.append(r)
            if on_step is not None:
                on_step(m, network, r)
        return out
