"""Shared data and paths of the Python package's tests. CTest (tests/CMakeLists.txt) sets PYTHONPATH to the
build's python/ folder and AUTOREC_BIN / AUTOREC_LIB to its bin/ and lib/."""
import os
import pathlib

import numpy as np
import pytest

BIN = pathlib.Path(os.environ.get("AUTOREC_BIN", pathlib.Path(__file__).resolve().parents[2] / "build" / "bin"))
LIB = pathlib.Path(os.environ.get("AUTOREC_LIB", BIN.parent / "lib"))


def synthetic_ratings(users=120, items=90, density=0.2, seed=3):
    """Low-rank ratings on 1-5 stars with noise, as (users, items, ratings) arrays of integer ids from 1."""
    rng = np.random.default_rng(seed)
    pu, qi = rng.normal(size=(users, 3)), rng.normal(size=(items, 3))
    mask = rng.random((users, items)) < density
    u, i = np.nonzero(mask)
    r = np.clip(np.rint(3.2 + 0.7 * np.sum(pu[u] * qi[i], axis=1) + rng.normal(scale=0.3, size=u.size)), 1, 5)
    return (u + 1).astype(np.int64), (i + 1).astype(np.int64), r.astype(np.float32)


def split(data, share=0.1, seed=5):
    u, i, r = data
    test = np.random.default_rng(seed).random(u.size) < share
    return (u[~test], i[~test], r[~test]), (u[test], i[test], r[test])


def write_ratings(path, data):
    u, i, r = data
    with open(path, "w") as f:
        for a, b, c in zip(u, i, r):
            f.write(f"{a}\t{b}\t{int(c)}\n")
    return str(path)


# Small enough to train in about a second on one thread, as the CLI would with the same flags.
SMALL = dict(hidden=16, epochs=8, batch=16, seed=1, threads=1)
SMALL_FLAGS = ["--hidden", "16", "--epochs", "8", "--batch", "16", "--seed", "1", "--threads", "1"]


@pytest.fixture(scope="session")
def data():
    return split(synthetic_ratings())


@pytest.fixture(scope="session")
def model(data):
    import autorec
    return autorec.train(data[0], **SMALL)
