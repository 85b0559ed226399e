"""A notebook's first cells with autorec: ratings in, a model, its test RMSE, recommendations, a newcomer.

    python3 python/examples/quickstart.py [OUT_DIR]

Runs on synthetic ratings (MovieLens is not redistributable); to use MovieLens 100K, read u.data instead:
    frame = pandas.read_csv("u.data", sep="\\t", names=["user", "item", "rating", "time"])
"""
import pathlib
import sys

import numpy as np

import autorec

out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")

# 1000 users, 400 items, 8% of the pairs rated on 1-5 stars: user and item biases, a planted rank-4 taste, noise.
rng = np.random.default_rng(7)
taste_u, taste_i = rng.normal(size=(1000, 4)), rng.normal(size=(400, 4))
bias_u, bias_i = rng.normal(scale=0.5, size=1000), rng.normal(scale=0.7, size=400)
users, items = np.nonzero(rng.random((1000, 400)) < 0.08)
stars = 3.5 + bias_u[users] + bias_i[items] + 0.35 * np.sum(taste_u[users] * taste_i[items], axis=1)
stars = np.clip(np.rint(stars + rng.normal(scale=0.5, size=users.size)), 1, 5).astype(np.float32)
held_out = rng.random(users.size) < 0.1
train = (users[~held_out] + 1, items[~held_out] + 1, stars[~held_out])
test = (users[held_out] + 1, items[held_out] + 1, stars[held_out])

# The default recipe (autorec-train's), seeded: about a second on two cores.
model = autorec.train(train, test=test, seed=1)
print(model)
mean_rmse = float(np.sqrt(np.mean((test[2] - train[2].mean()) ** 2)))
print(f"test RMSE {autorec.evaluate(model, test)['rmse']:.4f} (the training mean scores {mean_rmse:.4f}; "
      f"best epoch {model.training['best_epoch']})")

# Scores of a few (user, item) pairs, and where each came from (an unknown id gets the cold-start rule).
ratings, sources = model.predict([1, 2, 12345], [10, 20, 30], return_source=True)
print("predictions", np.round(ratings, 3), [autorec.Source(s).name for s in sources])

# Top 5 for one user and for every user at once.
top_items, top_scores = model.recommend(1, k=5)
print("top 5 for user 1:", list(top_items), np.round(top_scores, 2))
all_items, _ = model.recommend_many(model.user_ids, k=5)
print("top 5 for every user:", all_items.shape)

# A newcomer known only by three ratings, served without retraining.
print("top 5 for a newcomer:", list(model.recommend_for_ratings([10, 20, 30], [5, 1, 4], k=5)[0]))

model.save(out / "quickstart.fb")
print("saved", out / "quickstart.fb", "- autorec-verify and the C API read it too")
