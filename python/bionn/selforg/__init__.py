"""Self-organizing network: AE units on a feature map, entropy, meta-learning (issue 8).

Paper: "self-organizing network with entropy-driven meta-learning" (``shared/papers/
self-organizing-entropy-metalearning.txt``). A *feature map* (an h x w sheet, §2) holds the input
image and the hidden activity of K autoencoder (AE) units at fixed places. Each unit reads a
receptive field r_k of two N x N windows on the map (Eq. 1), learns locally to reconstruct it (MSE,
dropout, L2; §2.1) and writes its code back onto the map (Algorithm 1), so units can read each
other and a virtual hierarchy forms on a flat sheet. A meta-learner moves the windows one cell at a
time and keeps a move only when the moved unit's histogram entropy rises (Eq. 2-3, Algorithm 2).
The concatenated codes feed a multinomial logistic regression (the extrinsic metric).

Modules: :mod:`~bionn.selforg.topology` (:class:`Topology`, :data:`HANDCRAFTED`),
:mod:`~bionn.selforg.network` (:class:`SelfOrganizingNetwork`, :func:`histogram_entropy`,
:func:`load`), :mod:`~bionn.selforg.meta` (:class:`MetaLearner`, :data:`META_METHODS`),
:mod:`~bionn.selforg.readout` (:class:`Readout`). The paper's data protocol (the MNIST sample
split and cropped to 20 x 20, CIFAR-10 in grayscale) lives in :mod:`bionn.papers.selforg`.

>>> from bionn import selforg
>>> from bionn.papers import selforg as paper
>>> Xtr, ytr, Xte, yte = paper.load_mnist(n_train=2000, n_test=500, seed=0)      # doctest: +SKIP
>>> net = selforg.SelfOrganizingNetwork(selforg.Topology.handcrafted("A3"), seed=0)  # doctest: +SKIP
>>> net.fit(Xtr, epochs=5)                                                        # doctest: +SKIP
>>> clf = selforg.Readout(seed=0).fit(net.transform(Xtr), ytr)                     # doctest: +SKIP
>>> clf.score(net.transform(Xte), yte)                                            # doctest: +SKIP

Defaults the paper leaves open (documented choices, not the authors'): a 20 x 40 map with the
20 x 20 MNIST crop on the left and one 10 x 10 hidden block (n_hidden = 100) per unit on the right;
N = 10; Adam (lr 1e-3), L2 1e-4, dropout 0.1 on the hidden code; the map is settled per mini-batch.

Deprecated: ``bionn.selforg.preprocess_mnist``, ``load_mnist``, ``cifar10_available`` and
``load_cifar10_gray`` still work for one release but warn (:class:`DeprecationWarning`); use
``bionn.papers.selforg.<name>``.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any, List

from .meta import META_METHODS, MetaLearner
from .network import SelfOrganizingNetwork, histogram_entropy, load
from .readout import Readout
from .topology import HANDCRAFTED, Topology

__all__ = [
    "Topology",
    "SelfOrganizingNetwork",
    "MetaLearner",
    "Readout",
    "histogram_entropy",
    "HANDCRAFTED",
    "META_METHODS",
    "load",
]

# The paper's data protocol moved to bionn.papers.selforg; the old names resolve there, with a
# warning, until the next release. No import: `import bionn` has loaded bionn.papers by the time
# user code can ask, so the shim only looks the module up (the library never imports papers).
_MOVED_TO_PAPERS = ("preprocess_mnist", "load_mnist", "cifar10_available", "load_cifar10_gray")


def __getattr__(name: str) -> Any:
    if name in _MOVED_TO_PAPERS:
        warnings.warn(
            f"bionn.selforg.{name} moved to bionn.papers.selforg.{name} (the paper's data protocol); "
            f"the old name will be removed in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(sys.modules[__name__.rpartition(".")[0] + ".papers.selforg"], name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_MOVED_TO_PAPERS))
