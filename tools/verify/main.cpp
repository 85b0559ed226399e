// autorec-verify MODEL TEST: accuracy of a model file on held-out ratings, from the file alone.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <nlohmann/json.hpp>

#include "autorec/data/baseline.hpp"
#include "autorec/data/ranking.hpp"
#include "autorec/data/ratings.hpp"
#include "autorec/model.hpp"
#include "tool_main.hpp"

namespace ad = autorec::data;

namespace {

void print_ranking(const ad::RankingReport& r) {
  std::printf("ranking: %zu users (test ratings >= %g relevant: %zu, %zu left out as unrankable); skipped: %zu users "
              "without a relevant test rating, %zu ratings of unseen users; %.2f s\n",
              r.users, double(r.relevant_at), r.relevant, r.relevant_left_out, r.users_without_relevant,
              r.unseen_user_ratings, r.seconds);
  for (std::size_t j = 0; j < r.metrics[0].size(); ++j) {
    const unsigned k = r.metrics[0][j].k;
    std::printf("  @%-4u          precision  recall     ndcg       map        hit rate   mrr        coverage\n", k);
    for (std::size_t x = 0; x < ad::kRankers; ++x) {
      const ad::RankingMetrics& m = r.metrics[x][j];
      std::printf("  %-14s %-10.4f %-10.4f %-10.4f %-10.4f %-10.4f %-10.4f %.4f\n", ad::ranker_name(static_cast<ad::Ranker>(x)),
                  m.precision, m.recall, m.ndcg, m.map, m.hit_rate, m.mrr, m.coverage);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Test RMSE of an AutoRec model file on held-out ratings", "autorec-verify"};
  std::string model_path, test_path;
  bool json = false, no_clamp = false, skip_bad = false, baseline = false;
  double max_rmse = -1;
  ad::RankingOptions ranking;
  ranking.ks.clear();
  std::optional<float> relevant_at;
  app.add_option("model", model_path, "model.fb written by autorec-train")->required();
  app.add_option("test", test_path, "held-out ratings (u.data, ratings.dat or ratings.csv; .zst ok)")->required();
  app.add_flag("--json", json, "print one JSON object");
  app.add_option("--max-rmse", max_rmse, "exit 1 when the RMSE is above this");
  app.add_flag("--no-clamp", no_clamp, "do not clamp predictions to the rating scale");
  app.add_flag("--skip-bad-lines", skip_bad, "skip (and count) malformed test lines instead of failing");
  app.add_flag("--baseline", baseline, "also score, on the same test ratings, the global mean and a regularised user + "
                                       "item bias model fitted from the ratings the model file stores");
  app.add_option("--top-k", ranking.ks, "also rank every unrated item for each test user and report Precision, Recall, "
                                       "NDCG, MAP, hit rate and MRR at K (repeat, or K1,K2), beside popularity and random")
      ->delimiter(',')
      ->check(CLI::Range(1u, 100000u));
  app.add_option("--relevant-at", relevant_at, "with --top-k: test ratings at least this are relevant (default: 75% up "
                                               "the model's scale, 4 on 1-5 stars)")
      ->check(CLI::Validator([](std::string& v) { return std::isfinite(std::strtod(v.c_str(), nullptr)) ? "" : v + " is not finite"; }, "FINITE"));
  app.add_option("--seed", ranking.seed, "with --top-k: the random ranking's seed [1]");
  app.add_option("--threads", ranking.threads, "with --top-k: threads (0 = all cores) [0]")->check(CLI::Range(0, 1024));
  return autorec::tools::tool_main(app, argc, argv, [&] {
    const autorec::Model model = autorec::Model::load_file(model_path, {.device = autorec::Device::Cpu});
    ad::ReadOptions ro;
    ro.skip_bad_lines = skip_bad;
    const auto raw = ad::read_ratings(test_path, ro);
    const auto refs = ad::map_to_model(model, raw);
    const auto r = autorec::evaluate(model, refs, !no_clamp);
    // Not an error (cold-start accuracy is worth measuring), but usually the test file of another data set:
    // the RMSE then says nothing about the network, so say so where a person will see it.
    if (r.cold_start == r.count)
      std::fprintf(stderr, "autorec-verify: warning: all %llu test ratings of %s are cold starts (user or item not in "
                           "the model); the RMSE measures only the fallback rule\n",
                   static_cast<unsigned long long>(r.count), test_path.c_str());
    const bool ok = max_rmse < 0 || r.rmse <= max_rmse;
    const autorec::ModelInfo& info = model.info();
    std::optional<ad::BiasModel> bias;
    ad::BaselineResult base;
    if (baseline) {
      bias = ad::fit_bias_model_auto(ad::stored_ratings(model), info.num_users, info.num_items,
                                                 ad::columns_side(info.variant));
      base = ad::evaluate_baselines(*bias, refs, no_clamp ? -INFINITY : info.rating_min,
                                                no_clamp ? INFINITY : info.rating_max);
    }
    std::optional<ad::RankingReport> ranked;
    if (!ranking.ks.empty()) {
      ranking.relevant_at = relevant_at;
      ranked = ad::evaluate_ranking(model, refs, ranking);
    }
    if (json) {
      nlohmann::json j = {{"rmse", r.rmse}, {"mae", r.mae}, {"count", r.count}, {"model_scored", r.count - r.cold_start}, {"cold_start", r.cold_start},
                          {"cold_user", r.cold_user}, {"cold_item", r.cold_item}, {"skipped_lines", raw.skipped_lines},
                          {"clamped", !no_clamp}, {"fallback", model.info().cold_start}, {"model", model_path},
                          {"test", test_path}};
      if (max_rmse >= 0) j["max_rmse"] = max_rmse, j["pass"] = ok;
      if (bias)
        j["baseline"] = {{"global_mean", {{"rmse", base.global_mean.rmse}, {"mae", base.global_mean.mae}, {"value", bias->mean}}},
                         {"bias", {{"rmse", base.bias.rmse}, {"mae", base.bias.mae}, {"user_reg", bias->user_reg},
                                   {"item_reg", bias->item_reg}}}};
      if (ranked) j["ranking"] = nlohmann::json::parse(ad::ranking_json(*ranked));
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("RMSE %.6f  MAE %.6f  ratings %llu  cold-start %llu (unseen user %llu, unseen item %llu)\n", r.rmse,
                  r.mae, static_cast<unsigned long long>(r.count), static_cast<unsigned long long>(r.cold_start),
                  static_cast<unsigned long long>(r.cold_user), static_cast<unsigned long long>(r.cold_item));
      std::printf("cold-start fallback: %s\n", info.cold_start.c_str());
      if (bias) {
        std::printf("baseline: global mean %.4f  RMSE %.6f  MAE %.6f\n", bias->mean, base.global_mean.rmse,
                    base.global_mean.mae);
        std::printf("baseline: user + item biases (pseudo-counts %g users, %g items, chosen on the stored ratings)  "
                    "RMSE %.6f  MAE %.6f\n",
                    bias->user_reg, bias->item_reg, base.bias.rmse, base.bias.mae);
      }
      if (ranked) print_ranking(*ranked);
      if (raw.skipped_lines) std::printf("skipped %llu malformed test lines\n", static_cast<unsigned long long>(raw.skipped_lines));
      if (max_rmse >= 0) std::printf("%s: RMSE %.6f %s %.6f\n", ok ? "PASS" : "FAIL", r.rmse, ok ? "<=" : ">", max_rmse);
    }
    return ok ? 0 : autorec::tools::kExitFailedCheck;
  });
}
