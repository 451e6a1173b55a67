#pragma once
// GemmTester: one INT8 GEMM case (shape, zero points, clamps, fills, strides, threads) checked on
// one kernel of the list against reference::qu8_gemm, bit for bit, for both the requantized u8
// and the raw int32 output. Fluent setters in the style of XNNPACK's testers.

#include <frost/core/parallel.hpp>
#include <frost/core/rng.hpp>
#include <frost/kernels/gemm/gemm.hpp>
#include <frost/kernels/reference/gemm.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace frost::kernels::testing {

enum class ActivationFill { random, all_zero, all_max };
enum class WeightFill { random, all_min, all_max, all_neg_max, alternating };

// Runs `body(kernel)` for every kernel of the list this CPU can run; warns about the others.
template <class Body>
void for_each_gemm_kernel(Body&& body) {
  for (const GemmKernel& kernel : kGemmKernels) {
    if (!isa_supported(kernel.isa)) {
      WARN("skipping " << kernel.name << ": this CPU lacks the " << isa_name(kernel.isa)
                       << " path");
      continue;
    }
    INFO("kernel " << kernel.name);
    body(kernel);
  }
}

class GemmTester {
 public:
  GemmTester& m(std::int64_t v) {
    m_ = v;
    return *this;
  }
  GemmTester& n(std::int64_t v) {
    n_ = v;
    return *this;
  }
  GemmTester& k(std::int64_t v) {
    k_ = v;
    return *this;
  }
  GemmTester& a_zero_point(std::int32_t v) {
    a_zero_point_ = v;
    return *this;
  }
  GemmTester& output_zero_point(std::int32_t v) {
    output_.zero_point = v;
    return *this;
  }
  GemmTester& output_min(std::uint8_t v) {
    output_.output_min = v;
    return *this;
  }
  GemmTester& output_max(std::uint8_t v) {
    output_.output_max = v;
    return *this;
  }
  GemmTester& per_tensor_scale(bool v) {
    per_tensor_scale_ = v;
    return *this;
  }
  GemmTester& activations(ActivationFill v) {
    activation_fill_ = v;
    return *this;
  }
  GemmTester& weights(WeightFill v) {
    weight_fill_ = v;
    return *this;
  }
  GemmTester& a_stride_padding(std::int64_t v) {
    a_padding_ = v;
    return *this;
  }
  GemmTester& c_stride_padding(std::int64_t v) {
    c_padding_ = v;
    return *this;
  }
  GemmTester& threads(int v) {
    threads_ = v;
    return *this;
  }
  GemmTester& seed(std::uint64_t v) {
    seed_ = v;
    return *this;
  }

  void test(const GemmKernel& kernel) const {
    INFO((kernel.layout.reduce_range ? "7-bit activations " : "")
         << "M=" << m_ << " N=" << n_ << " K=" << k_ << " a_zp=" << a_zero_point_
         << " out_zp=" << output_.zero_point << " clamp=[" << int{output_.output_min} << ", "
         << int{output_.output_max} << "] threads=" << threads_);
    Generator gen(seed_ + static_cast<std::uint64_t>(m_ * 1000003 + n_ * 1009 + k_));
    // A reduce_range kernel is exact for 7-bit activations only, and refuses others.
    const bool seven_bit = kernel.layout.reduce_range;
    const std::uint64_t activation_levels = seven_bit ? 128 : 256;
    const std::int32_t a_zero_point = seven_bit ? std::min(a_zero_point_, 127) : a_zero_point_;
    const std::int64_t a_stride = k_ + a_padding_, c_stride = n_ + c_padding_;

    std::vector<std::uint8_t> a(static_cast<std::size_t>(m_ * a_stride));
    for (auto& v : a) {
      switch (activation_fill_) {
        case ActivationFill::random:
          v = static_cast<std::uint8_t>(gen.uniform_int(activation_levels));
          break;
        case ActivationFill::all_zero:
          v = 0;
          break;
        case ActivationFill::all_max:
          v = static_cast<std::uint8_t>(activation_levels - 1);
          break;
      }
    }
    std::vector<std::int8_t> b(static_cast<std::size_t>(k_ * n_));
    for (std::size_t i = 0; i < b.size(); ++i) {
      switch (weight_fill_) {
        case WeightFill::random:
          b[i] = static_cast<std::int8_t>(gen.uniform_int(256) - 128);
          break;
        case WeightFill::all_min:
          b[i] = -128;
          break;
        case WeightFill::all_max:
          b[i] = 127;
          break;
        case WeightFill::all_neg_max:
          b[i] = -127;
          break;
        case WeightFill::alternating:
          b[i] = (i % 2 == 0) ? 127 : -128;
          break;
      }
    }
    std::vector<std::int32_t> bias(static_cast<std::size_t>(n_));
    for (auto& v : bias) v = static_cast<std::int32_t>(gen.uniform_int(40001)) - 20000;
    // Scales that spread typical accumulators over the u8 range, so clamps and rounding matter.
    const float typical = 128.0f * 74.0f * std::sqrt(static_cast<float>(k_));
    std::vector<float> scales(per_tensor_scale_ ? 1 : static_cast<std::size_t>(n_));
    for (auto& s : scales) s = (0.25f + 1.5f * gen.uniform_float()) * 100.0f / typical;
    const GemmRequantization rq{scales, output_};
    const WeightView view{b.data(), n_, 1};

    std::vector<std::uint8_t> expected(static_cast<std::size_t>(m_ * c_stride), 0xA5);
    reference::qu8_gemm(m_, n_, k_, a.data(), a_stride, a_zero_point, view, bias.data(), rq,
                        expected.data(), c_stride);
    std::vector<std::int32_t> expected32(static_cast<std::size_t>(m_ * c_stride), -7);
    reference::qu8_gemm_s32(m_, n_, k_, a.data(), a_stride, a_zero_point, view, bias.data(),
                            expected32.data(), c_stride);

    const PackedWeights packed = pack_gemm_weights(k_, n_, view, bias.data(), a_zero_point, kernel);
    REQUIRE(packed.isa() == kernel.isa);
    if (num_threads() != threads_) set_num_threads(threads_);
    std::vector<std::uint8_t> c(static_cast<std::size_t>(m_ * c_stride), 0xA5);
    qu8_gemm(m_, a.data(), a_stride, packed, rq, c.data(), c_stride);
    std::vector<std::int32_t> c32(static_cast<std::size_t>(m_ * c_stride), -7);
    qu8_gemm_s32(m_, a.data(), a_stride, packed, c32.data(), c_stride);

    // Whole buffers, so a write into the stride padding fails too.
    for (std::size_t i = 0; i < c.size(); ++i) {
      if (c[i] != expected[i]) {
        FAIL_CHECK("u8 output differs at row " << i / c_stride << " column " << i % c_stride
                                               << ": got " << int{c[i]} << ", expected "
                                               << int{expected[i]});
        return;
      }
      if (c32[i] != expected32[i]) {
        FAIL_CHECK("int32 output differs at row " << i / c_stride << " column " << i % c_stride
                                                  << ": got " << c32[i] << ", expected "
                                                  << expected32[i]);
        return;
      }
    }
    SUCCEED();
  }

 private:
  std::int64_t m_ = 1, n_ = 1, k_ = 1;
  std::int32_t a_zero_point_ = 128;
  OutputQuantization output_{128, 0, 255};
  bool per_tensor_scale_ = false;
  ActivationFill activation_fill_ = ActivationFill::random;
  WeightFill weight_fill_ = WeightFill::random;
  std::int64_t a_padding_ = 0, c_padding_ = 0;
  int threads_ = 2;
  std::uint64_t seed_ = 42;
};

}  // namespace frost::kernels::testing
