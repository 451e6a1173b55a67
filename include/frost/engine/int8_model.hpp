#pragma once
// engine::Int8Model: a converted model (quant/convert.hpp) that runs on frost's INT8 kernels.
//
//   engine::Int8Model m = quant::convert(*qat_model);
//   Tensor<float> logits = m.forward(images);      // NCHW float in, float out (dequantized)
//
// The model is a list of ops over values. A value is a u8 tensor with one scale and zero point;
// 4-D values ([N, C, H, W] in the float model) are stored NHWC, 2-D ones [N, C] row-major. The
// batch size is free at run time; the other sizes are those the model was traced with.
// Shape ops that only move channels (a split, a channel shuffle) are channel_gather ops: u8 codes
// copied from one channel to another, no requantization. Weights are kept unpacked (what a model
// file stores) and packed once for the CPU the model runs on (pack(), called by convert and by
// engine::load). Every call allocates its own activations, so one model may run from several
// threads at once.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "frost/autograd/grad_mode.hpp"
#include "frost/core/error.hpp"
#include "frost/core/parallel.hpp"
#include "frost/core/tensor.hpp"
#include "frost/kernels/conv/conv2d.hpp"
#include "frost/kernels/dwconv/dwconv.hpp"
#include "frost/kernels/elementwise/elementwise.hpp"
#include "frost/kernels/elementwise/layout.hpp"
#include "frost/kernels/elementwise/lookup_table.hpp"
#include "frost/kernels/elementwise/mul.hpp"
#include "frost/kernels/gemm/gemm.hpp"
#include "frost/kernels/isa.hpp"
#include "frost/kernels/pool/avg_pool2d.hpp"
#include "frost/kernels/pool/max_pool2d.hpp"
#include "frost/kernels/requantize.hpp"
#include "frost/nn/module.hpp"

namespace frost::engine {

using kernels::FusedActivation;
using kernels::QuantizationParams;

enum class OpKind {
  quantize,  // float input -> u8 (the model's entry)
  conv2d,    // groups 1, grouped or depthwise; fused ReLU / ReLU6
  linear,    // [N, K] x [K, O]
  add,       // same shapes; fused ReLU / ReLU6
  mul,       // same shapes, or x [N, C, H, W] * gate [N, C, 1, 1] (squeeze-excite)
  concat,    // along channels
  max_pool2d,
  avg_pool2d,
  global_avg_pool,  // [N, C, H, W] -> [N, C] (or [N, C, 1, 1])
  lookup_table,     // any element-wise function of one input, as 256 entries
  flatten,          // [N, C, H, W] -> [N, C*H*W] in the float model's (NCHW) order
  channel_gather,   // output channel c = input channel channels[c]: a split, a channel shuffle
  float_module,     // a module kept in float: dequantize, run it, quantize
};

inline std::string_view op_kind_name(OpKind k) {
  switch (k) {
    case OpKind::quantize:
      return "quantize";
    case OpKind::conv2d:
      return "conv2d";
    case OpKind::linear:
      return "linear";
    case OpKind::add:
      return "add";
    case OpKind::mul:
      return "mul";
    case OpKind::concat:
      return "concat";
    case OpKind::max_pool2d:
      return "max_pool2d";
    case OpKind::avg_pool2d:
      return "avg_pool2d";
    case OpKind::global_avg_pool:
      return "global_avg_pool";
    case OpKind::lookup_table:
      return "lookup_table";
    case OpKind::flatten:
      return "flatten";
    case OpKind::channel_gather:
      return "channel_gather";
    case OpKind::float_module:
      return "float_module";
  }
  return "?";
}

struct Value {
  std::vector<std::int64_t> shape;  // the float model's shape without the batch: [C, H, W] or [C]
  QuantizationParams quantization;
  // The op of the prepared model whose (fake-quantized) output this is; -1 for the input.
  std::int64_t source_step = -1;
  std::string name;
  std::int64_t elements_per_image() const {
    std::int64_t n = 1;
    for (auto s : shape) n *= s;
    return n;
  }
  bool spatial() const { return shape.size() == 3; }
  std::int64_t channels() const { return shape.empty() ? 1 : shape[0]; }
  std::int64_t height() const { return spatial() ? shape[1] : 1; }
  std::int64_t width() const { return spatial() ? shape[2] : 1; }
};

// Sizes of a 2-D window op (conv, pools).
struct Window {
  int kernel_height = 1, kernel_width = 1;
  int stride_height = 1, stride_width = 1;
  int padding_height = 0, padding_width = 0;
  int dilation_height = 1, dilation_width = 1;
};

struct Op {
  OpKind kind = OpKind::quantize;
  std::vector<std::int64_t> inputs;  // value indices
  std::int64_t output = -1;
  std::string name;  // where it came from: "conv2d in 'features.3'"

  // conv2d / linear: weights OHWI ([O][kh][kw][I/groups]) or [O][K]; int32 bias with scale
  // s_in * s_w[c]; per-channel (or one) weight scales.
  Window window;
  std::int64_t groups = 1;
  std::vector<std::int8_t> weights;
  std::vector<std::int32_t> bias;
  std::vector<float> weight_scales;
  FusedActivation activation = FusedActivation::none;
  // avg_pool2d
  bool count_include_pad = true;
  bool ceil_mode = false;
  // lookup_table
  kernels::LookupTable table{};
  // channel_gather: the input channel of every output channel. The codes are copied (input and
  // output share their scale and zero point), so a split (chunk / narrow / slice of channels) or a
  // channel shuffle (reshape + transpose + reshape) costs no requantization.
  std::vector<std::int32_t> channels;
  // float_module
  std::shared_ptr<nn::Module> module;

  // Derived by pack().
  std::vector<kernels::PackedWeights> packed;  // one per group (conv, linear)
  std::shared_ptr<kernels::PackedDwconvWeights> packed_dw;
  std::vector<float> requantization_scales;  // s_in * s_w[c] / s_out
  bool depthwise = false;
};

// The kernels' geometry of a window op on one value (conv2d with `in_channels` / `out_channels`
// per group); forward runs them, and engine/serialize.hpp checks a loaded model with them.
inline kernels::Conv2dGeometry conv_geometry(const Op& op, const Value& in, std::int64_t batch,
                                             std::int64_t in_channels, std::int64_t out_channels) {
  kernels::Conv2dGeometry g;
  g.batch = batch;
  g.in_height = in.height();
  g.in_width = in.width();
  g.in_channels = in_channels;
  g.out_channels = out_channels;
  g.kernel_height = op.window.kernel_height;
  g.kernel_width = op.window.kernel_width;
  g.stride_height = op.window.stride_height;
  g.stride_width = op.window.stride_width;
  g.padding_top = g.padding_bottom = op.window.padding_height;
  g.padding_left = g.padding_right = op.window.padding_width;
  g.dilation_height = op.window.dilation_height;
  g.dilation_width = op.window.dilation_width;
  return g;
}
inline kernels::DwconvGeometry dwconv_geometry(const Op& op, const Value& in, std::int64_t batch) {
  kernels::DwconvGeometry g;
  g.batch = batch;
  g.input_height = in.height();
  g.input_width = in.width();
  g.channels = in.channels();
  g.kernel_height = op.window.kernel_height;
  g.kernel_width = op.window.kernel_width;
  g.stride_height = op.window.stride_height;
  g.stride_width = op.window.stride_width;
  g.dilation_height = op.window.dilation_height;
  g.dilation_width = op.window.dilation_width;
  g.padding_top = g.padding_bottom = op.window.padding_height;
  g.padding_left = g.padding_right = op.window.padding_width;
  return g;
}
inline kernels::Pool2dNhwcGeometry pool_geometry(const Op& op, const Value& in,
                                                 std::int64_t batch) {
  kernels::Pool2dNhwcGeometry g;
  g.batch = batch;
  g.input_height = in.height();
  g.input_width = in.width();
  g.channels = in.channels();
  g.kernel_height = op.window.kernel_height;
  g.kernel_width = op.window.kernel_width;
  g.stride_height = op.window.stride_height;
  g.stride_width = op.window.stride_width;
  g.padding_height = op.window.padding_height;
  g.padding_width = op.window.padding_width;
  g.dilation_height = op.window.dilation_height;
  g.dilation_width = op.window.dilation_width;
  g.ceil_mode = op.ceil_mode;
  return g;
}

class Int8Model {
 public:
  std::vector<Value> values;
  std::vector<Op> ops;
  std::int64_t input = -1;                // the value the quantize op writes
  std::int64_t output = -1;               // dequantized as the result
  std::vector<std::int64_t> input_shape;  // [C, H, W] or [F]
  std::vector<std::string> class_names;   // optional, for classifiers
  // Optional, for programs that feed it images (frost-classify): the normalisation the model was
  // trained with, per input channel, on pixels scaled to [0, 1]: x = (pixel - mean) / std. Both
  // empty when not recorded.
  std::vector<float> input_mean, input_std;

  // Packs every weight for `isa` (the running CPU's by default).
  void pack(kernels::Isa isa = kernels::active_isa()) {
    for (Op& op : ops) pack_op(op, isa);
    packed_isa_ = isa;
  }
  kernels::Isa packed_isa() const { return packed_isa_; }

  // x [N, input_shape...] float -> the output value, dequantized, [N, shape...] (NCHW).
  Tensor<float> forward(const Tensor<float>& x) const { return run(x, nullptr); }

  // Also returns every value, dequantized to the float model's layout (for the per-layer
  // report); index = value index.
  Tensor<float> forward_with_values(const Tensor<float>& x, std::vector<Tensor<float>>& all) const {
    return run(x, &all);
  }

  // Runs op `index` alone on float inputs ([N, value shape...], one per op input; for the
  // quantize op, the model's input), each quantized with its value's parameters, and returns the
  // op's output dequantized. It separates one op's own error from what its inputs already carried
  // (a one-step difference at a rounding tie feeds every later op and can add up there).
  Tensor<float> run_op_alone(std::size_t index, const std::vector<Tensor<float>>& inputs) const {
    FROST_CHECK(index < ops.size(), "Int8Model::run_op_alone", "op ", index, " of ", ops.size());
    const Op& op = ops[index];
    const std::size_t arity = op.kind == OpKind::quantize ? 1 : op.inputs.size();
    FROST_CHECK(inputs.size() == arity && inputs[0].defined() && inputs[0].dim() >= 1,
                "Int8Model::run_op_alone", op_kind_name(op.kind), " takes ", arity, " inputs, got ",
                inputs.size());
    const std::int64_t batch = inputs[0].size(0);
    std::vector<Buffer> buffers(values.size());
    const auto alloc = [&](std::int64_t v) -> Buffer& {
      Buffer& b = buffers[static_cast<std::size_t>(v)];
      b.resize(static_cast<std::size_t>(batch * value(v).elements_per_image()));
      return b;
    };
    if (op.kind != OpKind::quantize) {
      for (std::size_t k = 0; k < arity; ++k) {
        const Value& v = value(op.inputs[k]);
        Shape expected{batch};
        expected.insert(expected.end(), v.shape.begin(), v.shape.end());
        FROST_CHECK(inputs[k].defined() && inputs[k].shape() == expected, "Int8Model::run_op_alone",
                    "input ", k, " of ", op_kind_name(op.kind), " (", op.name, ") should be ",
                    shape_str(expected), ", got ",
                    shape_str(inputs[k].defined() ? inputs[k].shape() : Shape{}));
        quantize_into(inputs[k], v, batch, alloc(op.inputs[k]));
      }
    }
    run_op(op, op.kind == OpKind::quantize ? inputs[0] : Tensor<float>(), batch, buffers, alloc);
    return dequantized(buffers[static_cast<std::size_t>(op.output)], value(op.output), batch);
  }

  // Bytes of weights, biases, tables and scales: the size of the model's parameters in INT8.
  std::int64_t parameter_bytes() const {
    std::int64_t n = 0;
    for (const Op& op : ops)
      n += static_cast<std::int64_t>(op.weights.size() + 4 * op.bias.size() +
                                     4 * op.weight_scales.size()) +
           (op.kind == OpKind::lookup_table ? 256 : 0) +
           static_cast<std::int64_t>(4 * op.channels.size());
    return n;
  }

 private:
  using Buffer = std::vector<std::uint8_t>;

  void pack_op(Op& op, kernels::Isa isa) const {
    if (op.kind != OpKind::conv2d && op.kind != OpKind::linear) return;
    const Value& in = values.at(static_cast<std::size_t>(op.inputs.at(0)));
    const Value& out = values.at(static_cast<std::size_t>(op.output));
    const std::int64_t out_channels = out.channels();
    FROST_CHECK(
        !op.weight_scales.empty() && static_cast<std::int64_t>(op.bias.size()) == out_channels,
        "Int8Model::pack", op.name, ": ", op.bias.size(), " biases and ", op.weight_scales.size(),
        " weight scales for ", out_channels, " output channels");
    op.requantization_scales.resize(static_cast<std::size_t>(out_channels));
    for (std::int64_t c = 0; c < out_channels; ++c) {
      const float sw =
          op.weight_scales[op.weight_scales.size() == 1 ? 0 : static_cast<std::size_t>(c)];
      op.requantization_scales[static_cast<std::size_t>(c)] =
          kernels::requantization_scale(in.quantization.scale, sw, out.quantization.scale);
    }
    const std::int32_t zp = in.quantization.zero_point;
    op.packed.clear();
    op.packed_dw.reset();
    if (op.kind == OpKind::linear) {
      const std::int64_t k = in.elements_per_image();
      FROST_CHECK(static_cast<std::int64_t>(op.weights.size()) == k * out_channels,
                  "Int8Model::pack", op.name, ": ", op.weights.size(), " weights for ",
                  out_channels, " x ", k);
      op.packed.push_back(kernels::pack_gemm_weights(k, out_channels, {op.weights.data(), 1, k},
                                                     op.bias.data(), zp, isa));
      return;
    }
    const std::int64_t in_channels = in.channels();
    const std::int64_t taps = std::int64_t{op.window.kernel_height} * op.window.kernel_width;
    const std::int64_t group_in = in_channels / op.groups, group_out = out_channels / op.groups;
    FROST_CHECK(static_cast<std::int64_t>(op.weights.size()) == out_channels * taps * group_in,
                "Int8Model::pack", op.name, ": ", op.weights.size(), " weights for ", out_channels,
                " x ", taps, " x ", group_in);
    op.depthwise = op.groups == in_channels && op.groups == out_channels && op.groups > 1;
    if (op.depthwise) {
      // OHWI with I = 1 is [C][kh][kw], the depthwise layout.
      op.packed_dw = std::make_shared<kernels::PackedDwconvWeights>(kernels::pack_dwconv_weights(
          in_channels, op.window.kernel_height, op.window.kernel_width, op.weights.data(),
          op.bias.data(), op.requantization_scales, zp,
          kernels::output_quantization(out.quantization.scale, out.quantization.zero_point,
                                       op.activation)));
      return;
    }
    for (std::int64_t g = 0; g < op.groups; ++g) {
      const kernels::Conv2dGeometry geometry = conv_geometry(op, in, 1, group_in, group_out);
      op.packed.push_back(kernels::pack_conv2d_weights(
          geometry, op.weights.data() + g * group_out * taps * group_in,
          op.bias.data() + g * group_out, zp, isa));
    }
  }

  const Value& value(std::int64_t i) const { return values.at(static_cast<std::size_t>(i)); }

  Tensor<float> dequantized(const Buffer& b, const Value& v, std::int64_t batch) const {
    Shape shape{batch};
    shape.insert(shape.end(), v.shape.begin(), v.shape.end());
    Tensor<float> t = Tensor<float>::empty(shape);
    if (v.spatial())
      kernels::dequantize_nhwc_to_nchw_u8(batch, v.channels(), v.height(), v.width(), b.data(),
                                          t.data(), v.quantization);
    else
      kernels::dequantize_u8_array(b.size(), b.data(), t.data(), v.quantization);
    return t;
  }

  void quantize_into(const Tensor<float>& x, const Value& v, std::int64_t batch, Buffer& b) const {
    const Tensor<float> xc = x.contiguous();
    if (v.spatial())
      kernels::quantize_nchw_to_nhwc_u8(batch, v.channels(), v.height(), v.width(), xc.data(),
                                        b.data(), v.quantization);
    else
      kernels::quantize_u8_array(b.size(), xc.data(), b.data(), v.quantization);
  }

  Tensor<float> run(const Tensor<float>& x, std::vector<Tensor<float>>* all) const {
    FROST_CHECK(!ops.empty() && input >= 0 && output >= 0, "Int8Model::forward",
                "empty model (convert or load one)");
    FROST_CHECK(x.defined() && x.dim() == static_cast<std::int64_t>(input_shape.size()) + 1 &&
                    std::equal(input_shape.begin(), input_shape.end(), x.shape().begin() + 1) &&
                    x.size(0) >= 1,
                "Int8Model::forward", "expected input [N, ", shape_str(input_shape).substr(1),
                " with N >= 1, got ", shape_str(x.defined() ? x.shape() : Shape{}));
    const std::int64_t batch = x.size(0);
    std::vector<Buffer> buffers(values.size());
    const auto alloc = [&](std::int64_t v) -> Buffer& {
      Buffer& b = buffers[static_cast<std::size_t>(v)];
      b.resize(static_cast<std::size_t>(batch * value(v).elements_per_image()));
      return b;
    };
    for (const Op& op : ops) {
      try {
        run_op(op, x, batch, buffers, alloc);
      } catch (const Error& e) {
        throw Error(std::string("Int8Model::forward: ") + std::string(op_kind_name(op.kind)) +
                    " (" + op.name + "): " + e.what());
      }
    }
    if (all != nullptr) {
      all->assign(values.size(), Tensor<float>());
      for (std::size_t i = 0; i < values.size(); ++i)
        if (!buffers[i].empty()) (*all)[i] = dequantized(buffers[i], values[i], batch);
    }
    return dequantized(buffers[static_cast<std::size_t>(output)], value(output), batch);
  }

  template <class Alloc>
  void run_op(const Op& op, const Tensor<float>& x, std::int64_t batch,
              std::vector<Buffer>& buffers, Alloc& alloc) const {
    const auto in = [&](std::size_t i) -> const Buffer& {
      return buffers[static_cast<std::size_t>(op.inputs.at(i))];
    };
    const Value& out_value = value(op.output);
    switch (op.kind) {
      case OpKind::quantize:
        quantize_into(x, out_value, batch, alloc(op.output));
        return;
      case OpKind::conv2d: {
        const Value& iv = value(op.inputs[0]);
        const Buffer& src = in(0);
        Buffer& dst = alloc(op.output);
        if (op.depthwise) {
          FROST_CHECK(op.packed_dw != nullptr, "conv2d", "weights not packed (call pack())");
          kernels::dwconv_nhwc(dwconv_geometry(op, iv, batch), *op.packed_dw, src.data(),
                               dst.data());
          return;
        }
        FROST_CHECK(static_cast<std::int64_t>(op.packed.size()) == op.groups, "conv2d",
                    "weights not packed (call pack())");
        const std::int64_t cin = iv.channels(), cout = out_value.channels();
        const auto rq_output = kernels::output_quantization(
            out_value.quantization.scale, out_value.quantization.zero_point, op.activation);
        if (op.groups == 1) {
          kernels::qu8_conv2d(conv_geometry(op, iv, batch, cin, cout), src.data(), op.packed[0],
                              {op.requantization_scales, rq_output}, dst.data());
          return;
        }
        // Grouped: each group's channels gathered into a dense tensor, convolved, scattered.
        const std::int64_t gi = cin / op.groups, go = cout / op.groups;
        const std::int64_t in_pixels = batch * iv.height() * iv.width();
        const std::int64_t out_pixels = batch * out_value.height() * out_value.width();
        Buffer gin(static_cast<std::size_t>(in_pixels * gi)),
            gout(static_cast<std::size_t>(out_pixels * go));
        for (std::int64_t g = 0; g < op.groups; ++g) {
          for (std::int64_t p = 0; p < in_pixels; ++p)
            std::copy_n(src.data() + p * cin + g * gi, gi, gin.data() + p * gi);
          kernels::qu8_conv2d(
              conv_geometry(op, iv, batch, gi, go), gin.data(),
              op.packed[static_cast<std::size_t>(g)],
              {std::span<const float>(op.requantization_scales)
                   .subspan(static_cast<std::size_t>(g * go), static_cast<std::size_t>(go)),
               rq_output},
              gout.data());
          for (std::int64_t p = 0; p < out_pixels; ++p)
            std::copy_n(gout.data() + p * go, go, dst.data() + p * cout + g * go);
        }
        return;
      }
      case OpKind::linear: {
        FROST_CHECK(op.packed.size() == 1, "linear", "weights not packed (call pack())");
        const Value& iv = value(op.inputs[0]);
        const auto rq_output = kernels::output_quantization(
            out_value.quantization.scale, out_value.quantization.zero_point, op.activation);
        kernels::qu8_gemm(batch, in(0).data(), iv.elements_per_image(), op.packed[0],
                          {op.requantization_scales, rq_output}, alloc(op.output).data(),
                          out_value.channels());
        return;
      }
      case OpKind::add: {
        const auto params = kernels::make_add_params(value(op.inputs[0]).quantization,
                                                     value(op.inputs[1]).quantization,
                                                     out_value.quantization, op.activation);
        Buffer& dst = alloc(op.output);
        kernels::add_u8_array(dst.size(), in(0).data(), in(1).data(), dst.data(), params);
        return;
      }
      case OpKind::mul: {
        const Value& a = value(op.inputs[0]);
        const Value& b = value(op.inputs[1]);
        const auto params = kernels::make_mul_params(a.quantization, b.quantization,
                                                     out_value.quantization, op.activation);
        Buffer& dst = alloc(op.output);
        if (a.elements_per_image() == b.elements_per_image()) {
          kernels::mul_u8_array(dst.size(), in(0).data(), in(1).data(), dst.data(), params);
        } else {
          // x * gate, the gate [C, 1, 1] on either side.
          const bool gate_second = b.elements_per_image() == b.channels();
          const Value& xv = gate_second ? a : b;
          kernels::mul_channel_broadcast_nhwc_u8(
              batch, xv.height() * xv.width(), xv.channels(),
              gate_second ? in(0).data() : in(1).data(), gate_second ? in(1).data() : in(0).data(),
              dst.data(),
              gate_second ? params
                          : kernels::make_mul_params(b.quantization, a.quantization,
                                                     out_value.quantization, op.activation));
        }
        return;
      }
      case OpKind::concat: {
        std::vector<kernels::ConcatInput> parts;
        for (std::size_t i = 0; i < op.inputs.size(); ++i) {
          const Value& v = value(op.inputs[i]);
          parts.push_back({in(i).data(), v.channels(), v.quantization});
        }
        kernels::concat_channels_nhwc_u8(batch * out_value.height() * out_value.width(), parts,
                                         out_value.quantization, alloc(op.output).data());
        return;
      }
      case OpKind::max_pool2d:
        kernels::max_pool2d_nhwc_u8(pool_geometry(op, value(op.inputs[0]), batch), in(0).data(),
                                    alloc(op.output).data());
        return;
      case OpKind::avg_pool2d:
        kernels::avg_pool2d_nhwc_u8(pool_geometry(op, value(op.inputs[0]), batch),
                                    op.count_include_pad, in(0).data(), alloc(op.output).data(),
                                    value(op.inputs[0]).quantization, out_value.quantization);
        return;
      case OpKind::global_avg_pool: {
        const Value& iv = value(op.inputs[0]);
        const auto params = kernels::make_global_avg_pool_params(
            iv.height() * iv.width(), iv.quantization, out_value.quantization);
        kernels::global_average_pool_nhwc_u8(batch, iv.channels(), in(0).data(),
                                             alloc(op.output).data(), params);
        return;
      }
      case OpKind::lookup_table: {
        const Buffer& src = in(0);
        Buffer& dst = alloc(op.output);
        kernels::elementwise::parallel_elements(src.size(), [&](std::size_t i, std::size_t n) {
          kernels::apply_lookup_table(n, op.table, src.data() + i, dst.data() + i);
        });
        return;
      }
      case OpKind::flatten: {
        const Value& iv = value(op.inputs[0]);
        Buffer& dst = alloc(op.output);
        if (iv.spatial() && (iv.height() > 1 || iv.width() > 1))
          kernels::nhwc_to_nchw_u8(batch, iv.channels(), iv.height(), iv.width(), in(0).data(),
                                   dst.data());
        else
          dst = in(0);
        return;
      }
      case OpKind::channel_gather: {
        const Value& iv = value(op.inputs[0]);
        const std::int64_t cin = iv.channels(), cout = out_value.channels();
        FROST_CHECK(static_cast<std::int64_t>(op.channels.size()) == cout, "channel_gather",
                    op.channels.size(), " channel indices for ", cout, " output channels");
        for (std::int32_t c : op.channels)
          FROST_CHECK(c >= 0 && c < cin, "channel_gather", "channel ", c, " of an input with ", cin,
                      " channels");
        gather_channels_nhwc_u8(static_cast<std::size_t>(batch * iv.height() * iv.width()), cin,
                                op.channels, in(0).data(), alloc(op.output).data());
        return;
      }
      case OpKind::float_module: {
        FROST_CHECK(op.module != nullptr, "float_module", "no module");
        const Value& iv = value(op.inputs[0]);
        Tensor<float> y;
        {
          const NoGradGuard no_grad;
          y = (*op.module)(dequantized(in(0), iv, batch));
        }
        Shape expected{batch};
        expected.insert(expected.end(), out_value.shape.begin(), out_value.shape.end());
        FROST_CHECK(y.shape() == expected, "float_module", op.module->repr(), " returned ",
                    shape_str(y.shape()), ", expected ", shape_str(expected));
        quantize_into(y, out_value, batch, alloc(op.output));
        return;
      }
    }
  }

  // dst[p][c] = src[p][channels[c]] for every pixel p (NHWC, or [N, C] rows); runs of
  // consecutive channels (a split) are copied whole.
  static void gather_channels_nhwc_u8(std::size_t pixels, std::int64_t in_channels,
                                      const std::vector<std::int32_t>& channels,
                                      const std::uint8_t* src, std::uint8_t* dst) {
    struct Run {
      std::size_t from, to, length;
    };
    std::vector<Run> runs;
    for (std::size_t c = 0; c < channels.size(); ++c) {
      const auto from = static_cast<std::size_t>(channels[c]);
      if (!runs.empty() && runs.back().from + runs.back().length == from)
        ++runs.back().length;
      else
        runs.push_back({from, c, 1});
    }
    const auto cin = static_cast<std::size_t>(in_channels);
    const std::size_t cout = channels.size();
    kernels::elementwise::parallel_elements(pixels, [&](std::size_t p0, std::size_t n) {
      for (std::size_t p = p0; p < p0 + n; ++p) {
        const std::uint8_t* s = src + p * cin;
        std::uint8_t* d = dst + p * cout;
        for (const Run& r : runs) std::copy_n(s + r.from, r.length, d + r.to);
      }
    });
  }

  kernels::Isa packed_isa_ = kernels::Isa::scalar;
};

}  // namespace frost::engine
