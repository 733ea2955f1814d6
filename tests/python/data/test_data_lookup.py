"""bionn.data.locate: the one data-file lookup (root, $BIONN_DATA, the deprecated
$BIONN_SHARED_DATA, the project's shared data, the system paths), its error message, and the
deprecated alias module bionn.datasets."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from datafakes import REPO, SAMPLE_DIR, SHARED, needs_sample

import bionn
from bionn import data
from bionn.data import _files, locate


def _make(base: Path, name: str, files=("a.csv",)) -> Path:
    d = base / name
    d.mkdir(parents=True)
    for f in files:
        (d / f).write_text("x\n")
    return d


@pytest.fixture
def no_defaults(monkeypatch):
    """No shared data and no system directory: only root= and the environment count."""
    monkeypatch.setattr(_files, "_shared_data_dirs", lambda: [])
    monkeypatch.setattr(_files, "SYSTEM_DATA_DIRS", ())


def test_locate_root_subfolder_then_root_itself(tmp_path):
    d = _make(tmp_path, "set")
    assert locate("set", ["a.csv"], root=tmp_path) == d  # <root>/<name>
    assert locate("set", ["a.csv"], root=d) == d  # <root> itself
    assert locate("set", "a.csv", root=str(tmp_path)) == d  # one file name, str root
    assert locate("set", root=tmp_path) == d  # no files: the folder itself
    (tmp_path / "a.csv").write_text("y\n")
    assert locate("set", ["a.csv"], root=tmp_path) == d  # the sub-folder comes first


def test_locate_root_excludes_everything_else(tmp_path, monkeypatch):
    _make(tmp_path / "env", "set")
    monkeypatch.setenv("BIONN_DATA", str(tmp_path / "env"))
    with pytest.raises(FileNotFoundError) as info:
        locate("set", ["a.csv"], root=tmp_path / "elsewhere")
    msg = str(info.value)
    assert str(tmp_path / "elsewhere" / "set") in msg and str(tmp_path / "env") not in msg


def test_locate_bionn_data(tmp_path, monkeypatch, no_defaults):
    d = _make(tmp_path, "set", ("a.csv", "b.csv"))
    monkeypatch.setenv("BIONN_DATA", str(tmp_path))
    assert locate("set", ["a.csv", "b.csv"]) == d
    monkeypatch.setenv("BIONN_DATA", str(d))  # the folder itself
    assert locate("set", ["b.csv"]) == d
    with pytest.raises(FileNotFoundError):
        locate("set", ["c.csv"])


def test_locate_bionn_data_comes_before_shared_data(tmp_path, monkeypatch):
    shared = _make(tmp_path / "shared" / "data", "set").parent
    env = _make(tmp_path / "env", "set")
    monkeypatch.setattr(_files, "_shared_data_dirs", lambda: [shared])
    assert locate("set", ["a.csv"]) == shared / "set"
    monkeypatch.setenv("BIONN_DATA", str(env.parent))
    assert locate("set", ["a.csv"]) == env


def test_locate_finds_shared_data_by_walking_up_from_cwd(tmp_path, monkeypatch):
    d = _make(tmp_path / "shared" / "data", "set")
    deep = tmp_path / "checkout" / "worktree" / "notebooks"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert locate("set", ["a.csv"]) == d


@needs_sample
def test_locate_finds_the_real_shared_data_from_the_package():
    if SHARED != REPO.parent / "shared" / "data":
        pytest.skip("the shared data is not next to the repository")
    assert locate("mnist-sample-10k", ["images-idx3-ubyte.gz"]) == SAMPLE_DIR


def test_locate_system_dirs_come_last(tmp_path, monkeypatch):
    system = _make(tmp_path / "sys", "set").parent
    monkeypatch.setattr(_files, "_shared_data_dirs", lambda: [])
    monkeypatch.setattr(_files, "SYSTEM_DATA_DIRS", (str(system),))
    assert locate("set", ["a.csv"]) == system / "set"
    env = _make(tmp_path / "env", "set")
    monkeypatch.setenv("BIONN_DATA", str(env.parent))
    assert locate("set", ["a.csv"]) == env


def test_deprecated_bionn_shared_data_still_read_with_a_warning(tmp_path, monkeypatch, no_defaults):
    d = _make(tmp_path / "old", "set")
    monkeypatch.setenv("BIONN_SHARED_DATA", str(d.parent))
    with pytest.warns(DeprecationWarning, match="BIONN_SHARED_DATA is deprecated.*BIONN_DATA"):
        assert locate("set", ["a.csv"]) == d
    # BIONN_DATA wins when both are set
    new = _make(tmp_path / "new", "set")
    monkeypatch.setenv("BIONN_DATA", str(new.parent))
    with pytest.warns(DeprecationWarning):
        assert locate("set", ["a.csv"]) == new


def test_no_warning_without_the_deprecated_variable(tmp_path, monkeypatch, no_defaults):
    _make(tmp_path, "set")
    monkeypatch.setenv("BIONN_DATA", str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        locate("set", ["a.csv"])


def test_locate_error_lists_places_and_fixes(tmp_path, monkeypatch, no_defaults):
    (tmp_path / "set").mkdir()
    (tmp_path / "set" / "a.csv").write_text("x")
    monkeypatch.setenv("BIONN_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        locate("set", ["a.csv", "b.csv"])
    msg = str(info.value)
    assert "'set' not found" in msg and "b.csv" in msg
    assert f"{tmp_path / 'set'}  (missing b.csv)" in msg
    assert f"{tmp_path}  (missing a.csv, b.csv)" in msg
    assert "root=" in msg and "BIONN_DATA" in msg and "shared/data" in msg
    with pytest.raises(FileNotFoundError, match="no such directory"):
        locate("set", ["a.csv"], root=tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="a folder other/"):
        locate("other")


def test_locate_argument_checks(tmp_path):
    with pytest.raises(TypeError, match="name"):
        locate(3)
    with pytest.raises(TypeError, match="name"):
        locate("")
    with pytest.raises(ValueError, match="name"):
        locate("../escape", root=tmp_path)
    with pytest.raises(ValueError, match="name"):
        locate("/abs", root=tmp_path)
    with pytest.raises(TypeError, match="files"):
        locate("set", [1], root=tmp_path)
    with pytest.raises(TypeError, match="root"):
        locate("set", root=3)


def test_loaders_use_the_lookup(tmp_path, monkeypatch):
    """The official loaders find their files in the shared data too (e.g. CIFAR-10 in
    <repo>/../shared/data/cifar-10/), after $BIONN_DATA and before the download cache."""
    from datafakes import fake_cifar_dir

    shared = tmp_path / "shared" / "data"
    _, _, y = fake_cifar_dir(shared / "cifar-10", n=2)
    monkeypatch.setattr(_files, "_shared_data_dirs", lambda: [shared])
    _, yte = data.load_cifar10(split="test")
    np.testing.assert_array_equal(yte, y["test_batch.bin"])


def _run(code: str) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            [str(Path(bionn.__file__).parents[1])] + [p for p in [os.environ.get("PYTHONPATH")] if p]
        ),
    )
    return subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_import_bionn_does_not_warn_and_exposes_data():
    r = _run(
        "import bionn; assert bionn.data.locate; import sys; assert 'bionn.datasets' not in sys.modules; print('ok')"
    )
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr


@pytest.mark.parametrize(
    "statement", ["import bionn.datasets", "from bionn import datasets", "import bionn; bionn.datasets"]
)
def test_datasets_alias_warns_in_a_fresh_interpreter(statement):
    r = _run(statement)
    assert r.returncode != 0 and "DeprecationWarning" in r.stderr and "bionn.data" in r.stderr
    # the warning points at the user's statement, not at importlib
    r = _run(
        f"import warnings; warnings.simplefilter('always')\n"
        f"with warnings.catch_warnings(record=True) as w:\n    {statement}\n"
        f"print(w[0].filename, w[0].category.__name__)"
    )
    assert r.stdout.split() == ["<string>", "DeprecationWarning"], (r.stdout, r.stderr)


def test_datasets_alias_reexports_everything():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import bionn.datasets as alias

    with pytest.warns(DeprecationWarning, match="bionn.datasets is deprecated"):
        alias = importlib.reload(alias)
    assert alias.__all__ == data.__all__
    for name in data.__all__:
        assert getattr(alias, name) is getattr(data, name), name
    assert alias.load_mnist is data.load_mnist and alias.locate is locate
    from bionn import datasets

    assert datasets.train_val_split is data.train_val_split
