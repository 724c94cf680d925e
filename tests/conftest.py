import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["CNN_LAB_LANG"] = "en"  # the tests read English unless they choose Portuguese

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SIGN_MNIST = SHARED / "datasets" / "sign_language_mnist"


@pytest.fixture(autouse=True)
def _own_workspace(tmp_path_factory, monkeypatch):
    """Every test gets an empty workspace, so no test restores a network that another one saved."""
    monkeypatch.setenv("CNN_LAB_WORKSPACE", str(tmp_path_factory.mktemp("workspace")))


@pytest.fixture
def data_root(tmp_path, monkeypatch) -> Path:
    """An empty data root the page and the core use (CNN_LAB_DATA), with runs beside it; no TF preload."""
    root = tmp_path / "Data"
    root.mkdir()
    monkeypatch.setenv("CNN_LAB_DATA", str(root))
    monkeypatch.setenv("CNN_LAB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("CNN_LAB_TF_PRELOAD", "0")
    return root


@pytest.fixture(scope="module")
def squares_run(tmp_path_factory) -> tuple[Path, Path]:
    """(root, run): root/Data/tiny (squares and stripes) and one run trained on it for 3 epochs, per module."""
    from ui_support import make_dataset, train_run

    root = tmp_path_factory.mktemp("lab")
    data = make_dataset(root / "Data", train=40)
    return root, train_run(data, root / "runs", epochs=3, name="squares")


@pytest.fixture(scope="session")
def sign_mnist() -> Path:
    if not (SIGN_MNIST / "Test").is_dir():
        pytest.skip(f"the real Sign Language MNIST data is not at {SIGN_MNIST}")
    return SIGN_MNIST
