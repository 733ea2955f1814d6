"""The README's performance figures are what the committed benchmark runs say (benchmarks/readme.py).

No timing happens here: the renderer reads JSON only, so these tests need neither torch nor an idle
machine.
"""

import importlib.util
import json
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def readme_mod():
    spec = importlib.util.spec_from_file_location("bench_readme", os.path.join(ROOT, "benchmarks", "readme.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_readme_figures_are_what_the_committed_runs_say(readme_mod):
    assert readme_mod.update(os.path.join(ROOT, "README.md"), check=True), (
        "README.md's benchmark block differs from benchmarks/results/: run `python benchmarks/readme.py README.md`"
    )


def _case(name, bionn_s, torch_s, other=0.01, **extra):
    return {
        "name": name,
        "bionn_s": bionn_s,
        "torch_s": torch_s,
        "ratio": torch_s / bionn_s,
        "other_load": other,
        **extra,
    }


def _write_run(root, rid, cases_by_threads, busy=0.02, smoke=False, roof_share=None, gemm=None):
    d = root / rid
    d.mkdir(parents=True)
    for t, cases in cases_by_threads.items():
        machine = {"cpu": "Test CPU", "cores": 2, "bionn": "0.1.0", "torch": "2.13.0+cpu"}
        if gemm is not None:  # runs before bionn.set_blas have no "gemm" (they used Eigen)
            machine["gemm"] = gemm
        data = {
            "machine": machine,
            "settings": {"smoke": smoke, "cpu_busy_before": busy, "cpu_busy_after": busy, "git_commit": "abc1234"},
            "cases": cases,
        }
        (d / f"bench-{t}t.json").write_text(json.dumps(data))
        if roof_share is not None:
            roof = {
                "peak": {"eigen_gflops": 100.0, "torch_gflops": 110.0},
                "steps": [{"case": "mlp_bn_dropout", "step_peak_share": roof_share}],
                "settings": {"smoke": smoke, "other_load": busy},
            }
            (d / f"roofline-{t}t.json").write_text(json.dumps(roof))


def test_only_idle_runs_count_and_figures_are_medians_over_runs(readme_mod, tmp_path):
    _write_run(tmp_path, "20260101-0000", {2: [_case("small_cnn", 0.010, 0.012)]})
    _write_run(tmp_path, "20260102-0000", {2: [_case("small_cnn", 0.010, 0.014)]})
    _write_run(tmp_path, "20260103-0000", {2: [_case("small_cnn", 0.010, 0.013)]})
    _write_run(tmp_path, "20260104-0000", {2: [_case("small_cnn", 0.010, 0.100, other=0.6)]})  # loaded
    _write_run(tmp_path, "20260105-0000", {2: [_case("small_cnn", 0.010, 0.100)]}, smoke=True)
    runs = readme_mod.load_runs(str(tmp_path))
    assert [r["idle"] for r in runs] == [True, True, True, False, False]
    md = readme_mod.render(str(tmp_path))
    assert "from 3 idle run(s)" in md
    assert "**1.30x** (1.20–1.40)" in md  # median of 1.2, 1.4, 1.3 and the range over runs
    assert "10.0x" not in md  # the loaded and the smoke run are not counted
    assert "| `small_cnn` | 10 / 13 ms |" in md
    assert "`20260104-0000` (other processes up to 60% busy)" in md and "`20260105-0000` (smoke settings)" in md


def test_only_runs_with_the_newest_gemm_backend_count(readme_mod, tmp_path):
    _write_run(tmp_path, "20260101-0000", {2: [_case("small_cnn", 0.010, 0.012)]})  # Eigen, before the option
    _write_run(tmp_path, "20260102-0000", {2: [_case("small_cnn", 0.010, 0.014)]}, gemm="eigen")
    _write_run(tmp_path, "20260103-0000", {2: [_case("small_cnn", 0.010, 0.016)]}, gemm="openblas 0.3.34")
    _write_run(tmp_path, "20260104-0000", {2: [_case("small_cnn", 0.010, 0.018)]}, gemm="openblas 0.3.35")
    md = readme_mod.render(str(tmp_path))
    assert "from 2 idle run(s)" in md and "bionn's GEMM: openblas 0.3.34, openblas 0.3.35" in md
    assert "**1.70x** (1.60–1.80)" in md
    assert "`20260101-0000` (GEMM eigen, not openblas)" in md and "`20260102-0000` (GEMM eigen, not openblas)" in md


def test_targets_are_checked_against_the_idle_runs(readme_mod, tmp_path):
    step = [_case(n, 0.010, 0.025) for n in readme_mod.STEP_TARGETS]
    one = [_case(n, 0.019, 0.025) for n in readme_mod.STEP_TARGETS]  # 1.32x at 1 thread: not met
    _write_run(tmp_path, "r1", {2: step, 1: one}, roof_share=0.9)
    rows = {what: (txt, ok) for what, txt, ok in readme_mod.targets(readme_mod.load_runs(str(tmp_path)))}
    assert rows["training steps ≥ 2.0x PyTorch at 2 thread(s)"][1] is True
    assert rows["training steps ≥ 1.5x PyTorch at 1 thread(s)"][1] is False
    assert rows["whole `fit` epoch ≥ 1.5x a plain PyTorch loop at 1 and 2 threads"][1] is None  # no data
    gemm = [v for k, v in rows.items() if k.startswith("GEMM-bound")][0]
    assert gemm == ("1t 90%, 2t 90%", True)
    scaling = [v for k, v in rows.items() if k.startswith("thread scaling")][0]
    assert scaling[1] is True and "1.90x" in scaling[0]  # 19 ms / 10 ms
    md = readme_mod.render(str(tmp_path))
    assert "**not met**" in md and "| met |" in md and "no data" in md
    assert readme_mod._times([_case("x", 0.953, 1.2478)]) == "0.953 / 1.25 s"
    assert readme_mod._times([_case("x", 8.52, 10.6)]) == "8.52 / 10.6 s"
    assert readme_mod._times([_case("x", 0.0016, 0.2095)]) == "1.6 / 210 ms"


def test_no_runs_and_missing_markers(readme_mod, tmp_path):
    assert "No idle benchmark run" in readme_mod.render(str(tmp_path / "none"))
    bad = tmp_path / "README.md"
    bad.write_text("# no markers\n")
    with pytest.raises(ValueError, match="no benchmark block"):
        readme_mod.update(str(bad), str(tmp_path))
    good = tmp_path / "R.md"
    good.write_text(f"a\n{readme_mod.START}\nstale\n{readme_mod.END}\nb\n")
    assert readme_mod.update(str(good), str(tmp_path / "none"), check=True) is False
    assert "stale" in good.read_text()  # --check never writes
    assert readme_mod.update(str(good), str(tmp_path / "none")) is False
    assert readme_mod.update(str(good), str(tmp_path / "none"), check=True) is True
