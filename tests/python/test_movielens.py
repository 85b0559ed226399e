"""MovieLens 100K through the Python package (skipped, and said so, without AUTOREC_ML100K_DIR): the seed-1
90/10 split (autorec-split, the rule of make_split.py), the default recipe, autorec.train against
autorec-train and autorec.evaluate against autorec-verify --json."""
import json
import os
import pathlib
import subprocess

import pytest

import autorec
from conftest import BIN

ML100K = os.environ.get("AUTOREC_ML100K_DIR")


@pytest.mark.skipif(not ML100K or not (pathlib.Path(ML100K) / "u.data").exists(),
                    reason="AUTOREC_ML100K_DIR with u.data is not set: MovieLens 100K is not redistributable")
def test_ml100k_python_training_equals_autorec_train(tmp_path):
    run = lambda *a: subprocess.run([str(x) for x in a], check=True, capture_output=True, text=True).stdout  # noqa: E731
    run(BIN / "autorec-split", pathlib.Path(ML100K) / "u.data", tmp_path, "--seed", "1")
    train, test = tmp_path / "train.data", tmp_path / "test.data"
    run(BIN / "autorec-train", train, "--test", test, "--seed", "1", "--threads", "2", "-o", tmp_path / "cli.fb", "--quiet")
    verified = json.loads(run(BIN / "autorec-verify", tmp_path / "cli.fb", test, "--json"))
    model = autorec.train(train, test=test, seed=1, threads=2)
    mine = autorec.evaluate(model, test)
    assert abs(model.training["test"]["rmse"] - verified["rmse"]) <= 1e-6
    assert abs(mine["rmse"] - verified["rmse"]) <= 1e-6
    assert mine["count"] == verified["count"] > 9000
    print(f"ML-100K seed-1 split: autorec.train {mine['rmse']:.10f}, autorec-train {verified['rmse']:.10f}")
