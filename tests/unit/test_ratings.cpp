// Rating file parsing: formats, ids, scales, duplicates, and errors that name file, line and text.
#include <zstd.h>

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "autorec/error.hpp"
#include "autorec/train/dataset.hpp"
#include "autorec/train/ratings.hpp"

using namespace autorec;
using namespace autorec::train;

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

std::string temp_path(const std::string& name) { return (std::filesystem::temp_directory_path() / name).string(); }

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

BOOST_AUTO_TEST_SUITE_END()
