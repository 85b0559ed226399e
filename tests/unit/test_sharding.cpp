// Row sharding (issue 20): shard_rows' ranges, a shard's ratings and weights, and the sharded CPU trainer
// run by P threads standing in for P processes (ThreadGroup, a Collective that sums in rank order as an
// all-reduce does), against the same training in one process. mpirun runs the real thing in
// tests/dist/mpi_test.sh.
#include <barrier>
#include <boost/test/unit_test.hpp>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "autorec/model.hpp"
#include "autorec/container.hpp"
#include "autorec/train/checkpoint.hpp"
#include "autorec/train/pipeline.hpp"
#include "autorec/train/sharding.hpp"
#include "helpers.hpp"

namespace at = autorec::train;

namespace {

// P members that meet at a barrier for every sum and gather; each contribution is kept by rank, and every
// member adds them up in rank order, so all end with the same bits.
class ThreadGroup {
 public:
  explicit ThreadGroup(int n) : barrier_(n), slots_(static_cast<std::size_t>(n)) {}

  class Member final : public at::Collective {
   public:
    Member(ThreadGroup& g, int rank) : g_(g), rank_(rank) {}
    int rank() const override { return rank_; }
    int size() const override { return static_cast<int>(g_.slots_.size()); }
    const char* transport() const override { return "threads"; }
    void sum(std::span<float> d) override { sum_as<float>(d); }
    void sum(std::span<double> d) override { sum_as<double>(d); }
    void gather(std::span<const float> local, std::span<const std::size_t> counts, std::span<float> out) override {
      // (No Boost.Test assertions on these threads: it is not thread-safe.)
      if (local.size() != counts[static_cast<std::size_t>(rank_)]) throw std::logic_error("gather: count");
      slot().assign(local.begin(), local.end());
      g_.barrier_.arrive_and_wait();
      std::size_t at = 0;
      if (rank_ == 0)
        for (const auto& s : g_.slots_)
          for (const double v : s) out[at++] = static_cast<float>(v);
      if (at != out.size()) throw std::logic_error("gather: total");
      g_.barrier_.arrive_and_wait();
      sent_ += local.size() * sizeof(float);
    }
    std::uint64_t bytes_sent() const override { return sent_; }
    double seconds() const override { return 0; }

   private:
    std::vector<double>& slot() { return g_.slots_[static_cast<std::size_t>(rank_)]; }
    template <class T>
    void sum_as(std::span<T> d) {
      slot().assign(d.begin(), d.end());
      g_.barrier_.arrive_and_wait();
      for (std::size_t i = 0; i < d.size(); ++i) {
        T acc = 0;
        for (const auto& s : g_.slots_) acc += static_cast<T>(s[i]);
        d[i] = acc;
      }
      g_.barrier_.arrive_and_wait();
      sent_ += d.size() * sizeof(T);
    }
    ThreadGroup& g_;
    int rank_;
    std::uint64_t sent_ = 0;
  };

 private:
  std::barrier<> barrier_;
  std::vector<std::vector<double>> slots_;
};

struct Problem {
  at::Csc fit;
  std::vector<at::Cell> val;
};

Problem problem(autorec::Variant variant) {
  const autorec::data::Dataset d = autorec::test::synth_dataset(90, 60, 0.2, 11);
  std::vector<autorec::data::Rating> fit, val;
  autorec::data::split(d, 3, 0.1, fit, val);
  Problem p;
  const auto nu = static_cast<std::uint32_t>(d.users.size()), ni = static_cast<std::uint32_t>(d.items.size());
  p.fit = at::make_csc(fit, nu, ni, variant);
  for (const at::Cell& c : [&] {
         std::vector<at::Cell> cells;
         const at::Csc v = at::make_csc(val, nu, ni, variant);
         for (std::uint32_t col = 0; col < v.num_cols(); ++col)
           for (std::uint32_t k = v.start[col]; k < v.start[col + 1]; ++k) cells.push_back({v.row[k], col, v.value[k]});
         return cells;
       }())
    p.val.push_back(c);
  return p;
}

// train() on P threads as the P processes of a run, with `checkpoint` (each writes its part); returns
// each rank's result, and its error message in `errors` ("" when none).
std::vector<at::TrainResult> train_on(int P, const at::TrainConfig& config, const Problem& p,
                                      const std::function<void(const at::EpochStats&)>& on_epoch,
                                      const at::CheckpointOptions& checkpoint, std::vector<std::string>& errors) {
  ThreadGroup group(P);
  std::vector<at::TrainResult> results(static_cast<std::size_t>(P));
  errors.assign(static_cast<std::size_t>(P), "");
  std::vector<std::thread> threads;
  for (int r = 0; r < P; ++r)
    threads.emplace_back([&, r] {
      at::CheckpointOptions ck = checkpoint;
      try {
        results[static_cast<std::size_t>(r)] =
            at::train(config, p.fit, p.val, 1, 5, on_epoch, ck, at::make_cpu_trainer(std::make_shared<ThreadGroup::Member>(group, r)));
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(r)] = e.what();
      }
    });
  for (std::thread& t : threads) t.join();
  return results;
}

// Trains on P threads; returns rank 0's result, after checking that every rank ran the same epochs and that
// only rank 0 holds the weights.
at::TrainResult train_on(int P, const at::TrainConfig& config, const Problem& p, const at::CheckpointOptions& ck = {}) {
  std::vector<std::string> errors;
  const std::vector<at::TrainResult> results = train_on(P, config, p, nullptr, ck, errors);
  for (int r = 0; r < P; ++r) {
    BOOST_REQUIRE_MESSAGE(errors[static_cast<std::size_t>(r)].empty(), "rank " << r << ": " << errors[static_cast<std::size_t>(r)]);
    if (r) BOOST_REQUIRE(results[static_cast<std::size_t>(r)].weights.V.empty());  // gathered on rank 0 only
    if (r) BOOST_REQUIRE(results[static_cast<std::size_t>(r)].weights.rows == 0u);
    BOOST_REQUIRE(results[static_cast<std::size_t>(r)].history.size() == results[0].history.size());
  }
  return results[0];
}

// A small network on one thread of the CPU (the "processes" are the threads of train_on).
at::TrainConfig small(std::uint32_t hidden, std::uint32_t epochs, float dropout) {
  at::TrainConfig c;
  c.hidden = hidden;
  c.epochs = epochs;
  c.batch_size = 16;
  c.dropout = dropout;
  c.threads = 1;
  c.device = autorec::Device::Cpu;
  return c;
}

double max_relative(const std::vector<float>& a, const std::vector<float>& b) {
  BOOST_REQUIRE(a.size() == b.size());
  double scale = 0, diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) scale = std::max(scale, double(std::fabs(a[i])));
  for (std::size_t i = 0; i < a.size(); ++i) diff = std::max(diff, double(std::fabs(a[i] - b[i])));
  return diff / scale;
}

// The checkpoint a run on 2 "processes" leaves when both are interrupted in epoch `stop` (at a temporary
// path named after `name`), as options that resume from it without writing (so that several continuations
// start from the same file).
at::CheckpointOptions interrupted_checkpoint(const std::string& name, const at::TrainConfig& c, const Problem& p,
                                             std::uint32_t stop) {
  at::CheckpointOptions ck;
  ck.path = autorec::test::temp_path(name);
  std::filesystem::remove(ck.path);
  std::vector<std::string> errors;
  train_on(2, c, p, [stop](const at::EpochStats& s) { if (s.epoch == stop) throw std::runtime_error("interrupted"); },
           ck, errors);
  BOOST_TEST(errors == std::vector<std::string>({"interrupted", "interrupted"}), boost::test_tools::per_element());
  BOOST_REQUIRE(std::filesystem::exists(ck.path));
  ck.resume = true;
  ck.write = false;
  return ck;
}

// The checkpoint files at `path`: the manifest and the parts beside it.
std::vector<std::string> checkpoint_files(const std::string& path) {
  std::vector<std::string> names;
  const std::filesystem::path p(path);
  for (const auto& e : std::filesystem::directory_iterator(p.parent_path())) {
    const std::string name = e.path().filename().string();
    if (name.rfind(p.filename().string(), 0) == 0) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

void remove_checkpoint(const std::string& path) {
  for (const std::string& name : checkpoint_files(path))
    std::filesystem::remove(std::filesystem::path(path).parent_path() / name);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sharding)

BOOST_AUTO_TEST_CASE(shards_cover_every_row_once_balanced_by_cost) {
  const Problem p = problem(autorec::Variant::ItemBased);
  for (const int P : {1, 2, 3, 7}) {
    const std::vector<at::RowRange> s = at::shard_rows(p.fit, P, 16);
    BOOST_REQUIRE(s.size() == std::size_t(P));
    BOOST_TEST(s.front().begin == 0u);
    BOOST_TEST(s.back().end == p.fit.num_rows);
    std::size_t ratings = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      BOOST_TEST(s[i].rows() > 0u);
      if (i) BOOST_TEST(s[i].begin == s[i - 1].end);
      ratings += s[i].ratings;
    }
    BOOST_TEST(ratings == p.fit.nnz());
    // Balanced: no shard holds more than its share of the ratings by more than a few rows' worth.
    for (const at::RowRange& r : s) BOOST_TEST(double(r.ratings) < double(p.fit.nnz()) / P + 3 * 0.2 * 60 + 20);
  }
  autorec::test::check_error(autorec::Status::BadInput, {"91 processes for 90 rows"},
                             [&] { at::shard_rows(p.fit, 91, 16); });
}

BOOST_AUTO_TEST_CASE(a_shard_holds_its_rows_ratings_and_weights) {
  const Problem p = problem(autorec::Variant::ItemBased);
  const at::RowRange range = at::shard_rows(p.fit, 3, 16)[1];
  std::vector<std::uint32_t> global_k;
  const at::Csc s = at::shard_of(p.fit, range, global_k);
  BOOST_TEST(s.num_rows == range.rows());
  BOOST_TEST(s.nnz() == range.ratings);
  BOOST_TEST(s.num_cols() == p.fit.num_cols());
  for (std::uint32_t c = 0; c < s.num_cols(); ++c)
    for (std::uint32_t k = s.start[c]; k < s.start[c + 1]; ++k) {
      const std::uint32_t g = global_k[k];
      BOOST_REQUIRE(g >= p.fit.start[c] && g < p.fit.start[c + 1]);  // the same column
      BOOST_REQUIRE(p.fit.row[g] == s.row[k] + range.begin);
      BOOST_REQUIRE(p.fit.value[g] == s.value[k]);
    }
  at::TrainConfig c;
  c.hidden = 6;
  c.inner = {{4, autorec::Activation::Sigmoid, 0}};
  const at::Weights all = at::initial_weights(c, p.fit.num_rows);
  const at::Weights part = at::rows_of(all, range);
  BOOST_TEST(part.rows == range.rows());
  BOOST_TEST(part.V[0] == all.V[std::size_t{range.begin} * 6]);
  BOOST_TEST(part.W.back() == all.W[std::size_t{range.end} * 4 - 1]);
  BOOST_TEST(part.inner[0].M == all.inner[0].M);
}

// The sharded trainer on 2 and 3 "processes" against one: the same losses, validation RMSEs and weights up
// to the order of float sums (the masks, the order of columns and the initial weights are counter-based).
BOOST_AUTO_TEST_CASE(sharded_training_equals_one_process) {
  for (const autorec::Variant variant : {autorec::Variant::ItemBased, autorec::Variant::UserBased}) {
    const Problem p = problem(variant);
    at::TrainConfig c = small(16, 4, 0.2f);
    c.variant = variant;
    c.input_dropout = 0.1f;
    for (const bool inner : {false, true}) {
      c.inner.clear();
      if (inner) c.inner = {{8, autorec::Activation::Sigmoid, 0.1f}};
      const at::TrainResult one = at::train(c, p.fit, p.val, 1, 5, nullptr);
      for (const int P : {2, 3}) {
        BOOST_TEST_CONTEXT("variant " << autorec::variant_name(variant) << ", inner " << inner << ", P " << P) {
          const at::TrainResult many = train_on(P, c, p);
          BOOST_REQUIRE(many.history.size() == one.history.size());
          for (std::size_t e = 0; e < one.history.size(); ++e) {
            BOOST_TEST(std::fabs(many.history[e].loss - one.history[e].loss) <= 1e-5 * one.history[e].loss);
            BOOST_TEST(std::fabs(many.history[e].val_rmse - one.history[e].val_rmse) <= 1e-5 * one.history[e].val_rmse);
            BOOST_TEST(std::fabs(many.history[e].train_rmse - one.history[e].train_rmse) <= 1e-5 * one.history[e].train_rmse);
          }
          BOOST_TEST(many.best_epoch == one.best_epoch);
          BOOST_TEST(max_relative(many.weights.V, one.weights.V) < 1e-4);
          BOOST_TEST(max_relative(many.weights.W, one.weights.W) < 1e-4);
          BOOST_TEST(max_relative(many.weights.mu, one.weights.mu) < 1e-4);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(sharded_rprop_equals_one_process_and_resumes_from_its_checkpoint) {
  // Full-batch Rprop: each process moves its rows' parameters by their own step sizes; the loss adds the
  // penalty over every row. A checkpoint holds every row's step sizes and last gradients.
  const Problem p = problem(autorec::Variant::ItemBased);
  at::TrainConfig c = small(16, 6, 0.0f);
  c.optimizer = at::TrainConfig::Optimizer::Rprop;
  c.init_std = 0.1f;  // weights large enough that the penalty is a percent of the loss, not below the bound
  const at::TrainResult one = at::train(c, p.fit, p.val, 1, 5, nullptr);
  const auto same_losses = [&](const at::TrainResult& many) {
    BOOST_REQUIRE(many.history.size() == one.history.size());
    for (std::size_t e = 0; e < one.history.size(); ++e)
      BOOST_TEST(std::fabs(many.history[e].loss - one.history[e].loss) <= 1e-5 * one.history[e].loss, "epoch " << e + 1);
  };
  for (const int P : {2, 3}) {
    BOOST_TEST_CONTEXT("P " << P) {
      const at::TrainResult many = train_on(P, c, p);
      same_losses(many);
      BOOST_TEST(max_relative(many.weights.W, one.weights.W) < 1e-4);
      BOOST_TEST(max_relative(many.weights.V, one.weights.V) < 1e-4);
    }
  }
  // Interrupted on 2 processes in epoch 4 (the checkpoint holds epoch 3), resumed on 3 and on one.
  const at::CheckpointOptions resume = interrupted_checkpoint("sharded-rprop.ckpt", c, p, 4);
  const std::string& path = resume.path;
  const at::TrainResult alone = at::train(c, p.fit, p.val, 1, 5, nullptr, resume), two = train_on(2, c, p, resume),
                        three = train_on(3, c, p, resume);
  for (const at::TrainResult* r : {&alone, &two, &three}) {
    BOOST_TEST(r->resumed_after == 3u);
    same_losses(*r);
  }
  remove_checkpoint(path);
}

// A sharded run checkpoints in parts, one per process, named by a manifest at the path; the last epoch's
// parts alone stay. On as many processes each reads its own part; on another number (and on one) every
// process reads all of them and takes its rows. A missing part is refused, naming it.
BOOST_AUTO_TEST_CASE(a_sharded_checkpoint_resumes_on_any_number_of_processes) {
  const Problem p = problem(autorec::Variant::ItemBased);
  const at::TrainConfig c = small(12, 5, 0.1f);
  const at::TrainResult whole = at::train(c, p.fit, p.val, 1, 5, nullptr);
  // Interrupted on 2 "processes" in epoch 3 (the checkpoint holds epoch 2).
  const at::CheckpointOptions resume = interrupted_checkpoint("sharded.ckpt", c, p, 3);
  const std::string& path = resume.path;
  const std::string name = std::filesystem::path(path).filename().string();
  BOOST_TEST(checkpoint_files(path) ==
                 std::vector<std::string>({name, name + ".train.e2.part0of2", name + ".train.e2.part1of2"}),
             boost::test_tools::per_element());
  const at::Checkpoint manifest = at::parse_checkpoint(autorec::read_file_bytes(path), path);
  BOOST_TEST(manifest.parts.size() == 2u);
  BOOST_TEST(manifest.epoch == 2u);
  BOOST_TEST(manifest.weights.V.empty());  // the tensors are in the parts
  const at::TrainResult alone = at::train(c, p.fit, p.val, 1, 5, nullptr, resume);
  BOOST_TEST(alone.resumed_after == 2u);
  const at::TrainResult two = train_on(2, c, p, resume), three = train_on(3, c, p, resume);
  BOOST_TEST(two.resumed_after == 2u);
  BOOST_TEST(three.resumed_after == 2u);
  for (const at::TrainResult* r : {&alone, &two, &three}) {
    BOOST_REQUIRE(r->history.size() == whole.history.size());
    for (std::size_t e = 0; e < whole.history.size(); ++e)
      BOOST_TEST(std::fabs(r->history[e].val_rmse - whole.history[e].val_rmse) <= 1e-5 * whole.history[e].val_rmse);
    BOOST_TEST(max_relative(r->weights.W, whole.weights.W) < 1e-4);
  }
  // A part given as the checkpoint is refused, pointing at the manifest.
  at::CheckpointOptions from_part = resume;
  from_part.path = path + ".train.e2.part0of2";
  try {
    at::train(c, p.fit, p.val, 1, 5, nullptr, from_part);
    BOOST_ERROR("a part resumed as a checkpoint");
  } catch (const autorec::Error& e) {
    BOOST_TEST((e.status() == autorec::Status::BadInput));
    BOOST_TEST(std::string(e.what()).find("resume from its manifest") != std::string::npos, e.what());
  }
  std::filesystem::remove(path + ".train.e2.part1of2");
  for (const int P : {1, 3}) {  // (on 2, rank 0 would read its part and wait for rank 1 in a sum)
    std::vector<std::string> errors;
    train_on(P, c, p, nullptr, resume, errors);
    for (const std::string& e : errors)
      BOOST_TEST(e.find(name + ".train.e2.part1of2") != std::string::npos, "P " << P << ": " << e);
  }
  remove_checkpoint(path);
}

BOOST_AUTO_TEST_CASE(what_replaces_a_checkpoint_in_parts_removes_its_parts) {
  // Resumed and written on as many processes, on 3, and on one (a whole checkpoint): the parts of the
  // checkpoint resumed from go, those of the last epoch alone stay.
  const Problem p = problem(autorec::Variant::ItemBased);
  const at::TrainConfig c = small(12, 5, 0.1f);
  for (const int P : {1, 2, 3}) {
    BOOST_TEST_CONTEXT("P " << P) {
      at::CheckpointOptions resume = interrupted_checkpoint("replaced-" + std::to_string(P) + ".ckpt", c, p, 3);
      resume.write = true;
      const std::string name = std::filesystem::path(resume.path).filename().string();
      // A part no manifest names (as a run killed between its manifest and the removal leaves one) goes too;
      // a file of another name beside them stays.
      autorec::train::write_file_atomic(resume.path + ".train.e9.part0of2", std::vector<std::byte>(8));
      autorec::train::write_file_atomic(resume.path + ".notes", std::vector<std::byte>(8));
      if (P == 1) at::train(c, p.fit, p.val, 1, 5, nullptr, resume);
      else train_on(P, c, p, resume);
      std::vector<std::string> expected = {name, name + ".notes"};
      for (int r = 0; P > 1 && r < P; ++r)
        expected.push_back(name + ".train.e5.part" + std::to_string(r) + "of" + std::to_string(P));
      BOOST_TEST(checkpoint_files(resume.path) == expected, boost::test_tools::per_element());
      remove_checkpoint(resume.path);
    }
  }
}

// The whole pipeline on 2 "processes", with validation and a refit: rank 0 makes the choices on validation,
// writes the one model file and reads the test ratings; rank 1 trains the same epochs (it follows rank 0's
// refit decision) and ends with no file and no test RMSE. (How close the result is to one process's is for
// the tests above and dist.mpi: here the refit crosses a plateau after which float summation order alone
// moves the test RMSE by 0.02, measured.)
BOOST_AUTO_TEST_CASE(a_distributed_run_leaves_the_model_file_and_the_test_to_rank_0) {
  // Low-rank data on which the network earns a share on validation, so that the refit runs (as in dist.mpi).
  autorec::data::SynthConfig synth;
  synth.users = 1500, synth.items = 600, synth.density = 0.1, synth.seed = 5, synth.rank = 3, synth.noise = 0.1;
  std::ostringstream text;
  autorec::data::write_synthetic(synth, text);
  std::istringstream lines(text.str());
  std::string line, train_text, test_text;
  for (std::size_t k = 0; std::getline(lines, line); ++k) (k % 10 == 9 ? test_text : train_text) += line + '\n';
  at::RunSettings s;
  s.config = small(64, 20, 0.05f);
  s.config.batch_size = 32;
  s.config.learning_rate = 0.005;
  s.config.val_ratio = 0.1;
  s.auto_validation = false;
  s.refit = true;
  ThreadGroup group(2);
  std::vector<at::RunResult> ranks(2);
  std::vector<std::string> errors(2);
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r)
    threads.emplace_back([&, r] {
      at::RunSettings mine = s;
      mine.collective = std::make_shared<ThreadGroup::Member>(group, r);
      at::Input in;
      in.train = autorec::data::parse_ratings(train_text, "train");
      in.test = autorec::data::parse_ratings(test_text, "test");
      at::Observer silent;
      try {
        ranks[static_cast<std::size_t>(r)] = at::run(std::move(in), mine, silent);
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(r)] = e.what();
      }
    });
  for (std::thread& t : threads) t.join();
  BOOST_TEST_REQUIRE(errors[0] == "");
  BOOST_TEST_REQUIRE(errors[1] == "");
  const at::RunResult &first = ranks[0], &other = ranks[1];
  BOOST_TEST(first.baseline_weight < 1.0);  // the network answers: the refit ran
  BOOST_TEST(other.file.empty());
  BOOST_TEST(!other.test.has_value());
  BOOST_TEST(first.refitted);
  BOOST_TEST(other.refitted);
  BOOST_TEST_REQUIRE(other.training.history.size() == first.training.history.size());
  for (std::size_t e = 0; e < first.training.history.size(); ++e)
    BOOST_TEST(other.training.history[e].loss == first.training.history[e].loss);  // one run, summed alike
  BOOST_TEST(first.training.weights.rows == 1500u);  // gathered on rank 0 only
  BOOST_TEST(other.training.weights.V.empty());
  // The file is an ordinary model, and the run's test RMSE is the one it gives.
  BOOST_TEST_REQUIRE(first.test.has_value());
  const autorec::Model model = first.load();
  const std::vector<autorec::RatingRef> refs = autorec::data::map_to_model(model, autorec::data::parse_ratings(test_text, "test"));
  BOOST_TEST(std::fabs(autorec::evaluate(model, refs).rmse - first.test->rmse) < 1e-12);
  BOOST_TEST(first.test->count == refs.size());
}

BOOST_AUTO_TEST_SUITE_END()
