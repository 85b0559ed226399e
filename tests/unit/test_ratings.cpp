// Rating file parsing: formats, ids, scales, duplicates, and errors that name file, line and text.
#include <zstd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <tuple>

#include "autorec/data/dataset.hpp"
#include "autorec/data/random.hpp"
#include "autorec/data/ratings.hpp"
#include "autorec/data/synth.hpp"
#include "autorec/error.hpp"
#include "helpers.hpp"

using namespace autorec;
using namespace autorec::train;
using namespace autorec::data;
using autorec::test::temp_path;

namespace {

std::string error_of(std::string_view text, const ReadOptions& o = {}) {
  try {
    parse_ratings(text, "r.data", o);
  } catch (const Error& e) {
    BOOST_TEST((e.status() == Status::BadInput));
    return e.what();
  }
  return "";
}

// A zstd frame with a content checksum, as the zstd command line writes by default.
std::string zstd_of(std::string_view text) {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
  std::string z(ZSTD_compressBound(text.size()), '\0');
  z.resize(ZSTD_compress2(c, z.data(), z.size(), text.data(), text.size()));
  ZSTD_freeCCtx(c);
  return z;
}

// One malformed (or merely unusual) ratings file and what reading it must do. Written to a real file, so
// the file-level checks (gzip, zstd, binary) run too. docs/DATA.md has the same table for users.
struct MalformedInput {
  std::string name, bytes;
  long read;                       // ratings read; -1: the file is refused with autorec::Error(BadInput)
  std::uint64_t line = 0;          // refused: the line the message names as FILE:LINE: (0: the whole file)
  std::vector<std::string> says{};  // refused: text the message must also contain (the field, the value)
  ReadOptions options{};
  DuplicatePolicy policy = DuplicatePolicy::Last;
  std::uint64_t duplicates = 0, skipped = 0;  // read: what the dataset and the reader must report
};

ReadOptions scale_1_5() {
  ReadOptions o;
  o.rating_min = 1;
  o.rating_max = 5;
  return o;
}

ReadOptions skipping() {
  ReadOptions o;
  o.skip_bad_lines = true;
  return o;
}

std::vector<MalformedInput> bad_inputs() {
  const std::string z = zstd_of("1\t2\t4\n3\t4\t5\n");
  std::string corrupt = z;
  corrupt[corrupt.size() / 2] ^= 0x5A;
  return {
      {.name = "empty", .bytes = "", .read = -1, .says = {"no ratings found (0 lines)"}},
      {.name = "blank_lines", .bytes = "\n  \n\t\r\n", .read = -1, .says = {"no ratings found"}},
      {.name = "header_only", .bytes = "userId,movieId,rating,timestamp\n", .read = -1, .says = {"a header only"}},
      {.name = "header_then_ratings", .bytes = "userId,movieId,rating,timestamp\n1,2,4.5,0\n", .read = 1},
      {.name = "crlf", .bytes = "1 2 4\r\n3 4 5\r\n", .read = 2},
      {.name = "bom", .bytes = "\xEF\xBB\xBF" "1\t2\t4\n", .read = 1},
      {.name = "bom_header_crlf", .bytes = "\xEF\xBB\xBF" "user,item,rating\r\n1,2,4\r\n", .read = 1},
      {.name = "cr_only", .bytes = "1 2 4\r3 4 5\r", .read = -1, .line = 1, .says = {"'4?3' is not a number"}},
      {.name = "tabs", .bytes = "1\t2\t4\n3\t4\t5\n", .read = 2},
      {.name = "spaces", .bytes = "1 2 4\n3   4 5\n", .read = 2},
      {.name = "tabs_and_spaces", .bytes = "1\t2 4\n 3  \t4\t 5  \n", .read = 2},
      {.name = "no_final_newline", .bytes = "1 2 4\n3 4 5", .read = 2},
      {.name = "extra_fields", .bytes = "1 2 4 881250949 extra\n", .read = 1},
      {.name = "ratings_dat", .bytes = "1::2::4::978300760\n", .read = 1},
      {.name = "missing_field", .bytes = "1 2 4\n3 4\n", .read = -1, .line = 2, .says = {"found 2", "'3 4'"}},
      {.name = "empty_tab_field", .bytes = "1\t\t4\n", .read = -1, .line = 1, .says = {"found 2"}},
      {.name = "empty_item", .bytes = "1,2,4\n3,,5\n", .read = -1, .line = 2, .says = {"empty item id"}},
      {.name = "empty_rating_first_line", .bytes = "1,2,\n3,4,5\n", .read = -1, .line = 1, .says = {"field rating: ''"}},
      {.name = "mixed_separators", .bytes = "1::2::4\n1,3,5\n", .read = -1, .line = 2, .says = {"found 1"}},
      {.name = "non_numeric", .bytes = "1 2 4\n1 3 four\n", .read = -1, .line = 2, .says = {"field rating: 'four' is not a number"}},
      {.name = "non_numeric_first_line", .bytes = "1 2 four\n1 3 4\n", .read = -1, .line = 1, .says = {"'four'"}},
      {.name = "rating_with_unit", .bytes = "1 2 4stars\n", .read = -1, .line = 1, .says = {"'4stars'"}},
      {.name = "nan", .bytes = "1 2 4\n1 3 nan\n", .read = -1, .line = 2, .says = {"'nan' is not finite"}},
      {.name = "nan_first_line", .bytes = "1 2 NaN\n", .read = -1, .line = 1, .says = {"'NaN' is not finite"}},
      {.name = "inf", .bytes = "1 2 -Infinity\n", .read = -1, .line = 1, .says = {"'-Infinity' is not finite"}},
      {.name = "beyond_float", .bytes = "1 2 4\n1 3 1e40\n", .read = -1, .line = 2, .says = {"'1e40' is out of the range"}},
      {.name = "above_scale", .bytes = "1 2 5\n1 3 6\n", .read = -1, .line = 2, .says = {"'6' is outside the rating scale"},
       .options = scale_1_5()},
      {.name = "below_scale", .bytes = "1 2 0.5\n", .read = -1, .line = 1, .says = {"'0.5' is outside"}, .options = scale_1_5()},
      {.name = "scale_ends", .bytes = "1 2 1\n1 3 5\n", .read = 2, .options = scale_1_5()},
      {.name = "negative_ids", .bytes = "-1 -2 4\n-1 -3 5\n", .read = 2},
      {.name = "ids_of_20_digits", .bytes = "12345678901234567890 98765432109876543210 4\n", .read = 1},
      {.name = "duplicates_last", .bytes = "1 1 2\n1 2 5\n1 1 4\n", .read = 3, .duplicates = 1},
      {.name = "duplicates_error", .bytes = "1 1 2\n1 2 5\n1 1 4\n", .read = -1, .line = 3,
       .says = {"duplicate rating of user '1' for item '1'", "first on line 1"}, .policy = DuplicatePolicy::Error},
      {.name = "one_user", .bytes = "1 1 4\n1 2 3\n1 3 5\n", .read = 3},
      {.name = "one_item", .bytes = "1 1 4\n2 1 3\n3 1 5\n", .read = 3},
      {.name = "one_rating", .bytes = "1 1 4\n", .read = 1},
      {.name = "skip_bad_lines", .bytes = "1 2 4\n1 3 x\n2 2 nan\n2 3 5\n", .read = 2, .options = skipping(), .skipped = 2},
      {.name = "skip_bad_lines_all", .bytes = "1 2 x\n1 3 y\n", .read = -1, .says = {"no ratings found", "2 skipped"},
       .options = skipping()},
      {.name = "gzip", .bytes = std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10), .read = -1, .says = {"gzip"}},
      {.name = "binary", .bytes = std::string("1 2 4\n\0\x01\x02", 9), .read = -1, .says = {"looks binary"}},
      {.name = "zstd", .bytes = z, .read = 2},
      {.name = "zstd_truncated", .bytes = z.substr(0, z.size() / 2), .read = -1, .says = {"zstd stream is truncated"}},
      {.name = "zstd_corrupt", .bytes = corrupt, .read = -1, .says = {"zstd: "}},
  };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ratings)

BOOST_AUTO_TEST_CASE(movielens_formats) {
  const RawRatings tab = parse_ratings("196\t242\t3\t881250949\n186\t302\t3\t891717742\n", "u.data");
  BOOST_TEST(tab.size() == 2u);
  BOOST_TEST(tab.user_ids[tab.user[1]] == "186");
  const RawRatings dat = parse_ratings("1::1193::5::978300760\n1::661::3::978302109\n", "ratings.dat");
  BOOST_TEST(dat.item_ids[dat.item[1]] == "661");
  BOOST_TEST(dat.value[0] == 5.0f);
  const RawRatings csv = parse_ratings("userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n1,1029,3.0,1260759179\n", "ratings.csv");
  BOOST_TEST(csv.had_header);
  BOOST_TEST(csv.size() == 2u);
  BOOST_TEST(csv.value[0] == 2.5f);
  const RawRatings crlf = parse_ratings("\xEF\xBB\xBF" "1 2 4\r\n3 4 5\r\n\r\n", "crlf.data");
  BOOST_TEST(crlf.size() == 2u);
  BOOST_TEST(crlf.value[1] == 5.0f);
}

BOOST_AUTO_TEST_CASE(errors_name_file_line_and_text) {
  const std::string e = error_of("1\t2\t3\n1\t3\tabc\n");
  BOOST_TEST(e.find("r.data:2:") != std::string::npos, e);
  BOOST_TEST(e.find("abc") != std::string::npos, e);
  BOOST_TEST(error_of("1\t2\n").find("r.data:1:") != std::string::npos);
  BOOST_TEST(error_of("1\t2\t3\n4\t5\tnan\n").find("r.data:2:") != std::string::npos);
  BOOST_TEST(error_of("").find("no ratings") != std::string::npos);
  ReadOptions scale;
  scale.rating_min = 1;
  scale.rating_max = 5;
  BOOST_TEST(error_of("1 2 3\n1 3 6\n", scale).find("outside the rating scale") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(progress_is_reported_through_the_text_and_once_at_its_end) {
  std::string text;
  for (int k = 0; k < 40; ++k) text += std::to_string(k) + " 7 4\n";
  ReadOptions o;
  o.progress_every = 25;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> calls;
  o.progress = [&](std::uint64_t done, std::uint64_t total) { calls.emplace_back(done, total); };
  const RawRatings r = parse_ratings(text, "p.data", o);
  BOOST_TEST(r.size() == 40u);
  BOOST_TEST_REQUIRE(calls.size() >= text.size() / 25 / 2);  // lines are 6-7 bytes: a report every 4 lines or so
  for (std::size_t i = 0; i < calls.size(); ++i) {
    BOOST_TEST(calls[i].second == text.size());
    if (i > 0) BOOST_TEST(calls[i].first >= calls[i - 1].first + (i + 1 < calls.size() ? 25u : 1u));
  }
  BOOST_TEST(calls.back().first == text.size());
  BOOST_TEST(calls.front().first >= 25u);
}

BOOST_AUTO_TEST_CASE(ratings_built_in_memory_equal_the_same_ratings_parsed_and_are_checked_alike) {
  const std::string text = "7 10 4\n3 10 5\n7 2 1.5\nu9 10 2\n";
  const RawRatings parsed = parse_ratings(text, "r.data");
  RatingsBuilder b("arrays");
  for (const auto& [u, i, v] : {std::tuple{"7", "10", 4.0f}, {"3", "10", 5.0f}, {"7", "2", 1.5f}, {"u9", "10", 2.0f}})
    b.add(u, i, v);
  const RawRatings built = b.finish();
  BOOST_TEST(built.source == "arrays");
  BOOST_TEST(built.user_ids == parsed.user_ids);
  BOOST_TEST(built.item_ids == parsed.item_ids);
  BOOST_TEST(built.user == parsed.user);
  BOOST_TEST(built.item == parsed.item);
  BOOST_TEST(built.value == parsed.value);
  BOOST_TEST(built.line == parsed.line);  // rows from 1, as lines are

  const auto message = [](auto&& f) -> std::string {
    try {
      f();
    } catch (const Error& e) {
      return e.status() == Status::BadInput ? e.what() : "";
    }
    return "";
  };
  ReadOptions scale;
  scale.rating_min = 1, scale.rating_max = 5;
  RatingsBuilder checked("df", scale);
  checked.add("1", "1", 3);
  BOOST_TEST(message([&] { checked.add("1", "2", std::nanf("")); }) == "df: row 2: field rating: 'nan' is not finite");
  BOOST_TEST(message([&] { checked.add("1", "2", 6); }) == "df: row 2: field rating: '6' is outside the rating scale [1, 5]");
  BOOST_TEST(message([&] { checked.add("", "2", 3); }) == "df: row 2: empty user id");
  BOOST_TEST(checked.finish().size() == 1u);  // the refused ones were not added
  BOOST_TEST(message([] { RatingsBuilder("none").finish(); }) == "none: no ratings");
  scale.rating_min = 6;
  BOOST_TEST(message([&] { RatingsBuilder("bad", scale); }).find("rating scale [6, 5]") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(skip_bad_lines_counts_what_it_skips) {
  ReadOptions o;
  o.skip_bad_lines = true;
  const RawRatings r = parse_ratings("1 2 3\nbroken\n1 3 x\n2 2 4\n", "r.data", o);
  BOOST_TEST(r.size() == 2u);
  BOOST_TEST(r.skipped_lines == 2u);
  BOOST_TEST(r.skipped_examples.at(0).find("line 2") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(arbitrary_ids_sorted_dense_indices) {
  const Dataset d = make_dataset(parse_ratings("900000000000 -5 1\n7 12 2\n7 -5 4\n", "r"), DuplicatePolicy::Last);
  BOOST_TEST(d.users.is_int);
  BOOST_TEST(d.users.ints == (std::vector<std::int64_t>{7, 900000000000}));
  BOOST_TEST(d.items.ints == (std::vector<std::int64_t>{-5, 12}));
  const Dataset s = make_dataset(parse_ratings("alice,tt01,4.5\nbob,tt01,3\n007,tt02,1\n", "r"), DuplicatePolicy::Last);
  BOOST_TEST(!s.users.is_int);  // "007" is not a canonical integer, so ids stay text
  BOOST_TEST(s.users.strs == (std::vector<std::string>{"007", "alice", "bob"}));
  BOOST_TEST(!s.scale.integral);
  BOOST_TEST(s.scale.step == 0.5f);  // 1, 3 and 4.5 all sit on the half-star grid
  BOOST_TEST(s.scale.min == 1.0f);
  BOOST_TEST(s.scale.max == 4.5f);
}

BOOST_AUTO_TEST_CASE(duplicate_policies) {
  const RawRatings raw = parse_ratings("1 1 2\n1 2 5\n1 1 4\n", "dups.data");
  BOOST_TEST(make_dataset(raw, DuplicatePolicy::Last).ratings[0].value == 4.0f);
  BOOST_TEST(make_dataset(raw, DuplicatePolicy::First).ratings[0].value == 2.0f);
  BOOST_TEST(make_dataset(raw, DuplicatePolicy::Mean).ratings[0].value == 3.0f);
  BOOST_TEST(make_dataset(raw, DuplicatePolicy::Last).duplicates == 1u);
  try {
    make_dataset(raw, DuplicatePolicy::Error);
    BOOST_FAIL("duplicate accepted");
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()).find("dups.data:3") != std::string::npos, e.what());
  }
}

BOOST_AUTO_TEST_CASE(split_matches_make_split_py) {
  // bench/make_split.py: splitmix64((seed << 42) + (user << 21) + item) % 1000 < 100 for ratio 0.1.
  const Dataset d = make_dataset(parse_ratings("1 1 3\n1 2 3\n2 5 1\n300 1682 4\n943 7 2\n", "r"), DuplicatePolicy::Last);
  for (const Rating& r : d.ratings) {
    const std::uint64_t u = std::uint64_t(d.users.ints[r.user]), i = std::uint64_t(d.items.ints[r.item]);
    const bool expect = splitmix64((std::uint64_t{3} << 42) + (u << 21) + i) % 1000 < 100;
    BOOST_TEST(in_split(d, r, 3, 0.1) == expect);
  }
}

BOOST_AUTO_TEST_CASE(zstd_files_and_gzip_refusal) {
  const std::string text = "1\t2\t3\n4\t5\t1\n";
  std::vector<char> z(ZSTD_compressBound(text.size()));
  z.resize(ZSTD_compress(z.data(), z.size(), text.data(), text.size(), 3));
  const std::string zp = temp_path("autorec_test_ratings.zst");
  std::ofstream(zp, std::ios::binary).write(z.data(), static_cast<std::streamsize>(z.size()));
  BOOST_TEST(read_ratings(zp).size() == 2u);
  const std::string gz = temp_path("autorec_test_ratings.gz");
  std::ofstream(gz, std::ios::binary) << "\x1f\x8b\x08\x00rest";
  try {
    read_ratings(gz);
    BOOST_FAIL("gzip accepted");
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()).find("gzip") != std::string::npos);
  }
  BOOST_CHECK_THROW(read_ratings(temp_path("autorec_no_such_file")), Error);
  std::remove(zp.c_str());
  std::remove(gz.c_str());
}

// Every row of bad_inputs(): read, and the dataset built, exactly as autorec-train does; either the expected
// count of ratings (nothing dropped unless reported) or an error naming the file, the line and the value.
BOOST_AUTO_TEST_CASE(malformed_inputs) {
  for (const MalformedInput& row : bad_inputs()) {
    BOOST_TEST_CONTEXT("row " << row.name) {
      const std::string path = temp_path("autorec_bad_" + row.name + ".data");
      std::ofstream(path, std::ios::binary).write(row.bytes.data(), static_cast<std::streamsize>(row.bytes.size()));
      std::string error;
      try {
        const RawRatings raw = read_ratings(path, row.options);
        const Dataset d = make_dataset(raw, row.policy);
        BOOST_TEST(static_cast<long>(raw.size()) == row.read);
        BOOST_TEST(d.ratings.size() == raw.size() - d.duplicates);
        BOOST_TEST(d.duplicates == row.duplicates);
        BOOST_TEST(raw.skipped_lines == row.skipped);
      } catch (const Error& e) {
        BOOST_TEST((e.status() == Status::BadInput));
        error = e.what();
      }
      if (row.read >= 0) {
        BOOST_TEST(error.empty(), error);
      } else {
        const std::string where = row.line ? path + ":" + std::to_string(row.line) + ":" : path + ":";
        BOOST_TEST(error.starts_with(where), error);
        for (const std::string& part : row.says) BOOST_TEST(error.find(part) != std::string::npos, error << " lacks " << part);
      }
      std::filesystem::remove(path);
    }
  }
}

// Ids beyond int64 are kept as text, exactly, and still found when a test file is mapped onto the data.
BOOST_AUTO_TEST_CASE(ids_beyond_int64_stay_text) {
  const Dataset big = make_dataset(parse_ratings("12345678901234567890 1 4\n-7 1 3\n", "r"), DuplicatePolicy::Last);
  BOOST_TEST(!big.users.is_int);
  BOOST_TEST(big.users.strs == (std::vector<std::string>{"-7", "12345678901234567890"}));
  const HeldOut held = map_to_dataset(parse_ratings("12345678901234567890 1 5\n99 1 5\n", "t"), big);
  BOOST_TEST(held.ratings.at(0).user.has_value());
  BOOST_TEST(!held.ratings.at(1).user.has_value());
  const Dataset ends = make_dataset(parse_ratings("-9223372036854775808 1 4\n9223372036854775807 1 3\n", "r"),
                                    DuplicatePolicy::Last);
  BOOST_TEST(ends.users.is_int);
  BOOST_TEST(ends.users.ints == (std::vector<std::int64_t>{INT64_MIN, INT64_MAX}));
}

BOOST_AUTO_TEST_CASE(scale_flags_are_checked_before_the_data) {
  ReadOptions inverted;
  inverted.rating_min = 5;
  inverted.rating_max = 1;
  BOOST_TEST(error_of("1 2 3\n", inverted).find("the minimum must be finite and not above the maximum") != std::string::npos);
  ReadOptions nan;
  nan.rating_max = std::numeric_limits<float>::quiet_NaN();
  BOOST_TEST(error_of("1 2 3\n", nan).find("rating scale") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_directory_is_refused) {
  try {
    read_ratings(std::filesystem::temp_directory_path().string());
    BOOST_FAIL("directory accepted");
  } catch (const Error& e) {
    BOOST_TEST((e.status() == Status::BadInput));
    BOOST_TEST(std::string(e.what()).find("is a directory") != std::string::npos, e.what());
  }
}

// autorec-bench --train-epoch times training on ratings made in memory; they must be the training file that
// autorec-synth --split-dir writes, so its figure is the figure of that data set.
BOOST_AUTO_TEST_CASE(synthetic_training_ratings_are_the_split_files_training_side) {
  SynthConfig c;
  c.users = 300;
  c.items = 120;
  c.density = 0.08;
  std::ostringstream kept, held;
  const auto [n_kept, n_held] = write_synthetic_split(c, kept, held, 1, 0.1);
  std::uint64_t mem_held = 0;
  const std::vector<Rating> mem = synthetic_training_ratings(c, 1, 0.1, mem_held);
  BOOST_TEST(mem_held == n_held);
  BOOST_REQUIRE_EQUAL(mem.size(), n_kept);
  BOOST_TEST(n_held > 0u);
  std::istringstream in(kept.str());
  std::uint64_t u = 0, i = 0, ts = 0;
  double r = 0;
  for (const Rating& x : mem) {
    BOOST_REQUIRE(in >> u >> i >> r >> ts);
    BOOST_REQUIRE_EQUAL(x.user + 1, u);
    BOOST_REQUIRE_EQUAL(x.item + 1, i);
    BOOST_REQUIRE_EQUAL(double(x.value), r);
  }
}

BOOST_AUTO_TEST_SUITE_END()
