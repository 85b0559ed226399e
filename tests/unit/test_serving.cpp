// Serving a trained model: recommend() is the top of predict(), and batch reconstruction does not depend on
// the thread count.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>

#include "helpers.hpp"

using namespace autorec;

BOOST_AUTO_TEST_SUITE(serving)

BOOST_AUTO_TEST_CASE(recommend_is_the_top_of_predict) {
  const test::Trained& t = test::small_trained();
  for (const std::uint32_t threads : {1u, 3u}) {
    const Model m = Model::load_buffer(t.file, "model.fb", {.threads = threads});
    const ModelInfo& info = m.info();
    for (std::uint32_t u = 0; u < info.num_users; u += 17) {
      // Brute force: every item through predict(), rated items removed, sorted by unclamped rating.
      std::vector<std::uint8_t> rated(info.num_items, 0);
      for (const data::Rating& r : t.fit)
        if (r.user == u) rated[r.item] = 1;
      std::vector<std::pair<float, std::uint32_t>> all;
      for (std::uint32_t i = 0; i < info.num_items; ++i)
        if (!rated[i]) all.push_back({-m.predict(u, i, false).value, i});
      std::sort(all.begin(), all.end());
      const std::vector<Recommendation> top = m.recommend(u, 10);
      BOOST_REQUIRE(top.size() == std::min<std::size_t>(10, all.size()));
      for (std::size_t r = 0; r < top.size(); ++r) {
        BOOST_REQUIRE_MESSAGE(top[r].item == all[r].second || std::abs(all[r].first + m.predict(u, top[r].item, false).value) < 1e-5f,
                              "user " << u << " rank " << r);
        BOOST_REQUIRE(top[r].rating == m.predict(u, top[r].item).value);
        BOOST_REQUIRE(!rated[top[r].item]);
      }
      // Without exclusion the list may contain rated items and is never worse at rank 0.
      const std::vector<Recommendation> any = m.recommend(u, 1, false);
      BOOST_REQUIRE(m.predict(u, any[0].item, false).value >= -all[0].first - 1e-6f);
    }
    BOOST_CHECK_THROW(m.recommend(info.num_users, 5), Error);
    BOOST_TEST(m.recommend(0, 0).empty());
  }
}

BOOST_AUTO_TEST_CASE(batch_reconstruction_agrees_across_thread_counts) {
  // Each thread multiplies its own slice of the batch; the matrix product may block a slice differently from
  // the whole, so agreement is to float rounding, not bit for bit.
  const test::Trained& t = test::small_trained();
  const Model one = Model::load_buffer(t.file, "model.fb", {.threads = 1});
  const Model four = Model::load_buffer(t.file, "model.fb", {.threads = 4});
  std::vector<std::vector<Entry>> cols;
  for (std::uint32_t c = 0; c < one.num_columns(); ++c) cols.push_back(one.observations(c));
  std::vector<std::span<const Entry>> spans(cols.begin(), cols.end());
  std::vector<float> a(cols.size() * one.column_length()), b(a.size());
  one.reconstruct_batch(spans, a);
  four.reconstruct_batch(spans, b);
  for (std::size_t i = 0; i < a.size(); ++i) BOOST_REQUIRE(std::abs(a[i] - b[i]) <= 1e-5f * (1 + std::abs(a[i])));
}

BOOST_AUTO_TEST_SUITE_END()
