// model.fb: save -> load round trip, and damaged, truncated and wrong-version files rejected cleanly.
#include <autorec_generated.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "autorec/container.hpp"
#include "autorec/data/random.hpp"
#include "autorec/error.hpp"
#include "edited_file.hpp"
#include "helpers.hpp"

using namespace autorec;

namespace {

const test::Trained& trained() { return test::small_trained(); }

Status load_status(std::span<const std::byte> bytes) {
  try {
    Model::load_buffer(bytes, "damaged.fb");
  } catch (const Error& e) {
    BOOST_TEST_MESSAGE("rejected: " << e.what());
    BOOST_TEST(std::string(e.what()).find("damaged.fb") != std::string::npos);
    return e.status();
  }
  return Status::Ok;
}

// A container of version 1: the plain FlatBuffer is the whole content.
std::vector<std::byte> version1(std::span<const std::uint8_t> flatbuffer) {
  const std::span<const std::uint8_t> parts[] = {flatbuffer};
  return pack_container(parts, 3, 1);
}

std::vector<std::byte> with_flatbuffer(flatbuffers::FlatBufferBuilder& fbb) {
  return version1({fbb.GetBufferPointer(), fbb.GetSize()});
}

// The same trained model written with every tensor in the container's data section.
std::vector<std::byte> external_file(const test::Trained& t) {
  train::ModelContents contents{&t.config, &t.data, &t.csc, &t.result};
  contents.inline_tensor_limit = 0;
  return train::build_model_file(contents);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(format)

BOOST_AUTO_TEST_CASE(round_trip_is_exact) {
  const test::Trained& t = trained();
  const Model m = Model::load_buffer(t.file, "model.fb");
  const train::Weights& w = t.result.weights;
  const ModelInfo& info = m.info();
  BOOST_TEST(info.num_users == t.data.users.size());
  BOOST_TEST(info.num_items == t.data.items.size());
  BOOST_TEST(info.layers.size() == 2u);
  BOOST_TEST(info.layers[0].out_size == 12u);
  BOOST_TEST(info.num_observations == t.fit.size());
  BOOST_TEST(info.epochs_run == 3u);
  BOOST_TEST(info.history.size() == 3u);
  BOOST_TEST(info.rating_min == t.data.scale.min);
  BOOST_TEST(info.rating_max == t.data.scale.max);
  // Layer 0 comes back as [out, in] = V transposed; layer 1 is W as stored.
  const std::vector<float> v = m.weight(0), dec = m.weight(1);
  for (std::uint32_t r = 0; r < w.rows; ++r)
    for (std::uint32_t h = 0; h < w.hidden; ++h) BOOST_REQUIRE(v[h * w.rows + r] == w.V[r * w.hidden + h]);
  BOOST_TEST(dec == w.W);
  BOOST_TEST(m.bias(0) == w.mu);
  BOOST_TEST(m.bias(1) == w.b);
  // Ids and observations.
  for (std::uint32_t u = 0; u < info.num_users; ++u) BOOST_REQUIRE(m.user_id(u) == std::to_string(t.data.users.ints[u]));
  for (std::uint32_t c = 0; c < m.num_columns(); ++c) {
    const auto obs = m.observations(c);
    BOOST_REQUIRE(obs.size() == t.csc.start[c + 1] - t.csc.start[c]);
    for (std::size_t k = 0; k < obs.size(); ++k) {
      BOOST_REQUIRE(obs[k].index == t.csc.row[t.csc.start[c] + k]);
      BOOST_REQUIRE(obs[k].value == t.csc.value[t.csc.start[c] + k]);
    }
  }
}

BOOST_AUTO_TEST_CASE(the_settings_json_keeps_every_digit_and_escapes_strings) {
  // Issue 17: the model info's settings were built by hand with std::to_string (6 decimals) and unescaped
  // strings, so a learning rate lost digits and a recipe name with a quote made the JSON unreadable.
  train::TrainConfig c;
  c.hidden = 6, c.epochs = 1, c.batch_size = 16;
  c.learning_rate = 0.0012345678901234567;
  c.lr_min = 3.3e-9;
  c.recipe = "quote \" backslash \\ tab \t \xff end";
  const test::Trained t = test::train_small(c);
  const Model m = Model::load_buffer(t.file, "settings.fb");
  const nlohmann::json j = nlohmann::json::parse(m.info().hyperparameters_json);
  BOOST_TEST(j.at("learning_rate").get<double>() == c.learning_rate);
  BOOST_TEST(j.at("lr_min").get<double>() == c.lr_min);
  BOOST_TEST(j.at("seed").get<std::uint64_t>() == c.seed + test::seed_offset());
  // The byte that is not UTF-8 reads as U+FFFD; everything else comes back as written.
  BOOST_TEST(j.at("recipe").get<std::string>() == "quote \" backslash \\ tab \t \xef\xbf\xbd end");
}

BOOST_AUTO_TEST_CASE(predict_matches_full_reconstruction) {
  const Model m = Model::load_buffer(trained().file, "model.fb");
  std::vector<float> col(m.column_length()), again(m.column_length());
  for (std::uint32_t c = 0; c < m.num_columns(); c += 7) {
    m.reconstruct_column(c, col);
    const auto obs = m.observations(c);
    m.reconstruct(obs, again);
    for (std::uint32_t r = 0; r < m.column_length(); ++r) {
      BOOST_REQUIRE(std::abs(col[r] - again[r]) <= 1e-5f);
      if (m.knows_user(r)) {
        const Prediction p = m.predict(std::optional<std::uint32_t>(r), std::optional<std::uint32_t>(c));
        BOOST_REQUIRE(p.source == Source::Model);
        BOOST_REQUIRE(std::abs(p.value - col[r]) <= 1e-5f);
      }
    }
  }
  // Batch reconstruction equals one-at-a-time.
  std::vector<std::vector<Entry>> cols = {m.observations(0), m.observations(1), m.observations(2)};
  std::vector<std::span<const Entry>> spans(cols.begin(), cols.end());
  std::vector<float> batch(3 * m.column_length());
  m.reconstruct_batch(spans, batch);
  for (std::uint32_t c = 0; c < 3; ++c) {
    m.reconstruct(cols[c], again);
    for (std::uint32_t r = 0; r < m.column_length(); ++r)
      BOOST_REQUIRE(std::abs(batch[c * m.column_length() + r] - again[r]) <= 1e-5f);
  }
}

BOOST_AUTO_TEST_CASE(a_missing_file_or_a_directory_is_bad_input) {
  for (const std::string& path : {std::string("/nonexistent/model.fb"), std::filesystem::temp_directory_path().string()}) {
    try {
      Model::load_file(path);
      BOOST_ERROR("loaded " << path);
    } catch (const Error& e) {
      BOOST_TEST((e.status() == Status::BadInput), e.what());
      BOOST_TEST(std::string(e.what()).find("'" + path + "': ") == 0, e.what());
    }
  }
}

// Status and message of read_file_bytes(path, cap), or Ok and the bytes.
std::pair<Status, std::string> read_outcome(const std::string& path, std::uint64_t cap = kMaxReadBytes,
                                            std::vector<std::byte>* bytes = nullptr) {
  try {
    std::vector<std::byte> b = read_file_bytes(path, cap);
    if (bytes) *bytes = std::move(b);
    return {Status::Ok, ""};
  } catch (const Error& e) {
    return {e.status(), e.what()};
  }
}

BOOST_AUTO_TEST_CASE(files_without_a_size_are_read_to_their_end) {
  // procfs says 0 bytes and a pipe has no size: both are read to the end (before: "cannot open").
  std::vector<std::byte> status;
  BOOST_TEST((read_outcome("/proc/self/status", kMaxReadBytes, &status).first == Status::Ok));
  BOOST_TEST(std::string(reinterpret_cast<const char*>(status.data()), status.size()).find("Name:") == 0);
  const std::filesystem::path fifo = std::filesystem::temp_directory_path() / ("autorec-fifo-" + std::to_string(::getpid()));
  BOOST_TEST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const std::vector<std::byte>& file = trained().file;
  std::thread writer([&] {
    std::FILE* f = std::fopen(fifo.c_str(), "wb");
    if (f) std::fwrite(file.data(), 1, file.size(), f), std::fclose(f);
  });
  const Model piped = Model::load_file(fifo.string());
  writer.join();
  std::filesystem::remove(fifo);
  const Model direct = Model::load_buffer(file);
  BOOST_TEST(piped.column_length() == direct.column_length());
  std::vector<float> a(direct.column_length()), b(direct.column_length());
  piped.reconstruct_column(1, a);
  direct.reconstruct_column(1, b);
  BOOST_TEST(a == b, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(reads_are_capped_and_each_failure_has_the_status_the_header_gives) {
  const auto [zero_status, zero_message] = read_outcome("/dev/zero", 1 << 20);  // endless: the cap stops it
  BOOST_TEST((zero_status == Status::OutOfMemory), zero_message);
  BOOST_TEST(zero_message == "'/dev/zero': is larger than the 1048576-byte limit");
  const auto [empty_status, empty_message] = read_outcome("");
  BOOST_TEST((empty_status == Status::BadInput));
  BOOST_TEST(empty_message == "the file path is empty");
  // The system refusing a read is Io: /proc/self/mem opens but reading address 0 fails (EIO), root or not.
  const auto [mem_status, mem_message] = read_outcome("/proc/self/mem");
  BOOST_TEST((mem_status == Status::Io), mem_message);
  BOOST_TEST(mem_message.find("'/proc/self/mem': read failed after 0 bytes") == 0, mem_message);
}

BOOST_AUTO_TEST_CASE(messages_quote_paths_and_ids_in_a_few_hundred_bytes) {
  // A 1 MB path (and a path with a newline and a byte that is not UTF-8): one short line naming its start.
  const std::string long_path = "/nonexistent/" + std::string(1 << 20, 'p');
  const auto [status, message] = read_outcome(long_path);
  BOOST_TEST((status == Status::BadInput), message.substr(0, 300));
  BOOST_TEST(message.size() < 300u, message.size());
  BOOST_TEST(message.find("'/nonexistent/ppp") == 0);
  BOOST_TEST(message.find("...': cannot open") != std::string::npos, message.substr(0, 300));
  const auto [odd_status, odd_message] = read_outcome("/nonexistent/a\nb\xFF");
  BOOST_TEST(odd_message.find("'/nonexistent/a\\x0Ab\\xFF': cannot open") == 0, odd_message);
  // A buffer's name is quoted the same way; so is an id that add_user refuses.
  std::vector<std::byte> junk(64, std::byte{1});
  try {
    Model::load_buffer(junk, std::string(100000, 'n'));
    BOOST_ERROR("junk loaded");
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()).size() < 500u, std::string(e.what()).size());
    BOOST_TEST(std::string(e.what()).find("'nnn") == 0, e.what());
  }
  Model m = Model::load_buffer(trained().file);
  const std::string existing = m.user_id(0);
  try {
    m.add_user(existing + std::string(1 << 20, ' '), std::vector<Entry>{{0, 4.0f}});
    BOOST_ERROR("an id with a million spaces was added");
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()).size() < 500u, std::string(e.what()).size());
  }
}

BOOST_AUTO_TEST_CASE(every_flipped_byte_or_truncation_is_rejected) {
  const std::vector<std::byte>& good = trained().file;
  BOOST_TEST((load_status(good) == Status::Ok));
  // Flip bytes across the whole file: header fields, zstd frame header, compressed body, checksum.
  for (std::size_t pos : {std::size_t{0}, std::size_t{9}, std::size_t{17}, std::size_t{26}, std::size_t{33},
                          good.size() / 2, good.size() - 3}) {
    std::vector<std::byte> bad = good;
    bad[pos] ^= std::byte{0x5A};
    BOOST_TEST((load_status(bad) != Status::Ok), "flip at " << pos);
  }
  for (std::size_t len : {std::size_t{0}, std::size_t{5}, std::size_t{32}, std::size_t{40}, good.size() - 1}) {
    std::vector<std::byte> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(len));
    BOOST_TEST((load_status(cut) == Status::Corrupt), "truncated to " << len);
  }
  std::vector<std::byte> padded = good;
  padded.push_back(std::byte{0});
  BOOST_TEST((load_status(padded) == Status::Corrupt));
}

BOOST_AUTO_TEST_CASE(wrong_versions_are_unsupported) {
  std::vector<std::byte> bad = trained().file;
  bad[12] = std::byte{99};  // schema version 99
  BOOST_TEST((load_status(bad) == Status::Unsupported));
  bad = trained().file;
  bad[8] = std::byte{kContainerVersion + 1};
  BOOST_TEST((load_status(bad) == Status::Unsupported));
}

BOOST_AUTO_TEST_CASE(external_tensors_load_like_inline_ones) {
  // Models above 2 GiB keep their tensors after the FlatBuffer; the small model takes that path when forced.
  const test::Trained& t = trained();
  const std::vector<std::byte> ext = external_file(t);
  const Model a = Model::load_buffer(t.file, "inline.fb"), b = Model::load_buffer(ext, "external.fb");
  for (std::uint32_t l = 0; l < 2; ++l) {
    BOOST_TEST(a.weight(l) == b.weight(l));
    BOOST_TEST(a.bias(l) == b.bias(l));
  }
  std::vector<float> x(a.column_length()), y(b.column_length());
  a.reconstruct_column(3, x);
  b.reconstruct_column(3, y);
  BOOST_TEST(x == y);
}

// The same model and column reconstruction, for two loads that should be identical.
void expect_same_model(const Model& a, const Model& b) {
  BOOST_REQUIRE(a.info().layers.size() == b.info().layers.size());
  for (std::uint32_t l = 0; l < a.info().layers.size(); ++l) {
    BOOST_TEST(a.weight(l) == b.weight(l));
    BOOST_TEST(a.bias(l) == b.bias(l));
  }
  BOOST_TEST(a.info().codes_in_file == b.info().codes_in_file);
  std::vector<float> x(a.column_length()), y(b.column_length());
  for (std::uint32_t col = 0; col < a.num_columns(); ++col) {
    a.reconstruct_column(col, x);
    b.reconstruct_column(col, y);
    BOOST_REQUIRE(x == y);
  }
}

// The file `ext` (tensors in the data section) written again with its tensors placed after `gap` zero bytes,
// in the reverse of the order the reader reads them when `reverse`.
std::vector<std::byte> with_data_section_rearranged(std::span<const std::byte> ext, std::size_t gap, bool reverse) {
  const AlignedBytes content = unpack_container(ext, "external.fb", 1u << 30);
  std::unique_ptr<fb::ModelT> m(fb::GetSizePrefixedModel(content.data())->UnPack());
  const std::uint64_t old_start = data_section_start(4 + flatbuffers::ReadScalar<flatbuffers::uoffset_t>(content.data()));
  std::vector<std::uint8_t> section(gap, 0);
  int moved = 0;
  for (std::size_t n = 0; n < m->buffers.size(); ++n) {
    fb::BufferT& b = *m->buffers[reverse ? m->buffers.size() - 1 - n : n];
    if (b.size == 0) continue;
    const std::uint8_t* from = content.data() + old_start + b.offset;
    section.resize(align_up(section.size(), kDataAlignment));
    b.offset = section.size();
    section.insert(section.end(), from, from + b.size);
    ++moved;
  }
  BOOST_TEST_REQUIRE(moved >= 4);  // V, mu, W, b and the codes
  flatbuffers::FlatBufferBuilder fbb;
  fb::FinishSizePrefixedModelBuffer(fbb, fb::Model::Pack(fbb, m.get()));
  std::vector<std::uint8_t> padding(data_section_start(fbb.GetSize()) - fbb.GetSize(), 0);
  const std::span<const std::uint8_t> parts[] = {{fbb.GetBufferPointer(), fbb.GetSize()}, padding, section};
  return pack_container(parts, 3, kContainerVersion, FileKind::Model, m->schema_version);
}

// A temporary file holding `bytes`, removed with the object.
struct TempFile {
  TempFile(const std::string& name, std::span<const std::byte> bytes) : path(test::temp_path(name)) {
    train::write_file_atomic(path, bytes);
  }
  ~TempFile() { std::filesystem::remove(path); }
  std::string path;
};

BOOST_AUTO_TEST_CASE(a_data_section_in_another_order_loads_the_same) {
  // The reader decompresses the content front to back; a writer that placed the tensors in the reverse of
  // the order they are read makes it start again for each one, and the model must come out the same, from
  // memory and from a file.
  const test::Trained& t = trained();
  const std::vector<std::byte> ext = external_file(t);
  const std::vector<std::byte> reversed = with_data_section_rearranged(ext, 0, true);
  expect_same_model(Model::load_buffer(ext, "external.fb"), Model::load_buffer(reversed, "reversed.fb"));
  const TempFile file("reversed.fb", reversed);
  expect_same_model(Model::load_buffer(ext, "external.fb"), Model::load_file(file.path));
}

BOOST_AUTO_TEST_CASE(a_data_section_out_of_order_past_twice_its_content_is_refused) {
  // Behind a zero gap that compresses to almost nothing, each step back would decompress the gap again: a
  // small file could cost many times its content. Past twice the content (and the slack) it is refused; the
  // same gap in the order the reader reads loads.
  const test::Trained& t = trained();
  const std::vector<std::byte> ext = external_file(t);
  const std::size_t gap = std::size_t{16} << 20;  // 4 steps back over 16 MiB: 64 MiB > 2 x 16 MiB + 16 MiB
  const std::vector<std::byte> forward = with_data_section_rearranged(ext, gap, false);
  const std::vector<std::byte> backward = with_data_section_rearranged(ext, gap, true);
  BOOST_TEST(backward.size() < std::size_t{1} << 20);
  expect_same_model(Model::load_buffer(ext, "external.fb"), Model::load_buffer(forward, "forward.fb"));
  try {
    Model::load_buffer(backward, "backward.fb");
    BOOST_ERROR("a data section out of order past the bound loaded");
  } catch (const Error& e) {
    BOOST_TEST((e.status() == Status::Corrupt));
    BOOST_TEST(std::string(e.what()).find("out of order") != std::string::npos, e.what());
  }
}

BOOST_AUTO_TEST_CASE(a_frame_without_its_checksum_is_refused) {
  // The reader copies as it decompresses and trusts the copies once the checksum holds: a frame without one
  // (zstd's one-shot default) is refused, from memory and from a file.
  const test::Trained& t = trained();
  const AlignedBytes content = unpack_container(t.file, "model.fb", 1u << 30);
  std::vector<std::byte> bad(kHeaderSize + ZSTD_compressBound(content.size));
  const std::size_t n = ZSTD_compress(bad.data() + kHeaderSize, bad.size() - kHeaderSize, content.data(), content.size, 3);
  BOOST_TEST_REQUIRE(!ZSTD_isError(n));
  bad.resize(kHeaderSize + n);
  std::copy(t.file.begin(), t.file.begin() + kHeaderSize, bad.begin());
  for (int i = 0; i < 8; ++i) bad[16 + i] = static_cast<std::byte>(std::uint64_t{n} >> (8 * i));
  const auto refused = [](const auto& load) {
    try {
      load();
    } catch (const Error& e) {
      return e.status() == Status::Corrupt && std::string(e.what()).find("no checksum") != std::string::npos;
    }
    return false;
  };
  BOOST_TEST(refused([&] { Model::load_buffer(bad, "no-checksum.fb"); }));
  const TempFile file("no-checksum.fb", bad);
  BOOST_TEST(refused([&] { Model::load_file(file.path); }));
}

BOOST_AUTO_TEST_CASE(a_file_loads_as_its_bytes_do_and_a_damaged_one_is_refused) {
  // load_file decompresses as it reads the file; it must give load_buffer's model, and refuse what
  // load_buffer refuses: a flipped byte in the compressed tensors (the checksum), a cut or padded file.
  const test::Trained& t = trained();
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("autorec-load-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto write = [&](const std::string& name, std::span<const std::byte> bytes) {
    const std::string path = (dir / name).string();
    std::FILE* f = std::fopen(path.c_str(), "wb");
    BOOST_REQUIRE(f);
    BOOST_REQUIRE(std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size());
    std::fclose(f);
    return path;
  };
  const std::vector<std::byte> ext = external_file(t);
  expect_same_model(Model::load_file(write("inline.fb", t.file)), Model::load_buffer(t.file));
  expect_same_model(Model::load_file(write("external.fb", ext)), Model::load_buffer(ext));
  // int8 weights in the data section: each matrix's row scales are read before its values.
  const std::vector<std::byte> i8 = train::convert_model_file(t.file, "small.fb", DType::I8, 3, 0);
  expect_same_model(Model::load_file(write("i8.fb", i8)), Model::load_buffer(i8));
  const auto status_of = [&](const std::string& name, std::span<const std::byte> bytes) {
    const std::string path = write(name, bytes);
    try {
      Model::load_file(path);
    } catch (const Error& e) {
      BOOST_TEST_MESSAGE("rejected: " << e.what());
      BOOST_TEST(std::string(e.what()).find("'" + path + "'") == 0, e.what());
      return e.status();
    }
    return Status::Ok;
  };
  for (const std::size_t pos : {std::size_t{40}, ext.size() / 2, ext.size() - 6, ext.size() - 2}) {
    std::vector<std::byte> bad = ext;
    bad[pos] ^= std::byte{0x5A};
    BOOST_TEST((status_of("flipped.fb", bad) != Status::Ok), "flip at " << pos);
  }
  for (const std::size_t len : {std::size_t{20}, std::size_t{40}, ext.size() / 2, ext.size() - 1}) {
    const std::vector<std::byte> cut(ext.begin(), ext.begin() + static_cast<std::ptrdiff_t>(len));
    BOOST_TEST((status_of("cut.fb", cut) == Status::Corrupt), "cut to " << len);
  }
  // Cut inside the frame with the header's compressed size rewritten to match: the stream, not the header
  // check, finds the frame short; from memory too.
  for (const std::size_t len : {std::size_t{kHeaderSize + 20}, ext.size() / 2, ext.size() - 1}) {
    std::vector<std::byte> cut(ext.begin(), ext.begin() + static_cast<std::ptrdiff_t>(len));
    for (int i = 0; i < 8; ++i) cut[16 + i] = static_cast<std::byte>((len - kHeaderSize) >> (8 * i));
    BOOST_TEST((status_of("cut-frame.fb", cut) == Status::Corrupt), "frame cut to " << len);
    BOOST_TEST((load_status(cut) == Status::Corrupt), "frame cut to " << len << ", from memory");
  }
  std::vector<std::byte> padded = ext;
  padded.push_back(std::byte{0});
  BOOST_TEST((status_of("padded.fb", padded) == Status::Corrupt));
  // A header whose sizes agree with a longer file than the frame: the frame's end, not the file's, is wrong.
  std::vector<std::byte> trailing = ext;
  trailing.insert(trailing.end(), 8, std::byte{0});
  const std::uint64_t longer = trailing.size() - kHeaderSize;
  for (int i = 0; i < 8; ++i) trailing[16 + i] = static_cast<std::byte>(longer >> (8 * i));
  BOOST_TEST((status_of("trailing.fb", trailing) == Status::Corrupt));
  std::filesystem::remove_all(dir);
}

// The bytes of a file on disk.
std::vector<std::byte> file_bytes(const std::string& path) {
  const std::vector<std::byte> b = read_file_bytes(path);
  BOOST_TEST_REQUIRE(!b.empty());
  return b;
}

// A model content with the creation time set to 0, so that two builds of one model compare equal.
std::vector<std::uint8_t> content_without_time(std::span<const std::byte> file) {
  const AlignedBytes c = unpack_container(file, "model.fb", 1u << 30);
  std::vector<std::uint8_t> bytes(c.data(), c.data() + c.size);
  auto* info = fb::GetMutableSizePrefixedModel(bytes.data())->mutable_training();
  BOOST_TEST_REQUIRE(info->mutate_created_unix(0));
  return bytes;
}

BOOST_AUTO_TEST_CASE(a_model_written_as_it_is_compressed_is_the_model_in_memory_and_its_test_rmse_is_set_alone) {
  // write_model_file streams the container into the file; set_test_rmse compresses it again with 8 bytes
  // changed. Both, with the tensors inside the FlatBuffer and in the data section.
  const test::Trained& t = trained();
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("autorec-write-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (const std::uint64_t limit : {std::uint64_t{16} << 20, std::uint64_t{0}}) {
    train::ModelContents contents{&t.config, &t.data, &t.csc, &t.result};
    contents.inline_tensor_limit = limit;
    const std::string path = (dir / "model.fb").string();
    const train::WrittenModel written = train::write_model_file(contents, path);
    const std::vector<std::byte> in_memory = train::build_model_file(contents), on_disk = file_bytes(path);
    BOOST_TEST((content_without_time(on_disk) == content_without_time(in_memory)), "inline limit " << limit);
    expect_same_model(Model::load_file(path), Model::load_buffer(in_memory));
    BOOST_TEST(Model::load_file(path).info().test_rmse == -1.0);

    train::set_test_rmse(path, written, 0.8125, 3);
    const std::vector<std::byte> patched = file_bytes(path);
    BOOST_TEST(Model::load_buffer(patched).info().test_rmse == 0.8125);
    const AlignedBytes a = unpack_container(on_disk, "before", 1u << 30), b = unpack_container(patched, "after", 1u << 30);
    BOOST_TEST_REQUIRE(a.size == b.size);
    std::size_t differ = 0;
    for (std::size_t i = 0; i < a.size; ++i)
      if (a.data()[i] != b.data()[i]) {
        ++differ;
        BOOST_TEST((i >= written.test_rmse_offset && i < written.test_rmse_offset + 8), "byte " << i << " changed");
      }
    BOOST_TEST(differ > 0u);
    expect_same_model(Model::load_buffer(patched), Model::load_buffer(in_memory));

    // Not the place write_model_file left (8 bytes that do not hold -1): refused, the file left as it was.
    BOOST_CHECK_THROW(train::set_test_rmse(path, train::WrittenModel{0}, 0.5, 3), Error);
    BOOST_CHECK_THROW(train::set_test_rmse(path, written, 0.5, 3), Error);  // it holds 0.8125 now
    BOOST_TEST((file_bytes(path) == patched));
    // A damaged file is refused, left as it was, and no temporary file stays beside it.
    std::vector<std::byte> damaged = patched;
    damaged[damaged.size() / 2] ^= std::byte{0x5A};
    train::write_file_atomic(path, damaged);
    BOOST_CHECK_THROW(train::set_test_rmse(path, written, 0.5, 3), Error);
    BOOST_TEST((file_bytes(path) == damaged));
    BOOST_TEST(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()) == 1);
  }
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(an_atomic_file_not_committed_leaves_the_previous_file_and_nothing_else) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("autorec-atomic-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "model.fb").string();
  const std::vector<std::byte> before(100, std::byte{7}), after(50, std::byte{9});
  train::write_file_atomic(path, before);
  {
    train::AtomicFile f(path);
    f.append(after);
    BOOST_TEST(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()) == 2);
  }  // destroyed without commit(), as when an exception leaves the writer
  BOOST_TEST((file_bytes(path) == before));
  BOOST_TEST(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()) == 1);
  {
    train::AtomicFile f(path);
    f.append(after);
    const std::byte head[2] = {std::byte{1}, std::byte{2}};
    f.put_header(head);
    f.commit();
  }
  std::vector<std::byte> expected = after;
  expected[0] = std::byte{1}, expected[1] = std::byte{2};
  BOOST_TEST((file_bytes(path) == expected));
  BOOST_CHECK_THROW(train::AtomicFile((dir / "no-such-folder" / "model.fb").string()), Error);
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(stored_codes_serve_like_codes_computed_at_load) {
  // A file with the trainer's cached codes and one without (as schema 1 files are): the same predictions,
  // up to float summation order, for a one-layer and a deeper network.
  for (const bool deep : {false, true}) {
    train::TrainConfig c;
    c.hidden = 12;
    c.epochs = 3;
    if (deep) c.inner = {{6, Activation::Elu, 0.0f}};
    test::Trained t = test::train_small(c);
    train::ModelContents contents{&t.config, &t.data, &t.csc, &t.result};
    contents.codes_limit = 0;
    const Model with = Model::load_buffer(t.file, "codes.fb"), without = Model::load_buffer(train::build_model_file(contents), "none.fb");
    BOOST_REQUIRE(with.num_columns() == without.num_columns());
    BOOST_TEST(with.info().codes_in_file);
    BOOST_TEST(!without.info().codes_in_file);
    std::vector<float> x(with.column_length()), y(with.column_length());
    float worst = 0;
    for (std::uint32_t col = 0; col < with.num_columns(); ++col) {
      with.reconstruct_column(col, x);
      without.reconstruct_column(col, y);
      for (std::size_t r = 0; r < x.size(); ++r) worst = std::max(worst, std::abs(x[r] - y[r]));
    }
    BOOST_TEST(worst <= 1e-5f, "deep " << deep << ": largest difference " << worst);
    BOOST_TEST(train::build_model_file(contents).size() < t.file.size());  // the codes take room
    // Reduced weight types: the stored codes are those of the weights as stored, and a conversion to another
    // type drops them (the reader then computes them from the converted weights).
    for (const DType dtype : {DType::F16, DType::I8}) {
      train::ModelContents reduced{&t.config, &t.data, &t.csc, &t.result};
      reduced.dtype = dtype;
      const std::vector<std::byte> stored = train::build_model_file(reduced);
      reduced.codes_limit = 0;
      const Model a = Model::load_buffer(stored, "a.fb"), b = Model::load_buffer(train::build_model_file(reduced), "b.fb");
      const std::vector<std::byte> converted = train::convert_model_file(t.file, "t.fb", dtype);
      const Model cv = Model::load_buffer(converted, "converted.fb");
      BOOST_TEST(a.info().codes_in_file);
      BOOST_TEST(!cv.info().codes_in_file);
      float gap = 0, gap_converted = 0;
      std::vector<float> z(a.column_length());
      for (std::uint32_t col = 0; col < a.num_columns(); ++col) {
        a.reconstruct_column(col, x);
        b.reconstruct_column(col, y);
        cv.reconstruct_column(col, z);
        for (std::size_t r = 0; r < x.size(); ++r)
          gap = std::max(gap, std::abs(x[r] - y[r])), gap_converted = std::max(gap_converted, std::abs(z[r] - y[r]));
      }
      BOOST_TEST(gap <= 1e-5f, dtype_name(dtype) << ": stored codes differ by " << gap);
      BOOST_TEST(gap_converted <= 1e-5f, dtype_name(dtype) << ": converted model differs by " << gap_converted);
    }
  }
}

BOOST_AUTO_TEST_CASE(external_offsets_outside_the_data_section_are_rejected) {
  // Rebuild the external model with one buffer's size pushed past the end of the data section. The FlatBuffer
  // stays verifier-valid, so only the reader's bounds check can catch it.
  const test::Trained& t = trained();
  const AlignedBytes content = unpack_container(external_file(t), "external.fb", 1u << 30);
  std::vector<std::uint8_t> bytes(content.data(), content.data() + content.size);
  const fb::Model* m = fb::GetSizePrefixedModel(bytes.data());
  BOOST_REQUIRE(m->buffers()->size() > 2u);
  // The last buffer: its offset is past the first tensor, so it is stored (not a default) and can be mutated.
  auto* b = const_cast<fb::Buffer*>(m->buffers()->Get(m->buffers()->size() - 1));
  BOOST_REQUIRE(b->size() > 0u);
  BOOST_REQUIRE(b->offset() > 0u);
  BOOST_REQUIRE(b->mutate_size(b->size() + content.size));
  const std::span<const std::uint8_t> parts[] = {bytes};
  BOOST_TEST((load_status(pack_container(parts, 3)) == Status::Corrupt));
  BOOST_REQUIRE(b->mutate_size(b->size() - content.size));
  BOOST_REQUIRE(b->mutate_offset(b->offset() + 8));  // misaligned
  BOOST_TEST((load_status(pack_container(parts, 3)) == Status::Corrupt));
}

BOOST_AUTO_TEST_CASE(decompressed_size_is_capped) {
  LoadOptions o;
  o.max_decompressed_bytes = 1000;
  try {
    Model::load_buffer(trained().file, "big.fb", o);
    BOOST_FAIL("loaded past the cap");
  } catch (const Error& e) {
    BOOST_TEST((e.status() == Status::OutOfMemory));
    BOOST_TEST(std::string(e.what()).find("content_size") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(garbage_flatbuffer_fails_the_verifier) {
  std::vector<std::uint8_t> junk(4096);
  for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<std::uint8_t>(splitmix64(i));
  std::memcpy(junk.data() + 4, "ARC1", 4);
  const auto file = version1(junk);
  BOOST_TEST((load_status(file) == Status::Corrupt));
}

BOOST_AUTO_TEST_CASE(input_rule_serves_as_trained_and_needs_schema_3) {
  // The trainer's validation RMSE (its own encoder) against the loaded file's predictions on the same cells
  // (the file's stored codes, and codes computed at load): all three must read (rating + offset) * scale.
  train::TrainConfig c;
  c.hidden = 12;
  c.epochs = 30;
  c.batch_size = 8;
  c.learning_rate = 0.01;
  c.input_offset = 3;
  c.input_norm = 0.5f;
  test::Trained t = test::train_small(c);
  // Held-out ratings of users and items with fit ratings (the others take the cold-start rules).
  std::set<std::uint32_t> users, items;
  for (const data::Rating& r : t.fit) users.insert(r.user), items.insert(r.item);
  std::erase_if(t.test, [&](const data::Rating& r) { return !users.count(r.user) || !items.count(r.item); });
  BOOST_REQUIRE(t.test.size() > 50);
  std::vector<train::Cell> cells;
  for (const data::Rating& r : t.test) cells.push_back({r.user, r.item, r.value});  // item-based: row = user
  std::uint32_t filled = 0;  // columns with ratings: their mean length is the norm's reference
  for (std::uint32_t col = 0; col < t.csc.num_cols(); ++col) filled += t.csc.start[col + 1] > t.csc.start[col];
  const train::TrainResult res = train::train(t.config, t.csc, cells, t.data.scale.min, t.data.scale.max, nullptr);
  train::ModelContents contents{&t.config, &t.data, &t.csc, &res};
  const std::vector<std::byte> stored = train::build_model_file(contents);
  contents.codes_limit = 0;
  const std::vector<std::byte> computed = train::build_model_file(contents);
  for (const auto* file : {&stored, &computed}) {
    const Model m = Model::load_buffer(*file, "offset.fb");
    BOOST_TEST(m.info().schema_version == 3u);
    BOOST_TEST(m.info().input.offset == 3.0f);
    BOOST_TEST(m.info().input.norm_power == 0.5f);
    BOOST_TEST(m.info().input.norm_count == double(t.csc.nnz()) / filled, boost::test_tools::tolerance(1e-5));
    double sse = 0;
    std::size_t inside = 0;  // answers the clamp leaves alone: a trained model, not one stuck at an end
    for (const data::Rating& r : t.test) {
      const double e = m.predict(r.user, r.item).value - r.value;
      sse += e * e;
      const float raw = m.predict(r.user, r.item, false).value;
      inside += raw > t.data.scale.min && raw < t.data.scale.max;
    }
    // Spread over 10 seeds in the native and the portable build (scripts/test-spread): 0 (none) every time.
    test::check_bound("input_rule_share_clamped", 1.0 - double(inside) / double(t.test.size()), 0.25);
    const double file_rmse = std::sqrt(sse / double(t.test.size()));
    BOOST_TEST_MESSAGE("file RMSE " << file_rmse << ", trainer's validation RMSE " << res.history[res.best_epoch - 1].val_rmse);
    BOOST_TEST(file_rmse == res.history[res.best_epoch - 1].val_rmse, boost::test_tools::tolerance(1e-5));
  }
  // Without the input rule the same network answers differently: the rule is really applied.
  c.input_offset = 0;
  c.input_norm = 0;
  train::ModelContents plain_contents{&c, &t.data, &t.csc, &res};
  const Model with = Model::load_buffer(stored, "offset.fb"), without = Model::load_buffer(train::build_model_file(plain_contents), "plain.fb");
  BOOST_TEST(without.info().schema_version == 2u);  // old readers still read models that do not need 3
  float gap = 0;
  for (const data::Rating& r : t.test)
    gap = std::max(gap, std::abs(with.predict(r.user, r.item, false).value - without.predict(r.user, r.item, false).value));
  test::check_bound_above("input_rule_gap_to_plain", gap, 0.01);  // spread (10 seeds, both builds): 0.963-1.123

  // Converting the weights' storage type keeps the rule and the schema version.
  const Model converted = Model::load_buffer(train::convert_model_file(stored, "offset.fb", DType::F16), "f16.fb");
  BOOST_TEST(converted.info().schema_version == 3u);
  BOOST_TEST(converted.info().input.offset == with.info().input.offset);
  BOOST_TEST(converted.info().input.norm_power == with.info().input.norm_power);
  BOOST_TEST(converted.info().input.norm_count == with.info().input.norm_count);
  float f16_gap = 0;
  for (const data::Rating& r : t.test)
    f16_gap = std::max(f16_gap, std::abs(with.predict(r.user, r.item, false).value - converted.predict(r.user, r.item, false).value));
  BOOST_TEST(f16_gap < 0.01f);  // fp16 rounding, not the plain model's gap above

  // Damaged rules are refused, naming the field: a file that sets the rule but says schema 2 (a version-2
  // reader would misread it), and values no trainer writes.
  using test::edited_model_file, test::expect_refused;
  expect_refused(edited_model_file(stored, [](fb::ModelT&) {}, 2), "input_offset");
  expect_refused(edited_model_file(stored, [](fb::ModelT& m) { m.input_offset = std::nanf(""); }, 3), "input_offset");
  expect_refused(edited_model_file(stored, [](fb::ModelT& m) { m.input_norm_power = -0.5f; }, 3), "input_norm_power");
  expect_refused(edited_model_file(stored, [](fb::ModelT& m) { m.input_norm_power = std::nanf(""); }, 3), "input_norm_power");
  expect_refused(edited_model_file(stored, [](fb::ModelT& m) { m.input_norm_count = 0; }, 3), "input_norm_count");
}

BOOST_AUTO_TEST_CASE(semantic_checks_catch_inconsistent_models) {
  // A verifier-valid model whose layers do not chain must be rejected by the semantic checks.
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<float> w(6, 0.1f), b(3, 0.0f);
  std::vector<flatbuffers::Offset<fb::Buffer>> buffers = {fb::CreateBuffer(fbb)};
  auto add = [&](const std::vector<float>& v) {
    buffers.push_back(fb::CreateBuffer(fbb, fbb.CreateVector(reinterpret_cast<const std::uint8_t*>(v.data()), v.size() * 4)));
    return static_cast<std::uint32_t>(buffers.size() - 1);
  };
  std::vector<std::uint64_t> s23 = {2, 3}, s3 = {3};
  std::vector<flatbuffers::Offset<fb::Tensor>> tensors = {
      fb::CreateTensorDirect(fbb, "w", &s23, fb::DType::F32, add(w)), fb::CreateTensorDirect(fbb, "b", &s3, fb::DType::F32, add(b))};
  // Layer 1 claims in_size 4 but layer 0 outputs 3.
  std::vector<flatbuffers::Offset<fb::Layer>> layers = {fb::CreateLayer(fbb, 2, 3, fb::Activation::Sigmoid, 0, 0, 1, fb::WeightLayout::InOut),
                                                        fb::CreateLayer(fbb, 4, 2, fb::Activation::Identity, 0, 0, 1)};
  auto model = fb::CreateModel(fbb, kSchemaVersion, fb::Variant::ItemBased, fbb.CreateVector(layers),
                               fbb.CreateVector(tensors), fbb.CreateVector(buffers));
  fb::FinishModelBuffer(fbb, model);
  try {
    Model::load_buffer(with_flatbuffer(fbb), "chain.fb");
    BOOST_FAIL("accepted a broken layer chain");
  } catch (const Error& e) {
    BOOST_TEST((e.status() == Status::Corrupt));
    BOOST_TEST(std::string(e.what()).find("layers[1].in_size") != std::string::npos, e.what());
  }
}

BOOST_AUTO_TEST_CASE(bad_calls_are_rejected_not_crashed) {
  const Model m = Model::load_buffer(trained().file, "model.fb");
  std::vector<float> out(m.column_length());
  const Entry bad_index[] = {{m.column_length(), 3.0f}};
  BOOST_CHECK_THROW(m.reconstruct(bad_index, out), Error);
  std::vector<float> short_out(3);
  BOOST_CHECK_THROW(m.reconstruct_column(0, short_out), Error);
  BOOST_CHECK_THROW(m.reconstruct_column(m.num_columns(), out), Error);
  // Unknown ids fall back instead of failing.
  const Prediction p = m.predict("no-such-user", "no-such-item");
  BOOST_TEST((p.source == Source::GlobalMean));
}

BOOST_AUTO_TEST_SUITE_END()
