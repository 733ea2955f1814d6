"""Runtime dispatch of the C++ core by instruction set (bionn._isa, issue 16): the loader's choice,
the BIONN_ISA cap, the builds' numerical equivalence, and a baseline build free of AVX."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import bionn
from bionn import _isa

HERE = Path(__file__).resolve().parent
V2, V3, V4 = "x86-64-v2", "x86-64-v3", "x86-64-v4"
ALL = (V2, V3, V4)


def _dispatching() -> bool:
    return bool(_isa.state().get("built")) and _isa.state()["built"][0] in _isa.LEVELS


def _supported_builds() -> list:
    """The builds present here that this CPU can run, the baseline first."""
    state = _isa.state()
    cpu = _isa.LEVELS.index(state["cpu"]) if state.get("cpu") in _isa.LEVELS else -1
    return [level for level in state["built"] if _isa.LEVELS.index(level) <= cpu]


needs_dispatch = pytest.mark.skipif(not _dispatching(), reason="a BIONN_NATIVE or non-x86-64 build has one core")


def _child_env(isa: str) -> dict:
    env = dict(os.environ, BIONN_ISA=isa, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(Path(bionn.__file__).resolve().parents[1])] + sys.path)
    return env


def _isa_in_child(isa: str) -> subprocess.CompletedProcess:
    code = "import bionn; print(bionn._core.build_info()['isa'])"
    return subprocess.run([sys.executable, "-c", code], env=_child_env(isa), capture_output=True, text=True)


# -- the choice ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cpu, cap, expected",
    [
        (V4, None, V4),
        (V3, None, V3),  # AVX2 but no AVX-512
        (V2, None, V2),
        (V4, V3, V3),  # BIONN_ISA lowers the level
        (V4, "baseline", V2),
        (V4, V2, V2),
        (V3, V4, V3),  # a cap above the CPU is the CPU's level: never an illegal instruction
    ],
)
def test_choose_picks_the_best_supported_level(cpu, cap, expected):
    assert _isa.choose(ALL, cpu, cap) == expected


def test_choose_skips_levels_not_built_and_refuses_a_cpu_below_the_baseline():
    assert _isa.choose((V2, V4), V3) == V2
    assert _isa.choose((V2, V4), V4) == V4
    assert _isa.choose(("x86-64", V3), V2) == "x86-64"
    with pytest.raises(ImportError, match="BIONN_ISA_LEVELS=x86-64"):
        _isa.choose(ALL, "x86-64")
    with pytest.raises(ImportError, match="built for x86-64-v2"):
        _isa.choose(ALL, "")  # a CPU that reports no level at all


@pytest.mark.parametrize(
    "value, level",
    [(None, None), ("", None), ("auto", None), ("baseline", "baseline"), ("v3", V3), ("X86-64-V4", V4), ("v2", V2)],
)
def test_parse_cap(value, level):
    assert _isa.parse_cap(value) == level


def test_parse_cap_names_the_variable():
    with pytest.raises(ValueError, match="BIONN_ISA='avx9'"):
        _isa.parse_cap("avx9")


def test_module_path_names(tmp_path):
    import importlib.machinery

    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    (tmp_path / f"_core{suffix}").write_bytes(b"")
    (tmp_path / f"_core_x86_64_v3{suffix}").write_bytes(b"")
    assert _isa.module_path(V2, V2, tmp_path) == tmp_path / f"_core{suffix}"
    assert _isa.module_path(V3, V2, tmp_path) == tmp_path / f"_core_x86_64_v3{suffix}"
    assert _isa.module_path(V4, V2, tmp_path) is None


# -- the loaded build ----------------------------------------------------------------------------


@needs_dispatch
def test_the_loaded_build_is_the_best_this_cpu_supports():
    state = _isa.state()
    info = bionn._core.build_info()
    assert info["isa"] == state["chosen"]
    assert state["chosen"] == _isa.choose(state["built"], state["cpu"], _isa.parse_cap(os.environ.get("BIONN_ISA")))
    if not os.environ.get("BIONN_ISA"):
        assert info["isa"] == _supported_builds()[-1]
    # What it prints: the level in use, the levels built and what the CPU supports.
    config = bionn.show_config(mode="dicts")
    assert config["build"]["isa"].startswith(info["isa"]) and config["build"]["isa_builds"] == state["built"]
    assert config["runtime"]["cpu_level"] == state["cpu"] and config["build"]["eigen"].startswith("3.")


@needs_dispatch
def test_every_level_is_built_by_default_and_installed():
    # The default build (BIONN_ISA_LEVELS) has v2 as the baseline and AVX2 and AVX-512 modules, and
    # the package has a module for each level the build compiled.
    from bionn import _cpu

    assert _cpu.built_levels().split(",") == list(ALL)
    assert _isa.state()["built"] == list(ALL), "a module is missing beside bionn/_core"


@needs_dispatch
def test_bionn_isa_selects_each_supported_level_in_a_child():
    builds = _supported_builds()
    for level in builds:
        child = _isa_in_child(level)
        assert child.returncode == 0, child.stderr
        assert child.stdout.strip() == level
    child = _isa_in_child("baseline")
    assert child.stdout.strip() == builds[0], child.stderr


def test_a_bad_bionn_isa_fails_the_import_with_its_name():
    child = _isa_in_child("sse9")
    assert child.returncode != 0 and "BIONN_ISA='sse9'" in child.stderr


@needs_dispatch
def test_levels_compute_the_same_numbers(tmp_path):
    """Every build this CPU runs trains the same model to the same numbers, up to rounding (FMA and
    wider vectors change the order of additions; nothing else may differ)."""
    builds = _supported_builds()
    if len(builds) < 2:
        pytest.skip(f"this CPU runs only the baseline ({builds[0]})")
    results = {}
    for level in builds:
        out = tmp_path / f"{level}.npz"
        child = subprocess.run(
            [sys.executable, str(HERE / "isa_child.py"), str(out)], env=_child_env(level), capture_output=True
        )
        assert child.returncode == 0, child.stderr.decode()
        results[level] = dict(np.load(out))
        assert str(results[level]["isa"]) == level
    base = results[builds[0]]
    for level in builds[1:]:
        for key, value in base.items():
            if key == "isa":
                continue
            rtol, atol = (1e-9, 1e-11) if key.startswith("float64") else (2e-4, 2e-5)
            np.testing.assert_allclose(results[level][key], value, rtol=rtol, atol=atol, err_msg=f"{level}: {key}")


# -- the baseline has no AVX ----------------------------------------------------------------------

# A VEX- or EVEX-encoded instruction (AVX, AVX2, FMA, AVX-512) in AT&T syntax: its mnemonic starts
# with "v" and it has a vector register operand; or any ymm/zmm/opmask register.
_AVX = re.compile(r"\tv[a-z0-9]+\s.*%[xyz]mm\d|%[yz]mm\d|%k[1-7]\b")


def avx_instructions(path: Path, limit: int = 5) -> list:
    """The first ``limit`` AVX instructions ``objdump -d`` finds in ``path``."""
    found = []
    with subprocess.Popen(
        ["objdump", "-d", "--no-show-raw-insn", str(path)], stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if _AVX.search(line):
                found.append(line.strip())
                if len(found) >= limit:
                    proc.kill()
                    break
    return found


@needs_dispatch
@pytest.mark.skipif(shutil.which("objdump") is None, reason="objdump (binutils) is not installed")
def test_the_baseline_build_has_no_avx_instruction():
    state = _isa.state()
    directory = Path(bionn._core.__file__).resolve().parent
    baseline = _isa.module_path(state["built"][0], state["built"][0], directory)
    cpu = next(directory.glob("_cpu.*"))
    for path in (baseline, cpu):
        assert avx_instructions(path) == [], f"{path.name} (baseline) contains AVX instructions"
    # The check sees AVX where it is: the v3 module uses AVX2 (ymm registers).
    v3 = _isa.module_path(V3, state["built"][0], directory)
    assert v3 is not None and avx_instructions(v3, limit=1)


@needs_dispatch
@pytest.mark.skipif(shutil.which("nm") is None, reason="nm (binutils) is not installed")
def test_each_build_exports_its_init_function_only():
    """No Eigen, bionn or std:: template code compiled for one level can be bound to another
    module's calls at load time (symbol interposition): a module exports PyInit__core only."""
    state = _isa.state()
    directory = Path(bionn._core.__file__).resolve().parent
    for level in state["built"]:
        path = _isa.module_path(level, state["built"][0], directory)
        out = subprocess.run(["nm", "-D", "--defined-only", str(path)], capture_output=True, text=True, check=True)
        exported = {line.split()[-1] for line in out.stdout.splitlines() if line.strip()}
        assert exported == {"PyInit__core"}, f"{path.name} exports {sorted(exported)[:3]}"


def test_compare_builds_runs_and_tables_every_case():
    """benchmarks/compare_builds.py end to end (one round, one step; structure only, no timing)."""
    script = HERE.parents[1] / "benchmarks" / "compare_builds.py"
    if not script.is_file():
        pytest.skip("run from outside the source tree")
    package = Path(bionn.__file__).resolve().parents[1]
    argv = [sys.executable, str(script), f"auto={package}", f"base={package}:baseline", "--rounds", "1", "--inner", "1"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    rows = [line for line in out.stdout.splitlines() if line.startswith("| ") and "ms" not in line]
    assert [row.split("|")[1].strip() for row in rows] == ["mlp_bn_dropout", "small_cnn", "conv_net", "focus_dense"]
    assert all(row.rstrip(" |").endswith("x)") for row in rows)
    baseline = _isa.state()["built"][0] if _dispatching() else bionn._core.build_info()["isa"]
    assert f"base ({baseline}) ms" in out.stdout
