// Training checkpoints: see autorec/train/checkpoint.hpp for the layout.
#include "autorec/train/checkpoint.hpp"

#include <cstring>
#include <nlohmann/json.hpp>

#include "autorec/container.hpp"
#include "autorec/error.hpp"
#include "autorec/train/atomic_file.hpp"
#include "autorec/train/settings.hpp"

namespace autorec::train {
namespace {

using nlohmann::json;

// A checkpoint holds the weights twice (current and best) and the optimiser state: far above any model's
// 2 GiB FlatBuffer, so its own ceiling is generous but still bounded.
constexpr std::uint64_t kMaxCheckpointContent = std::uint64_t{1} << 40;

[[noreturn]] void corrupt(std::string_view name, const std::string& what) {
  throw Error(Status::Corrupt, std::string(name) + ": not a valid autorec checkpoint: " + what);
}

// The tensors of a Weights under a prefix ("w." for the current weights, "best." for the best epoch's).
void add_weights(std::vector<std::pair<std::string, const std::vector<float>*>>& out, const std::string& prefix,
                 const Weights& w) {
  for (const auto& [name, values] : named_tensors(w)) out.push_back({prefix + name, values});
}

json shape_of(const Weights& w) {
  json inner = json::array();
  for (const DenseWeights& d : w.inner) inner.push_back({d.in, d.out});
  return {{"rows", w.rows}, {"hidden", w.hidden}, {"inner", inner}};
}

// Reads checkpoint content: the JSON header, then tensors by name from the directory.
class Reader {
 public:
  Reader(const AlignedBytes& content, std::string_view name) : name_(name) {
    if (content.size < 8) corrupt(name_, "content is " + std::to_string(content.size) + " bytes, shorter than its length field");
    std::uint64_t n = 0;
    for (int i = 0; i < 8; ++i) n |= std::uint64_t{content.data()[i]} << (8 * i);
    if (n > content.size - 8) corrupt(name_, "field header_length: " + std::to_string(n) + " exceeds the content");
    try {
      header_ = json::parse(content.data() + 8, content.data() + 8 + n);
    } catch (const json::exception& e) {
      corrupt(name_, std::string("the JSON header does not parse: ") + e.what());
    }
    data_ = content.data() + align_up(8 + n, kDataAlignment);
    data_size_ = content.size > align_up(8 + n, kDataAlignment) ? content.size - align_up(8 + n, kDataAlignment) : 0;
    const json& dir = field("tensors");
    if (!dir.is_array()) corrupt(name_, "field tensors: not an array");
    for (const json& t : dir) directory_.push_back(t);
  }

  // The header's field `key` (throws Corrupt when it is missing).
  const json& field(const char* key) const {
    if (!header_.is_object() || !header_.contains(key)) corrupt(name_, std::string("field ") + key + ": missing");
    return header_[key];
  }
  bool has(const char* key) const { return header_.is_object() && header_.contains(key); }
  template <class T>
  T get(const char* key) const {
    try {
      return field(key).get<T>();
    } catch (const json::exception&) {
      corrupt(name_, std::string("field ") + key + ": wrong type: " + field(key).dump());
    }
  }

  std::vector<float> tensor(const std::string& tensor_name, std::uint64_t expected) const {
    for (const json& t : directory_) {
      if (!t.is_object() || t.value("name", "") != tensor_name) continue;
      std::uint64_t offset = 0, count = 0;
      try {
        offset = t.at("offset").get<std::uint64_t>();
        count = t.at("count").get<std::uint64_t>();
      } catch (const json::exception&) {
        corrupt(name_, "tensor " + tensor_name + ": offset or count missing or not a number");
      }
      if (count != expected)
        corrupt(name_, "tensor " + tensor_name + ": field count: " + std::to_string(count) + ", the shape needs " +
                           std::to_string(expected));
      if (offset > data_size_ || count > (data_size_ - offset) / sizeof(float))
        corrupt(name_, "tensor " + tensor_name + ": field offset: " + std::to_string(offset) + " + " +
                           std::to_string(count) + " floats runs past the end of the content");
      std::vector<float> out(count);
      if (count) std::memcpy(out.data(), data_ + offset, count * sizeof(float));
      return out;
    }
    corrupt(name_, "tensor " + tensor_name + ": missing");
  }

  std::uint64_t tensor_count(const std::string& tensor_name) const {
    for (const json& t : directory_)
      if (t.is_object() && t.value("name", "") == tensor_name && t.contains("count") && t["count"].is_number_unsigned())
        return t["count"].get<std::uint64_t>();
    corrupt(name_, "tensor " + tensor_name + ": missing or without a count");
  }

  Weights weights(const std::string& prefix, const json& shape) const {
    Weights w;
    try {
      w.rows = shape.at("rows").get<std::uint32_t>();
      w.hidden = shape.at("hidden").get<std::uint32_t>();
      for (const json& d : shape.at("inner")) w.inner.push_back({d.at(0).get<std::uint32_t>(), d.at(1).get<std::uint32_t>(), {}, {}});
    } catch (const json::exception&) {
      corrupt(name_, "field shape: " + shape.dump());
    }
    // Each tensor sized as the shape needs, once the content is known to hold that many floats (counted in
    // double: an untrusted shape's u32 products could wrap a 64-bit sum).
    double floats = double(w.rows) * w.hidden + w.hidden + double(w.rows) * w.code() + w.rows;
    for (const DenseWeights& d : w.inner) floats += double(d.in) * d.out + d.out;
    const std::uint64_t room = data_size_ / sizeof(float);
    if (floats > double(room))
      corrupt(name_, "field shape: " + shape.dump() + " needs more floats than the content's " + std::to_string(room));
    w = zero_weights(w);
    for (auto& [name, values] : named_tensors(w)) *values = tensor(prefix + name, values->size());
    return w;
  }

 private:
  std::string_view name_;
  json header_;
  std::vector<json> directory_;
  const std::uint8_t* data_ = nullptr;
  std::uint64_t data_size_ = 0;
};

// The part and manifest fields, when the header has them.
void read_parts(const Reader& r, Checkpoint& c, std::string_view name) {
  try {
    if (r.has("part")) {
      const json& p = r.field("part");
      c.part = p.at(0).get<std::uint32_t>(), c.of = p.at(1).get<std::uint32_t>();
      c.part_rows = {p.at(2).get<std::uint32_t>(), p.at(3).get<std::uint32_t>(), p.at(4).get<std::size_t>()};
      if (c.part >= c.of || c.part_rows.end < c.part_rows.begin || c.part_rows.rows() != c.weights.rows)
        corrupt(name, "field part: " + p.dump() + " does not fit its " + std::to_string(c.weights.rows) + " rows");
    }
    if (r.has("parts")) {
      for (const json& p : r.field("parts")) {
        CheckpointPart part{p.at(0).get<std::uint32_t>(),
                            {p.at(1).get<std::uint32_t>(), p.at(2).get<std::uint32_t>(), p.at(3).get<std::size_t>()},
                            p.at(4).get<std::string>()};
        const bool follows = c.parts.empty() ? part.rows.begin == 0 : part.rows.begin == c.parts.back().rows.end;
        if (part.rank != c.parts.size() || !follows || part.rows.end <= part.rows.begin ||
            part.file.find('/') != std::string::npos || part.file.empty() || part.file == "." || part.file == "..")
          corrupt(name, "field parts: entry " + p.dump());
        c.parts.push_back(part);
      }
    }
  } catch (const json::exception&) {
    corrupt(name, "field part or parts: not the fields of a checkpoint in parts");
  }
}

}  // namespace

std::string settings_json(const TrainConfig& c, const RatingUnits& units) {
  json s = json::object();
  for (const Setting& setting : settings()) {
    if (setting.checkpoint == InCheckpoint::Never) continue;
    std::visit(
        [&](const auto& m) {
          if constexpr (std::is_same_v<std::decay_t<decltype(m)>, ChoiceMember>) {
            s[std::string(setting.key)] = m.names[m.get(c)];
          } else {
            if (setting.checkpoint == InCheckpoint::WhenSet && c.*m == 0) return;
            s[std::string(setting.key)] = c.*m;  // the member's own type, as checkpoints have always stored it
          }
        },
        setting.member);
  }
  json inner = json::array();
  for (const TrainConfig::InnerLayer& l : c.inner) inner.push_back({l.size, activation_name(l.activation), l.dropout});
  s["layers"] = inner;
  // Weights and optimiser state are in these units: another scale, or a checkpoint from before the trainer
  // had units (its weights in ratings), must not resume.
  if (!units.identity()) s["rating_origin"] = units.origin, s["rating_unit"] = units.unit;
  return s.dump();
}

std::string settings_difference(const std::string& checkpoint, const std::string& run) {
  const json a = json::parse(checkpoint, nullptr, false), b = json::parse(run, nullptr, false);
  if (a.is_discarded() || !a.is_object()) return "the checkpoint's settings do not parse";
  for (const auto& [key, value] : b.items()) {
    if (!a.contains(key)) return key + ": not in the checkpoint, " + value.dump() + " in this run";
    if (a[key] != value) return key + ": " + a[key].dump() + " in the checkpoint, " + value.dump() + " in this run";
  }
  for (const auto& [key, value] : a.items())
    if (!b.contains(key)) return key + ": " + value.dump() + " in the checkpoint, not a setting of this build";
  return {};
}

std::uint64_t data_fingerprint(const Csc& fit, const std::vector<Cell>& val) {
  std::uint64_t h = 0xCBF29CE484222325ull;
  const auto mix = [&h](std::uint32_t word) { h = (h ^ word) * 0x100000001B3ull; };
  const auto mix_all = [&](std::span<const std::uint32_t> words) {
    for (std::uint32_t x : words) mix(x);
  };
  const auto bits = [](float x) {
    std::uint32_t u;
    std::memcpy(&u, &x, 4);
    return u;
  };
  mix(fit.num_rows);
  mix_all(fit.start);
  mix_all(fit.row);
  for (float x : fit.value) mix(bits(x));
  mix(0xFFFFFFFFu);  // where the validation cells start
  for (const Cell& c : val) mix(c.row), mix(c.col), mix(bits(c.value));
  return h;
}

std::string part_path(const std::string& path, const std::string& stage, std::uint32_t epoch, int rank, int ranks) {
  return path + "." + stage + ".e" + std::to_string(epoch) + ".part" + std::to_string(rank) + "of" + std::to_string(ranks);
}

namespace {

// The content of checkpoint `c` as the pieces a container is compressed from (referencing c's tensors), given
// to `pack` with their total size.
template <class Pack>
auto pack_checkpoint(const Checkpoint& c, Pack&& pack) {
  std::vector<std::pair<std::string, const std::vector<float>*>> tensors;
  add_weights(tensors, "w.", c.weights);
  if (c.best_epoch) add_weights(tensors, "best.", c.best_weights);
  for (const auto& [name, values] : c.optimizer.tensors) tensors.push_back({"opt." + name, &values});

  json directory = json::array(), history = json::array();
  std::uint64_t at = 0;
  for (const auto& [name, values] : tensors) {
    at = align_up(at, kDataAlignment);
    directory.push_back({{"name", name}, {"offset", at}, {"count", values->size()}});
    at += values->size() * sizeof(float);
  }
  for (const EpochStats& e : c.history)
    history.push_back({e.epoch, e.loss, e.train_rmse, e.val_rmse, e.seconds, e.ratings_per_s});
  json optimizer_names = json::array();
  for (const auto& t : c.optimizer.tensors) optimizer_names.push_back(t.first);
  json header = {{"format", kCheckpointFormat}, {"stage", c.stage}, {"epoch", c.epoch}, {"backend", c.backend},
                 {"settings", c.settings}, {"data_fingerprint", c.data_fingerprint},
                 {"shape", shape_of(c.weights)}, {"step", c.optimizer.step}, {"optimizer", optimizer_names},
                 {"history", history}, {"best_epoch", c.best_epoch}, {"best_val_rmse", c.best_val_rmse},
                 {"since_best", c.since_best}, {"caller_state", c.caller_state}, {"tensors", directory}};
  // The fields of parts and manifests (issue 20); a checkpoint of one process has neither, as before.
  if (c.best_epoch) header["best_shape"] = shape_of(c.best_weights);
  if (c.of) header["part"] = {c.part, c.of, c.part_rows.begin, c.part_rows.end, c.part_rows.ratings};
  if (!c.parts.empty()) {
    json parts = json::array();
    for (const CheckpointPart& p : c.parts) parts.push_back({p.rank, p.rows.begin, p.rows.end, p.rows.ratings, p.file});
    header["parts"] = parts;
  }
  const std::string text = header.dump();

  std::uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<std::uint8_t>(std::uint64_t{text.size()} >> (8 * i));
  static constexpr std::uint8_t kZeros[kDataAlignment] = {};
  std::vector<std::span<const std::uint8_t>> parts = {{length, 8},
                                                      {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}};
  std::uint64_t written = 8 + text.size();
  const std::uint64_t base = align_up(written, kDataAlignment);
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const std::uint64_t offset = base + directory[i]["offset"].get<std::uint64_t>();
    parts.push_back({kZeros, static_cast<std::size_t>(offset - written)});
    parts.push_back({reinterpret_cast<const std::uint8_t*>(tensors[i].second->data()), tensors[i].second->size() * sizeof(float)});
    written = offset + tensors[i].second->size() * sizeof(float);
  }
  return pack(std::span<const std::span<const std::uint8_t>>(parts), written);
}

}  // namespace

std::vector<std::byte> build_checkpoint(const Checkpoint& c, int zstd_level) {
  return pack_checkpoint(c, [&](std::span<const std::span<const std::uint8_t>> parts, std::uint64_t) {
    return pack_container(parts, zstd_level, kContainerVersion, FileKind::Checkpoint);
  });
}

void write_checkpoint(const Checkpoint& c, const std::string& path, int zstd_level) {
  pack_checkpoint(c, [&](std::span<const std::span<const std::uint8_t>> parts, std::uint64_t size) {
    AtomicFile file(path);
    ContainerWriter writer(file, size, zstd_level, kContainerVersion, FileKind::Checkpoint);
    for (const auto& part : parts) writer.write(part);
    writer.finish();
    file.commit();
  });
}

Checkpoint parse_checkpoint(std::span<const std::byte> file, std::string_view name) {
  const AlignedBytes content = unpack_container(file, name, kMaxCheckpointContent, FileKind::Checkpoint);
  const Reader r(content, name);
  const auto format = r.get<std::uint32_t>("format");
  if (format != kCheckpointFormat)
    throw Error(Status::Unsupported, std::string(name) + ": field format: checkpoint format " + std::to_string(format) +
                                         " (this build reads " + std::to_string(kCheckpointFormat) + ")");
  Checkpoint c;
  c.stage = r.get<std::string>("stage");
  c.epoch = r.get<std::uint32_t>("epoch");
  c.backend = r.get<std::string>("backend");
  c.settings = r.get<std::string>("settings");
  c.data_fingerprint = r.get<std::uint64_t>("data_fingerprint");
  c.caller_state = r.get<std::string>("caller_state");
  c.best_epoch = r.get<std::uint32_t>("best_epoch");
  c.best_val_rmse = r.get<double>("best_val_rmse");
  c.since_best = r.get<std::uint32_t>("since_best");
  c.weights = r.weights("w.", r.field("shape"));
  if (c.best_epoch) c.best_weights = r.weights("best.", r.has("best_shape") ? r.field("best_shape") : r.field("shape"));
  read_parts(r, c, name);
  c.optimizer.step = r.get<std::uint64_t>("step");
  for (const std::string& t : r.get<std::vector<std::string>>("optimizer"))
    c.optimizer.tensors.push_back({t, r.tensor("opt." + t, r.tensor_count("opt." + t))});
  for (const json& e : r.field("history")) {
    EpochStats s;
    try {
      s.epoch = e.at(0).get<std::uint32_t>();
      s.loss = e.at(1).get<double>(), s.train_rmse = e.at(2).get<double>(), s.val_rmse = e.at(3).get<double>();
      s.seconds = e.at(4).get<double>(), s.ratings_per_s = e.at(5).get<double>();
    } catch (const json::exception&) {
      corrupt(name, "field history: entry " + e.dump());
    }
    c.history.push_back(s);
  }
  if (c.history.size() != c.epoch)
    corrupt(name, "field history: " + std::to_string(c.history.size()) + " epochs recorded, field epoch says " +
                      std::to_string(c.epoch));
  if (c.best_epoch > c.epoch) corrupt(name, "field best_epoch: " + std::to_string(c.best_epoch) + " is after epoch " + std::to_string(c.epoch));
  return c;
}

}  // namespace autorec::train
