"""The autorec Python package against the CLI, the C API and itself."""
import ctypes
import json
import pickle
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest

import autorec
from conftest import BIN, LIB, SMALL, SMALL_FLAGS, split, synthetic_ratings, write_ratings


def cli(*args):
    return subprocess.run([str(BIN / args[0]), *map(str, args[1:])], check=True, capture_output=True, text=True).stdout


def all_pairs(model):
    u, i = np.meshgrid(model.user_ids, model.item_ids, indexing="ij")
    return u.ravel(), i.ravel()


def test_training_from_python_equals_autorec_train_and_verify(tmp_path, data):
    train_path, test_path = write_ratings(tmp_path / "train.data", data[0]), write_ratings(tmp_path / "test.data", data[1])
    cli("autorec-train", train_path, "--test", test_path, "-o", tmp_path / "cli.fb", "--quiet", *SMALL_FLAGS)
    from_cli = autorec.Model.load(tmp_path / "cli.fb")
    for source in (train_path, data[0]):  # a path, and the same ratings as arrays
        m = autorec.train(source, test=test_path, **SMALL)
        u, i = all_pairs(m)
        np.testing.assert_array_equal(m.predict(u, i), from_cli.predict(u, i))
        verified = json.loads(cli("autorec-verify", tmp_path / "cli.fb", test_path, "--json"))
        mine = autorec.evaluate(m, test_path)
        for key in ("rmse", "mae", "count", "model_scored", "cold_start", "cold_user", "cold_item", "skipped_lines"):
            assert mine[key] == verified[key], key
        assert m.training["test"]["rmse"] == pytest.approx(verified["rmse"], abs=1e-6)
        assert len(m.training["history"]) == SMALL["epochs"]


def test_predictions_equal_the_c_api(tmp_path, model):
    lib = ctypes.CDLL(str(LIB / "libautorec_infer.so"))
    path = tmp_path / "m.fb"
    model.save(path)
    handle = ctypes.c_void_p()
    assert lib.autorec_model_load_file(str(path).encode(), None, ctypes.byref(handle)) == 0
    rating, source = ctypes.c_float(), ctypes.c_int()
    users = list(model.user_ids[:20]) + [999999]
    items = list(model.item_ids[:15]) + [888888]
    got, got_source = model.predict(*np.meshgrid(users, items, indexing="ij"), return_source=True)
    for a, u in enumerate(users):
        for b, i in enumerate(items):
            assert lib.autorec_model_predict_ids(handle, str(u).encode(), str(i).encode(), 1, ctypes.byref(rating),
                                                 ctypes.byref(source)) == 0
            assert got[a, b] == rating.value
            assert got_source[a, b] == source.value
    lib.autorec_model_free(handle)
    assert got_source[-1, -1] == autorec.Source.GLOBAL_MEAN


def test_ids_as_ints_strings_and_numpy_arrays_agree(model):
    u, i = all_pairs(model)
    base = model.predict(u, i)
    np.testing.assert_array_equal(model.predict(u.astype(str), i.astype(str)), base)
    np.testing.assert_array_equal(model.predict(list(map(str, u)), list(i)), base)
    np.testing.assert_array_equal(model.predict(u.astype(np.int32), i.astype(np.uint16)), base)
    idx_u = np.array([model.user_index(x) for x in u[:50]])
    idx_i = np.array([model.item_index(x) for x in i[:50]])
    np.testing.assert_array_equal(model.predict_indices(idx_u, idx_i), base[:50])
    assert model.predict(int(u[0]), int(i[0])) == base[0]
    _, source = model.predict(["no such user", u[0]], [i[0], "no such item"], return_source=True)
    # This model's fallback: an unseen user gets the item's mean, an unseen item the network's answer to an
    # empty column (model.info["cold_start"] says so).
    assert list(source) == [autorec.Source.ITEM_MEAN, autorec.Source.EMPTY_INPUT]


def test_recommend_many_equals_recommend_and_ranks_unrated_items(model, data):
    users = model.user_ids[:25]
    items, scores = model.recommend_many(users, k=7, threads=2)
    assert items.shape == (25, 7) and scores.shape == (25, 7)
    rated = {}
    for u, i in zip(data[0][0], data[0][1]):
        rated.setdefault(u, set()).add(i)
    for row, u in enumerate(users):
        one_items, one_scores = model.recommend(u, k=7)
        np.testing.assert_array_equal(items[row], one_items)
        np.testing.assert_array_equal(scores[row], one_scores)
        assert not set(one_items) & rated[u]
        assert np.all(np.diff(one_scores) <= 0)
        np.testing.assert_array_equal(one_scores, model.predict(np.full(7, u), one_items))


def test_reconstruct_and_fold_in(model, data):
    item = model.item_ids[3]
    column = model.reconstruct(item)
    assert column.shape == (model.num_users,)
    np.testing.assert_allclose(column, model.predict(model.user_ids, np.full(model.num_users, item)), atol=1e-5)
    items, ratings = model.item_ids[:6], np.array([5, 4, 1, 2, 5, 3], dtype=np.float32)
    predicted = model.fold_in_user(items, ratings)
    assert predicted.shape == (model.num_items,)
    top, top_scores = model.recommend_for_ratings(items, ratings, k=5)
    expected = np.argsort(-np.where(np.isin(model.item_ids, items), -np.inf, predicted), kind="stable")[:5]
    np.testing.assert_array_equal(top, model.item_ids[expected])
    copy = autorec.Model.load(model.to_bytes())
    index = copy.add_user("100000", items, ratings)  # the model's ids are integers: a new one must be too
    assert index == model.num_users and copy.user_index(100000) == index
    np.testing.assert_allclose(copy.predict(100000, copy.item_ids), predicted, atol=1e-5)


def test_save_load_and_pickle_round_trip(tmp_path, model):
    u, i = all_pairs(model)
    model.save(tmp_path / "m.fb")
    for other in (autorec.Model.load(tmp_path / "m.fb"), autorec.Model.load((tmp_path / "m.fb").read_bytes()),
                  pickle.loads(pickle.dumps(model))):
        np.testing.assert_array_equal(other.predict(u, i), model.predict(u, i))
    info = model.info
    assert info["variant"] == "item" and info["num_users"] == model.num_users
    assert info["hyperparameters"]["seed"] == SMALL["seed"]
    assert [layer["out_size"] for layer in info["layers"]][0] == SMALL["hidden"]
    assert len(info["history"]) == SMALL["epochs"]


def test_predict_from_threads_equals_one_thread(model):
    u, i = all_pairs(model)
    expected = model.predict(u, i)
    results, errors = [None] * 8, []

    def work(k):
        try:
            for _ in range(20):
                results[k] = model.predict(u, i)
        except Exception as e:  # surfaced below
            errors.append(e)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for r in results:
        np.testing.assert_array_equal(r, expected)


@pytest.mark.parametrize("settings, says", [
    (dict(lr=float("nan")), "setting lr (--lr): nan is not > 0"),
    (dict(hidden=0), "setting hidden (--hidden): 0 is not in [1, 65536]"),
    (dict(hidden=2.5), "setting hidden (--hidden): 2.5 is not an integer"),
    (dict(encoder="swish"), "setting encoder (--encoder): 'swish' is not one of identity, sigmoid"),
    (dict(decay_biases=1), "setting decay_biases (--decay-biases): 1 is not True or False"),
    (dict(learning_rate=0.1), "unknown setting 'learning_rate'"),
    (dict(layers="500-x"), "layers"),
    (dict(test_ratio=0.95), "setting test_ratio (--test-ratio): 0.95 is not a number in [0, 0.9]"),
    (dict(zstd_level=2.5), "setting zstd_level (--zstd-level): 2.5 is not an integer in [1, 19]"),
    (dict(zstd_level=20), "setting zstd_level (--zstd-level): 20 is not an integer in [1, 19]"),
    (dict(checkpoint_every=0), "setting checkpoint_every (--checkpoint-every): 0 is not an integer in [1, 100000]"),
    (dict(dtype="fp8"), "setting dtype (--dtype): 'fp8' is not one of fp32, fp16, bf16, int8"),
    (dict(refit="yes"), "setting refit (--refit): 'yes' is not True or False"),
    (dict(checkpoint=3), "setting checkpoint (--checkpoint): 3 is not a path"),
    (dict(zstd_level=10 ** 400), "setting zstd_level (--zstd-level): 1000"),
])
def test_bad_settings_raise_bad_input_with_the_cli_message(data, settings, says):
    with pytest.raises(autorec.BadInputError) as e:
        autorec.train(data[0], **settings)
    assert says in str(e.value)
    assert isinstance(e.value, ValueError)


def test_numpy_scalars_are_settings_like_python_numbers(data):
    # A setting read from a numpy array arrives as numpy.int64 or numpy.bool_, and means what int and bool do.
    with_numpy = autorec.train(data[0], **dict(SMALL, zstd_level=np.int64(5), refit=np.bool_(False)))
    plain = autorec.train(data[0], **dict(SMALL, zstd_level=5, refit=False))
    nu, ni = plain.info["num_users"], plain.info["num_items"]
    users, items = np.repeat(np.arange(nu), ni), np.tile(np.arange(ni), nu)
    np.testing.assert_array_equal(with_numpy.predict_indices(users, items), plain.predict_indices(users, items))
    assert not with_numpy.training["refitted"]


def test_bad_data_and_files_raise_the_documented_errors(tmp_path, data, model):
    u, i, r = data[0]
    bad = r.copy()
    bad[4] = np.nan
    with pytest.raises(autorec.BadInputError, match="train: row 5: field rating: 'nan' is not finite"):
        autorec.train((u, i, bad), **SMALL)
    with pytest.raises(autorec.BadInputError, match="dtype float64"):
        autorec.train((u.astype(float), i, r), **SMALL)
    with pytest.raises(autorec.BadInputError, match="3 ratings: the columns must have one length"):
        autorec.train((u, i, r[:3]), **SMALL)
    damaged = bytearray(model.to_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    with pytest.raises(autorec.CorruptModelError):
        autorec.Model.load(bytes(damaged))
    with pytest.raises(autorec.BadInputError, match="no-such.fb"):
        autorec.Model.load(tmp_path / "no-such.fb")
    with pytest.raises(OSError):
        autorec.Model.load("/proc/self/mem")
    with pytest.raises(autorec.BadInputError, match="is not in the model"):
        model.recommend("no such user")
    with pytest.raises(autorec.BadInputError, match="users: ids of dtype float64"):
        model.predict([1.5], [1])
    with pytest.raises(autorec.BadInputError, match="neither a string nor an integer"):
        model.predict(np.array([1, None], dtype=object), [1, 2])


def test_validation_ratings_of_their_own_equal_autorec_train_validation(tmp_path, data):
    fit, held = split(data[0], share=0.15, seed=9)
    # One rating of a user the training ratings lack: left out, and said so.
    val = (np.append(held[0], 999999), np.append(held[1], held[1][0]), np.append(held[2], 3.0).astype(np.float32))
    fit_path, val_path = write_ratings(tmp_path / "fit.data", fit), write_ratings(tmp_path / "val.data", val)
    cli("autorec-train", fit_path, "--validation", val_path, "--refit", "-o", tmp_path / "cli.fb", "--quiet", *SMALL_FLAGS)
    from_cli = autorec.Model.load(tmp_path / "cli.fb")
    events = []
    m = autorec.train(fit, validation=val, refit=True, progress=events.append, **SMALL)
    u, i = all_pairs(m)
    np.testing.assert_array_equal(m.predict(u, i), from_cli.predict(u, i))
    assert not m.training["refitted"]  # validation apart from the training ratings: nothing to refit
    first_stage = [e for e in events if e["event"] == "epoch" and e["stage"] == "train"]
    assert len(first_stage) == SMALL["epochs"] and all(e["val_rmse"] is not None for e in first_stage)
    assert any("1 of %d ratings are of users or items the training ratings lack" % val[0].size in e.get("line", "")
               for e in events)
    with pytest.raises(autorec.BadInputError, match="give one of them"):
        autorec.train(fit, validation=val, val_ratio=0.1, **SMALL)
    with pytest.raises(autorec.BadInputError, match="none of the 1 validation ratings"):
        autorec.train(fit, validation=([999999], [1], [4.0]), **SMALL)


def test_checkpoint_and_resume_continue_an_interrupted_run(tmp_path, data):
    whole = autorec.train(data[0], **SMALL)
    path = tmp_path / "run.ckpt"

    def stop_at_epoch_3(event):  # as Ctrl-C would: heard before epoch 3's checkpoint is written
        if event["event"] == "epoch" and event["epoch"] == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        autorec.train(data[0], checkpoint=path, checkpoint_every=1, progress=stop_at_epoch_3, **SMALL)
    assert path.exists()
    events = []
    resumed = autorec.train(data[0], checkpoint=path, resume=True, progress=events.append, **SMALL)
    assert any("resumed from" in e.get("line", "") and "after epoch 2" in e["line"] for e in events)
    assert [e["epoch"] for e in events if e["event"] == "epoch"] == list(range(3, SMALL["epochs"] + 1))
    u, i = all_pairs(whole)
    np.testing.assert_array_equal(resumed.predict(u, i), whole.predict(u, i))
    with pytest.raises(autorec.BadInputError, match="run.ckpt"):  # other settings: refused, not mixed
        autorec.train(data[0], checkpoint=path, resume=True, **{**SMALL, "hidden": 8})


def test_progress_callback_hears_every_epoch_and_warnings_are_warnings(data):
    events = []
    u, i, r = data[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # A repeated pair: the pipeline warns that duplicates were resolved.
        autorec.train((np.append(u, u[0]), np.append(i, i[0]), np.append(r, r[0])), progress=events.append, **SMALL)
    epochs = [e for e in events if e["event"] == "epoch"]
    assert [e["epoch"] for e in epochs] == list(range(1, SMALL["epochs"] + 1))
    assert all(e["epochs"] == SMALL["epochs"] and e["loss"] > 0 for e in epochs)
    assert any("duplicate" in str(w.message) for w in caught)


def test_dataframe_and_structured_array_inputs(data):
    u, i, r = data[0]
    from_arrays = autorec.train((u, i, r), **SMALL)
    records = np.rec.fromarrays([u, i, r], names="uid,iid,stars")
    from_records = autorec.train(records, columns=("uid", "iid", "stars"), **SMALL)
    pairs = all_pairs(from_arrays)
    np.testing.assert_array_equal(from_records.predict(*pairs), from_arrays.predict(*pairs))
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame({"user": u, "item": i, "rating": r})
    np.testing.assert_array_equal(autorec.train(frame, **SMALL).predict(*pairs), from_arrays.predict(*pairs))


def test_string_ids_come_back_as_strings():
    u, i, r = synthetic_ratings(40, 30, 0.3, seed=8)
    m = autorec.train(([f"u{x}" for x in u], [f"i{x}" for x in i], r), hidden=8, epochs=2, threads=1)
    assert m.user_ids.dtype == object and m.user_ids[0].startswith("u")
    items, _ = m.recommend(m.user_ids[0], k=3)
    assert all(isinstance(x, str) and x.startswith("i") for x in items)


def test_the_quickstart_example_runs(tmp_path):
    example = __import__("pathlib").Path(__file__).resolve().parents[2] / "python" / "examples" / "quickstart.py"
    out = subprocess.run([sys.executable, str(example), str(tmp_path)], check=True, capture_output=True, text=True).stdout
    assert "test RMSE" in out and "top 5" in out


def numpy_ranking(model, train, test, k, relevant_at):
    """The ranking protocol and metrics of autorec.evaluate(top_k=...), written again from their definitions
    in numpy: every unrated item scored by model.predict, the first k by score (ties to the lower index)."""
    nu, ni = len(model.user_ids), len(model.item_ids)
    users = np.repeat(np.arange(nu), ni)
    scores = model.predict_indices(users, np.tile(np.arange(ni), nu), clamp=False).reshape(nu, ni).astype(np.float64)
    popularity = np.zeros(ni)
    rated = np.zeros((nu, ni), bool)
    user_of = {u: n for n, u in enumerate(model.user_ids)}
    item_of = {i: n for n, i in enumerate(model.item_ids)}
    u_index, i_index = np.array([user_of[u] for u in train[0]]), np.array([item_of[i] for i in train[1]])
    rated[u_index, i_index] = True
    np.add.at(popularity, i_index, 1)
    relevant = {}
    for u, i, r in zip((user_of.get(u, -1) for u in test[0]), (item_of.get(i, -1) for i in test[1]), test[2]):
        if u >= 0 and i >= 0 and r >= relevant_at and not rated[u, i]:
            relevant.setdefault(u, set()).add(i)
    out = {}
    for name, s in (("autorec", scores), ("popularity", np.broadcast_to(popularity, (nu, ni)))):
        sums = np.zeros(6)
        for u, rel in relevant.items():
            candidates = np.flatnonzero(~rated[u])
            order = candidates[np.lexsort((candidates, -s[u, candidates]))][:k]
            hits = np.array([i in rel for i in order], float)
            ranks = np.arange(1, len(order) + 1)
            ideal = np.sum(1 / np.log2(np.arange(2, min(len(rel), k) + 2)))
            sums += [hits.sum() / k, hits.sum() / len(rel), np.sum(hits / np.log2(ranks + 1)) / ideal,
                     np.sum(np.cumsum(hits) / ranks * hits) / min(len(rel), k), float(hits.any()),
                     1 / ranks[hits > 0][0] if hits.any() else 0.0]
        out[name] = dict(zip(("precision", "recall", "ndcg", "map", "hit_rate", "mrr"), sums / len(relevant)))
    return out, len(relevant)


def test_ranking_metrics_equal_a_numpy_reference_and_autorec_verify(tmp_path, data, model):
    got = autorec.evaluate(model, data[1], top_k=[5, 10], threads=2)["ranking"]
    assert got["relevant_at"] == 4.0
    model_path, test_path = tmp_path / "m.fb", write_ratings(tmp_path / "test.data", data[1])
    model.save(model_path)
    verified = json.loads(cli("autorec-verify", model_path, test_path, "--json", "--top-k", "5,10", "--threads", "1"))
    for k in (5, 10):
        expected, users = numpy_ranking(model, data[0], data[1], k, 4.0)
        assert got["users"] == users > 20
        for ranker, metrics in expected.items():
            for name, value in metrics.items():
                assert got["at"][str(k)][ranker][name] == pytest.approx(value, abs=1e-12), (k, ranker, name)
                assert verified["ranking"]["at"][str(k)][ranker][name] == pytest.approx(value, abs=1e-12)
        # Popularity's lists cover few items, random's many.
        at = got["at"][str(k)]
        assert at["popularity"]["coverage"] < at["random"]["coverage"]
    with pytest.raises(autorec.BadInputError, match="top_k"):
        autorec.evaluate(model, data[1], top_k=0)


def test_the_ranking_rule_chosen_on_validation_orders_recommend_and_rank_by_rating_the_plain_order(data):
    # With a refit the model stores every training rating, so the popularity term can be computed here.
    m = autorec.train(data[0], val_ratio=0.2, refit=True, **SMALL)
    w = np.float32(m.info["ranking_weight"])
    nu, ni = len(m.user_ids), len(m.item_ids)
    item_of = {i: n for n, i in enumerate(m.item_ids)}
    count = np.bincount([item_of[i] for i in data[0][1]], minlength=ni).astype(np.float32)
    scores = m.predict_indices(np.repeat(np.arange(nu), ni), np.tile(np.arange(ni), nu), clamp=False).reshape(nu, ni)
    key = scores + w * np.log1p(count)
    for u, user in enumerate(m.user_ids[:30]):
        plain, _ = m.recommend(user, k=5, return_indices=True, rank_by="rating", exclude_rated=False)
        np.testing.assert_array_equal(plain, np.lexsort((np.arange(ni), -scores[u]))[:5])
        ruled, ratings = m.recommend(user, k=5, return_indices=True, exclude_rated=False)
        assert np.all(np.diff(key[u, ruled]) <= 1e-5)  # best first by the rule
        assert key[u, ruled[-1]] >= np.sort(key[u])[-5] - 1e-5  # and the rule's best five
        np.testing.assert_allclose(ratings, np.clip(scores[u, ruled], 1, 5), rtol=1e-6)  # still the predictions
    with pytest.raises(autorec.BadInputError, match="rank_by"):
        m.recommend(m.user_ids[0], rank_by="popularity")
