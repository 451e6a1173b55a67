// The fp32 requantization spec on hand-computed values: ties to even, clamps, zero points.
#include <frost/kernels/requantize.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>

using frost::kernels::FusedActivation;
using frost::kernels::output_quantization;
using frost::kernels::OutputQuantization;
using frost::kernels::requantize;

TEST_CASE("requantize rounds half to even", "[kernels][requantize]") {
  const OutputQuantization out{100, 0, 255};
  CHECK(int{requantize(1, 0.5f, out)} == 100);    //  0.5 -> 0
  CHECK(int{requantize(3, 0.5f, out)} == 102);    //  1.5 -> 2
  CHECK(int{requantize(5, 0.5f, out)} == 102);    //  2.5 -> 2
  CHECK(int{requantize(7, 0.5f, out)} == 104);    //  3.5 -> 4
  CHECK(int{requantize(-1, 0.5f, out)} == 100);   // -0.5 -> 0
  CHECK(int{requantize(-3, 0.5f, out)} == 98);    // -1.5 -> -2
  CHECK(int{requantize(-5, 0.5f, out)} == 98);    // -2.5 -> -2
  CHECK(int{requantize(10, 0.26f, out)} == 103);  // 2.6 -> 3
  CHECK(int{requantize(10, 0.24f, out)} == 102);  // 2.4 -> 2
}

TEST_CASE("requantize clamps to the output range around the zero point", "[kernels][requantize]") {
  CHECK(int{requantize(1000, 1.0f, {0, 0, 255})} == 255);
  CHECK(int{requantize(-1000, 1.0f, {0, 0, 255})} == 0);
  CHECK(int{requantize(127, 1.0f, {128, 0, 255})} == 255);
  CHECK(int{requantize(128, 1.0f, {128, 0, 255})} == 255);
  CHECK(int{requantize(-128, 1.0f, {128, 0, 255})} == 0);
  CHECK(int{requantize(-129, 1.0f, {128, 0, 255})} == 0);
  CHECK(int{requantize(0, 1.0f, {255, 0, 255})} == 255);
  CHECK(int{requantize(-255, 1.0f, {255, 0, 255})} == 0);
  // Fused ReLU: nothing below the zero point; ReLU6-like upper bound.
  CHECK(int{requantize(-7, 1.0f, {20, 20, 255})} == 20);
  CHECK(int{requantize(50, 1.0f, {20, 20, 60})} == 60);
  CHECK(int{requantize(30, 1.0f, {20, 20, 60})} == 50);
  // Accumulators whose scaled value leaves the int32 range must still clamp, not wrap.
  const std::int32_t big = std::numeric_limits<std::int32_t>::max();
  CHECK(int{requantize(big, 255.0f, {3, 0, 255})} == 255);
  CHECK(int{requantize(-big - 1, 255.0f, {3, 0, 255})} == 0);
}

TEST_CASE("output_quantization builds the clamp of fused activations", "[kernels][requantize]") {
  const OutputQuantization none = output_quantization(0.05f, 10);
  CHECK((none.zero_point == 10 && int{none.output_min} == 0 && int{none.output_max} == 255));
  const OutputQuantization relu = output_quantization(0.05f, 10, FusedActivation::relu);
  CHECK((int{relu.output_min} == 10 && int{relu.output_max} == 255));
  const OutputQuantization relu6 = output_quantization(0.05f, 10, FusedActivation::relu6);
  CHECK((int{relu6.output_min} == 10 && int{relu6.output_max} == 130));  // 10 + 6 / 0.05
  const OutputQuantization wide = output_quantization(0.01f, 10, FusedActivation::relu6);
  CHECK(int{wide.output_max} == 255);  // 10 + 600 clamps
  CHECK_THROWS_AS(output_quantization(0.05f, 256), frost::Error);
  CHECK_THROWS_AS(output_quantization(0.05f, -1), frost::Error);
  CHECK_THROWS_AS(output_quantization(0.0f, 0), frost::Error);
  CHECK_THROWS_AS(output_quantization(std::nanf(""), 0), frost::Error);
  CHECK_THROWS_AS(frost::kernels::check_requantization_scale(-1.0f, "test"), frost::Error);
  CHECK_THROWS_AS(frost::kernels::check_requantization_scale(300.0f, "test"), frost::Error);
}
