// Reduced storage types of the weight matrices: the float conversions, and models written, converted and
// loaded in each type.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <limits>

#include "autorec/dtype.hpp"
#include "autorec/error.hpp"
#include "helpers.hpp"

using namespace autorec;

namespace {

const test::Trained& trained() { return test::small_trained(); }

std::vector<std::byte> written_as(DType dtype) {
  const test::Trained& t = trained();
  train::ModelContents contents{&t.config, &t.data, &t.csc, &t.result};
  contents.dtype = dtype;
  return train::build_model_file(contents);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(dtype)

BOOST_AUTO_TEST_CASE(every_half_survives_a_round_trip) {
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const auto x = static_cast<std::uint16_t>(h);
    const float f = f16_to_f32(x);
    if (std::isnan(f)) continue;
    BOOST_REQUIRE_MESSAGE(f32_to_f16(f) == x, "half 0x" << std::hex << h);
    const auto b = static_cast<std::uint16_t>(h);
    if (!std::isnan(bf16_to_f32(b))) BOOST_REQUIRE_MESSAGE(f32_to_bf16(bf16_to_f32(b)) == b, "bf16 0x" << std::hex << h);
  }
}

BOOST_AUTO_TEST_CASE(rounding_is_to_nearest_even) {
  BOOST_TEST(f16_to_f32(f32_to_f16(1.0f + 0x1p-11f)) == 1.0f);                   // tie: down to even
  BOOST_TEST(f16_to_f32(f32_to_f16(1.0f + 3 * 0x1p-11f)) == 1.0f + 0x1p-9f);     // tie: up to even
  BOOST_TEST(f16_to_f32(f32_to_f16(1.0f + 0x1p-11f + 0x1p-20f)) == 1.0f + 0x1p-10f);
  BOOST_TEST(f16_to_f32(f32_to_f16(65504.0f)) == 65504.0f);
  BOOST_TEST(std::isinf(f16_to_f32(f32_to_f16(65520.0f))));
  BOOST_TEST(f16_to_f32(f32_to_f16(0x1p-24f)) == 0x1p-24f);                      // smallest subnormal
  BOOST_TEST(f16_to_f32(f32_to_f16(0x1p-26f)) == 0.0f);
  BOOST_TEST(f16_to_f32(f32_to_f16(-2.5f)) == -2.5f);
  BOOST_TEST(bf16_to_f32(f32_to_bf16(1.0f + 0x1p-8f)) == 1.0f);
  BOOST_TEST(bf16_to_f32(f32_to_bf16(1.0f + 3 * 0x1p-8f)) == 1.0f + 0x1p-6f);
  BOOST_TEST(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
}

BOOST_AUTO_TEST_CASE(int8_rows_are_within_half_a_step) {
  const std::vector<float> x = {0.5f, -1.27f, 0.0f, 0.003f, 1.0f, 0, 0, 0, -0.25f, 0.25f};
  std::vector<float> scales, back(x.size());
  const auto q = encode_matrix(x.data(), 2, 5, DType::I8, scales);
  BOOST_REQUIRE(q.size() == x.size());
  BOOST_TEST(scales[0] == 1.27f / 127.0f);
  decode_matrix(q.data(), 2, 5, DType::I8, scales.data(), back.data());
  for (std::size_t i = 0; i < x.size(); ++i) BOOST_TEST(std::abs(back[i] - x[i]) <= 0.5f * scales[i / 5] * 1.0001f);
  BOOST_TEST(back[1] == -1.27f, boost::test_tools::tolerance(1e-6f));  // the largest value is exact
}

BOOST_AUTO_TEST_CASE(models_load_in_every_type) {
  const test::Trained& t = trained();
  const Model ref = Model::load_buffer(t.file, "fp32.fb");
  BOOST_TEST((ref.info().weight_dtype == DType::F32));
  std::vector<float> want(ref.column_length()), got(ref.column_length());
  ref.reconstruct_column(5, want);
  for (const auto& [dtype, rel] : {std::pair{DType::F16, 1e-3}, {DType::BF16, 8e-3}, {DType::I8, 2e-2}}) {
    const std::vector<std::byte> file = written_as(dtype);
    BOOST_TEST(file.size() < t.file.size());
    const Model m = Model::load_buffer(file, dtype_name(dtype));
    BOOST_TEST((m.info().weight_dtype == dtype));
    for (std::uint32_t l = 0; l < 2; ++l) {
      const std::vector<float> a = ref.weight(l), b = m.weight(l);
      float top = 0;
      for (float v : a) top = std::max(top, std::abs(v));
      for (std::size_t i = 0; i < a.size(); ++i)
        BOOST_REQUIRE_MESSAGE(std::abs(a[i] - b[i]) <= rel * top, dtype_name(dtype) << " layer " << l << " [" << i << "]");
      BOOST_TEST(ref.bias(l) == m.bias(l));  // biases stay fp32
    }
    m.reconstruct_column(5, got);
    for (std::size_t r = 0; r < want.size(); ++r) BOOST_REQUIRE(std::abs(got[r] - want[r]) <= 0.05f);
  }
}

BOOST_AUTO_TEST_CASE(convert_changes_only_the_weights) {
  const test::Trained& t = trained();
  const std::vector<std::byte> i8 = train::convert_model_file(t.file, "fp32.fb", DType::I8);
  const std::vector<std::byte> direct = written_as(DType::I8);
  const Model a = Model::load_buffer(i8, "converted.fb"), b = Model::load_buffer(direct, "direct.fb");
  BOOST_TEST((a.info().weight_dtype == DType::I8));
  for (std::uint32_t l = 0; l < 2; ++l) BOOST_TEST(a.weight(l) == b.weight(l));  // same quantisation either way
  const Model ref = Model::load_buffer(t.file, "fp32.fb");
  BOOST_TEST(a.info().history.size() == ref.info().history.size());
  BOOST_TEST(a.info().data_fingerprint == ref.info().data_fingerprint);
  BOOST_TEST(a.info().num_observations == ref.info().num_observations);
  BOOST_TEST(a.user_id(3) == ref.user_id(3));
  // Back to fp32, and through the data section: the int8 values come back exactly.
  const std::vector<std::byte> back = train::convert_model_file(i8, "converted.fb", DType::F32, 3, 0);
  const Model c = Model::load_buffer(back, "back.fb");
  BOOST_TEST((c.info().weight_dtype == DType::F32));
  for (std::uint32_t l = 0; l < 2; ++l) BOOST_TEST(c.weight(l) == a.weight(l));
}

BOOST_AUTO_TEST_CASE(fp16_refuses_weights_beyond_its_range) {
  test::Trained t = trained();
  t.result.weights.W[0] = 1e6f;
  train::ModelContents contents{&t.config, &t.data, &t.csc, &t.result};
  contents.dtype = DType::F16;
  BOOST_CHECK_THROW(train::build_model_file(contents), Error);
  contents.dtype = DType::BF16;
  BOOST_CHECK_NO_THROW(train::build_model_file(contents));
}

BOOST_AUTO_TEST_SUITE_END()
