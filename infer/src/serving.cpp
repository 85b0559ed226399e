// Serving calls: predict, predict_batch and recommend, and the scoring rules they share with fold-in.
#include <algorithm>
#include <cmath>

#include "autorec/error.hpp"
#include "kernels/kernels.hpp"
#include "model_impl.hpp"

namespace autorec {

bool Model::Impl::known_column(std::optional<std::uint32_t> c) const {
  return c && *c < obs.num_cols() && obs.start[*c + 1] > obs.start[*c];
}
bool Model::Impl::known_row(std::optional<std::uint32_t> r) const {
  return r && *r < row_mean.size() && !std::isnan(row_mean[*r]);
}
bool Model::knows_user(std::optional<std::uint32_t> user) const {
  return impl_->info.variant == Variant::ItemBased ? impl_->known_row(user) : impl_->known_column(user);
}
bool Model::knows_item(std::optional<std::uint32_t> item) const {
  return impl_->info.variant == Variant::ItemBased ? impl_->known_column(item) : impl_->known_row(item);
}

float Model::Impl::output(const float* weight, float bias, const float* code) const {
  const float z = kernels::dot(kernels::table(), weight, code, net.code_size()) + bias;
  return to_rating(activate(net.layers.back().activation, z));
}

Prediction Model::Impl::predict(std::optional<std::uint32_t> row, std::optional<std::uint32_t> col) const {
  const bool col_known = known_column(col), row_known = known_row(row);
  if (col_known && row_known) return {blend(row_output(*row, code(*col)), row_base(*row), col_base(*col)), Source::Model};
  return cold_pair(col_known, col_known ? col_mean[*col] : 0.0f, row_known, row_known ? row_mean[*row] : 0.0f,
                   [&] { return blend(row_output(*row, empty_code.data()), row_base(*row), 0.0f); });
}

Prediction Model::predict(std::optional<std::uint32_t> user, std::optional<std::uint32_t> item, bool clamp) const {
  const bool item_based = impl_->info.variant == Variant::ItemBased;
  Prediction p = item_based ? impl_->predict(user, item) : impl_->predict(item, user);
  p.value = impl_->finish(p.value, clamp);
  return p;
}

Prediction Model::predict(std::string_view user_id, std::string_view item_id, bool clamp) const {
  return predict(user_index(user_id), item_index(item_id), clamp);
}

void Model::predict_batch(std::span<const UserItem> pairs, std::span<Prediction> out, bool clamp) const {
  if (out.size() != pairs.size())
    throw Error(Status::BadInput, "predict_batch: out has " + std::to_string(out.size()) + " entries for " +
                                      std::to_string(pairs.size()) + " pairs");
  for (std::size_t i = 0; i < pairs.size(); ++i) out[i] = predict(pairs[i].user, pairs[i].item, clamp);
}

float Model::Impl::newcomer_base(bool column, std::span<const Entry> ratings) const {
  if (!baseline.present() || ratings.empty()) return 0.0f;
  double sum = 0;
  for (const Entry& e : ratings) sum += e.value - baseline.mean - (column ? row_base(e.index) : col_base(e.index));
  return static_cast<float>(sum / (double(column ? baseline.col_reg : baseline.row_reg) + double(ratings.size())));
}

void Model::Impl::score_column(const float* col_code, float base, float mean, std::span<float> score,
                               std::span<Source> source) const {
  // The network's rows in one decode (one matrix-vector product on the backend), added rows on the host.
  backend->decode(col_code, 1, score.data());
  for (std::uint32_t r = 0; r < net_rows(); ++r) score[r] = blend(to_rating(score[r]), row_base(r), base);
  for (std::uint32_t r = net_rows(); r < num_rows(); ++r) score[r] = blend(row_output(r, col_code), row_base(r), base);
  for (std::uint32_t r = 0; r < num_rows(); ++r) {
    source[r] = Source::Model;
    if (!known_row(r)) {
      const Prediction p = cold_pair(true, mean, false, 0.0f, [] { return 0.0f; });
      score[r] = p.value;
      source[r] = p.source;
    }
  }
}

void Model::Impl::score_row(const float* weight, float bias, float base, float mean, std::span<float> score,
                            std::span<Source> source) const {
  // Every column's prediction is w . code(column) + b: one product with the cached codes.
  const std::uint32_t cols = obs.num_cols();
  const std::uint32_t n = net.code_size();
  kernels::table().matmul(kernels::row_major(code_store.data(), cols, n), kernels::col_major(weight, n, 1),
                          kernels::col_major(score.data(), cols, 1));
  const Activation act = net.layers.back().activation;
  for (std::uint32_t c = 0; c < cols; ++c) {
    if (known_column(c)) {
      score[c] = blend(to_rating(activate(act, score[c] + bias)), base, col_base(c));
      source[c] = Source::Model;
    } else {
      const Prediction p =
          cold_pair(false, 0.0f, true, mean, [&] { return blend(output(weight, bias, empty_code.data()), base, 0.0f); });
      score[c] = p.value;
      source[c] = p.source;
    }
  }
}

void Model::Impl::score_user(std::uint32_t user, std::span<float> score, std::span<Source> source) const {
  const bool item_based = info.variant == Variant::ItemBased;
  if (item_based && known_row(user))
    return score_row(row_weight(user), row_bias(user), row_base(user), row_mean[user], score, source);
  if (!item_based && known_column(user)) return score_column(code(user), col_base(user), col_mean[user], score, source);
  for (std::uint32_t i = 0; i < info.num_items; ++i) {  // a user without ratings: every item is a cold start
    const Prediction p = item_based ? predict(user, i) : predict(i, user);
    score[i] = p.value;
    source[i] = p.source;
  }
}

void Model::Impl::score_folded(const Folded& f, std::span<float> score, std::span<Source> source) const {
  if (f.column) return score_column(f.vec.data(), f.base, f.mean, score, source);
  score_row(f.vec.data(), f.bias, f.base, f.mean, score, source);
}

std::vector<std::uint8_t> Model::Impl::rated_items(std::uint32_t user) const {
  std::vector<std::uint8_t> rated(info.num_items, 0);
  if (info.variant == Variant::ItemBased) {
    // The user is a row: its training columns, or the columns it was added with; and added columns it rated.
    if (user < net_rows()) {
      for (std::uint32_t k = row_start[user]; k < row_start[user + 1]; ++k) rated[row_cols[k]] = 1;
    } else {
      for (const std::uint32_t c : added_row_cols[user - net_rows()]) rated[c] = 1;
    }
    for (std::uint32_t c = trained_cols; c < obs.num_cols(); ++c)
      for (const Entry& e : obs.column(c))
        if (e.index == user) rated[c] = 1;
  } else {
    // The user is a column: its stored entries; and added rows (items) whose ratings include it.
    for (const Entry& e : obs.column(user)) rated[e.index] = 1;
    for (std::uint32_t a = 0; a < added_row_cols.size(); ++a)
      if (std::binary_search(added_row_cols[a].begin(), added_row_cols[a].end(), user)) rated[net_rows() + a] = 1;
  }
  return rated;
}

std::vector<Recommendation> Model::Impl::top_k(std::span<const float> score, std::span<const Source> source,
                                               std::span<const std::uint8_t> excluded, std::size_t k, RankBy by) const {
  std::vector<std::uint32_t> order;
  order.reserve(score.size());
  for (std::uint32_t i = 0; i < score.size(); ++i)
    if (!excluded[i]) order.push_back(i);
  const std::size_t top = std::min(k, order.size());
  // Ranked by the unclamped score (so that items above the top of the scale stay ordered), plus the rule's term.
  const std::span<const float> bonus = by == RankBy::Rule ? std::span<const float>(rank_bonus) : std::span<const float>();
  const auto key = [&](std::uint32_t i) { return i < bonus.size() ? score[i] + bonus[i] : score[i]; };
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(top), order.end(),
                    [&](std::uint32_t a, std::uint32_t b) {
                      const float ka = key(a), kb = key(b);
                      return ka > kb || (ka == kb && a < b);
                    });
  std::vector<Recommendation> out;
  out.reserve(top);
  for (std::size_t r = 0; r < top; ++r) out.push_back({order[r], finish(score[order[r]], true), source[order[r]]});
  return out;
}

void Model::score_items(std::uint32_t user, std::span<float> scores, std::span<Source> sources) const {
  const Impl& m = *impl_;
  if (user >= m.info.num_users)
    throw Error(Status::BadInput, "score_items: user index " + std::to_string(user) + " is not below " +
                                      std::to_string(m.info.num_users));
  if (scores.size() != m.info.num_items || sources.size() != m.info.num_items)
    throw Error(Status::BadInput, "score_items: scores has " + std::to_string(scores.size()) + " and sources " +
                                      std::to_string(sources.size()) + " entries for " + std::to_string(m.info.num_items) +
                                      " items");
  m.score_user(user, scores, sources);
}

std::span<const float> Model::ranking_bonus() const { return impl_->rank_bonus; }

std::vector<Recommendation> Model::recommend(std::uint32_t user, std::size_t k, bool exclude_rated, RankBy by) const {
  const Impl& m = *impl_;
  if (user >= m.info.num_users)
    throw Error(Status::BadInput, "recommend: user index " + std::to_string(user) + " is not below " +
                                      std::to_string(m.info.num_users));
  std::vector<float> score(m.info.num_items);
  std::vector<Source> source(m.info.num_items);
  m.score_user(user, score, source);
  const std::vector<std::uint8_t> excluded =
      exclude_rated ? m.rated_items(user) : std::vector<std::uint8_t>(m.info.num_items, 0);
  return m.top_k(score, source, excluded, k, by);
}

}  // namespace autorec
