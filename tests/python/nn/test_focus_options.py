"""The focusing layers' Python defaults (the documented, user-facing ones) equal the C++ struct's
(FocusOptions in src/layers/focus.h, bound without defaults as bionn._core.FocusOptions), and the
options reach the C++ layer field by field."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from bionn import _core, nn


def _defaults(cls) -> dict:
    return {
        k: p.default
        for k, p in inspect.signature(cls.__init__).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


@pytest.mark.parametrize("cls", [nn.FocusDense, nn.FocusDense2D])
def test_python_defaults_equal_the_core_struct(cls):
    d, o = _defaults(cls), _core.FocusOptions()
    assert d["bias"] == o.bias
    assert d["init"] == o.init
    assert d["normalization"] == o.normalization
    assert d["mu_init"] == o.mu_init and o.mu_values == []
    assert tuple(d["spread"]) == (o.spread_lo, o.spread_hi)
    assert d["sigma_init"] == o.sigma_init
    assert d["trainable_focus"] == o.trainable_focus
    assert tuple(d["mu_bounds"]) == (o.mu_min, o.mu_max)
    assert tuple(d["sigma_bounds"]) == (o.sigma_min, o.sigma_max)
    assert d["sigma_l1"] == o.sigma_l1 and d["sigma_l2"] == o.sigma_l2
    assert d["prune_threshold"] == o.prune_threshold
    if cls is nn.FocusDense2D:
        assert d["anisotropic"] == o.anisotropic


def test_options_fields_are_read_write():
    o = _core.FocusOptions()
    o.mu_init, o.mu_values, o.sigma_init, o.anisotropic = "values", [0.25, 0.75], 0.5, True
    assert (o.mu_init, o.mu_values, o.sigma_init, o.anisotropic) == ("values", [0.25, 0.75], 0.5, True)


def test_options_reach_the_core_layer():
    o = _core.FocusOptions()
    o.mu_init, o.mu_values, o.sigma_init, o.bias, o.prune_threshold = "values", [0.25, 0.75], 0.5, False, 0.1
    layer = _core.FocusDense_f64(5, 2, o)
    assert layer.num_parameters() == 3  # weight, mu, sigma: no bias
    params = {layer.parameter(i).name: layer.parameter(i) for i in range(layer.num_parameters())}
    np.testing.assert_array_equal(params["mu"].value, [0.25, 0.75])
    np.testing.assert_array_equal(params["sigma"].value, [0.5, 0.5])
    assert layer.prune_threshold == 0.1
    o2 = _core.FocusOptions()
    o2.anisotropic = True
    layer2 = _core.FocusDense2D_f32(3, 4, 2, o2)
    names = [layer2.parameter(i).name for i in range(layer2.num_parameters())]
    assert "sigma_x" in names and "sigma_y" in names
    with pytest.raises(ValueError):  # the C++ validation stays as a defence
        bad = _core.FocusOptions()
        bad.sigma_init = -1.0
        _core.FocusDense_f32(3, 2, bad)
