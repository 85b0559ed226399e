// Concurrent inference (issue 7): many threads serve one shared model, through the C++ and the C API, while
// others load, use and free models of their own, and every answer must equal the one computed on a single
// thread beforehand. The normal build runs it as CTest `concurrency.inference`; scripts/tsan runs it under
// ThreadSanitizer, which is what finds a data race that happens not to change an answer.
//
// Boost.Test assertions are not thread-safe, so worker threads record failures in a Failures list and the
// test's own thread asserts on it once they have joined. Nothing here asserts a duration: workers run for
// kRunFor, but every one also completes kMinRounds rounds, however slow the machine (TSan is 5-15x slower).
#define BOOST_TEST_MODULE concurrency
#include <boost/test/included/unit_test.hpp>

#include <atomic>
#include <barrier>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "autorec/autorec.h"
#include "autorec/error.hpp"
#include "autorec/model.hpp"
#include "../unit/helpers.hpp"

using namespace autorec;

namespace {

constexpr auto kRunFor = std::chrono::milliseconds(1500);
constexpr int kMinRounds = 2;
constexpr int kErrorRounds = 300;  // rounds of the thread-local last-error check (cheap calls, no deadline)
constexpr std::size_t kTopK = 10;

// A small item-based model (120 users, 80 items, hidden 12), trained in memory once.
const std::vector<std::byte>& model_file() {
  static const std::vector<std::byte> file = [] {
    train::TrainConfig config;
    config.hidden = 12;
    config.epochs = 2;
    config.batch_size = 16;
    // One thread: the trainer's parallel loops are OpenMP, and the OpenMP runtimes are not built with TSan,
    // so their team synchronisation is invisible to it and reads as races (false positives). Training is not
    // what this test is about; serving is, and the inference library uses std::thread only.
    config.threads = 1;
    return test::train_small(config).file;
  }();
  return file;
}

LoadOptions load_options() {
  LoadOptions o;
  o.device = Device::Cpu;
  // Several threads, so that reconstruct_batch runs its own thread pool inside the callers' threads.
  o.threads = 4;
  return o;
}

autorec_load_options c_load_options() {
  autorec_load_options o;
  autorec_load_options_init(&o);
  o.device = AUTOREC_DEVICE_CPU;
  o.threads = 4;
  return o;
}

bool same(const Prediction& a, const Prediction& b) { return a.value == b.value && a.source == b.source; }
bool same(const Recommendation& a, const Recommendation& b) {
  return a.item == b.item && a.rating == b.rating && a.source == b.source;
}

// Sparse input columns that are not training columns: every third user of each stored column, plus an empty
// one (the cold-start reconstruction).
std::vector<std::vector<Entry>> probe_columns(const Model& m) {
  std::vector<std::vector<Entry>> out(1);
  for (std::uint32_t c = 0; c < m.num_columns(); ++c) {
    std::vector<Entry>& column = out.emplace_back();
    const std::vector<Entry> stored = m.observations(c);
    for (std::size_t k = 0; k < stored.size(); k += 3) column.push_back(stored[k]);
  }
  return out;
}

// Ratings of new users for fold-in: every fifth item from a few starting items, rated 1 to 5 by item index.
std::vector<std::vector<Entry>> new_users(const Model& m) {
  std::vector<std::vector<Entry>> out;
  for (std::uint32_t c = 0; c < m.num_columns() && out.size() < 4; c += 7) {
    std::vector<Entry> ratings;
    for (std::uint32_t i = c; i < m.num_columns(); i += 5) ratings.push_back({i, 1.0f + static_cast<float>(i % 5)});
    out.push_back(ratings);
  }
  return out;
}

// Every answer a worker checks, computed by one thread per model.
struct Answers {
  std::vector<float> columns;             // reconstruct_column of every column, row-major
  std::vector<float> probes;              // reconstruct of each probe column, one at a time
  std::vector<float> batch;               // reconstruct_batch of all probes at once
  std::vector<UserItem> pairs;            // every (user, item), plus unknown ids on either side
  std::vector<Prediction> predictions;    // predict of each pair
  std::vector<std::vector<Recommendation>> top;  // recommend(u, kTopK) of every user
  std::vector<std::vector<float>> fold_in;       // fold_in_user of each new user
  std::vector<std::vector<Recommendation>> fold_in_top;  // recommend_for_ratings of each new user
};

std::vector<UserItem> all_pairs(const Model& m) {
  std::vector<UserItem> pairs;
  for (std::uint32_t u = 0; u < m.info().num_users; ++u)
    for (std::uint32_t i = 0; i < m.info().num_items; ++i) pairs.push_back({u, i});
  pairs.push_back({std::nullopt, 0});
  pairs.push_back({0, std::nullopt});
  pairs.push_back({std::nullopt, std::nullopt});
  return pairs;
}

std::vector<float> reconstruct_probes(const Model& m, const std::vector<std::vector<Entry>>& probes) {
  std::vector<float> out(probes.size() * m.column_length());
  for (std::size_t p = 0; p < probes.size(); ++p)
    m.reconstruct(probes[p], std::span(out).subspan(p * m.column_length(), m.column_length()));
  return out;
}

std::vector<float> reconstruct_probe_batch(const Model& m, const std::vector<std::vector<Entry>>& probes) {
  const std::vector<std::span<const Entry>> spans(probes.begin(), probes.end());
  std::vector<float> out(probes.size() * m.column_length());
  m.reconstruct_batch(spans, out);
  return out;
}

Answers reference(const Model& m) {
  Answers a;
  a.columns.resize(std::size_t{m.num_columns()} * m.column_length());
  for (std::uint32_t c = 0; c < m.num_columns(); ++c)
    m.reconstruct_column(c, std::span(a.columns).subspan(std::size_t{c} * m.column_length(), m.column_length()));
  const auto probes = probe_columns(m);
  a.probes = reconstruct_probes(m, probes);
  a.batch = reconstruct_probe_batch(m, probes);
  a.pairs = all_pairs(m);
  for (const UserItem& p : a.pairs) a.predictions.push_back(m.predict(p.user, p.item));
  for (std::uint32_t u = 0; u < m.info().num_users; ++u) a.top.push_back(m.recommend(u, kTopK));
  for (const auto& ratings : new_users(m)) {
    a.fold_in.push_back(m.fold_in_user(ratings));
    a.fold_in_top.push_back(m.recommend_for_ratings(ratings, kTopK));
  }
  return a;
}

// Failures seen by worker threads, asserted by the test's thread after they joined.
class Failures {
 public:
  void expect(bool ok, const char* what, std::size_t index = 0) {
    if (ok) return;
    const std::lock_guard<std::mutex> lock(mutex_);
    if (list_.size() < 20) list_.push_back(std::string(what) + " [" + std::to_string(index) + "]");
    ++count_;
  }
  void error(const std::string& what) {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (list_.size() < 20) list_.push_back(what);
    ++count_;
  }
  void report() {
    const std::lock_guard<std::mutex> lock(mutex_);
    for (const std::string& f : list_) BOOST_ERROR("in a worker thread: " << f);
    BOOST_TEST(count_ == 0u, count_ << " failed checks in worker threads (the first 20 are listed)");
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> list_;
  std::size_t count_ = 0;
};

template <class T, class Same>
void expect_all(Failures& f, const std::vector<T>& got, const std::vector<T>& want, const char* what, Same same_fn) {
  f.expect(got.size() == want.size(), what, got.size());
  for (std::size_t i = 0; i < std::min(got.size(), want.size()); ++i) f.expect(same_fn(got[i], want[i]), what, i);
}

void expect_floats(Failures& f, const std::vector<float>& got, const std::vector<float>& want, const char* what) {
  expect_all(f, got, want, what, [](float a, float b) { return a == b; });
}

void expect_tops(Failures& f, const std::vector<Recommendation>& got, const std::vector<Recommendation>& want,
                 const char* what) {
  expect_all(f, got, want, what, [](const Recommendation& a, const Recommendation& b) { return same(a, b); });
}

// The serving calls, each checked against the reference. `slice` shifts where a thread starts, so that the
// threads doing the same kind of work do not walk the model in step.
void check_predictions(const Model& m, const Answers& want, Failures& f, std::size_t slice) {
  for (std::size_t k = 0; k < want.pairs.size(); ++k) {
    const std::size_t i = (k + slice * 997) % want.pairs.size();
    f.expect(same(m.predict(want.pairs[i].user, want.pairs[i].item), want.predictions[i]), "predict", i);
  }
  std::vector<Prediction> batch(want.pairs.size());
  m.predict_batch(want.pairs, batch);
  expect_all(f, batch, want.predictions, "predict_batch", [](const Prediction& a, const Prediction& b) { return same(a, b); });
  // By external id: the same answers as by index.
  for (std::uint32_t u = static_cast<std::uint32_t>(slice % 3); u < m.info().num_users; u += 3) {
    const std::size_t i = std::size_t{u} * m.info().num_items + u % m.info().num_items;
    f.expect(same(m.predict(m.user_id(u), m.item_id(u % m.info().num_items)), want.predictions[i]), "predict by id", i);
  }
}

void check_reconstruction(const Model& m, const Answers& want, Failures& f) {
  std::vector<float> columns(want.columns.size());
  for (std::uint32_t c = 0; c < m.num_columns(); ++c)
    m.reconstruct_column(c, std::span(columns).subspan(std::size_t{c} * m.column_length(), m.column_length()));
  expect_floats(f, columns, want.columns, "reconstruct_column");
  const auto probes = probe_columns(m);
  expect_floats(f, reconstruct_probes(m, probes), want.probes, "reconstruct");
  expect_floats(f, reconstruct_probe_batch(m, probes), want.batch, "reconstruct_batch");
}

void check_ranking(const Model& m, const Answers& want, Failures& f) {
  for (std::uint32_t u = 0; u < m.info().num_users; ++u) expect_tops(f, m.recommend(u, kTopK), want.top[u], "recommend");
  const auto users = new_users(m);
  for (std::size_t n = 0; n < users.size(); ++n) {
    expect_floats(f, m.fold_in_user(users[n]), want.fold_in[n], "fold_in_user");
    expect_tops(f, m.recommend_for_ratings(users[n], kTopK), want.fold_in_top[n], "recommend_for_ratings");
  }
}

// The same checks through the C API on a handle.
void check_c_api(const autorec_model* m, const Answers& want, Failures& f) {
  std::uint32_t users = 0, columns = 0, length = 0;
  f.expect(autorec_model_num_users(m, &users) == AUTOREC_OK && users == want.top.size(), "autorec_model_num_users", users);
  f.expect(autorec_model_num_columns(m, &columns) == AUTOREC_OK && autorec_model_column_length(m, &length) == AUTOREC_OK &&
               std::size_t{columns} * length == want.columns.size(),
           "autorec_model_num_columns and column_length", columns);
  for (std::size_t i = 0; i < want.pairs.size(); ++i) {
    const UserItem& p = want.pairs[i];
    float rating = 0;
    autorec_source source = AUTOREC_SOURCE_MODEL;
    const autorec_status s = autorec_model_predict(m, p.user.value_or(AUTOREC_NO_INDEX), p.item.value_or(AUTOREC_NO_INDEX),
                                                   1, &rating, &source);
    f.expect(s == AUTOREC_OK && rating == want.predictions[i].value &&
                 static_cast<int>(source) == static_cast<int>(want.predictions[i].source),
             "autorec_model_predict", i);
  }
  std::vector<float> column(length);
  for (std::uint32_t c = 0; c < columns; ++c) {
    const autorec_status s = autorec_model_reconstruct_column(m, c, column.data(), column.size(), 1);
    f.expect(s == AUTOREC_OK && std::equal(column.begin(), column.end(), want.columns.begin() + std::ptrdiff_t{c} * length),
             "autorec_model_reconstruct_column", c);
  }
  std::vector<std::uint32_t> top(kTopK);
  std::vector<float> ratings(kTopK);
  for (std::uint32_t u = 0; u < std::min<std::size_t>(users, want.top.size()); ++u) {
    std::size_t count = 0;
    const autorec_status s = autorec_model_recommend(m, u, kTopK, 1, top.data(), ratings.data(), nullptr, &count);
    bool ok = s == AUTOREC_OK && count == want.top[u].size();
    for (std::size_t k = 0; ok && k < count; ++k) ok = top[k] == want.top[u][k].item && ratings[k] == want.top[u][k].rating;
    f.expect(ok, "autorec_model_recommend", u);
  }
}

// Runs body until the test's thread sets stop (after kRunFor), and at least kMinRounds times; reports what
// escapes it.
void run_worker(const char* name, const std::atomic<bool>& stop, Failures& f, std::atomic<int>& done,
                const std::function<void()>& body) {
  int rounds = 0;
  try {
    while (rounds < kMinRounds || !stop.load(std::memory_order_relaxed)) {
      body();
      ++rounds;
    }
    done.fetch_add(1);
  } catch (const std::exception& e) {
    f.error(std::string(name) + " threw: " + e.what());
  }
}

// The model file on disk for load_file, removed at exit.
struct TempModelFile {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("autorec-concurrency-" + std::to_string(::getpid()) + ".fb");
  TempModelFile() {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(model_file().data()), static_cast<std::streamsize>(model_file().size()));
  }
  ~TempModelFile() { std::filesystem::remove(path); }
};

}  // namespace

BOOST_AUTO_TEST_CASE(shared_models_answer_as_on_one_thread_while_others_load_and_free) {
  const TempModelFile file;
  // The reference comes from its own Model: the shared one is fresh, so its lazily computed state (the
  // fold-in row covariance) is first built while several threads ask for it at once.
  const Model reference_model = Model::load_buffer(model_file(), "model.fb", load_options());
  const Answers want = reference(reference_model);
  const Model shared = Model::load_buffer(model_file(), "model.fb", load_options());
  BOOST_REQUIRE(shared.info().variant == Variant::ItemBased);
  BOOST_REQUIRE(want.top.size() == shared.info().num_users && !want.fold_in.empty());

  autorec_model* c_shared = nullptr;
  const autorec_load_options c_options = c_load_options();
  BOOST_REQUIRE_MESSAGE(autorec_model_load_buffer(model_file().data(), model_file().size(), "model.fb", &c_options,
                                                  &c_shared) == AUTOREC_OK, autorec_last_error());
  const std::unique_ptr<autorec_model, decltype(&autorec_model_free)> c_shared_owner(c_shared, autorec_model_free);

  Failures failures;
  std::atomic<bool> stop{false};
  std::atomic<int> done{0};
  std::vector<std::pair<const char*, std::function<void()>>> workers = {
      {"predict 0", [&] { check_predictions(shared, want, failures, 0); }},
      {"predict 1", [&] { check_predictions(shared, want, failures, 1); }},
      {"reconstruct 0", [&] { check_reconstruction(shared, want, failures); }},
      {"reconstruct 1", [&] { check_reconstruction(shared, want, failures); }},
      {"ranking 0", [&] { check_ranking(shared, want, failures); }},
      {"ranking 1", [&] { check_ranking(shared, want, failures); }},
      {"c api shared", [&] { check_c_api(c_shared, want, failures); }},
      // Loaders: a model of their own from the buffer or the file, used, then destroyed, over and over.
      {"load buffer",
       [&] {
         const Model own = Model::load_buffer(model_file(), "model.fb", load_options());
         check_reconstruction(own, want, failures);
         check_ranking(own, want, failures);
       }},
      {"load file",
       [&] {
         const Model own = Model::load_file(file.path.string(), load_options());
         check_predictions(own, want, failures, 2);
       }},
      // Every other round from the file (kMinRounds = 2 makes sure both ways run).
      {"c api load",
       [&, round = 0]() mutable {
         autorec_model* own = nullptr;
         const autorec_status s = ++round % 2 == 0
             ? autorec_model_load_file(file.path.c_str(), &c_options, &own)
             : autorec_model_load_buffer(model_file().data(), model_file().size(), "model.fb", &c_options, &own);
         failures.expect(s == AUTOREC_OK && own != nullptr, "autorec_model_load", static_cast<std::size_t>(-s));
         if (own) check_c_api(own, want, failures);
         autorec_model_free(own);
       }},
  };
  std::vector<std::jthread> threads;
  for (auto& [name, body] : workers)
    threads.emplace_back([&, name = name, body = body] { run_worker(name, stop, failures, done, body); });
  std::this_thread::sleep_for(kRunFor);
  stop = true;
  threads.clear();  // joins
  failures.report();
  BOOST_TEST(done.load() == static_cast<int>(workers.size()));
}

// autorec_last_error is per thread: two threads fail different calls, meet, and each must still read its own
// message; a success on one thread clears its message and leaves the other's alone.
BOOST_AUTO_TEST_CASE(last_error_is_per_thread) {
  autorec_model* m = nullptr;
  BOOST_REQUIRE(autorec_model_load_buffer(model_file().data(), model_file().size(), "model.fb", nullptr, &m) == AUTOREC_OK);
  const std::unique_ptr<autorec_model, decltype(&autorec_model_free)> owner(m, autorec_model_free);
  std::uint32_t users = 0, columns = 0;
  BOOST_REQUIRE(autorec_model_num_users(m, &users) == AUTOREC_OK);
  BOOST_REQUIRE(autorec_model_num_columns(m, &columns) == AUTOREC_OK);
  const std::string predict_error = "autorec_model_predict: user = " + std::to_string(users) + " is not below num_users";
  const std::string column_error =
      "autorec_model_reconstruct_column: column = " + std::to_string(columns + 5) + " is not below num_columns";

  Failures failures;
  std::barrier meet(2);
  auto starts_with = [](const char* message, const std::string& prefix) { return std::string(message).rfind(prefix, 0) == 0; };
  std::jthread predictor([&] {
    for (int r = 0; r < kErrorRounds; ++r) {
      float rating = 0;
      failures.expect(autorec_model_predict(m, users, 0, 1, &rating, nullptr) == AUTOREC_BAD_INPUT, "predict status", r);
      meet.arrive_and_wait();  // both threads have failed their call
      failures.expect(starts_with(autorec_last_error(), predict_error), "predict message", r);
      failures.expect(autorec_model_predict(m, 0, 0, 1, &rating, nullptr) == AUTOREC_OK, "predict ok", r);
      failures.expect(*autorec_last_error() == '\0', "cleared by success", r);
      meet.arrive_and_wait();  // this thread's success is done
    }
  });
  std::jthread reconstructor([&] {
    std::vector<float> out(1);
    for (int r = 0; r < kErrorRounds; ++r) {
      failures.expect(autorec_model_reconstruct_column(m, columns + 5, out.data(), out.size(), 1) == AUTOREC_BAD_INPUT,
                      "reconstruct status", r);
      meet.arrive_and_wait();
      failures.expect(starts_with(autorec_last_error(), column_error), "reconstruct message", r);
      meet.arrive_and_wait();
      failures.expect(starts_with(autorec_last_error(), column_error), "reconstruct message after the other's success", r);
    }
  });
  predictor.join();
  reconstructor.join();
  failures.report();
}
