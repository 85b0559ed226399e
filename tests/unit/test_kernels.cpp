// The per-level kernels (infer/src/kernels): each level this CPU runs against a double-precision reference
// and against the other levels, and the choice of level (autorec_cpu_level, AUTOREC_CPU). CI runs the whole
// unit suite once per level the machine supports (scripts/test), so every other suite checks the levels too.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "autorec/autorec.h"
#include "autorec/dtype.hpp"
#include "autorec/model.hpp"
#include "kernels/kernels.hpp"

using namespace autorec;

namespace {

// The levels this machine can run, each with its name for messages.
std::vector<const kernels::Table*> runnable_levels() {
  std::vector<const kernels::Table*> out;
  const kernels::Levels all = kernels::compiled_levels();
  for (std::size_t i = 0; i < all.count; ++i)
    if (kernels::cpu_supports(all.tables[i]->level)) out.push_back(all.tables[i]);
  return out;
}

std::vector<float> random_floats(std::size_t n, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(gen);
  return v;
}

// Float sums of n products of numbers in [-1, 1] in another order or with fused multiply-adds differ from
// the exact sum by at most about n * 2^-24 * sum |terms|; 4 n ulp of that scale leaves room.
double sum_tolerance(std::size_t n, double magnitude) { return 4.0 * double(n) * 0x1.0p-24 * magnitude + 1e-30; }

}  // namespace

BOOST_AUTO_TEST_SUITE(kernels_suite)

BOOST_AUTO_TEST_CASE(add_rows_and_dot_rows_match_double_sums_at_every_level) {
  const std::size_t n = 37;  // not a multiple of any vector width: the tails are exercised
  for (const std::size_t count : {0u, 1u, 3u, 4u, 7u, 64u}) {
    const std::vector<float> m = random_floats(count * n + 1, 7), coef = random_floats(count + 1, 8),
                             x = random_floats(n, 9), acc0 = random_floats(n, 10);
    std::vector<const float*> rows(count + 1);
    for (std::size_t i = 0; i < count; ++i) rows[i] = &m[((i * 5) % count) * n];  // rows gathered out of order
    for (const kernels::Table* k : runnable_levels()) {
      std::vector<float> acc = acc0, dots(count + 1, -99.0f);
      k->add_rows(acc.data(), n, rows.data(), coef.data(), count);
      k->dot_rows(rows.data(), count, x.data(), n, dots.data());
      for (std::size_t h = 0; h < n; ++h) {
        double want = acc0[h], mag = std::abs(acc0[h]);
        for (std::size_t i = 0; i < count; ++i) want += double(coef[i]) * rows[i][h], mag += std::abs(double(coef[i]) * rows[i][h]);
        BOOST_TEST(std::abs(acc[h] - want) <= sum_tolerance(count + 1, mag), k->level << " add_rows count " << count << " h " << h);
      }
      for (std::size_t i = 0; i < count; ++i) {
        double want = 0, mag = 0;
        for (std::size_t h = 0; h < n; ++h) want += double(rows[i][h]) * x[h], mag += std::abs(double(rows[i][h]) * x[h]);
        BOOST_TEST(std::abs(dots[i] - want) <= sum_tolerance(n, mag), k->level << " dot_rows count " << count << " row " << i);
      }
      BOOST_TEST(dots[count] == -99.0f, k->level << " dot_rows wrote past count");
    }
  }
}

BOOST_AUTO_TEST_CASE(matmul_matches_a_double_product_in_every_layout) {
  // Shapes that take Eigen's general product, its matrix-vector product and its small-size path; strided
  // views (a block of a larger matrix), as the trainer's inner layers pass them.
  struct Shape { std::size_t m, k, n; };
  for (const Shape s : {Shape{33, 17, 9}, Shape{70, 40, 1}, Shape{1, 40, 30}, Shape{3, 2, 4}, Shape{200, 64, 48}}) {
    for (int layout = 0; layout < 8; ++layout) {
      const bool ar = layout & 1, br = layout & 2, cr = layout & 4;
      const std::size_t pad = 3;  // every view's stride is 3 more than its contiguous one
      const std::size_t as = (ar ? s.k : s.m) + pad, bs = (br ? s.n : s.k) + pad, cs = (cr ? s.n : s.m) + pad;
      const std::vector<float> a = random_floats(as * (ar ? s.m : s.k), 11), b = random_floats(bs * (br ? s.k : s.n), 12);
      const kernels::ConstMatrix A{a.data(), s.m, s.k, as, ar}, B{b.data(), s.k, s.n, bs, br};
      auto at = [&](const kernels::ConstMatrix& v, std::size_t i, std::size_t j) {
        return double(v.row_major ? v.data[i * v.stride + j] : v.data[i + j * v.stride]);
      };
      for (const kernels::Table* k : runnable_levels()) {
        std::vector<float> c(cs * (cr ? s.m : s.n), -7.0f);
        k->matmul(A, B, {c.data(), s.m, s.n, cs, cr});
        for (std::size_t i = 0; i < s.m; ++i)
          for (std::size_t j = 0; j < s.n; ++j) {
            double want = 0, mag = 0;
            for (std::size_t q = 0; q < s.k; ++q) want += at(A, i, q) * at(B, q, j), mag += std::abs(at(A, i, q) * at(B, q, j));
            const float got = cr ? c[i * cs + j] : c[i + j * cs];
            BOOST_TEST(std::abs(got - want) <= sum_tolerance(s.k, mag),
                       k->level << " matmul " << s.m << "x" << s.k << "x" << s.n << " layout " << layout << " (" << i << "," << j << ")");
          }
        // The padding between a view's rows (or columns) is not written.
        const std::size_t outer = cr ? s.m : s.n, inner = cr ? s.n : s.m;
        for (std::size_t o = 0; o < outer; ++o)
          for (std::size_t p = inner; p < cs; ++p) BOOST_TEST(c[o * cs + p] == -7.0f, k->level << " matmul wrote padding");
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(adam_matches_the_scalar_update_at_every_level) {
  const std::size_t n = 53;
  const AdamStep step{0.01f / 0.1f, 1.0f / std::sqrt(0.001f), 0.9f, 0.999f, 1e-8f, 0.05f, 0.999f};
  const std::vector<float> p0 = random_floats(n, 21), g = random_floats(n, 22), m0 = random_floats(n, 23);
  std::vector<float> v0 = random_floats(n, 24);
  for (float& v : v0) v = v * v;
  for (const kernels::Table* k : runnable_levels()) {
    std::vector<float> p = p0, m = m0, v = v0;
    k->adam(step, p.data(), m.data(), v.data(), g.data(), n);
    for (std::size_t i = 0; i < n; ++i) {
      float pe = p0[i], me = m0[i], ve = v0[i];
      adam_update(step, pe, me, ve, g[i]);
      // A handful of float operations, fused or not: a few ulp of the parameter's scale.
      BOOST_TEST(std::abs(p[i] - pe) <= 1e-5f * (1.0f + std::abs(pe)), k->level << " adam p[" << i << "]");
      BOOST_TEST(std::abs(m[i] - me) <= 1e-6f * (1.0f + std::abs(me)), k->level << " adam m[" << i << "]");
      BOOST_TEST(std::abs(v[i] - ve) <= 1e-6f * (1.0f + std::abs(ve)), k->level << " adam v[" << i << "]");
    }
  }
}

BOOST_AUTO_TEST_CASE(decoding_stored_weights_is_exact_at_every_level) {
  // Every fp16 and bf16 bit pattern but the NaNs (whose quiet bit a conversion instruction may set), and
  // int8 rows with their scales: equal, bit for bit, to dtype.hpp's scalar decode_matrix.
  std::vector<std::uint8_t> halves;
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const bool nan = (h & 0x7C00u) == 0x7C00u && (h & 0x3FFu) != 0;
    const bool bf_nan = (h & 0x7F80u) == 0x7F80u && (h & 0x7Fu) != 0;
    if (nan || bf_nan) continue;
    halves.push_back(static_cast<std::uint8_t>(h & 0xFF));
    halves.push_back(static_cast<std::uint8_t>(h >> 8));
  }
  halves.push_back(0x3C);  // an odd byte count: the copy must read only 2 n bytes
  const std::size_t n = halves.size() / 2;
  std::vector<std::uint8_t> q(5 * 67);
  for (std::size_t i = 0; i < q.size(); ++i) q[i] = static_cast<std::uint8_t>(i * 37 + 11);
  const std::vector<float> scales = {0.5f, 0.0f, 1e-3f, 3.25f, 1e-30f};
  std::vector<float> want16(n), want_bf(n), want8(q.size());
  decode_matrix(halves.data(), n, 1, DType::F16, nullptr, want16.data());
  decode_matrix(halves.data(), n, 1, DType::BF16, nullptr, want_bf.data());
  decode_matrix(q.data(), 5, 67, DType::I8, scales.data(), want8.data());
  for (const kernels::Table* k : runnable_levels()) {
    std::vector<float> got16(n), got_bf(n), got8(q.size());
    k->decode_f16(halves.data(), n, got16.data());
    k->decode_bf16(halves.data(), n, got_bf.data());
    k->decode_i8(q.data(), 5, 67, scales.data(), got8.data());
    BOOST_TEST(std::memcmp(got16.data(), want16.data(), n * 4) == 0, k->level << " fp16 decode differs");
    BOOST_TEST(std::memcmp(got_bf.data(), want_bf.data(), n * 4) == 0, k->level << " bf16 decode differs");
    BOOST_TEST(std::memcmp(got8.data(), want8.data(), q.size() * 4) == 0, k->level << " int8 decode differs");
  }
}

BOOST_AUTO_TEST_CASE(the_level_in_use_is_the_best_this_cpu_runs_or_the_one_asked_for) {
  const std::vector<const kernels::Table*> levels = runnable_levels();
  BOOST_TEST_REQUIRE(!levels.empty(), "no compiled level runs on this CPU");
  const std::string chosen = autorec_cpu_level();
  BOOST_TEST(chosen == cpu_level());
  BOOST_TEST(std::string(autorec_cpu_level_notice()) == cpu_level_notice());
  const char* asked = std::getenv("AUTOREC_CPU");
  BOOST_TEST_MESSAGE("kernel level " << chosen << " (AUTOREC_CPU=" << (asked ? asked : "<unset>") << ")");
  const bool followed = asked && *asked && kernels::cpu_supports(asked) && chosen == asked;
  if (followed) {
    BOOST_TEST(std::string(cpu_level_notice()).empty());
  } else {
    BOOST_TEST(chosen == levels.back()->level, "without a usable AUTOREC_CPU the best level runs");
    BOOST_TEST(std::string(cpu_level_notice()).empty() == !(asked && *asked));
  }
  // The table the library computes with is that level's.
  BOOST_TEST(std::string(kernels::table().level) == chosen);
}

BOOST_AUTO_TEST_SUITE_END()
