"""`python -m lab train | evaluate | predict` end to end on a tiny dataset."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_train_support import make_dataset, small_spec

from lab.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("cli")
    data = make_dataset(base / "shapes")
    spec_path = base / "tiny.json"
    spec_path.write_text(json.dumps(small_spec()))
    out = base / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "lab", "train", "--data", str(data), "--spec", str(spec_path), "--epochs", "3",
         "--batch-size", "8", "--seed", "3", "--out", str(out), "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return data, out, proc


def test_train_json_last_line_and_run_folder(trained):
    data, out, proc = trained
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["run_dir"] == str(out) and result["epochs"] == 3
    assert result["best_val_loss"] > 0 and result["test_accuracy"] >= 0.9
    assert "Epoch 3/3" in proc.stderr and "Traceback" not in proc.stderr
    assert (out / "model.keras").is_file() and (out / "metrics.json").is_file()


def test_evaluate_matches_classes_by_name(trained, tmp_path, capsys):
    data, out, _ = trained
    assert main(["evaluate", str(out), "--data", str(data), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 24 and result["accuracy"] >= 0.9 and result["loss"] >= 0
    assert set(result["per_class"]) == {"blob", "cols", "rows"}
    # a dataset with only two of the classes, in another order: still scored by name
    subset = tmp_path / "subset"
    for name in ("rows", "blob"):
        shutil.copytree(data / "Test" / name, subset / "Test" / name)
    assert main(["evaluate", str(out / "model.keras"), "--data", str(subset), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 16 and result["per_class"]["cols"]["support"] == 0
    assert result["per_class"]["rows"]["support"] == 8 and result["accuracy"] >= 0.85


@pytest.mark.skipif(importlib.util.find_spec("lab.predict") is None, reason="lab.predict is not available")
def test_predict_top_k(trained, capsys):
    data, out, _ = trained
    image = sorted((data / "Test" / "cols").glob("*.png"))[0]
    assert main(["predict", str(out), str(image), "--top", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    top = result["predictions"][0]["top"]
    assert len(top) == 2 and top[0][0] == "cols" and 0.5 < top[0][1] <= 1


def test_bad_arguments_exit_2_with_one_sentence(trained, tmp_path, capsys):
    data, out, _ = trained
    cases = [
        ["train", "--data", str(tmp_path / "missing"), "--spec", "recommended"],
        ["train", "--data", str(data), "--spec", "no-such-preset"],
        ["train", "--data", str(data), "--spec", "recommended", "--epochs", "0"],
        ["evaluate", str(tmp_path / "nothing"), "--data", str(data)],
        ["evaluate", str(out), "--data", str(data), "--split", "Nope"],
        ["predict", str(out), str(tmp_path / "missing.png")],
    ]
    for argv in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("error: ") and "Traceback" not in "\n".join(err), (argv, err)


def test_unknown_classes_are_refused(trained, tmp_path, capsys):
    data, out, _ = trained
    other = make_dataset(tmp_path / "other", train_per_class=0, test_per_class=2, classes=("blob", "zebra"))
    assert main(["evaluate", str(out), "--data", str(other)]) == 2
    assert "zebra" in capsys.readouterr().err


def test_multiworker_strategy_from_tf_config(trained, tmp_path):
    import socket

    data, _, _ = trained
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        port = sock.getsockname()[1]
    tf_config = {"cluster": {"worker": [f"localhost:{port}"]}, "task": {"type": "worker", "index": 0}}
    spec_path = tmp_path / "tiny.json"
    spec_path.write_text(json.dumps(small_spec()))
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "lab", "train", "--data", str(data), "--spec", str(spec_path), "--epochs", "1",
         "--batch-size", "8", "--out", str(out), "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_CONFIG": json.dumps(tf_config)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1])["epochs"] == 1
    meta = json.loads((out / "meta.json").read_text())
    assert meta["strategy"]["name"] == "MultiWorkerMirroredStrategy" and meta["status"] == "finished"


def test_the_command_line_speaks_portuguese_when_asked(tmp_path):
    def lab(*argv):
        return subprocess.run([sys.executable, "-m", "lab", *argv], cwd=ROOT, capture_output=True, text=True,
                              timeout=120, env={**os.environ, "CNN_LAB_LANG": "pt-BR"})

    helped = lab("train", "--help")
    assert helped.returncode == 0 and "número máximo de épocas (padrão 10)" in helped.stdout
    refused = lab("predict", str(tmp_path), str(tmp_path / "missing.png"), "--top", "0")
    assert refused.returncode != 0 and "--top precisa ser 1 ou mais, não 0." in refused.stderr
