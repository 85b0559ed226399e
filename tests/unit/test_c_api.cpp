// The C API (autorec/autorec.h) against the C++ API it wraps: the same answers, and every misuse reported by
// a status and a message that names the argument.
#include "autorec/autorec.h"

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <unistd.h>

#include "helpers.hpp"

using namespace autorec;

namespace {

using Handle = std::unique_ptr<autorec_model, decltype(&autorec_model_free)>;

const test::Trained& trained() { return test::small_trained(); }

Handle load_c(const autorec_load_options* options = nullptr) {
  autorec_model* m = nullptr;
  const std::vector<std::byte>& f = trained().file;
  const autorec_status s = autorec_model_load_buffer(f.data(), f.size(), "model.fb", options, &m);
  BOOST_REQUIRE_MESSAGE(s == AUTOREC_OK, autorec_last_error());
  return Handle(m, autorec_model_free);
}

// The model file on disk for load_file, removed at exit.
struct TempModelFile {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("autorec-c-api-" + std::to_string(::getpid()) + ".fb");
  TempModelFile() {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(trained().file.data()), static_cast<std::streamsize>(trained().file.size()));
  }
  ~TempModelFile() { std::filesystem::remove(path); }
};

// A failed call: its status, and a message that starts with the function and contains every fragment.
void expect_error(autorec_status got, autorec_status want, const char* function, std::initializer_list<std::string> fragments) {
  const std::string message = autorec_last_error();
  BOOST_TEST_CONTEXT(function << ": \"" << message << "\"") {
    BOOST_TEST(got == want);
    BOOST_TEST(message.rfind(std::string(function) + ": ", 0) == 0u);
    for (const std::string& f : fragments) BOOST_TEST(message.find(f) != std::string::npos, "lacks \"" << f << "\"");
  }
}

std::string user_id_c(const autorec_model* m, std::uint32_t index) {
  char buffer[64];
  std::size_t length = 0;
  BOOST_REQUIRE(autorec_model_user_id(m, index, buffer, sizeof buffer, &length) == AUTOREC_OK);
  BOOST_REQUIRE(length == std::strlen(buffer));
  return buffer;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(c_api)

BOOST_AUTO_TEST_CASE(version_and_names) {
  BOOST_TEST(autorec_api_version() == AUTOREC_API_VERSION);
  BOOST_TEST(AUTOREC_API_VERSION == AUTOREC_API_VERSION_MAJOR * 10000 + AUTOREC_API_VERSION_MINOR * 100 + AUTOREC_API_VERSION_PATCH);
  BOOST_TEST(std::string(autorec_status_name(AUTOREC_CORRUPT)) == status_name(Status::Corrupt));
  BOOST_TEST(std::string(autorec_status_name(-99)) == "unknown status");
  BOOST_TEST(std::string(autorec_activation_name(AUTOREC_SIGMOID)) == "sigmoid");
  // 256 would narrow to 0 ("identity") if it reached the 8-bit C++ enum.
  BOOST_TEST(std::string(autorec_activation_name(256)) == "unknown");
  BOOST_TEST(std::string(autorec_source_name(AUTOREC_SOURCE_EMPTY_INPUT)) == source_name(Source::EmptyInput));
  BOOST_TEST(std::string(autorec_source_name(-1)) == "unknown");
}

BOOST_AUTO_TEST_CASE(file_and_buffer_give_the_cpp_answers) {
  const Model cpp = Model::load_buffer(trained().file, "model.fb");
  const ModelInfo& info = cpp.info();
  const TempModelFile file;
  autorec_model* raw = nullptr;
  BOOST_REQUIRE_MESSAGE(autorec_model_load_file(file.path.c_str(), nullptr, &raw) == AUTOREC_OK, autorec_last_error());
  const Handle from_file(raw, autorec_model_free);
  const Handle from_buffer = load_c();
  for (const autorec_model* m : {from_file.get(), from_buffer.get()}) {
    std::uint32_t u32 = 0;
    BOOST_TEST((autorec_model_num_users(m, &u32) == AUTOREC_OK && u32 == info.num_users));
    BOOST_TEST((autorec_model_num_items(m, &u32) == AUTOREC_OK && u32 == info.num_items));
    BOOST_TEST((autorec_model_num_columns(m, &u32) == AUTOREC_OK && u32 == cpp.num_columns()));
    BOOST_TEST((autorec_model_column_length(m, &u32) == AUTOREC_OK && u32 == cpp.column_length()));
    BOOST_TEST((autorec_model_schema_version(m, &u32) == AUTOREC_OK && u32 == info.schema_version));
    BOOST_TEST((autorec_model_num_layers(m, &u32) == AUTOREC_OK && u32 == info.layers.size()));
    for (std::uint32_t l = 0; l < info.layers.size(); ++l) {
      std::uint32_t in = 0, out = 0;
      autorec_activation a = AUTOREC_IDENTITY;
      BOOST_REQUIRE(autorec_model_layer(m, l, &in, &out, &a) == AUTOREC_OK);
      BOOST_TEST(in == info.layers[l].in_size);
      BOOST_TEST(out == info.layers[l].out_size);
      BOOST_TEST(static_cast<int>(a) == static_cast<int>(info.layers[l].activation));
    }
    autorec_variant variant = AUTOREC_USER_BASED;
    BOOST_TEST((autorec_model_variant(m, &variant) == AUTOREC_OK && variant == AUTOREC_ITEM_BASED));
    float lo = 0, hi = 0, mean = 0;
    BOOST_TEST((autorec_model_rating_range(m, &lo, &hi) == AUTOREC_OK && lo == info.rating_min && hi == info.rating_max));
    BOOST_TEST((autorec_model_global_mean(m, &mean) == AUTOREC_OK && mean == info.global_mean));
    double rmse = 0;
    BOOST_TEST((autorec_model_test_rmse(m, &rmse) == AUTOREC_OK && rmse == info.test_rmse));
    const char* name = nullptr;
    BOOST_TEST((autorec_model_weight_dtype(m, &name) == AUTOREC_OK && std::string(name) == "fp32"));
    BOOST_TEST((autorec_model_backend(m, &name) == AUTOREC_OK && std::string(name) == info.backend));
    BOOST_TEST(std::string(autorec_last_error()).empty());

    // Every (user, item) pair, and the unknown index on either side, as C++ predicts it.
    for (std::uint32_t u = 0; u <= info.num_users; ++u) {
      const std::uint32_t cu = u < info.num_users ? u : AUTOREC_NO_INDEX;
      for (std::uint32_t i = 0; i <= info.num_items; ++i) {
        const std::uint32_t ci = i < info.num_items ? i : AUTOREC_NO_INDEX;
        const auto opt = [](std::uint32_t x) { return x == AUTOREC_NO_INDEX ? std::nullopt : std::optional(x); };
        for (const int clamp : {0, 1}) {
          const Prediction want = cpp.predict(opt(cu), opt(ci), clamp != 0);
          float got = -1;
          autorec_source source = AUTOREC_SOURCE_MODEL;
          BOOST_REQUIRE(autorec_model_predict(m, cu, ci, clamp, &got, &source) == AUTOREC_OK);
          BOOST_REQUIRE_MESSAGE(got == want.value, "user " << cu << " item " << ci);
          BOOST_REQUIRE(static_cast<int>(source) == static_cast<int>(want.source));
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(ids_both_ways_and_unknown_ids) {
  const Model cpp = Model::load_buffer(trained().file, "model.fb");
  const Handle h = load_c();
  const autorec_model* m = h.get();
  for (std::uint32_t u = 0; u < cpp.info().num_users; ++u) {
    const std::string id = user_id_c(m, u);
    BOOST_REQUIRE(id == cpp.user_id(u));
    std::uint32_t back = 0;
    BOOST_REQUIRE(autorec_model_user_index(m, id.c_str(), &back) == AUTOREC_OK);
    BOOST_REQUIRE(back == u);
  }
  for (std::uint32_t i = 0; i < cpp.info().num_items; ++i) {
    char buffer[32];
    BOOST_REQUIRE(autorec_model_item_id(m, i, buffer, sizeof buffer, nullptr) == AUTOREC_OK);
    std::uint32_t back = 0;
    BOOST_REQUIRE((autorec_model_item_index(m, buffer, &back) == AUTOREC_OK && back == i));
  }
  // An unknown id is a cold start, not an error.
  std::uint32_t index = 0;
  BOOST_TEST(autorec_model_user_index(m, "no-such-user", &index) == AUTOREC_OK);
  BOOST_TEST(index == AUTOREC_NO_INDEX);
  BOOST_TEST(autorec_model_item_index(m, "", &index) == AUTOREC_OK);
  BOOST_TEST(index == AUTOREC_NO_INDEX);
  const std::string item = cpp.item_id(3), user = cpp.user_id(5);
  for (const auto& [uid, iid] : {std::pair{std::string("no-such-user"), item}, std::pair{user, std::string("nope")},
                                 std::pair{std::string("x"), std::string("y")}, std::pair{user, item}}) {
    const Prediction want = cpp.predict(uid, iid);
    float got = -1;
    autorec_source source = AUTOREC_SOURCE_EMPTY_INPUT;
    BOOST_REQUIRE(autorec_model_predict_ids(m, uid.c_str(), iid.c_str(), 1, &got, &source) == AUTOREC_OK);
    BOOST_TEST(got == want.value);
    BOOST_TEST(static_cast<int>(source) == static_cast<int>(want.source));
    BOOST_TEST(((source != AUTOREC_SOURCE_MODEL) == (uid != user || iid != item)), uid << "/" << iid);
  }

  // snprintf semantics: a length query, then a buffer one byte short.
  const std::string id = cpp.user_id(cpp.info().num_users - 1);
  std::size_t length = 0;
  BOOST_TEST(autorec_model_user_id(m, cpp.info().num_users - 1, nullptr, 0, &length) == AUTOREC_OK);
  BOOST_TEST(length == id.size());
  std::string small(id.size(), '#');
  length = 0;
  expect_error(autorec_model_user_id(m, cpp.info().num_users - 1, small.data(), id.size(), &length), AUTOREC_BAD_INPUT,
               "autorec_model_user_id", {"buffer_size = " + std::to_string(id.size()), "needs " + std::to_string(id.size() + 1)});
  BOOST_TEST(length == id.size());
  BOOST_TEST(std::string(small.c_str()) == id.substr(0, id.size() - 1));
  expect_error(autorec_model_user_id(m, 0, nullptr, 8, &length), AUTOREC_BAD_INPUT, "autorec_model_user_id",
               {"buffer is NULL", "buffer_size = 8"});
  expect_error(autorec_model_item_id(m, cpp.info().num_items, small.data(), small.size(), &length), AUTOREC_BAD_INPUT,
               "autorec_model_item_id", {"index = " + std::to_string(cpp.info().num_items), "num_items"});
}

BOOST_AUTO_TEST_CASE(batch_equals_single_column_reconstruction) {
  const Model cpp = Model::load_buffer(trained().file, "model.fb");
  const Handle h = load_c();
  const std::uint32_t length = cpp.column_length();
  // Training columns, an empty column and a made-up one, in the C layout.
  std::vector<autorec_entry> entries;
  std::vector<std::size_t> offsets{0};
  for (std::uint32_t c = 0; c < cpp.num_columns(); c += 7) {
    for (const Entry& e : cpp.observations(c)) entries.push_back({e.index, e.value});
    offsets.push_back(entries.size());
  }
  offsets.push_back(entries.size());
  entries.push_back({0, 5.0f});
  entries.push_back({length - 1, 1.0f});
  offsets.push_back(entries.size());
  const std::size_t n = offsets.size() - 1;
  std::vector<float> batch(n * length, -1.0f);
  BOOST_REQUIRE_MESSAGE(autorec_model_reconstruct_batch(h.get(), entries.data(), offsets.data(), n, batch.data(),
                                                        batch.size(), 1) == AUTOREC_OK, autorec_last_error());
  for (std::size_t c = 0; c < n; ++c) {
    std::vector<float> one(length + 3, -1.0f);  // larger than needed: only length floats are written
    BOOST_REQUIRE(autorec_model_reconstruct(h.get(), entries.data() + offsets[c], offsets[c + 1] - offsets[c],
                                            one.data(), one.size(), 1) == AUTOREC_OK);
    BOOST_TEST(one[length] == -1.0f);
    // The single column is the C++ call exactly; the batch goes through a wider product, so agreement is to
    // float rounding.
    std::vector<Entry> column;
    for (std::size_t k = offsets[c]; k < offsets[c + 1]; ++k) column.push_back({entries[k].index, entries[k].value});
    std::vector<float> want(length);
    cpp.reconstruct(column, want);
    for (std::uint32_t r = 0; r < length; ++r) {
      BOOST_REQUIRE(one[r] == want[r]);
      BOOST_REQUIRE_MESSAGE(std::abs(batch[c * length + r] - one[r]) <= 1e-5f * (1 + std::abs(one[r])), "column " << c << " row " << r);
    }
  }
  // A stored training column, through its cached code.
  std::vector<float> stored(length), want(length);
  BOOST_REQUIRE(autorec_model_reconstruct_column(h.get(), 4, stored.data(), stored.size(), 0) == AUTOREC_OK);
  cpp.reconstruct_column(4, want, false);
  BOOST_TEST(stored == want, boost::test_tools::per_element());
  // No columns at all is a valid, empty batch.
  BOOST_TEST(autorec_model_reconstruct_batch(h.get(), nullptr, offsets.data(), 0, nullptr, 0, 1) == AUTOREC_OK);
}

// C's recommend against C++'s for a sample of users; returns whether any result came from a cold-start rule.
static bool recommend_agrees(const std::vector<std::byte>& file) {
  const Model cpp = Model::load_buffer(file, "model.fb");
  autorec_model* raw = nullptr;
  BOOST_REQUIRE(autorec_model_load_buffer(file.data(), file.size(), "model.fb", nullptr, &raw) == AUTOREC_OK);
  const Handle h(raw, autorec_model_free);
  const std::uint32_t items = cpp.info().num_items;
  bool saw_cold = false;
  for (std::uint32_t u = 0; u < cpp.info().num_users; u += 11) {
    for (const std::size_t k : {std::size_t{1}, std::size_t{5}, std::size_t{items + 10}}) {
      for (const int exclude : {0, 1}) {
        const std::vector<Recommendation> want = cpp.recommend(u, k, exclude != 0);
        std::vector<std::uint32_t> got_items(k, 0);
        std::vector<float> got_ratings(k, 0);
        std::vector<autorec_source> got_sources(k, AUTOREC_SOURCE_MODEL);
        std::size_t count = 12345;
        BOOST_REQUIRE(autorec_model_recommend(h.get(), u, k, exclude, got_items.data(), got_ratings.data(),
                                              got_sources.data(), &count) == AUTOREC_OK);
        BOOST_REQUIRE(count == want.size());
        for (std::size_t r = 0; r < count; ++r) {
          BOOST_REQUIRE(got_items[r] == want[r].item);
          BOOST_REQUIRE(got_ratings[r] == want[r].rating);
          BOOST_REQUIRE(static_cast<int>(got_sources[r]) == static_cast<int>(want[r].source));
          saw_cold |= got_sources[r] != AUTOREC_SOURCE_MODEL;
        }
        // sources is optional.
        BOOST_REQUIRE(autorec_model_recommend(h.get(), u, k, exclude, got_items.data(), got_ratings.data(), nullptr,
                                              &count) == AUTOREC_OK);
        BOOST_REQUIRE(count == want.size());
      }
    }
  }
  return saw_cold;
}

BOOST_AUTO_TEST_CASE(recommend_matches_cpp) {
  recommend_agrees(trained().file);
  // Item 7 without training ratings is scored by the cold-start rule, and the C side must say so.
  train::TrainConfig config;
  config.hidden = 8;
  config.epochs = 1;
  BOOST_TEST(recommend_agrees(test::train_small(config, 120, 80, 0.1, 7).file));
}

BOOST_AUTO_TEST_CASE(recommend_follows_the_ranking_rule_and_recommend_by_rating_the_plain_order) {
  const test::Trained& t = trained();
  train::ModelContents contents{&t.config, &t.data, &t.csc, &t.result};
  contents.ranking = RankingRule{0.4f, 10, 0.2f, 0.1f, 0.15f};
  const std::vector<std::byte> file = train::build_model_file(contents);
  recommend_agrees(file);  // autorec_model_recommend ranks as Model::recommend, by the rule (it requires so)
  const Model cpp = Model::load_buffer(file, "ruled.fb");
  autorec_model* raw = nullptr;
  BOOST_REQUIRE(autorec_model_load_buffer(file.data(), file.size(), "ruled.fb", nullptr, &raw) == AUTOREC_OK);
  const Handle h(raw, autorec_model_free);
  float weight = -1;
  BOOST_TEST(autorec_model_ranking_weight(h.get(), &weight) == AUTOREC_OK);
  BOOST_TEST(weight == 0.4f);
  std::uint32_t items[5];
  float ratings[5];
  std::size_t count = 0;
  std::size_t differ = 0;
  for (std::uint32_t u = 0; u < cpp.info().num_users; u += 7) {
    for (const autorec_rank_by by : {AUTOREC_RANK_BY_RULE, AUTOREC_RANK_BY_RATING}) {
      BOOST_REQUIRE(autorec_model_recommend_by(h.get(), u, 5, 1, by, items, ratings, nullptr, &count) == AUTOREC_OK);
      const auto want = cpp.recommend(u, 5, true, by == AUTOREC_RANK_BY_RATING ? RankBy::Rating : RankBy::Rule);
      BOOST_REQUIRE(count == want.size());
      for (std::size_t r = 0; r < count; ++r) BOOST_REQUIRE(items[r] == want[r].item);
    }
    differ += cpp.recommend(u, 1)[0].item != cpp.recommend(u, 1, true, RankBy::Rating)[0].item;
  }
  BOOST_TEST(differ > 0u);
  expect_error(autorec_model_recommend_by(h.get(), 0, 5, 1, 7, items, ratings, nullptr, &count), AUTOREC_BAD_INPUT,
               "autorec_model_recommend_by", {"rank_by 7"});
}

BOOST_AUTO_TEST_CASE(fold_in_matches_cpp_and_adds_users) {
  const Model cpp = Model::load_buffer(trained().file, "model.fb");
  const Handle h = load_c();
  const std::uint32_t items = cpp.info().num_items;
  // A new user who rated three items.
  const std::vector<autorec_entry> c_ratings = {{0, 5.0f}, {3, 2.0f}, {7, 4.0f}};
  const std::vector<Entry> ratings = {{0, 5.0f}, {3, 2.0f}, {7, 4.0f}};
  std::vector<float> got(items);
  BOOST_REQUIRE_MESSAGE(autorec_model_fold_in_user(h.get(), c_ratings.data(), 3, 0, got.data(), got.size()) == AUTOREC_OK,
                        autorec_last_error());
  const std::vector<float> want = cpp.fold_in_user(ratings);
  BOOST_TEST(got == want, boost::test_tools::per_element());
  std::vector<std::uint32_t> top(5);
  std::vector<float> top_ratings(5);
  std::size_t count = 0;
  BOOST_REQUIRE(autorec_model_recommend_for_ratings(h.get(), c_ratings.data(), 3, 5, 1, 0, top.data(), top_ratings.data(),
                                                    nullptr, &count) == AUTOREC_OK);
  const auto want_top = cpp.recommend_for_ratings(ratings, 5);
  BOOST_REQUIRE(count == want_top.size());
  for (std::size_t i = 0; i < count; ++i) BOOST_TEST(top[i] == want_top[i].item);
  // Kept under a new id: predict by id then answers from the model, as fold_in_user did.
  std::uint32_t index = 0;
  const autorec_status added = autorec_model_add_user(h.get(), "900001", c_ratings.data(), 3, 0, &index);
  BOOST_REQUIRE_MESSAGE(added == AUTOREC_OK, autorec_last_error());
  expect_error(autorec_model_add_user(h.get(), "not-a-number", c_ratings.data(), 3, 0, nullptr), AUTOREC_BAD_INPUT,
               "autorec_model_add_user", {"not-a-number"});
  BOOST_TEST(index == cpp.info().num_users);
  float rating = 0;
  autorec_source source = AUTOREC_SOURCE_GLOBAL_MEAN;
  const std::string item = cpp.item_id(5);
  BOOST_REQUIRE(autorec_model_predict_ids(h.get(), "900001", item.c_str(), 1, &rating, &source) == AUTOREC_OK);
  BOOST_TEST(source == AUTOREC_SOURCE_MODEL);
  BOOST_TEST(rating == want[5], boost::test_tools::tolerance(1e-5f));
  // Misuse: an id that exists, NULL ratings with a count, too small an output, an item beyond the model.
  expect_error(autorec_model_add_user(h.get(), "900001", c_ratings.data(), 3, 0, nullptr), AUTOREC_BAD_INPUT,
               "autorec_model_add_user", {"900001"});
  expect_error(autorec_model_fold_in_user(h.get(), nullptr, 2, 0, got.data(), got.size()), AUTOREC_BAD_INPUT,
               "autorec_model_fold_in_user", {"ratings is NULL but num_ratings = "});
  expect_error(autorec_model_fold_in_user(h.get(), c_ratings.data(), 3, 0, got.data(), 2), AUTOREC_BAD_INPUT,
               "autorec_model_fold_in_user", {"num_items"});
  const autorec_entry beyond{items, 3.0f};
  expect_error(autorec_model_fold_in_user(h.get(), &beyond, 1, 0, got.data(), got.size()), AUTOREC_BAD_INPUT,
               "autorec_model_fold_in_user", {std::to_string(items)});
  expect_error(autorec_model_add_item(nullptr, "x", c_ratings.data(), 3, 0, nullptr), AUTOREC_BAD_INPUT,
               "autorec_model_add_item", {"model"});
}

BOOST_AUTO_TEST_CASE(loading_errors) {
  const std::vector<std::byte>& f = trained().file;
  autorec_model* sentinel = reinterpret_cast<autorec_model*>(&sentinel);  // must be reset to NULL on failure
  autorec_model* m = sentinel;
  expect_error(autorec_model_load_file(nullptr, nullptr, &m), AUTOREC_BAD_INPUT, "autorec_model_load_file", {"path is NULL"});
  BOOST_TEST(m == nullptr);
  m = sentinel;
  expect_error(autorec_model_load_file("/no/such/dir/model.fb", nullptr, &m), AUTOREC_BAD_INPUT,
               "autorec_model_load_file", {"/no/such/dir/model.fb", "cannot open"});
  BOOST_TEST(m == nullptr);
  expect_error(autorec_model_load_file("x.fb", nullptr, nullptr), AUTOREC_BAD_INPUT, "autorec_model_load_file",
               {"model is NULL"});
  expect_error(autorec_model_load_buffer(nullptr, 10, "b", nullptr, &m), AUTOREC_BAD_INPUT, "autorec_model_load_buffer",
               {"data is NULL", "size = 10"});
  m = sentinel;
  expect_error(autorec_model_load_buffer(f.data(), 100, "cut.fb", nullptr, &m), AUTOREC_CORRUPT,
               "autorec_model_load_buffer", {"cut.fb"});
  BOOST_TEST(m == nullptr);

  // Options: a size from no known version, a bad device, a tiny ceiling, and fields of a newer header.
  autorec_load_options o;
  autorec_load_options_init(&o);
  BOOST_TEST(o.struct_size == sizeof o);
  BOOST_TEST(o.max_decompressed_bytes == LoadOptions{}.max_decompressed_bytes);
  o.struct_size = 8;
  expect_error(autorec_model_load_buffer(f.data(), f.size(), "m", &o, &m), AUTOREC_BAD_INPUT,
               "autorec_model_load_buffer", {"options->struct_size = 8"});
  autorec_load_options_init(&o);
  o.device = 7;
  expect_error(autorec_model_load_buffer(f.data(), f.size(), "m", &o, &m), AUTOREC_BAD_INPUT,
               "autorec_model_load_buffer", {"options->device = 7"});
  autorec_load_options_init(&o);
  o.max_decompressed_bytes = 1000;
  expect_error(autorec_model_load_buffer(f.data(), f.size(), "m", &o, &m), AUTOREC_OUT_OF_MEMORY,
               "autorec_model_load_buffer", {"max_decompressed_bytes"});
  struct Newer {
    autorec_load_options v1;
    std::uint64_t future_option;
  } newer{};
  autorec_load_options_init(&newer.v1);
  newer.v1.struct_size = sizeof newer;
  newer.future_option = 1;
  expect_error(autorec_model_load_buffer(f.data(), f.size(), "m", &newer.v1, &m), AUTOREC_UNSUPPORTED,
               "autorec_model_load_buffer", {"byte 24"});
  newer.future_option = 0;  // a newer caller that leaves the new field at its default is served
  BOOST_TEST(load_c(&newer.v1) != nullptr);
  // Zeroed options with only the size are the defaults; an explicit CPU device serves on the CPU.
  autorec_load_options zero{};
  zero.struct_size = sizeof zero;
  zero.device = AUTOREC_DEVICE_CPU;
  zero.threads = 1;
  const Handle cpu = load_c(&zero);
  const char* backend = nullptr;
  BOOST_TEST((autorec_model_backend(cpu.get(), &backend) == AUTOREC_OK && std::string(backend) == "cpu"));
  // CUDA: served on a GPU build with a device, otherwise refused as unsupported, never silently on the CPU.
  autorec_load_options_init(&o);
  o.device = AUTOREC_DEVICE_CUDA;
  m = nullptr;
  const autorec_status s = autorec_model_load_buffer(f.data(), f.size(), "m", &o, &m);
  if (s == AUTOREC_OK) {
    BOOST_TEST((autorec_model_backend(m, &backend) == AUTOREC_OK && std::string(backend) == "cuda"));
  } else {
    expect_error(s, AUTOREC_UNSUPPORTED, "autorec_model_load_buffer", {"cuda"});
  }
  autorec_model_free(m);
  autorec_model_free(nullptr);
}

BOOST_AUTO_TEST_CASE(null_handle_and_null_outputs) {
  const Handle h = load_c();
  const autorec_model* good = h.get();
  float f = 0;
  double d = 0;
  std::uint32_t u = 0;
  const char* s = nullptr;
  autorec_variant v{};
  autorec_activation a{};
  // Each getter with a NULL model, then with a NULL output.
  using Call = std::function<autorec_status(const autorec_model*, bool null_out)>;
  const std::vector<std::tuple<const char*, const char*, Call>> getters = {
      {"autorec_model_variant", "variant", [&](auto* m, bool n) { return autorec_model_variant(m, n ? nullptr : &v); }},
      {"autorec_model_num_users", "num_users", [&](auto* m, bool n) { return autorec_model_num_users(m, n ? nullptr : &u); }},
      {"autorec_model_num_items", "num_items", [&](auto* m, bool n) { return autorec_model_num_items(m, n ? nullptr : &u); }},
      {"autorec_model_num_columns", "num_columns", [&](auto* m, bool n) { return autorec_model_num_columns(m, n ? nullptr : &u); }},
      {"autorec_model_column_length", "column_length", [&](auto* m, bool n) { return autorec_model_column_length(m, n ? nullptr : &u); }},
      {"autorec_model_num_layers", "num_layers", [&](auto* m, bool n) { return autorec_model_num_layers(m, n ? nullptr : &u); }},
      {"autorec_model_layer", "activation", [&](auto* m, bool n) { return autorec_model_layer(m, 0, &u, &u, n ? nullptr : &a); }},
      {"autorec_model_rating_range", "rating_max", [&](auto* m, bool n) { return autorec_model_rating_range(m, &f, n ? nullptr : &f); }},
      {"autorec_model_global_mean", "global_mean", [&](auto* m, bool n) { return autorec_model_global_mean(m, n ? nullptr : &f); }},
      {"autorec_model_weight_dtype", "name", [&](auto* m, bool n) { return autorec_model_weight_dtype(m, n ? nullptr : &s); }},
      {"autorec_model_backend", "name", [&](auto* m, bool n) { return autorec_model_backend(m, n ? nullptr : &s); }},
      {"autorec_model_test_rmse", "test_rmse", [&](auto* m, bool n) { return autorec_model_test_rmse(m, n ? nullptr : &d); }},
      {"autorec_model_schema_version", "schema_version", [&](auto* m, bool n) { return autorec_model_schema_version(m, n ? nullptr : &u); }},
      {"autorec_model_user_index", "index", [&](auto* m, bool n) { return autorec_model_user_index(m, "1", n ? nullptr : &u); }},
      {"autorec_model_item_index", "id", [&](auto* m, bool n) { return autorec_model_item_index(m, n ? nullptr : "1", &u); }},
      {"autorec_model_predict", "rating", [&](auto* m, bool n) { return autorec_model_predict(m, 0, 0, 1, n ? nullptr : &f, nullptr); }},
      {"autorec_model_predict_ids", "item_id", [&](auto* m, bool n) { return autorec_model_predict_ids(m, "1", n ? nullptr : "1", 1, &f, nullptr); }},
      {"autorec_model_reconstruct_column", "out", [&](auto* m, bool n) { return autorec_model_reconstruct_column(m, 0, n ? nullptr : &f, 1, 1); }},
  };
  for (const auto& [function, out_name, call] : getters) {
    expect_error(call(nullptr, false), AUTOREC_BAD_INPUT, function, {"model is NULL"});
    expect_error(call(good, true), AUTOREC_BAD_INPUT, function, {std::string(out_name) + " is NULL"});
  }
  std::uint32_t items[4];
  float ratings[4];
  std::size_t count = 0;
  expect_error(autorec_model_recommend(nullptr, 0, 4, 1, items, ratings, nullptr, &count), AUTOREC_BAD_INPUT,
               "autorec_model_recommend", {"model is NULL"});
  expect_error(autorec_model_recommend(good, 0, 4, 1, nullptr, ratings, nullptr, &count), AUTOREC_BAD_INPUT,
               "autorec_model_recommend", {"items is NULL"});
  expect_error(autorec_model_recommend(good, 0, 4, 1, items, nullptr, nullptr, &count), AUTOREC_BAD_INPUT,
               "autorec_model_recommend", {"ratings is NULL"});
  expect_error(autorec_model_recommend(good, 0, 4, 1, items, ratings, nullptr, nullptr), AUTOREC_BAD_INPUT,
               "autorec_model_recommend", {"count is NULL"});
  expect_error(autorec_model_user_id(nullptr, 0, nullptr, 0, nullptr), AUTOREC_BAD_INPUT, "autorec_model_user_id",
               {"model is NULL"});
  // A successful call clears the message of the failed one before it.
  BOOST_TEST(autorec_model_num_users(good, &u) == AUTOREC_OK);
  BOOST_TEST(std::string(autorec_last_error()).empty());
}

BOOST_AUTO_TEST_CASE(out_of_range_arguments) {
  const Handle h = load_c();
  const autorec_model* m = h.get();
  const Model cpp = Model::load_buffer(trained().file, "model.fb");
  const std::string users = std::to_string(cpp.info().num_users), items = std::to_string(cpp.info().num_items);
  const std::uint32_t length = cpp.column_length();
  float rating = 42.0f;
  expect_error(autorec_model_predict(m, cpp.info().num_users, 0, 1, &rating, nullptr), AUTOREC_BAD_INPUT,
               "autorec_model_predict", {"user = " + users + " is not below num_users = " + users});
  expect_error(autorec_model_predict(m, 0, cpp.info().num_items + 5, 1, &rating, nullptr), AUTOREC_BAD_INPUT,
               "autorec_model_predict", {"item = " + std::to_string(cpp.info().num_items + 5), "num_items = " + items});
  BOOST_TEST(rating == 42.0f);  // outputs are untouched on failure
  std::uint32_t in = 0, out = 0;
  autorec_activation act{};
  expect_error(autorec_model_layer(m, 2, &in, &out, &act), AUTOREC_BAD_INPUT, "autorec_model_layer",
               {"layer = 2 is not below num_layers = 2"});

  std::uint32_t rec_items[3];
  float rec_ratings[3];
  std::size_t count = 0;
  expect_error(autorec_model_recommend(m, 0, 0, 1, rec_items, rec_ratings, nullptr, &count), AUTOREC_BAD_INPUT,
               "autorec_model_recommend", {"k = 0"});
  expect_error(autorec_model_recommend(m, AUTOREC_NO_INDEX, 3, 1, rec_items, rec_ratings, nullptr, &count),
               AUTOREC_BAD_INPUT, "autorec_model_recommend", {"user = 4294967295", "num_users = " + users});

  std::vector<float> col(length);
  const autorec_entry good_entries[] = {{0, 4.0f}, {1, 3.0f}};
  const autorec_entry bad_index[] = {{0, 4.0f}, {length, 3.0f}};
  const autorec_entry bad_value[] = {{0, std::numeric_limits<float>::quiet_NaN()}};
  expect_error(autorec_model_reconstruct(m, nullptr, 2, col.data(), col.size(), 1), AUTOREC_BAD_INPUT,
               "autorec_model_reconstruct", {"entries is NULL but num_entries = 2"});
  expect_error(autorec_model_reconstruct(m, bad_index, 2, col.data(), col.size(), 1), AUTOREC_BAD_INPUT,
               "autorec_model_reconstruct", {"entries[1].index = " + std::to_string(length), "column_length"});
  expect_error(autorec_model_reconstruct(m, bad_value, 1, col.data(), col.size(), 1), AUTOREC_BAD_INPUT,
               "autorec_model_reconstruct", {"entries[0].value", "not finite"});
  expect_error(autorec_model_reconstruct(m, good_entries, 2, col.data(), length - 1, 1), AUTOREC_BAD_INPUT,
               "autorec_model_reconstruct", {"out_size = " + std::to_string(length - 1), "column_length = " + std::to_string(length)});
  expect_error(autorec_model_reconstruct(m, good_entries, 2, nullptr, col.size(), 1), AUTOREC_BAD_INPUT,
               "autorec_model_reconstruct", {"out is NULL"});
  expect_error(autorec_model_reconstruct_column(m, cpp.num_columns(), col.data(), col.size(), 1), AUTOREC_BAD_INPUT,
               "autorec_model_reconstruct_column", {"column = " + std::to_string(cpp.num_columns()), "num_columns"});

  std::vector<float> two(2 * length);
  const std::size_t decreasing[] = {0, 2, 1};
  const std::size_t fine[] = {0, 1, 2};
  expect_error(autorec_model_reconstruct_batch(m, good_entries, nullptr, 2, two.data(), two.size(), 1), AUTOREC_BAD_INPUT,
               "autorec_model_reconstruct_batch", {"offsets is NULL"});
  expect_error(autorec_model_reconstruct_batch(m, good_entries, decreasing, 2, two.data(), two.size(), 1),
               AUTOREC_BAD_INPUT, "autorec_model_reconstruct_batch", {"offsets[2] = 1 is less than offsets[1] = 2"});
  expect_error(autorec_model_reconstruct_batch(m, good_entries, fine, 2, two.data(), length, 1), AUTOREC_BAD_INPUT,
               "autorec_model_reconstruct_batch", {"out_size = " + std::to_string(length), "num_columns * column_length"});
  expect_error(autorec_model_reconstruct_batch(m, bad_index, fine, 2, two.data(), two.size(), 1), AUTOREC_BAD_INPUT,
               "autorec_model_reconstruct_batch", {"entries[1] (column 1).index"});
}

// Misuse found by trying the library as a host would (issue 16): each is refused as bad input, with the
// parameter's own name and bound, before anything is allocated or read.
BOOST_AUTO_TEST_CASE(misuse_is_refused_with_the_parameters_names) {
  const Handle h = load_c();
  autorec_model* m = h.get();
  const Model cpp = Model::load_buffer(trained().file, "model.fb");
  const std::uint32_t users = cpp.info().num_users, items = cpp.info().num_items, length = cpp.column_length();
  std::vector<float> out(std::max(users, items));
  const autorec_entry three[] = {{0, 5.0f}, {1, 3.0f}, {2, 1.0f}};
  // A lambda too small for the ridge system is the caller's, not the library's fault.
  expect_error(autorec_model_fold_in_user(m, three, 3, 1e-30f, out.data(), out.size()), AUTOREC_BAD_INPUT,
               "autorec_model_fold_in_user", {"lambda 1e-30 is below the smallest accepted, 0.0001"});
  std::uint32_t index = 0;
  expect_error(autorec_model_add_user(m, "7000", three, 3, 1e-20f, &index), AUTOREC_BAD_INPUT,
               "autorec_model_add_user", {"is below the smallest accepted"});
  BOOST_TEST(autorec_model_fold_in_user(m, three, 3, kMinFoldInLambda, out.data(), out.size()) == AUTOREC_OK);
  // Messages name the parameter (ratings, num_ratings) and its real bound (num_items for a new user).
  const autorec_entry past_items[] = {{items, 3.0f}};
  expect_error(autorec_model_fold_in_user(m, past_items, 1, 0, out.data(), out.size()), AUTOREC_BAD_INPUT,
               "autorec_model_fold_in_user",
               {"ratings[0].index = " + std::to_string(items) + " is not below num_items = " + std::to_string(items)});
  const autorec_entry past_users[] = {{users, 3.0f}};
  expect_error(autorec_model_fold_in_item(m, past_users, 1, 0, out.data(), out.size()), AUTOREC_BAD_INPUT,
               "autorec_model_fold_in_item", {"ratings[0].index = " + std::to_string(users) + " is not below num_users"});
  expect_error(autorec_model_add_user(m, "7001", nullptr, 1, 0, &index), AUTOREC_BAD_INPUT, "autorec_model_add_user",
               {"ratings is NULL but num_ratings = 1"});
  // An impossible count is refused before any allocation or read (the pointer is not dereferenced).
  expect_error(autorec_model_reconstruct(m, three, SIZE_MAX, out.data(), out.size(), 1), AUTOREC_BAD_INPUT,
               "autorec_model_reconstruct",
               {"num_entries = " + std::to_string(SIZE_MAX) + " is more than column_length = " + std::to_string(length)});
  expect_error(autorec_model_fold_in_user(m, three, SIZE_MAX, 0, out.data(), out.size()), AUTOREC_BAD_INPUT,
               "autorec_model_fold_in_user", {"num_ratings = " + std::to_string(SIZE_MAX) + " is more than num_items"});
  const std::size_t huge[] = {0, SIZE_MAX};
  expect_error(autorec_model_reconstruct_batch(m, three, huge, 1, out.data(), out.size(), 1), AUTOREC_BAD_INPUT,
               "autorec_model_reconstruct_batch", {"column 0 has " + std::to_string(SIZE_MAX) + " entries"});
  // Each row at most once, in reconstruct as in fold-in.
  const autorec_entry twice[] = {{3, 4.0f}, {3, 4.0f}};
  expect_error(autorec_model_reconstruct(m, twice, 2, out.data(), length, 1), AUTOREC_BAD_INPUT,
               "autorec_model_reconstruct", {"row index 3 appears twice"});
  const std::size_t one[] = {0, 2};
  expect_error(autorec_model_reconstruct_batch(m, twice, one, 1, out.data(), length, 1), AUTOREC_BAD_INPUT,
               "autorec_model_reconstruct_batch", {"row index 3 appears twice"});
}

// An integer id has one spelling, as training keeps it: "01", "+1" and " 1" are ids the model does not have.
BOOST_AUTO_TEST_CASE(integer_ids_match_only_their_own_spelling) {
  const Handle h = load_c();
  autorec_model* m = h.get();
  std::uint32_t index = 0;
  BOOST_REQUIRE(autorec_model_user_index(m, "1", &index) == AUTOREC_OK);
  BOOST_REQUIRE(index != AUTOREC_NO_INDEX);
  for (const char* other : {"01", "+1", " 1", "1 ", "-0", "0x1"}) {
    BOOST_TEST_CONTEXT(other) {
      BOOST_TEST(autorec_model_user_index(m, other, &index) == AUTOREC_OK);
      BOOST_TEST(index == AUTOREC_NO_INDEX);
    }
  }
  float rating = 0;
  autorec_source known{}, other{};
  BOOST_REQUIRE(autorec_model_predict_ids(m, "1", "1", 1, &rating, &known) == AUTOREC_OK);
  BOOST_REQUIRE(autorec_model_predict_ids(m, "01", "1", 1, &rating, &other) == AUTOREC_OK);
  BOOST_TEST(known == AUTOREC_SOURCE_MODEL);
  BOOST_TEST(other != AUTOREC_SOURCE_MODEL);  // the cold-start answer of an unseen user
  const autorec_entry three[] = {{0, 5.0f}, {1, 3.0f}, {2, 1.0f}};
  for (const char* id : {"+5000", "05000", "01"})
    expect_error(autorec_model_add_user(m, id, three, 3, 0, &index), AUTOREC_BAD_INPUT, "autorec_model_add_user",
                 {"user id '" + std::string(id) + "' is not an integer in canonical decimal (no '+', no leading zeros or spaces)"});
  BOOST_TEST(autorec_model_add_user(m, "5000", three, 3, 0, &index) == AUTOREC_OK);
  BOOST_TEST(user_id_c(m, index) == "5000");
}

BOOST_AUTO_TEST_CASE(last_error_is_per_thread) {
  autorec_model* m = nullptr;
  expect_error(autorec_model_load_file(nullptr, nullptr, &m), AUTOREC_BAD_INPUT, "autorec_model_load_file", {"path"});
  std::string other;
  std::thread([&] {
    other = autorec_last_error();  // nothing failed on this thread yet
    autorec_model_load_buffer(nullptr, 1, nullptr, nullptr, &m);
  }).join();
  BOOST_TEST(other.empty());
  BOOST_TEST(std::string(autorec_last_error()).find("path is NULL") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
