// autorec-inspect MODEL: what a host engineer needs to know about a model file.
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "autorec/container.hpp"
#include "autorec/model.hpp"
#include "autorec/text.hpp"
#include "tool_main.hpp"

namespace {

nlohmann::json ranking_json(const autorec::RankingRule& r) {
  if (!r.validation_k && r.popularity_weight == 0) return nullptr;
  return {{"popularity_weight", r.popularity_weight}, {"validation_k", r.validation_k},
          {"validation_ndcg", r.validation_ndcg}, {"rating_ndcg", r.rating_ndcg}, {"popularity_ndcg", r.popularity_ndcg}};
}

// The lines of the rules a model carries besides its network: units, input rule, ranking rule, baseline.
void print_rules(const autorec::ModelInfo& m) {
  if (!m.input.units.identity())
    std::printf("units         the network computes in (rating - %g) / %g; its outputs map back to ratings\n",
                m.input.units.origin, m.input.units.unit);
  if (m.input.offset != 0 || m.input.norm_power != 0)
    std::printf("input         (%s + %g) x (%g / ratings in the column)^%g at each observed entry, 0 elsewhere\n",
                m.input.units.identity() ? "rating" : "value", m.input.offset, m.input.norm_count, m.input.norm_power);
  if (m.ranking.validation_k || m.ranking.popularity_weight > 0)
    std::printf("ranking       predicted rating + %g ln(1 + the item's ratings) (validation NDCG@%u: %.4f; rating alone "
                "%.4f, popularity %.4f)\n",
                double(m.ranking.popularity_weight), m.ranking.validation_k, double(m.ranking.validation_ndcg),
                double(m.ranking.rating_ndcg), double(m.ranking.popularity_ndcg));
  if (m.has_baseline)
    std::printf("baseline      answers are %.2f x the network + %.2f x a user + item bias model\n",
                1.0 - m.baseline_weight, m.baseline_weight);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Show the metadata, sizes and training history of a model file", "autorec-inspect"};
  std::string path;
  bool json = false;
  app.add_option("model", path, "model.fb")->required();
  app.add_flag("--json", json, "print one JSON object");
  return autorec::tools::tool_main(app, argc, argv, [&] {
    const std::vector<std::byte> bytes = autorec::read_file_bytes(path);
    const autorec::ContainerHeader h = autorec::read_container_header(bytes, path);
    const autorec::Model model = autorec::Model::load_buffer(bytes, path, {.device = autorec::Device::Cpu});
    const autorec::ModelInfo& m = model.info();
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& l : m.layers)
      layers.push_back({{"in", l.in_size}, {"out", l.out_size}, {"activation", autorec::activation_name(l.activation)},
                        {"dropout", l.dropout}});
    nlohmann::json history = nlohmann::json::array();
    for (const auto& e : m.history)
      history.push_back({{"epoch", e.epoch}, {"loss", e.loss}, {"train_rmse", e.train_rmse},
                         {"val_rmse", e.val_rmse < 0 ? nlohmann::json() : nlohmann::json(e.val_rmse)}, {"seconds", e.seconds}});
    // What serving holds in memory once loaded: fp32 weights, the cached code of every column, the stored
    // observations (8 bytes each, plus column starts) and, for item-based models, their row -> column index.
    const bool item_based = m.variant == autorec::Variant::ItemBased;
    const std::uint64_t columns = item_based ? m.num_items : m.num_users, rows = item_based ? m.num_users : m.num_items;
    const std::uint64_t code_size = m.layers.empty() ? 0 : m.layers.back().in_size;
    const std::uint64_t memory = m.num_parameters * 4 + code_size * columns * 4 + m.num_observations * 8 + (columns + 1) * 4 +
                                 (item_based ? m.num_observations * 4 + (rows + 1) * 4 : 0);
    // Fold-in: a newcomer on the input side is encoded; one on the output side needs an identity decoder.
    const bool fits_rows = !m.layers.empty() && m.layers.back().activation == autorec::Activation::Identity;
    const std::string row_rule = fits_rows ? "decoder row fitted to its ratings (ridge towards the trained rows)"
                                           : "not supported (the decoder is not identity)";
    const std::string column_rule = "encoded from its ratings";
    const nlohmann::json fold_in = {{"new_user", item_based ? row_rule : column_rule},
                                    {"new_item", item_based ? column_rule : row_rule}};
    auto id_range = [](std::uint32_t n, auto&& id) {
      return n ? nlohmann::json{id(0u), id(n - 1)} : nlohmann::json::array();
    };
    nlohmann::json j = {
        {"file", autorec::printable(path)},
        {"file_bytes", bytes.size()},
        {"container_version", h.container_version},
        {"schema_version", m.schema_version},
        {"content_bytes", h.content_size},
        {"loaded_bytes_estimate", memory},
        {"code_size", code_size},
        {"codes_in_file", m.codes_in_file},
        {"checksum", "ok"},
        {"variant", autorec::variant_name(m.variant)},
        {"users", m.num_users},
        {"items", m.num_items},
        {"user_id_range", id_range(m.num_users, [&](std::uint32_t i) { return autorec::printable(model.user_id(i)); })},
        {"item_id_range", id_range(m.num_items, [&](std::uint32_t i) { return autorec::printable(model.item_id(i)); })},
        {"observations", m.num_observations},
        {"layers", layers},
        {"input", {{"offset", m.input.offset}, {"norm_power", m.input.norm_power}, {"norm_count", m.input.norm_count}}},
        {"units", {{"origin", m.input.units.origin}, {"unit", m.input.units.unit}}},
        {"baseline", m.has_baseline ? nlohmann::json{{"weight", m.baseline_weight}} : nlohmann::json()},
        {"ranking", ranking_json(m.ranking)},
        {"dtype", autorec::dtype_name(m.weight_dtype)},
        {"parameters", m.num_parameters},
        {"rating_scale", {{"min", m.rating_min}, {"max", m.rating_max}, {"step", m.rating_step}, {"integral", m.integral_ratings}}},
        {"global_mean", m.global_mean},
        {"cold_start", m.cold_start},
        {"fold_in", fold_in},
        {"epochs_run", m.epochs_run},
        {"best_epoch", m.best_epoch},
        {"history", history},
        {"hyperparameters", m.hyperparameters_json.empty() ? nlohmann::json() : nlohmann::json::parse(m.hyperparameters_json)},
        {"data_fingerprint", m.data_fingerprint},
        {"created_unix", m.created_unix},
        {"trainer_version", m.trainer_version},
        {"training_source", m.training_source},
        {"test_rmse", m.test_rmse < 0 ? nlohmann::json() : nlohmann::json(m.test_rmse)},
    };
    if (json) {
      std::printf("%s\n", j.dump(2).c_str());
      return 0;
    }
    std::printf("file          %s (%zu bytes; container v%u, schema v%u, content %llu bytes, checksum ok)\n", path.c_str(),
                bytes.size(), h.container_version, m.schema_version, static_cast<unsigned long long>(h.content_size));
    std::printf("model         %s-based AutoRec, %u users x %u items, %llu stored ratings\n", autorec::variant_name(m.variant),
                m.num_users, m.num_items, static_cast<unsigned long long>(m.num_observations));
    print_rules(m);
    for (std::size_t l = 0; l < m.layers.size(); ++l)
      std::printf("layer %zu       %u -> %u  %s  dropout %g\n", l, m.layers[l].in_size, m.layers[l].out_size,
                  autorec::activation_name(m.layers[l].activation), m.layers[l].dropout);
    std::printf("parameters    %llu (weights stored as %s, biases fp32; computed in fp32); code size %llu, codes %s\n",
                static_cast<unsigned long long>(m.num_parameters), autorec::dtype_name(m.weight_dtype),
                static_cast<unsigned long long>(code_size), m.codes_in_file ? "stored in the file" : "computed at load");
    std::printf("memory        about %.1f MB once loaded (fp32 weights, cached codes, stored ratings)\n",
                static_cast<double>(memory) / 1e6);
    std::printf("ids           users %s, items %s\n", j["user_id_range"].dump().c_str(), j["item_id_range"].dump().c_str());
    std::printf("scale         [%g, %g] step %g%s, global mean %.4f\n", m.rating_min, m.rating_max, m.rating_step,
                m.integral_ratings ? " integral" : "", m.global_mean);
    std::printf("cold start    %s\n", m.cold_start.c_str());
    std::printf("fold-in       new user: %s; new item: %s\n", fold_in["new_user"].get<std::string>().c_str(),
                fold_in["new_item"].get<std::string>().c_str());
    std::printf("hyperparams   %s\n", m.hyperparameters_json.c_str());
    const std::time_t created = m.created_unix;
    char when[64] = "?";
    std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&created));
    std::printf("trained       %s by %s on %s, fingerprint %016llx\n", when, m.trainer_version.c_str(),
                m.training_source.c_str(), static_cast<unsigned long long>(m.data_fingerprint));
    std::printf("epochs        %u run, weights of epoch %u\n", m.epochs_run, m.best_epoch);
    for (const auto& e : m.history) {
      std::printf("  epoch %3u  loss %.6f  train_rmse %.4f", e.epoch, e.loss, e.train_rmse);
      if (e.val_rmse >= 0) std::printf("  val_rmse %.4f", e.val_rmse);
      std::printf("  %.3f s\n", e.seconds);
    }
    if (m.test_rmse >= 0) std::printf("test RMSE     %.6f (recorded at training time)\n", m.test_rmse);
    return 0;
  });
}
