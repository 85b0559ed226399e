// Checkpoints: a run stopped after a checkpoint and resumed ends bit for bit where an uninterrupted run
// ends; a checkpoint from other data or settings is refused; a diverging run stops and keeps the last good
// checkpoint; a damaged checkpoint is refused; a failing write leaves the previous file intact.
#include <sys/resource.h>

#include <cmath>
#include <csignal>
#include <fstream>

#include "autorec/container.hpp"
#include "autorec/train/checkpoint.hpp"
#include "helpers.hpp"

namespace autorec::test {
namespace {

using train::TrainConfig;

struct Data {
  data::Dataset data = synth_dataset(150, 90, 0.15, 11);
  std::vector<data::Rating> fit, val;
  train::Csc csc;
  std::vector<train::Cell> val_cells;
  Data() {
    data::split(data, 3, 0.1, fit, val);
    csc = train::make_csc(fit, std::uint32_t(data.users.size()), std::uint32_t(data.items.size()), Variant::ItemBased);
    for (const auto& r : val) val_cells.push_back({r.user, r.item, r.value});
  }
};

const Data& data() {
  static const Data d;
  return d;
}

TrainConfig small_config() {
  TrainConfig c;
  c.hidden = 16;
  c.epochs = 7;
  c.batch_size = 16;
  c.dropout = 0.2f;
  c.threads = 2;
  c.device = Device::Cpu;
  return c;
}

// Checkpoint options (designated initialisers would leave caller_state to a warning).
train::CheckpointOptions ck(const std::string& path, std::uint32_t every = 1, bool resume = false,
                            const std::string& stage = "train") {
  train::CheckpointOptions o;
  o.path = path, o.every = every, o.resume = resume, o.stage = stage;
  return o;
}

struct Stop {};  // thrown from on_epoch: the process "dies" after that epoch

train::TrainResult run(const TrainConfig& c, const train::CheckpointOptions& ck, std::uint32_t die_after = 0) {
  const Data& d = data();
  return train::train(c, d.csc, d.val_cells, 1, 5,
                      [&](const train::EpochStats& s) {
                        if (s.epoch == die_after) throw Stop{};
                      },
                      ck);
}

void expect_same(const train::Weights& a, const train::Weights& b) {
  BOOST_TEST(a.V == b.V);
  BOOST_TEST(a.W == b.W);
  BOOST_TEST(a.mu == b.mu);
  BOOST_TEST(a.b == b.b);
  BOOST_REQUIRE(a.inner.size() == b.inner.size());
  for (std::size_t l = 0; l < a.inner.size(); ++l) {
    BOOST_TEST(a.inner[l].M == b.inner[l].M);
    BOOST_TEST(a.inner[l].c == b.inner[l].c);
  }
}

// Stops a run after `die_after` epochs (checkpoints every `every`), resumes it, and compares everything with
// an uninterrupted run.
void check_resume(const TrainConfig& c, std::uint32_t every, std::uint32_t die_after) {
  const std::string path = temp_path("resume.ckpt");
  std::filesystem::remove(path);
  const train::TrainResult whole = run(c, {});
  BOOST_CHECK_THROW(run(c, ck(path, every), die_after), Stop);
  const train::TrainResult resumed = run(c, ck(path, every, true));
  // It died in epoch die_after before that epoch's checkpoint: the last one is of an earlier epoch.
  BOOST_TEST(resumed.resumed_after == (die_after - 1) - (die_after - 1) % every);
  BOOST_TEST(resumed.resumed_after > 0u);
  BOOST_TEST(resumed.best_epoch == whole.best_epoch);
  BOOST_REQUIRE(resumed.history.size() == whole.history.size());
  for (std::size_t e = 0; e < whole.history.size(); ++e) {
    BOOST_TEST(resumed.history[e].loss == whole.history[e].loss);
    BOOST_TEST(resumed.history[e].val_rmse == whole.history[e].val_rmse);
  }
  expect_same(resumed.weights, whole.weights);
  std::filesystem::remove(path);
}

// Delegates to the CPU trainer, and turns a weight into NaN in epoch `poison_epoch`: a run that diverges.
class Diverging final : public train::TrainBackend {
 public:
  explicit Diverging(std::uint32_t poison_epoch) : poison_epoch_(poison_epoch) {}
  const char* name() const override { return "cpu"; }
  void init(const TrainConfig& c, const train::Csc& fit) override { cpu_->init(c, fit); }
  train::EpochStats run_epoch(std::uint32_t epoch) override {
    if (epoch == poison_epoch_) {
      train::Weights w = cpu_->weights();
      w.W[0] = std::numeric_limits<float>::quiet_NaN();
      cpu_->set_weights(w);
    }
    return cpu_->run_epoch(epoch);
  }
  double rmse(const std::vector<train::Cell>& cells, float lo, float hi) override { return cpu_->rmse(cells, lo, hi); }
  train::Weights weights() const override { return cpu_->weights(); }
  void set_weights(const train::Weights& w) override { cpu_->set_weights(w); }
  train::OptimizerState optimizer_state() const override { return cpu_->optimizer_state(); }
  void set_optimizer_state(const train::OptimizerState& s) override { cpu_->set_optimizer_state(s); }
  std::pair<double, train::Weights> batch_gradient(std::span<const std::uint32_t> cols) override {
    return cpu_->batch_gradient(cols);
  }

 private:
  std::unique_ptr<train::TrainBackend> cpu_ = train::make_cpu_trainer();
  std::uint32_t poison_epoch_;
};

std::string error_of(const std::function<void()>& f, Status want) {
  try {
    f();
  } catch (const Error& e) {
    BOOST_TEST((e.status() == want), "status " << status_name(e.status()) << ": " << e.what());
    return e.what();
  }
  BOOST_ERROR("no error thrown");
  return {};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(checkpoint)

BOOST_AUTO_TEST_CASE(resumed_run_ends_exactly_where_an_uninterrupted_one_does) {
  check_resume(small_config(), 2, 5);  // dies in epoch 5; the checkpoint of epoch 4 carries on
  check_resume(small_config(), 1, 3);
}

BOOST_AUTO_TEST_CASE(resume_covers_early_stopping_inner_layers_input_dropout_and_rprop) {
  TrainConfig early = small_config();
  early.patience = 1;
  early.epochs = 30;
  check_resume(early, 1, 2);
  TrainConfig deep = small_config();
  deep.inner = {{8, Activation::Elu, 0.1f}};
  deep.input_dropout = 0.2f;
  deep.schedule = TrainConfig::Schedule::Cosine;
  check_resume(deep, 3, 4);
  TrainConfig rprop = small_config();
  rprop.optimizer = TrainConfig::Optimizer::Rprop;
  check_resume(rprop, 2, 3);
}

BOOST_AUTO_TEST_CASE(checkpoint_of_other_settings_or_data_is_refused) {
  const std::string path = temp_path("refuse.ckpt");
  const TrainConfig c = small_config();
  run(c, ck(path));
  TrainConfig other = c;
  other.learning_rate = 0.001;
  const std::string lr = error_of([&] { run(other, ck(path, 1, true)); }, Status::BadInput);
  BOOST_TEST(lr.find("lr: 0.002 in the checkpoint, 0.001 in this run") != std::string::npos, lr);
  other = c;
  other.epochs = 9;  // the cosine schedule and the stored history depend on it
  BOOST_TEST(error_of([&] { run(other, ck(path, 1, true)); }, Status::BadInput).find("epochs") != std::string::npos);

  const Data& d = data();
  train::Csc fewer = d.csc;
  fewer.value[0] = fewer.value[0] == 1.0f ? 2.0f : 1.0f;  // one rating changed
  const std::string data_msg = error_of(
      [&] { train::train(c, fewer, d.val_cells, 1, 5, nullptr, ck(path, 1, true)); }, Status::BadInput);
  BOOST_TEST(data_msg.find("other training data") != std::string::npos, data_msg);
  const std::string stage = error_of([&] { run(c, ck(path, 1, true, "refit")); }, Status::BadInput);
  BOOST_TEST(stage.find("field stage") != std::string::npos, stage);
  // The same ratings on another scale are trained in other model units: the weights would not fit them.
  const std::string units = error_of(
      [&] { train::train(c, d.csc, d.val_cells, 1, 10, nullptr, ck(path, 1, true)); }, Status::BadInput);
  BOOST_TEST(units.find("rating_origin") != std::string::npos, units);
  // The thread count does not change the result, so it does not block a resume.
  other = c;
  other.threads = 1;
  BOOST_TEST(run(other, ck(path, 1, true)).resumed_after == c.epochs);
  std::filesystem::remove(path);
}

BOOST_AUTO_TEST_CASE(divergence_stops_and_keeps_the_last_good_checkpoint) {
  const std::string path = temp_path("diverge.ckpt");
  const Data& d = data();
  const std::string msg = error_of(
      [&] {
        train::train(small_config(), d.csc, d.val_cells, 1, 5, nullptr, ck(path, 2),
                     std::make_unique<Diverging>(5));
      },
      Status::Diverged);
  BOOST_TEST(msg.find("epoch 5: training diverged") != std::string::npos, msg);
  BOOST_TEST(msg.find("after epoch 4, is kept") != std::string::npos, msg);
  const train::Checkpoint kept = train::parse_checkpoint(read_file_bytes(path), path);
  BOOST_TEST(kept.epoch == 4u);
  BOOST_TEST(std::isfinite(kept.weights.W[0]));
  // Without checkpoints the error still names the epoch.
  const std::string none = error_of(
      [&] { train::train(small_config(), d.csc, d.val_cells, 1, 5, nullptr, {}, std::make_unique<Diverging>(2)); },
      Status::Diverged);
  BOOST_TEST(none.find("epoch 2: training diverged") != std::string::npos, none);
  std::filesystem::remove(path);
}

BOOST_AUTO_TEST_CASE(damaged_checkpoint_is_refused_and_is_not_a_model) {
  const std::string path = temp_path("damaged.ckpt");
  TrainConfig c = small_config();
  c.epochs = 2;
  run(c, ck(path));
  std::vector<std::byte> file = read_file_bytes(path);
  BOOST_TEST(train::parse_checkpoint(file, path).epoch == 2u);
  const std::string model = error_of([&] { Model::load_buffer(file, path); }, Status::BadInput);
  BOOST_TEST(model.find("is an autorec checkpoint, not a model") != std::string::npos, model);
  for (std::size_t at : {std::size_t{3}, std::size_t{40}, file.size() / 2, file.size() - 1}) {
    std::vector<std::byte> bad = file;
    bad[at] ^= std::byte{0x20};
    const std::string msg = error_of([&] { train::parse_checkpoint(bad, path); }, Status::Corrupt);
    BOOST_TEST(msg.find(path) == 0, msg);
  }
  file.resize(file.size() - 10);
  error_of([&] { train::parse_checkpoint(file, path); }, Status::Corrupt);
  std::filesystem::remove(path);
}

BOOST_AUTO_TEST_CASE(a_manifest_and_a_part_keep_their_fields_and_bad_ones_are_refused) {
  // The fields of a distributed run's checkpoint (checkpoint.hpp): a manifest names its parts in rank order
  // over consecutive rows; a part says which one it is.
  train::Checkpoint manifest;
  manifest.stage = "train", manifest.backend = "cpu", manifest.settings = "{}";
  manifest.parts = {{0, {0, 5, 40}, "run.ckpt.e1.part0of2"}, {1, {5, 9, 31}, "run.ckpt.e1.part1of2"}};
  const train::Checkpoint m = train::parse_checkpoint(train::build_checkpoint(manifest), "manifest");
  BOOST_REQUIRE(m.parts.size() == 2u);
  BOOST_TEST(m.parts[1].rank == 1u);
  BOOST_TEST(m.parts[1].rows.begin == 5u);
  BOOST_TEST(m.parts[1].rows.end == 9u);
  BOOST_TEST(m.parts[1].rows.ratings == 31u);
  BOOST_TEST(m.parts[1].file == "run.ckpt.e1.part1of2");
  BOOST_TEST(m.of == 0u);

  train::Checkpoint part = manifest;
  part.parts.clear();
  part.weights = train::zero_weights([] {
    train::Weights w;
    w.rows = 4, w.hidden = 3;
    return w;
  }());
  part.part = 1, part.of = 2, part.part_rows = {5, 9, 31};
  const train::Checkpoint q = train::parse_checkpoint(train::build_checkpoint(part), "part");
  BOOST_TEST(q.part == 1u);
  BOOST_TEST(q.of == 2u);
  BOOST_TEST(q.part_rows.end == 9u);
  BOOST_TEST(q.weights.V.size() == 12u);

  part.part_rows = {5, 8, 31};  // 3 rows named, 4 held
  error_of([&] { train::parse_checkpoint(train::build_checkpoint(part), "part"); }, Status::Corrupt);
  for (const auto& bad : {std::vector<train::CheckpointPart>{{1, {0, 5, 1}, "a"}},                // rank out of order
                          std::vector<train::CheckpointPart>{{0, {0, 5, 1}, "a"}, {1, {6, 9, 1}, "b"}},  // a gap
                          std::vector<train::CheckpointPart>{{0, {0, 5, 1}, "../a"}}}) {          // another folder
    manifest.parts = bad;
    const std::string msg = error_of([&] { train::parse_checkpoint(train::build_checkpoint(manifest), "manifest"); },
                                     Status::Corrupt);
    BOOST_TEST(msg.find("field parts") != std::string::npos, msg);
  }
}

// A full disk, simulated with the file-size limit: the write fails with EFBIG, is reported, and the previous
// file stays as it was with no temporary file left beside it.
BOOST_AUTO_TEST_CASE(failed_write_leaves_the_previous_file_intact) {
  const std::string dir = temp_path("write-fail");
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/model.fb";
  const std::vector<std::byte> before(1000, std::byte{7}), after(1 << 20, std::byte{9});
  train::write_file_atomic(path, before);
  rlimit old{};
  BOOST_REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  const auto previous_handler = std::signal(SIGXFSZ, SIG_IGN);  // else the kernel ends the process
  rlimit small = old;
  small.rlim_cur = 64 * 1024;
  BOOST_REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  std::string msg;
  try {
    train::write_file_atomic(path, after);
  } catch (const Error& e) {
    msg = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, previous_handler);
  BOOST_TEST(msg.find(path + ": write failed") == 0, msg);
  BOOST_TEST(msg.find("untouched") != std::string::npos, msg);
  BOOST_TEST((read_file_bytes(path) == before));
  BOOST_TEST(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()) == 1);
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace autorec::test
