// autorec-recommend MODEL (--user ID | --ratings FILE): the top-K items for a known user, or for a new user
// folded in from their ratings, with titles from a MovieLens item file when one is given.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "autorec/model.hpp"
#include "item_titles.hpp"
#include "autorec/text.hpp"
#include "tool_main.hpp"
#include "user_ratings.hpp"

using autorec::printable;

int main(int argc, char** argv) {
  CLI::App app{"Top-K recommendations from an AutoRec model file, for a known user or a new one (fold-in)",
               "autorec-recommend"};
  std::string model_path, user, ratings_path, items_path;
  std::size_t k = 10;
  bool json = false, include_rated = false;
  float lambda = autorec::FoldInOptions{}.lambda;
  app.add_option("model", model_path, "model.fb written by autorec-train")->required();
  auto* user_opt = app.add_option("--user", user, "external id of a user in the model");
  auto* ratings_opt = app.add_option("--ratings", ratings_path,
                                     "a new user's ratings, lines 'item rating' (tab or spaces): fold-in, no retraining");
  user_opt->excludes(ratings_opt);
  app.add_option("-k", k, "how many items")->check(CLI::NonNegativeNumber);
  app.add_option("--items", items_path, "titles: MovieLens u.item ('|', latin-1) or ML-1M movies.dat ('::')");
  app.add_flag("--include-rated", include_rated, "keep items the user has rated");
  app.add_option("--lambda", lambda, "fold-in prior strength (rating noise variance) for --ratings")->check(CLI::PositiveNumber);
  app.add_flag("--json", json, "print one JSON object");
  std::string rank_by = "rule";
  app.add_option("--rank-by", rank_by, "rule: the model's ranking rule (the predicted rating plus the popularity term "
                                       "chosen on validation, when the model has one); rating: the predicted rating alone")
      ->check(CLI::IsMember({"rule", "rating"}));
  return autorec::tools::tool_main(app, argc, argv, [&] {
    if (user_opt->count() + ratings_opt->count() != 1)
      throw autorec::Error(autorec::Status::BadInput, "give either --user ID or --ratings FILE");
    const autorec::Model model = autorec::Model::load_file(model_path, {.device = autorec::Device::Cpu, .threads = 1});
    const auto titles = items_path.empty() ? decltype(autorec::tools::read_item_titles("")){}
                                           : autorec::tools::read_item_titles(items_path);
    std::vector<autorec::Recommendation> top;
    std::size_t rated = 0;
    const autorec::RankBy by = rank_by == "rating" ? autorec::RankBy::Rating : autorec::RankBy::Rule;
    if (!ratings_path.empty()) {
      const std::vector<autorec::Entry> ratings = autorec::tools::read_user_ratings(ratings_path, model);
      rated = ratings.size();
      top = model.recommend_for_ratings(ratings, k, !include_rated, {.lambda = lambda}, by);
    } else {
      const std::optional<std::uint32_t> index = model.user_index(user);
      if (!index) {
        const std::uint32_t n = model.info().num_users;
        throw autorec::Error(autorec::Status::BadInput,
                             "--user '" + user + "' is not in " + model_path + " (" + std::to_string(n) + " users, ids " +
                                 (n ? model.user_id(0) + ".." + model.user_id(n - 1) : std::string("none")) +
                                 "); give a new user's ratings with --ratings FILE");
      }
      if (!model.knows_user(index))
        std::fprintf(stderr, "autorec-recommend: user '%s' has no training ratings: items are ranked by the cold-start rule\n",
                     user.c_str());
      top = model.recommend(*index, k, !include_rated, by);
    }
    const auto title_of = [&](const std::string& item) -> const std::string* {
      const auto it = titles.find(item);
      return it == titles.end() ? nullptr : &it->second;
    };
    if (json) {
      nlohmann::json list = nlohmann::json::array();
      for (std::size_t r = 0; r < top.size(); ++r) {
        const std::string item = model.item_id(top[r].item);
        nlohmann::json row = {{"rank", r + 1}, {"item", printable(item)}, {"rating", top[r].rating},
                              {"source", autorec::source_name(top[r].source)}};
        if (!items_path.empty()) row["title"] = title_of(item) ? nlohmann::json(printable(*title_of(item))) : nlohmann::json();
        list.push_back(row);
      }
      nlohmann::json j = {{"model", printable(model_path)}, {"k", k}, {"exclude_rated", !include_rated},
                          {"rank_by", rank_by}, {"ranking_weight", by == autorec::RankBy::Rule ? model.info().ranking.popularity_weight : 0.0f},
                          {"recommendations", list}};
      if (ratings_path.empty()) j["user"] = printable(user);
      else j["ratings"] = printable(ratings_path), j["rated"] = rated, j["lambda"] = lambda;
      std::printf("%s\n", j.dump().c_str());
      return 0;
    }
    if (ratings_path.empty()) std::printf("top %zu for user %s\n", top.size(), user.c_str());
    else std::printf("top %zu for a new user folded in from %zu ratings in %s\n", top.size(), rated, ratings_path.c_str());
    std::printf("%4s  %-10s  %6s  %s\n", "rank", "item", "rating", items_path.empty() ? "" : "title");
    for (std::size_t r = 0; r < top.size(); ++r) {
      const std::string item = model.item_id(top[r].item);
      const std::string* title = title_of(item);
      std::printf("%4zu  %-10s  %6.3f  %s", r + 1, printable(item).c_str(), static_cast<double>(top[r].rating),
                  title ? printable(*title).c_str() : "");
      if (top[r].source != autorec::Source::Model) std::printf("  [%s]", autorec::source_name(top[r].source));
      std::printf("\n");
    }
    return 0;
  });
}
