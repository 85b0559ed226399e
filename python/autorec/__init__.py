"""AutoRec rating prediction (Sedhain et al., WWW 2015) on autorec's C++ engine.

    import autorec
    model = autorec.train(df, seed=1)                 # DataFrame with user, item, rating columns
    model.predict(["196", "186"], ["242", "302"])     # float32 predicted ratings
    items, scores = model.recommend("196", k=10)
    autorec.evaluate(model, test_df)                  # {"rmse": ..., "mae": ..., "count": ...}
    model.save("model.fb")                            # autorec-verify, autorec-recommend and the C API read it

Training takes autorec-train's settings as keywords (its flags without dashes: lr, hidden, adamw_decay,
epochs, layers, ...), with the same defaults, ranges and messages.
"""
import enum
import numbers
import os

from ._autorec import (BadInputError, CorruptModelError, DivergedError, Error, Model, UnsupportedError,  # noqa: F401
                       cpu_level)
from . import _autorec

__all__ = ["train", "evaluate", "Model", "Source", "Error", "BadInputError", "CorruptModelError", "UnsupportedError",
           "DivergedError", "cpu_level"]
__version__ = "0.1.0"


class Source(enum.IntEnum):
    """Where a prediction came from (Model.predict(..., return_source=True)); anything but MODEL is the
    cold-start rule."""
    MODEL = 0
    USER_MEAN = 1
    ITEM_MEAN = 2
    GLOBAL_MEAN = 3
    EMPTY_INPUT = 4


def _columns(data, columns, what):
    """Ratings as autorec's engine takes them: a path, or (users, items, ratings) arrays."""
    if data is None:
        return None
    if isinstance(data, (str, os.PathLike)):
        return os.fspath(data)
    user, item, rating = columns
    if hasattr(data, "columns") and hasattr(data, "__getitem__"):  # a pandas DataFrame
        missing = [c for c in columns if c not in data.columns]
        if missing:
            raise BadInputError(f"{what}: no column {missing[0]!r} (columns: {list(data.columns)}); "
                                f"name them with columns=(user, item, rating)")
        return (data[user].to_numpy(), data[item].to_numpy(), data[rating].to_numpy())
    dtype = getattr(data, "dtype", None)
    if dtype is not None and dtype.names:  # a numpy structured array
        missing = [c for c in columns if c not in dtype.names]
        if missing:
            raise BadInputError(f"{what}: no field {missing[0]!r} (fields: {list(dtype.names)})")
        return (data[user], data[item], data[rating])
    if isinstance(data, (tuple, list)) and len(data) == 3:
        return tuple(data)
    raise BadInputError(f"{what}: give a path, a DataFrame, a structured array or (users, items, ratings); "
                        f"got {type(data).__name__}")


def train(ratings, *, recipe="default", test=None, validation=None, columns=("user", "item", "rating"), progress=None,
          **settings):
    """Trains AutoRec as autorec-train does and returns the Model (in memory; save(path) writes model.fb).

    ratings: a path (any format autorec-train reads), a pandas DataFrame, a numpy structured array, or
    (users, items, ratings) arrays; ids are integers or strings. test: held-out ratings of the same kinds,
    scored at the end (model.training["test"]). validation: ratings of the same kinds that choose the epoch,
    the bias model's share and the cold-start rule, in place of val_ratio's split (autorec-train
    --validation); those of users or items absent from `ratings` are left out. columns: the names of the user, item and rating columns.
    progress: called with a dict per event ("epoch", "info", "reading"); None trains quietly (warnings still
    go through the warnings module). settings: autorec-train's flags without dashes and with underscores
    (lr, hidden, epochs, seed, adamw_decay, val_ratio, layers, refit, checkpoint, resume, ...; lambda_ for
    --lambda), starting from `recipe` ("default" or "textbook"). model.training holds the epochs' history,
    the best epoch and the test figures.
    """
    return _autorec._train(_columns(ratings, columns, "ratings"), _columns(test, columns, "test"),
                           _columns(validation, columns, "validation"), recipe, settings, progress)


def evaluate(model, test, *, columns=("user", "item", "rating"), clamp=True, skip_bad_lines=False, top_k=None,
             relevant_at=None, seed=1, threads=0):
    """RMSE, MAE and counts of a model on held-out ratings, as autorec-verify --json computes them: rmse,
    mae, count, model_scored, cold_start, cold_user, cold_item, skipped_lines.

    top_k: an int or a list of them: also rank every item each test user did not rate in training and add
    "ranking" (Precision, Recall, NDCG, MAP, hit rate, MRR and coverage at each k, for autorec's ranking,
    popularity and random; as autorec-verify --top-k). relevant_at: the test rating from which an item is
    relevant (default: 75% up the model's scale). seed: the random ranking's. threads: 0 = every core.
    """
    if isinstance(top_k, bool) or (top_k is not None and not isinstance(top_k, numbers.Integral)
                                   and not all(isinstance(k, numbers.Integral) and not isinstance(k, bool) for k in top_k)):
        raise BadInputError(f"top_k: {top_k!r} is not an integer or a list of integers")
    ks = [] if top_k is None else [int(top_k)] if isinstance(top_k, numbers.Integral) else [int(k) for k in top_k]
    return _autorec._evaluate(model, _columns(test, columns, "test"), clamp, skip_bad_lines, ks, relevant_at, seed,
                              threads)


def history_frame(model):
    """The training history as a pandas DataFrame (pandas must be installed)."""
    import pandas
    return pandas.DataFrame((model.training or {}).get("history", []))
