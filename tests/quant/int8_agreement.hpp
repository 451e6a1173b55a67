#pragma once
// Test helpers: does an INT8 model compute what its fake-quantized model computes? Compared as
// u8 codes under each value's quantization, so that "one step apart" means one code.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <catch2/catch.hpp>

#include <frost/core/tensor.hpp>
#include <frost/engine/int8_model.hpp>

namespace frost_test {

using frost::Tensor;

// u8 codes of a tensor under (scale, zero point); the model's float input is clamped as the
// quantize op clamps it.
inline std::vector<long> codes(const Tensor<float>& t, frost::kernels::QuantizationParams q) {
  const Tensor<float> c = t.contiguous();
  std::vector<long> out(static_cast<std::size_t>(c.numel()));
  for (std::int64_t i = 0; i < c.numel(); ++i)
    out[static_cast<std::size_t>(i)] =
        std::clamp(std::lround(c.data()[i] / q.scale) + q.zero_point, 0L, 255L);
  return out;
}

// Every op of `int8` on its own, fed the fake-quantized model's values (`recorded`, one per
// traced step), is within one step of the fake-quantized result and equal for >= 99.9% of the
// elements; along the whole chain, >= 99.9% of all the values' elements are equal. The fake-
// quantized model computes what the INT8 one does (the int32 bias grid included), so only float
// rounding at a tie can differ: a bias left in float fails this (about 0.1% of a layer's
// outputs off by one step).
inline void check_every_value_agrees(frost::engine::Int8Model& int8, const Tensor<float>& x,
                                     const std::vector<Tensor<float>>& recorded,
                                     std::size_t min_values) {
  const auto reference = [&](std::int64_t v) -> Tensor<float> {
    const auto step = int8.values[static_cast<std::size_t>(v)].source_step;
    if (step < 0) return x;
    if (static_cast<std::size_t>(step) >= recorded.size()) return {};
    return recorded[static_cast<std::size_t>(step)];
  };
  const auto same_shape = [&](const Tensor<float>& t, std::int64_t v) {
    const auto& shape = int8.values[static_cast<std::size_t>(v)].shape;
    return t.defined() && t.dim() == static_cast<std::int64_t>(shape.size()) + 1 &&
           std::equal(shape.begin(), shape.end(), t.shape().begin() + 1);
  };
  std::size_t ops_checked = 0;
  for (std::size_t i = 0; i < int8.ops.size(); ++i) {
    const auto& op = int8.ops[i];
    std::vector<Tensor<float>> inputs;
    bool usable = true;
    if (op.kind == frost::engine::OpKind::quantize) {
      inputs.push_back(x);
    } else {
      for (std::int64_t v : op.inputs) {
        inputs.push_back(reference(v));
        usable = usable && same_shape(inputs.back(), v);
      }
    }
    const Tensor<float> want = reference(op.output);
    if (!usable || !same_shape(want, op.output)) continue;
    const auto q = int8.values[static_cast<std::size_t>(op.output)].quantization;
    const auto a = codes(int8.run_op_alone(i, inputs), q);
    const auto b = codes(want, q);
    long op_worst = 0;
    std::size_t op_equal = 0;
    for (std::size_t k = 0; k < a.size(); ++k) {
      op_worst = std::max(op_worst, std::abs(a[k] - b[k]));
      op_equal += a[k] == b[k];
    }
    INFO("op " << i << " " << op.name);
    CHECK(op_worst <= 1);
    CHECK(static_cast<double>(op_equal) >= 0.999 * static_cast<double>(a.size()));
    ++ops_checked;
  }
  CHECK(ops_checked >= min_values);

  std::vector<Tensor<float>> all;
  int8.forward_with_values(x, all);
  std::size_t checked = 0, total = 0, total_equal = 0;
  for (std::size_t v = 0; v < int8.values.size(); ++v) {
    const Tensor<float> ref = reference(static_cast<std::int64_t>(v));
    if (!all[v].defined() || !same_shape(ref, static_cast<std::int64_t>(v))) continue;
    const auto a = codes(all[v], int8.values[v].quantization);
    const auto b = codes(ref, int8.values[v].quantization);
    for (std::size_t i = 0; i < a.size(); ++i) total_equal += a[i] == b[i];
    total += a.size();
    ++checked;
  }
  CHECK(checked >= min_values);
  CHECK(static_cast<double>(total_equal) >= 0.999 * static_cast<double>(total));
}

// The INT8 model's output `y` against the fake-quantized model's `fake`: never more than one
// step apart, and equal on at least `min_equal` of the elements.
inline void check_output_agrees(const frost::engine::Int8Model& int8, const Tensor<float>& y,
                                const Tensor<float>& fake, double min_equal) {
  REQUIRE(y.shape() == fake.shape());
  const auto q = int8.values[static_cast<std::size_t>(int8.output)].quantization;
  const std::vector<long> got = codes(y, q), want = codes(fake, q);
  std::size_t equal = 0;
  long worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    equal += got[i] == want[i];
    worst = std::max(worst, std::abs(got[i] - want[i]));
  }
  INFO(equal << " of " << got.size() << " output codes equal, worst difference " << worst);
  CHECK(worst <= 1);
  CHECK(static_cast<double>(equal) >= min_equal * static_cast<double>(got.size()));
}

}  // namespace frost_test
