"""Topology: a meta-network's architecture (feature-map layout and receptive fields, §2, Fig. 2).

A :class:`Topology` is plain data: the sheet's shape, where the image and each unit's hidden block
sit, and every unit's receptive-field windows (Eq. 1). :data:`HANDCRAFTED` holds the paper's A1/A2/A3
patterns on the default MNIST sheet. The network (:mod:`bionn.selforg.network`) and the plots read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .. import _core
from .._validation import check_int, check_seed, check_size, pair

__all__ = ["Topology", "HANDCRAFTED", "Cell"]

Cell = Tuple[int, int]

# The default MNIST sheet: the 20 x 20 crop at (0, 0); hidden blocks of units 0, 1, 2 at the right.
_DEFAULT_MAP = (20, 40)
_DEFAULT_UNITS: Tuple[Cell, ...] = ((0, 20), (0, 30), (10, 20))
_TL, _TR, _BL, _BR, _MID_L, _MID_R = (0, 0), (0, 10), (10, 0), (10, 10), (5, 0), (5, 10)
# Fig. 2 (right): three AE units, two N x N windows each. The figure gives the pattern, not the
# coordinates; these are our reading of it on the default sheet (see Topology.handcrafted).
HANDCRAFTED: Dict[str, Tuple[Tuple[Cell, Cell], ...]] = {
    # A1 flat: every unit reads the image only (one level).
    "A1": ((_TL, _TR), (_BL, _BR), (_MID_L, _MID_R)),
    # A2 columnar: a single column; each unit above the first reads only the unit directly below it
    # ("receive partial information overall", §3.2).
    "A2": ((_MID_L, _MID_R), (_DEFAULT_UNITS[0], _DEFAULT_UNITS[0]), (_DEFAULT_UNITS[1], _DEFAULT_UNITS[1])),
    # A3 pyramidal: two units read the top and bottom halves of the image, the third reads both
    # codes (Fig. 3/4: "rC targets the hidden layer activations of both A and B").
    "A3": ((_TL, _TR), (_BL, _BR), (_DEFAULT_UNITS[0], _DEFAULT_UNITS[1])),
}


def _cell(value: Any, name: str) -> Cell:
    """A (row, col) map cell. Unlike sizes, a bare int is refused: ``fields=[(0, 0), (2, 3)]`` (one
    nesting level short) must not silently become two units with windows at (0, 0) and (2, 2)."""
    return pair(value, name, 0, scalar=False)


@dataclass
class Topology:
    """A meta-network's architecture: the feature map layout and every unit's receptive field.

    Parameters
    ----------
    fields : sequence of sequences of (row, col)
        Per unit, the top-left corners of its N x N windows (Eq. 1: r_k). Two windows per unit in
        the paper.
    map_shape : (h, w)
        Feature map size.
    image_shape, image_at : (rows, cols), (row, col)
        Size and top-left corner of the input image on the map.
    window : int
        N, the side of each receptive-field window.
    hidden_shape : (rows, cols)
        Shape of each unit's hidden block on the map; n_hidden = rows * cols.
    unit_locations : sequence of (row, col)
        Top-left corner of each unit's hidden block (fixed for the life of the network, §2).
    name : str
        Label used in plots and tables.

    Raises
    ------
    ValueError
        Windows or blocks outside the map, overlapping unit blocks, a block over the image, N
        larger than the map, or a number of fields different from the number of units.
    """

    fields: Sequence[Sequence[Cell]]
    map_shape: Cell = _DEFAULT_MAP
    image_shape: Cell = (20, 20)
    image_at: Cell = (0, 0)
    window: int = 10
    hidden_shape: Cell = (10, 10)
    unit_locations: Sequence[Cell] = _DEFAULT_UNITS
    name: str = "custom"

    def __post_init__(self) -> None:
        self.map_shape = pair(self.map_shape, "map_shape", 1)
        self.image_shape = pair(self.image_shape, "image_shape", 1)
        self.image_at = _cell(self.image_at, "image_at")
        self.window = check_int(self.window, "window", minimum=1)
        self.hidden_shape = pair(self.hidden_shape, "hidden_shape", 1)
        if isinstance(self.unit_locations, (str, bytes)) or not hasattr(self.unit_locations, "__len__"):
            raise TypeError("unit_locations must be a sequence of (row, col) pairs")
        self.unit_locations = tuple(_cell(u, f"unit_locations[{k}]") for k, u in enumerate(self.unit_locations))
        if isinstance(self.fields, (str, bytes)) or not hasattr(self.fields, "__len__"):
            raise TypeError("fields must be a sequence (one per unit) of sequences of (row, col) window corners")
        fields = []
        for k, unit in enumerate(self.fields):
            if isinstance(unit, (str, bytes)) or not hasattr(unit, "__len__") or len(unit) == 0:
                raise ValueError(f"fields[{k}] must be a non-empty sequence of (row, col) window corners")
            fields.append(tuple(_cell(c, f"fields[{k}][{j}]") for j, c in enumerate(unit)))
        self.fields = tuple(fields)
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a string, got {type(self.name).__name__}")
        layout = self.layout()
        try:
            layout.validate()
            layout.validate_fields([list(map(list, u)) for u in self.fields])
        except ValueError as exc:
            raise ValueError(f"invalid topology {self.name!r}: {exc}") from None

    # -- construction ----------------------------------------------------------------------------
    @classmethod
    def handcrafted(cls, name: str) -> Topology:
        """A1 flat, A2 columnar or A3 pyramidal (Fig. 2, right) on the default MNIST sheet.

        The paper draws the patterns without coordinates. Here the 20 x 20 image is cut into 10 x 10
        quadrants (the figure's dotted lines) and the units' codes sit in 10 x 10 blocks at (0, 20),
        (0, 30) and (10, 20): A1 reads only the image (top half, bottom half, middle band); A2 is a
        column (middle band, then each unit reads the unit below it twice); A3 is a pyramid (top
        half, bottom half, then both codes).
        """
        if not isinstance(name, str) or name.upper() not in HANDCRAFTED:
            raise ValueError(f"name must be one of {sorted(HANDCRAFTED)}, got {name!r}")
        key = name.upper()
        return cls(fields=HANDCRAFTED[key], name=key)

    @classmethod
    def random(
        cls, seed: int, n_units: int = 3, windows_per_unit: int = 2, name: Optional[str] = None, **layout: Any
    ) -> Topology:
        """A seeded random topology: every window corner uniform over the map (randomTopology()).

        ``layout`` keywords (``map_shape``, ``image_shape``, ``image_at``, ``window``,
        ``hidden_shape``, ``unit_locations``) override the default sheet; with ``n_units`` != 3 pass
        ``unit_locations``.
        """
        seed = check_seed(seed)
        n_units = check_int(n_units, "n_units", minimum=1)
        windows_per_unit = check_int(windows_per_unit, "windows_per_unit", minimum=1)
        # the fields the core draws: n_units * windows_per_unit windows of two (row, col) corners
        check_size("n_units * windows_per_unit", n_units * windows_per_unit * 4, 8)
        if "unit_locations" not in layout:
            if n_units > len(_DEFAULT_UNITS):
                raise ValueError(
                    f"the default sheet has room for {len(_DEFAULT_UNITS)} units; pass unit_locations "
                    f"for n_units={n_units}"
                )
            layout["unit_locations"] = _DEFAULT_UNITS[:n_units]
        elif len(layout["unit_locations"]) != n_units:
            raise ValueError(f"unit_locations has {len(layout['unit_locations'])} entries but n_units={n_units}")
        probe = cls(fields=[[(0, 0)]] * n_units, **layout)
        fields = _core.selforg_random_fields(probe.layout(), windows_per_unit, seed)
        return cls(fields=[[tuple(c) for c in u] for u in fields], name=name or f"random-{seed}", **layout)

    def with_fields(self, fields: Sequence[Sequence[Cell]], name: Optional[str] = None) -> Topology:
        """The same sheet with other receptive fields."""
        return Topology(
            fields=fields,
            map_shape=self.map_shape,
            image_shape=self.image_shape,
            image_at=self.image_at,
            window=self.window,
            hidden_shape=self.hidden_shape,
            unit_locations=self.unit_locations,
            name=self.name if name is None else name,
        )

    # -- properties ------------------------------------------------------------------------------
    @property
    def n_units(self) -> int:
        return len(self.unit_locations)

    @property
    def n_hidden(self) -> int:
        return self.hidden_shape[0] * self.hidden_shape[1]

    def layout(self) -> Any:
        """The C++ layout object (``bionn._core.SelfOrgLayout``)."""
        L = _core.SelfOrgLayout()
        L.height, L.width = self.map_shape
        L.image_row, L.image_col = self.image_at
        L.image_height, L.image_width = self.image_shape
        L.window = self.window
        L.hidden_height, L.hidden_width = self.hidden_shape
        L.unit_locations = [list(u) for u in self.unit_locations]
        return L

    def mask(self, k: int) -> np.ndarray:
        """Unit k's binary indicator delta_k over the map (h, w) (§2.1)."""
        k = check_int(k, "k", minimum=0)
        if k >= self.n_units:
            raise ValueError(f"k must be < {self.n_units}, got {k}")
        m = np.zeros(self.map_shape, dtype=bool)
        N = self.window
        for r, c in self.fields[k]:
            m[r : r + N, c : c + N] = True
        return m

    def reads(self, k: int) -> Dict[str, float]:
        """Share of unit k's field on the image and on each unit's hidden block (keys ``"image"``,
        ``"unit0"``, ...; the rest is empty map)."""
        m = self.mask(k)
        total = float(m.sum())
        (ir, ic), (ih, iw) = self.image_at, self.image_shape
        out = {"image": float(m[ir : ir + ih, ic : ic + iw].sum()) / total}
        hh, hw = self.hidden_shape
        for j, (r, c) in enumerate(self.unit_locations):
            out[f"unit{j}"] = float(m[r : r + hh, c : c + hw].sum()) / total
        return out

    def levels(self) -> List[int]:
        """Hierarchy level of each unit: 1 if it reads only the image (or nothing), else 1 + the
        highest level among the units whose codes it reads. Units in a cycle (possible in random
        topologies) get the level at which the iteration stops growing, capped at K."""
        K = self.n_units
        reads = [[j for j in range(K) if j != k and self.reads(k)[f"unit{j}"] > 0] for k in range(K)]
        level = [1] * K
        for _ in range(K):
            new = [1 + max((level[j] for j in reads[k]), default=0) for k in range(K)]
            new = [min(v, K) for v in new]
            if new == level:
                break
            level = new
        return level

    def to_dict(self) -> Dict[str, Any]:
        return {
            "fields": [[list(c) for c in u] for u in self.fields],
            "map_shape": list(self.map_shape),
            "image_shape": list(self.image_shape),
            "image_at": list(self.image_at),
            "window": self.window,
            "hidden_shape": list(self.hidden_shape),
            "unit_locations": [list(u) for u in self.unit_locations],
            "name": self.name,
        }

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> Topology:
        if not isinstance(d, dict) or "fields" not in d:
            raise ValueError("a topology dict needs at least 'fields'")
        return cls(
            **{
                k: (tuple(v) if isinstance(v, list) and k != "fields" and k != "unit_locations" else v)
                for k, v in d.items()
            }
        )
