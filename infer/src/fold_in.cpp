// Fold-in: serving users and items absent from training from their ratings, without retraining. A new
// column goes through the encoder; a new row gets a decoder row fitted by ridge regression (model.hpp).
#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "autorec/check.hpp"
#include "autorec/error.hpp"
#include "model_impl.hpp"

namespace autorec {
namespace {

std::string text(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", static_cast<double>(v));
  return buf;
}

// The ratings sorted by index, after checking them: not empty, finite, no index twice, every index below
// `limit`. `what` names the argument, `kind` the index ("user", "item"); indices from `limit` up to `added_limit`
// are rows added by fold-in, which have no encoder input.
std::vector<Entry> checked_ratings(std::span<const Entry> ratings, std::uint32_t limit, std::uint32_t added_limit,
                                   const std::string& what, const char* kind) {
  if (ratings.empty()) throw Error(Status::BadInput, what + ": no ratings");
  for (const Entry& e : ratings) {
    const std::string at = what + ": " + kind + " index " + std::to_string(e.index);
    if (e.index >= limit && e.index < added_limit)
      throw Error(Status::BadInput, at + " was added by fold-in and is not an input of the network");
    if (e.index >= limit) throw Error(Status::BadInput, at + " is not below " + std::to_string(limit));
    if (!std::isfinite(e.value)) throw Error(Status::BadInput, at + " has rating " + text(e.value));
  }
  std::vector<Entry> sorted = sorted_by_index(ratings);
  if (const std::optional<std::uint32_t> twice = repeated_index(sorted))
    throw Error(Status::BadInput, what + ": " + kind + " index " + std::to_string(*twice) + " appears twice");
  return sorted;
}

// A new row's decoder weights w and bias b, fitted to its ratings r_k of columns with codes c_k as the MAP
// estimate under the prior the training rows give, w ~ N(m, S) (their mean row and covariance):
//   min over w, b of  sum_k (r_k - w . c_k - b)^2 + lambda (w - m)' S^-1 (w - m),
// with r_k in the network's units (InputTransform::units) and the bias unpenalised; lambda is the rating noise
// variance in those units squared (1-5 star units on any scale), so the same value suits models of any
// hidden size, weight scale and rating scale. With v = w - m = L u (S = L L') and targets t_k = r_k - m . c_k
// it is ridge regression of t on the features L'c_k with strength lambda. Centring features and targets over
// the rated columns separates the bias exactly (b = mean t - mean c . v); the centred problem is solved in
// double precision in the smaller of its two equivalent forms, (X'X + lambda I) u = X't with code_size
// unknowns or u = X'(XX' + lambda I)^-1 t with one per rating.
void fit_row(const Model::Impl& m, std::span<const Entry> ratings, float lambda, Folded& f) {
  const auto n = static_cast<Eigen::Index>(ratings.size());
  const Eigen::Index h = m.net.code_size();
  const Eigen::VectorXd prior = Eigen::Map<const Eigen::VectorXf>(m.mean_row.data(), h).cast<double>();
  const Eigen::MatrixXd& factor = m.row_covariance_factor();
  Eigen::MatrixXd c(n, h);
  Eigen::VectorXd t(n);
  for (Eigen::Index k = 0; k < n; ++k) {
    c.row(k) = Eigen::Map<const Eigen::VectorXf>(m.code(ratings[static_cast<std::size_t>(k)].index), h).cast<double>();
    t[k] = m.net.input.units.to_model(ratings[static_cast<std::size_t>(k)].value) - c.row(k).dot(prior);
  }
  const Eigen::RowVectorXd c_mean = c.colwise().mean();
  const double t_mean = t.mean();
  c.rowwise() -= c_mean;
  t.array() -= t_mean;
  const Eigen::MatrixXd x = c * factor.triangularView<Eigen::Lower>();
  Eigen::MatrixXd gram = n <= h ? Eigen::MatrixXd(x * x.transpose()) : Eigen::MatrixXd(x.transpose() * x);
  gram.diagonal().array() += static_cast<double>(lambda);
  const Eigen::LLT<Eigen::MatrixXd> llt(gram);
  // lambda is at least the documented floor, so the system is positive definite by construction.
  AUTOREC_ASSERT(llt.info() == Eigen::Success, "fold-in: the ridge system is not positive definite");
  const Eigen::VectorXd u = n <= h ? Eigen::VectorXd(x.transpose() * llt.solve(t)) : Eigen::VectorXd(llt.solve(x.transpose() * t));
  const Eigen::VectorXd v = factor.triangularView<Eigen::Lower>() * u;
  f.vec.resize(static_cast<std::size_t>(h));
  Eigen::Map<Eigen::VectorXf>(f.vec.data(), h) = (prior + v).cast<float>();
  f.bias = static_cast<float>(t_mean - c_mean.dot(v));
}

// Which side of the network a new user (or item) is on: a user is a column of a user-based model.
bool is_column(const Model::Impl& m, bool user) { return (m.info.variant == Variant::UserBased) == user; }

std::vector<float> predictions(const Model::Impl& m, const Folded& f, bool clamp) {
  const std::uint32_t n = f.column ? m.num_rows() : m.obs.num_cols();
  std::vector<float> score(n);
  std::vector<Source> source(n);
  m.score_folded(f, score, source);
  for (float& v : score) v = m.finish(v, clamp);
  return score;
}

}  // namespace

const Eigen::MatrixXd& Model::Impl::row_covariance_factor() const {
  std::call_once(row_cov_once, [&] {
    // Covariance of the training rows' decoder weights, from at most 4096 of them (evenly spaced): enough for
    // a code_size x code_size estimate, and bounded work for Netflix-sized models.
    const RowMatrix& w = net.layers.back().weight;
    const Eigen::Index h = net.code_size();
    const Eigen::VectorXd mean = Eigen::Map<const Eigen::VectorXf>(mean_row.data(), h).cast<double>();
    std::vector<std::uint32_t> rows;
    for (std::uint32_t r = 0; r < net_rows(); ++r)
      if (known_row(r)) rows.push_back(r);
    const std::size_t take = std::min<std::size_t>(rows.size(), 4096);
    Eigen::MatrixXd centred(static_cast<Eigen::Index>(take), h);
    for (std::size_t k = 0; k < take; ++k)
      centred.row(static_cast<Eigen::Index>(k)) = w.row(rows[k * rows.size() / take]).cast<double>() - mean.transpose();
    Eigen::MatrixXd cov = centred.transpose() * centred / static_cast<double>(std::max<std::size_t>(take, 1));
    // A small ridge keeps the factorisation defined when there are fewer rows than code units.
    cov.diagonal().array() += 1e-6 * std::max(cov.trace() / static_cast<double>(h), 1e-12);
    row_cov_factor = Eigen::LLT<Eigen::MatrixXd>(cov).matrixL();
  });
  return row_cov_factor;
}

Folded Model::Impl::fold(bool column, std::span<const Entry> ratings, float lambda, const char* what) const {
  if (!(std::isfinite(lambda) && lambda > 0))
    throw Error(Status::BadInput, std::string(what) + ": lambda " + text(lambda) + " is not a positive number");
  if (lambda < kMinFoldInLambda)
    throw Error(Status::BadInput, std::string(what) + ": lambda " + text(lambda) + " is below the smallest accepted, " +
                                      text(kMinFoldInLambda) + " (the ridge system's smallest eigenvalue is lambda; below "
                                      "that it is lost in rounding and the system can be singular)");
  // A column's ratings index rows (users of an item-based model); a row's ratings index columns.
  const char* kind = column == (info.variant == Variant::ItemBased) ? "user" : "item";
  Folded f;
  f.column = column;
  f.ratings = column ? checked_ratings(ratings, net_rows(), num_rows(), std::string(what) + " ratings", kind)
                     : checked_ratings(ratings, obs.num_cols(), obs.num_cols(), std::string(what) + " ratings", kind);
  // The cold-start mean: the baseline's shrunk one when there is a baseline, else that of the ratings.
  if (baseline.present()) {
    f.base = newcomer_base(column, f.ratings);
    f.mean = baseline.mean + f.base;
  } else {
    double sum = 0;
    for (const Entry& e : f.ratings) sum += e.value;
    f.mean = static_cast<float>(sum / static_cast<double>(f.ratings.size()));
  }
  if (column) {
    f.vec.resize(net.code_size());
    const std::span<const Entry> one[] = {f.ratings};
    backend->encode(one, f.vec.data());
    return f;
  }
  const Activation decoder = net.layers.back().activation;
  const char* newcomer = std::string_view(kind) == "user" ? "item" : "user";  // rated by users: an item
  if (decoder != Activation::Identity)
    throw Error(Status::Unsupported, std::string(what) + ": fitting a new " + newcomer +
                                         " needs an identity decoder; this model's decoder is " + activation_name(decoder));
  fit_row(*this, f.ratings, lambda, f);
  return f;
}

std::uint32_t Model::Impl::add(Folded f, bool user, std::string_view id) {
  if (f.column) {
    code_store.insert(code_store.end(), f.vec.begin(), f.vec.end());
    obs.entries.insert(obs.entries.end(), f.ratings.begin(), f.ratings.end());
    obs.start.push_back(static_cast<std::uint32_t>(obs.entries.size()));
    col_mean.push_back(f.mean);
    if (baseline.present()) baseline.col.push_back(f.base);
  } else {
    added_weight.insert(added_weight.end(), f.vec.begin(), f.vec.end());
    added_bias.push_back(f.bias);
    row_mean.push_back(f.mean);
    if (baseline.present()) baseline.row.push_back(f.base);
    std::vector<std::uint32_t> cols;
    for (const Entry& e : f.ratings) cols.push_back(e.index);
    added_row_cols.push_back(std::move(cols));
  }
  ++(user ? info.num_users : info.num_items);
  return (user ? users : items).add(id);
}

std::vector<float> Model::fold_in_user(std::span<const Entry> ratings, const FoldInOptions& options) const {
  return predictions(*impl_, impl_->fold(is_column(*impl_, true), ratings, options.lambda, "fold_in_user"), options.clamp);
}

std::vector<float> Model::fold_in_item(std::span<const Entry> ratings, const FoldInOptions& options) const {
  return predictions(*impl_, impl_->fold(is_column(*impl_, false), ratings, options.lambda, "fold_in_item"),
                     options.clamp);
}

std::vector<Recommendation> Model::recommend_for_ratings(std::span<const Entry> ratings, std::size_t k,
                                                         bool exclude_rated, const FoldInOptions& options,
                                                         RankBy by) const {
  const Impl& m = *impl_;
  const Folded f = m.fold(is_column(m, true), ratings, options.lambda, "recommend_for_ratings");
  std::vector<float> score(m.info.num_items);
  std::vector<Source> source(m.info.num_items);
  m.score_folded(f, score, source);
  std::vector<std::uint8_t> excluded(m.info.num_items, 0);
  if (exclude_rated)
    for (const Entry& e : f.ratings) excluded[e.index] = 1;
  return m.top_k(score, source, excluded, k, by);
}

std::uint32_t Model::add_user(std::string_view id, std::span<const Entry> ratings, const FoldInOptions& options) {
  impl_->users.check_new(id, "user");
  return impl_->add(impl_->fold(is_column(*impl_, true), ratings, options.lambda, "add_user"), true, id);
}

std::uint32_t Model::add_item(std::string_view id, std::span<const Entry> ratings, const FoldInOptions& options) {
  impl_->items.check_new(id, "item");
  return impl_->add(impl_->fold(is_column(*impl_, false), ratings, options.lambda, "add_item"), false, id);
}

}  // namespace autorec
