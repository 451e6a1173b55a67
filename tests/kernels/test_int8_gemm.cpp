// Every INT8 GEMM kernel of the list this CPU can run, bit-exact against reference::qu8_gemm.
#include "test_int8_gemm_tester.hpp"

#include <frost/kernels/gemm/gemm.hpp>
#include <frost/kernels/reference/gemm.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

using frost::kernels::GemmKernel;
using frost::kernels::testing::ActivationFill;
using frost::kernels::testing::for_each_gemm_kernel;
using frost::kernels::testing::GemmTester;
using frost::kernels::testing::WeightFill;

namespace {
// Multiples of 16 and powers of two plus and minus one, the sizes where tiles and tails meet.
constexpr std::int64_t kEdgeSizes[] = {16, 31, 32, 33, 48, 63, 64, 65, 127, 128, 129, 255, 257};
}  // namespace

TEST_CASE("qu8_gemm: K from 1 to 17 (K tails)", "[kernels][gemm]") {
  for_each_gemm_kernel([](const GemmKernel& kernel) {
    for (std::int64_t k = 1; k <= 17; ++k)
      for (std::int64_t n : {1, 8, 17})
        for (std::int64_t m : {1, 7}) GemmTester().m(m).n(n).k(k).test(kernel);
  });
}

TEST_CASE("qu8_gemm: M from 1 to 17 (row tails)", "[kernels][gemm]") {
  for_each_gemm_kernel([](const GemmKernel& kernel) {
    for (std::int64_t m = 1; m <= 17; ++m)
      for (std::int64_t n : {5, 64, 65}) GemmTester().m(m).n(n).k(9).test(kernel);
  });
}

TEST_CASE("qu8_gemm: N from 1 to 17 (column tails)", "[kernels][gemm]") {
  for_each_gemm_kernel([](const GemmKernel& kernel) {
    for (std::int64_t n = 1; n <= 17; ++n)
      for (std::int64_t m : {1, 6, 13}) GemmTester().m(m).n(n).k(12).test(kernel);
  });
}

TEST_CASE("qu8_gemm: multiples of 16 and powers of two +-1", "[kernels][gemm]") {
  for_each_gemm_kernel([](const GemmKernel& kernel) {
    for (std::int64_t s : kEdgeSizes) {
      GemmTester().m(s).n(19).k(23).test(kernel);
      GemmTester().m(11).n(s).k(21).test(kernel);
      GemmTester().m(7).n(37).k(s).test(kernel);
    }
    GemmTester().m(17).n(129).k(1025).test(kernel);
    GemmTester().m(65).n(96).k(2049).test(kernel);  // K beyond one AVX2 activation chunk
    // Rows beyond one pass of the row blocking (AVX-512: 120 rows at this K), K in 5 slices.
    GemmTester().m(131).n(70).k(2049).test(kernel);
  });
}

TEST_CASE("qu8_gemm: extreme activations and weights", "[kernels][gemm]") {
  for_each_gemm_kernel([](const GemmKernel& kernel) {
    for (ActivationFill a :
         {ActivationFill::random, ActivationFill::all_zero, ActivationFill::all_max})
      for (WeightFill w : {WeightFill::random, WeightFill::all_min, WeightFill::all_max,
                           WeightFill::all_neg_max, WeightFill::alternating})
        for (std::int32_t a_zp : {0, 128, 255})
          GemmTester().m(9).n(35).k(67).activations(a).weights(w).a_zero_point(a_zp).test(kernel);
  });
}

TEST_CASE("qu8_gemm: zero points, clamps and per-tensor scales", "[kernels][gemm]") {
  for_each_gemm_kernel([](const GemmKernel& kernel) {
    for (std::int32_t a_zp : {0, 128, 255})
      for (std::int32_t out_zp : {0, 128, 255}) {
        GemmTester().m(13).n(50).k(40).a_zero_point(a_zp).output_zero_point(out_zp).test(kernel);
        GemmTester()
            .m(13)
            .n(50)
            .k(40)
            .a_zero_point(a_zp)
            .output_zero_point(out_zp)
            .per_tensor_scale(true)
            .test(kernel);
      }
    // Fused ReLU (min = zero point) and ReLU6-like upper bounds.
    GemmTester().m(10).n(40).k(30).output_zero_point(100).output_min(100).test(kernel);
    GemmTester().m(10).n(40).k(30).output_zero_point(100).output_min(100).output_max(160).test(
        kernel);
    GemmTester().m(10).n(40).k(30).output_min(60).output_max(61).test(kernel);
    GemmTester().m(10).n(40).k(30).output_min(7).output_max(7).test(kernel);
  });
}

TEST_CASE("qu8_gemm: the zero point folded into the bias matches hand-computed sums",
          "[kernels][gemm]") {
  using namespace frost::kernels;
  // a = [[1, 2, 3]], a_zp = 2, b = [[1, -1], [2, 0], [3, 5]], bias = [10, -4]
  // acc = [10 + (-1)*1 + 0*2 + 1*3, -4 + (-1)*(-1) + 0 + 1*5] = [12, 2]
  const std::uint8_t a[] = {1, 2, 3};
  const std::int8_t b[] = {1, -1, 2, 0, 3, 5};
  const std::int32_t bias[] = {10, -4};
  for_each_gemm_kernel([&](const GemmKernel& kernel) {
    const PackedWeights w = pack_gemm_weights(3, 2, {b, 2, 1}, bias, 2, kernel);
    std::int32_t c[2] = {};
    qu8_gemm_s32(1, a, 3, w, c, 2);
    CHECK(c[0] == 12);
    CHECK(c[1] == 2);
    // scale 0.5, zp 100: 12 * 0.5 = 6 -> 106; 2 * 0.5 = 1 -> 101.
    const float scale = 0.5f;
    std::uint8_t q[2] = {};
    qu8_gemm(1, a, 3, w, {{&scale, 1}, {100, 0, 255}}, q, 2);
    CHECK(int{q[0]} == 106);
    CHECK(int{q[1]} == 101);
  });
}

TEST_CASE("qu8_gemm: reduce_range kernels refuse activations above 127", "[kernels][gemm]") {
  using namespace frost::kernels;
  for_each_gemm_kernel([](const GemmKernel& kernel) {
    if (!kernel.layout.reduce_range) return;
    std::vector<std::int8_t> b(8 * 4, -128);
    std::vector<std::uint8_t> a(3 * 8, 127), c(3 * 4);
    const std::vector<float> scale{0.001f};
    REQUIRE_THROWS_AS(pack_gemm_weights(8, 4, {b.data(), 4, 1}, nullptr, 128, kernel),
                      frost::Error);
    const PackedWeights w = pack_gemm_weights(8, 4, {b.data(), 4, 1}, nullptr, 0, kernel);
    qu8_gemm(3, a.data(), 8, w, {scale, {0, 0, 255}}, c.data(), 4);  // 127: fine
    a[13] = 128;
    REQUIRE_THROWS_AS(qu8_gemm(3, a.data(), 8, w, {scale, {0, 0, 255}}, c.data(), 4), frost::Error);
    std::vector<std::int32_t> c32(3 * 4);
    REQUIRE_THROWS_AS(qu8_gemm_s32(3, a.data(), 8, w, c32.data(), 4), frost::Error);
  });
}

TEST_CASE("qu8_gemm: bad arguments throw frost::Error", "[kernels][gemm]") {
  using namespace frost::kernels;
  std::vector<std::int8_t> b(4 * 3, 1);
  std::vector<std::uint8_t> a(2 * 4, 1), c(2 * 3);
  const std::vector<float> scales{0.1f, 0.1f, 0.1f};
  const PackedWeights w = pack_gemm_weights(4, 3, {b.data(), 3, 1}, nullptr, 0);
  const GemmRequantization rq{scales, {}};
  REQUIRE_THROWS_AS(pack_gemm_weights(0, 3, {b.data(), 3, 1}, nullptr, 0), frost::Error);
  REQUIRE_THROWS_AS(pack_gemm_weights(4, 0, {b.data(), 3, 1}, nullptr, 0), frost::Error);
  REQUIRE_THROWS_AS(pack_gemm_weights(4, 3, {b.data(), 3, 1}, nullptr, 256), frost::Error);
  REQUIRE_THROWS_AS(pack_gemm_weights(4, 3, {nullptr, 3, 1}, nullptr, 0), frost::Error);
  REQUIRE_THROWS_AS(qu8_gemm(0, a.data(), 4, w, rq, c.data(), 3), frost::Error);
  REQUIRE_THROWS_AS(qu8_gemm(2, a.data(), 3, w, rq, c.data(), 3), frost::Error);  // stride < K
  REQUIRE_THROWS_AS(qu8_gemm(2, a.data(), 4, w, rq, c.data(), 2), frost::Error);  // stride < N
  REQUIRE_THROWS_AS(qu8_gemm(2, nullptr, 4, w, rq, c.data(), 3), frost::Error);
  REQUIRE_THROWS_AS(qu8_gemm(2, a.data(), 4, PackedWeights(), rq, c.data(), 3), frost::Error);
  const std::vector<float> two_scales{0.1f, 0.1f};
  REQUIRE_THROWS_AS(qu8_gemm(2, a.data(), 4, w, {two_scales, {}}, c.data(), 3), frost::Error);
  const std::vector<float> bad_scale{-1.0f};
  REQUIRE_THROWS_AS(qu8_gemm(2, a.data(), 4, w, {bad_scale, {}}, c.data(), 3), frost::Error);
  REQUIRE_THROWS_AS(qu8_gemm(2, a.data(), 4, w, {scales, {0, 200, 100}}, c.data(), 3),
                    frost::Error);
  REQUIRE_THROWS_AS(qu8_gemm(2, a.data(), 4, w, {scales, {300, 0, 255}}, c.data(), 3),
                    frost::Error);
}

// Thread counts: 2 then 1 then 2 again, so a pool that shrinks and grows between parallel runs
// is exercised too.
TEST_CASE("qu8_gemm: strided rows and 1 or 2 threads", "[kernels][gemm]") {
  for (int threads : {2, 1, 2}) {
    for_each_gemm_kernel([threads](const GemmKernel& kernel) {
      GemmTester().m(33).n(70).k(45).a_stride_padding(5).c_stride_padding(3).threads(threads).test(
          kernel);
      GemmTester().m(200).n(130).k(64).threads(threads).test(kernel);  // split over rows
      GemmTester().m(3).n(600).k(300).threads(threads).test(kernel);   // split over columns
    });
  }
}

TEST_CASE("qu8_gemm: the same result with 1 and 2 threads", "[kernels][gemm]") {
  using namespace frost::kernels;
  std::vector<std::uint8_t> a(77 * 150);
  std::vector<std::int8_t> b(150 * 90);
  frost::Generator gen(7);
  for (auto& v : a) v = static_cast<std::uint8_t>(gen.uniform_int(256));
  for (auto& v : b) v = static_cast<std::int8_t>(gen.uniform_int(256) - 128);
  const std::vector<float> scale{0.0005f};
  const PackedWeights w = pack_gemm_weights(150, 90, {b.data(), 90, 1}, nullptr, 3);
  std::vector<std::uint8_t> one(77 * 90), two(77 * 90);
  if (frost::num_threads() != 2) frost::set_num_threads(2);
  qu8_gemm(77, a.data(), 150, w, {scale, {3, 0, 255}}, two.data(), 90);
  frost::set_num_threads(1);
  qu8_gemm(77, a.data(), 150, w, {scale, {3, 0, 255}}, one.data(), 90);
  frost::set_num_threads(2);
  REQUIRE(one == two);
}
