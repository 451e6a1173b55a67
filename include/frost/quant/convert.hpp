#pragma once
// quant::convert: lowers a prepared (QAT-trained or calibrated) model to an engine::Int8Model
// that runs on frost's INT8 kernels.
//
//   engine::Int8Model int8 = quant::convert(*model);
//
// Conversion reads the plan the runtime follows (quant/runtime.hpp) and the current state of
// every fake quantizer, so the INT8 model computes what the fake-quantized model computes with
// its observers off:
//   - activations: one u8 scale / zero point per value, from the fake quantizer of the op that
//     made it (or of the op whose parameters it keeps);
//   - conv / linear: weights quantized with their weight fake quantizer's parameters (the same
//     division and rounding), BN folded from the running statistics, int32 bias with scale
//     s_in * s_w[c], a ReLU / ReLU6 that follows fused into the requantization;
//   - add, mul, cat, pools: the INT8 element-wise kernels with the parameters of both sides;
//   - shape ops that only move channels (slice / narrow / chunk / split of channels, and the
//     channel shuffle reshape [N, C, H, W] -> [N, g, C/g, H, W], transpose, reshape back, any
//     such chain): followed symbolically as a map from channels to the channels of a value, and
//     run, where an op reads the result, as one channel_gather (codes copied, no requantization;
//     a chain that gives the channels back in order costs nothing);
//   - any element-wise function of one input (sigmoid, hard-swish, x + 3, ...): a 256-entry
//     table computed by running the float op itself on the 256 dequantized codes;
//   - modules kept in float run in float between a dequantize and a quantize.
// Any other op is a frost::Error that names it and its module path.

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "frost/autograd/grad_mode.hpp"
#include "frost/core/tensor.hpp"
#include "frost/engine/int8_model.hpp"
#include "frost/nn/module.hpp"
#include "frost/ops/activation.hpp"
#include "frost/ops/elementwise.hpp"
#include "frost/quant/int32_bias.hpp"
#include "frost/quant/prepare.hpp"
#include "frost/quant/qat_modules.hpp"
#include "frost/quant/runtime.hpp"

namespace frost::quant {

namespace detail {

inline kernels::QuantizationParams activation_quantization(const FakeQuantizeBase& fq,
                                                           const std::string& where) {
  const QParams p = fq.qparams();
  FROST_CHECK(!p.per_channel() && p.range == kQuint8, "convert", where,
              ": activations must be quantized per tensor to u8 [0, 255], got ", to_string(p));
  return {p.scale[0], p.zero_point[0]};
}

// The float op of a one-input element-wise step, run on any tensor.
inline Tensor<float> apply_unary(const nn::TraceOp& op, const Tensor<float>& x) {
  const std::string& k = op.kind;
  const auto attr = [&](const char* name) { return static_cast<float>(op.attribute(name)[0]); };
  if (k == "relu") return relu(x);
  if (k == "relu6") return relu6(x);
  if (k == "sigmoid") return sigmoid(x);
  if (k == "tanh") return frost::tanh(x);
  if (k == "hardswish") return hardswish(x);
  if (k == "hardsigmoid") return hardsigmoid(x);
  if (k == "leaky_relu") return leaky_relu(x, attr("negative_slope"));
  if (k == "exp") return frost::exp(x);
  if (k == "log") return frost::log(x);
  if (k == "sqrt") return frost::sqrt(x);
  if (k == "pow") return frost::pow(x, attr("exponent"));
  if (k == "abs") return frost::abs(x);
  if (k == "neg") return neg(x);
  if (k == "add_scalar") return add(x, attr("value"));
  if (k == "mul_scalar") return mul(x, attr("value"));
  if (k == "div_scalar") return div(x, attr("value"));
  if (k == "rsub_scalar") return rsub(x, attr("value"));
  if (k == "rdiv_scalar") return rdiv(x, attr("value"));
  if (k == "clamp") return clamp(x, attr("min"), attr("max"));
  frost::detail::throw_error("convert", op.where(), " is not an element-wise function");
}

inline kernels::LookupTable unary_table(const nn::TraceOp& op, kernels::QuantizationParams in,
                                        kernels::QuantizationParams out) {
  Tensor<float> codes = Tensor<float>::empty({256});
  for (int q = 0; q < 256; ++q)
    codes.data()[q] = kernels::dequantize_u8(static_cast<std::uint8_t>(q), in);
  const Tensor<float> y = apply_unary(op, codes).contiguous();
  kernels::LookupTable table{};
  for (int q = 0; q < 256; ++q)
    table[static_cast<std::size_t>(q)] = kernels::quantize_u8(y.data()[q], out);
  return table;
}

inline std::vector<std::int64_t> int_attribute(const nn::TraceOp& op, const char* name) {
  std::vector<std::int64_t> out;
  for (double v : op.attribute(name)) out.push_back(static_cast<std::int64_t>(v));
  return out;
}

// Weights [O, I/g, kh, kw] (or [O, K]) float -> OHWI int8 with the fake quantizer's parameters,
// exactly as fake_quantize rounds them; per-channel or per-tensor scales.
inline void quantize_weights(const Tensor<float>& weight, const QParams& p,
                             const std::string& where, engine::Op& op) {
  FROST_CHECK(p.range.qmin >= -128 && p.range.qmax <= 127, "convert", where,
              ": weights must be int8, got ", to_string(p));
  for (std::int32_t zp : p.zero_point)
    FROST_CHECK(zp == 0, "convert", where, ": weights must be symmetric (zero point 0), got ",
                to_string(p));
  const Tensor<float> w = weight.contiguous();
  const std::int64_t out_channels = w.size(0);
  FROST_CHECK(
      !p.per_channel() || (p.axis == 0 && static_cast<std::int64_t>(p.channels()) == out_channels),
      "convert", where, ": weight parameters ", to_string(p), " do not match weight ",
      shape_str(w.shape()));
  const std::int64_t per_channel = w.numel() / out_channels;
  const std::int64_t in = w.dim() == 4 ? w.size(1) : per_channel;
  const std::int64_t taps = w.dim() == 4 ? w.size(2) * w.size(3) : 1;
  op.weights.resize(static_cast<std::size_t>(w.numel()));
  op.weight_scales.assign(p.scale.begin(), p.scale.end());
  for (std::int64_t o = 0; o < out_channels; ++o) {
    const float s = p.scale[p.per_channel() ? static_cast<std::size_t>(o) : 0];
    for (std::int64_t i = 0; i < in; ++i)
      for (std::int64_t t = 0; t < taps; ++t) {
        const float x = w.data()[(o * in + i) * taps + t];
        const float q = std::clamp(std::nearbyint(x / s), static_cast<float>(p.range.qmin),
                                   static_cast<float>(p.range.qmax));
        op.weights[static_cast<std::size_t>((o * taps + t) * in + i)] =
            static_cast<std::int8_t>(std::isnan(q) ? 0.0f : q);
      }
  }
}

inline void quantize_bias(const Tensor<float>& bias, std::int64_t out_channels, float input_scale,
                          engine::Op& op) {
  op.bias.assign(static_cast<std::size_t>(out_channels), 0);
  if (!bias.defined()) return;
  const Tensor<float> b = bias.contiguous();
  for (std::int64_t c = 0; c < out_channels; ++c)
    op.bias[static_cast<std::size_t>(c)] = int32_bias_code(
        b.data()[c], input_scale,
        op.weight_scales[op.weight_scales.size() == 1 ? 0 : static_cast<std::size_t>(c)]);
}

class Converter {
 public:
  Converter(nn::Module& model, const QuantRuntime& runtime)
      : model_(model), runtime_(runtime), trace_(runtime.trace()), steps_(runtime.steps()) {}

  engine::Int8Model run() {
    FROST_CHECK(runtime_.input_fake_quant() != nullptr, "convert",
                "the model's input is not quantized (its QConfig is std::nullopt)");
    const nn::TraceValue& input = trace_.value(trace_.input());
    model_out_.input_shape.assign(input.shape.begin() + 1, input.shape.end());
    const auto in_q = activation_quantization(*runtime_.input_fake_quant(), "the model's input");
    model_out_.input = new_value(trace_.input(), in_q, -1);
    engine::Op q;
    q.kind = engine::OpKind::quantize;
    q.output = model_out_.input;
    q.name = "input";
    model_out_.ops.push_back(std::move(q));

    for (std::size_t i = 0; i < steps_.size(); ++i) {
      if (absorbed_.count(i)) continue;
      lower(i);
    }
    if (views_.count(trace_.output()) != 0 && ids_.count(trace_.output()) == 0)
      materialize(trace_.output(), trace_.ops().back());
    const auto found = ids_.find(trace_.output());
    FROST_CHECK(found != ids_.end(), "convert", "the model's output (value %", trace_.output(),
                ") is not quantized");
    model_out_.output = found->second;
    model_out_.pack();
    return std::move(model_out_);
  }

 private:
  std::int64_t new_value(std::int64_t trace_id, kernels::QuantizationParams q, std::int64_t step) {
    engine::Value v;
    const Shape& s = trace_.value(trace_id).shape;
    FROST_CHECK(s.size() == 4 || s.size() == 2, "convert", "value %", trace_id, " of shape ",
                shape_str(s),
                (step >= 0 ? " made by " + steps_[static_cast<std::size_t>(step)].op.where() : ""),
                ": the INT8 engine holds [N, C, H, W] and [N, C] tensors");
    v.shape.assign(s.begin() + 1, s.end());
    v.quantization = q;
    v.source_step = trace_.value(trace_id).producer;
    v.name = v.source_step >= 0 ? trace_.ops()[static_cast<std::size_t>(v.source_step)].where()
                                : "input";
    (void)step;
    model_out_.values.push_back(v);
    const auto id = static_cast<std::int64_t>(model_out_.values.size()) - 1;
    ids_[trace_id] = id;
    return id;
  }

  std::int64_t input_of(const nn::TraceOp& op, std::size_t i) {
    FROST_CHECK(i < op.inputs.size() && op.inputs[i] >= 0, "convert", op.where(), " has no input ",
                i);
    if (views_.count(op.inputs[i]) != 0 && ids_.count(op.inputs[i]) == 0)
      materialize(op.inputs[i], op);
    const auto found = ids_.find(op.inputs[i]);
    FROST_CHECK(found != ids_.end(), "convert", op.where(), " reads value %", op.inputs[i],
                " which is not a quantized activation (a constant, a parameter used outside its "
                "layer, or a float result)");
    return found->second;
  }
  const engine::Value& value(std::int64_t id) const {
    return model_out_.values[static_cast<std::size_t>(id)];
  }

  // The output parameters of step i (after a fused activation), and that activation.
  struct Output {
    kernels::QuantizationParams q;
    kernels::FusedActivation activation = kernels::FusedActivation::none;
    std::int64_t trace_id = -1;
  };
  Output output_of(std::size_t i) {
    const Step& s = steps_[i];
    if (s.role != StepRole::fused) {
      FROST_CHECK(s.output_fake_quant != nullptr, "convert", s.op.where(),
                  " has no output fake quantizer");
      return {activation_quantization(*s.output_fake_quant, s.op.where()),
              kernels::FusedActivation::none, s.op.output};
    }
    const auto users = trace_.consumers(s.op.output);
    const auto next = static_cast<std::size_t>(users.at(0));
    absorbed_.insert(next);
    const Step& act = steps_[next];
    return {
        activation_quantization(*act.output_fake_quant, act.op.where()),
        act.op.kind == "relu6" ? kernels::FusedActivation::relu6 : kernels::FusedActivation::relu,
        act.op.output};
  }

  engine::Op& emit(engine::OpKind kind, const nn::TraceOp& op, std::vector<std::int64_t> inputs,
                   std::int64_t output) {
    engine::Op e;
    e.kind = kind;
    e.inputs = std::move(inputs);
    e.output = output;
    e.name = op.where();
    model_out_.ops.push_back(std::move(e));
    return model_out_.ops.back();
  }

  void lower(std::size_t i) {
    const Step& s = steps_[i];
    const nn::TraceOp& op = s.op;
    if (s.role == StepRole::floating) {
      lower_float(s);
      return;
    }
    if (s.role == StepRole::passthrough) {
      lower_passthrough(s);
      return;
    }
    if (op.kind == "module") {
      lower_layer(i);
      return;
    }
    const Output out = output_of(i);
    if (op.kind == "add" || op.kind == "mul") {
      const std::int64_t a = input_of(op, 0), b = input_of(op, 1);
      const auto& sa = value(a).shape;
      const auto& sb = value(b).shape;
      const bool gate =
          op.kind == "mul" && sa.size() == 3 && sb.size() == 3 &&
          (value(b).elements_per_image() == sb[0] || value(a).elements_per_image() == sa[0]) &&
          sa[0] == sb[0];
      FROST_CHECK(sa == sb || gate, "convert", op.where(), ": operands of shapes ",
                  shape_str(trace_.value(op.inputs[0]).shape), " and ",
                  shape_str(trace_.value(op.inputs[1]).shape),
                  " (the INT8 engine broadcasts only a [N, C, 1, 1] gate in mul)");
      auto& e = emit(op.kind == "add" ? engine::OpKind::add : engine::OpKind::mul, op, {a, b},
                     new_value(out.trace_id, out.q, static_cast<std::int64_t>(i)));
      e.activation = out.activation;
      return;
    }
    if (op.kind == "cat") {
      const auto dim = static_cast<std::int64_t>(op.attribute("dim")[0]);
      FROST_CHECK(dim == 1, "convert", op.where(),
                  ": the INT8 engine concatenates channels (dim 1), got dim ", dim);
      std::vector<std::int64_t> ins;
      for (std::size_t k = 0; k < op.inputs.size(); ++k) ins.push_back(input_of(op, k));
      emit(engine::OpKind::concat, op, ins,
           new_value(out.trace_id, out.q, static_cast<std::int64_t>(i)));
      return;
    }
    if (op.kind == "mean" || op.kind == "adaptive_avg_pool2d") {
      const std::int64_t in = input_of(op, 0);
      FROST_CHECK(value(in).spatial(), "convert", op.where(), ": expected an [N, C, H, W] input");
      if (op.kind == "mean") {
        auto dims = int_attribute(op, "dims");
        for (auto& d : dims) d = d < 0 ? d + 4 : d;
        std::sort(dims.begin(), dims.end());
        FROST_CHECK(dims == std::vector<std::int64_t>({2, 3}), "convert", op.where(),
                    ": the INT8 engine averages over H and W (dims {2, 3}) only");
      } else {
        FROST_CHECK(int_attribute(op, "output_size") == std::vector<std::int64_t>({1, 1}),
                    "convert", op.where(), ": the INT8 engine pools to 1x1 only");
      }
      emit(engine::OpKind::global_avg_pool, op, {in},
           new_value(out.trace_id, out.q, static_cast<std::int64_t>(i)));
      return;
    }
    if (op.kind == "avg_pool2d") {
      auto& e = emit(engine::OpKind::avg_pool2d, op, {input_of(op, 0)},
                     new_value(out.trace_id, out.q, static_cast<std::int64_t>(i)));
      set_window(e, op, false);
      e.count_include_pad = op.attribute("count_include_pad")[0] != 0;
      e.ceil_mode = op.attribute("ceil_mode")[0] != 0;
      return;
    }
    if (is_table_kind(op.kind) || is_activation_kind(op.kind)) {
      const std::int64_t in = input_of(op, 0);
      auto& e = emit(engine::OpKind::lookup_table, op, {in},
                     new_value(out.trace_id, out.q, static_cast<std::int64_t>(i)));
      e.table = unary_table(op, value(in).quantization, out.q);
      return;
    }
    unsupported(op);
  }

  static void set_window(engine::Op& e, const nn::TraceOp& op, bool dilation) {
    const auto k = int_attribute(op, "kernel_size"), st = int_attribute(op, "stride"),
               p = int_attribute(op, "padding");
    e.window.kernel_height = static_cast<int>(k[0]);
    e.window.kernel_width = static_cast<int>(k[1]);
    e.window.stride_height = static_cast<int>(st[0]);
    e.window.stride_width = static_cast<int>(st[1]);
    e.window.padding_height = static_cast<int>(p[0]);
    e.window.padding_width = static_cast<int>(p[1]);
    if (dilation) {
      const auto d = int_attribute(op, "dilation");
      e.window.dilation_height = static_cast<int>(d[0]);
      e.window.dilation_width = static_cast<int>(d[1]);
    }
  }

  [[noreturn]] static void unsupported(const nn::TraceOp& op) {
    frost::detail::throw_error(
        "convert", op.where(),
        " has no INT8 implementation (the engine runs conv, linear, add, mul, cat, max/avg/global "
        "pooling, flatten, channel splits and shuffles, and element-wise functions of one input); "
        "keep its module in float "
        "with QConfigMapping::set_module_name(\"",
        op.module_path, "\", std::nullopt)");
  }

  void lower_passthrough(const Step& s) {
    const nn::TraceOp& op = s.op;
    if (is_channel_view_op(op) && lower_channel_view(op)) return;
    const std::int64_t in = input_of(op, 0);
    const kernels::QuantizationParams q = value(in).quantization;
    if (op.kind == "dropout" || op.kind == "clone") {
      ids_[op.output] = in;
      return;
    }
    if (op.kind == "relu" || op.kind == "relu6") {
      auto& e = emit(engine::OpKind::lookup_table, op, {in}, new_value(op.output, q, op.index));
      e.table = unary_table(op, q, q);
      return;
    }
    if (op.kind == "max_pool2d") {
      auto& e = emit(engine::OpKind::max_pool2d, op, {in}, new_value(op.output, q, op.index));
      set_window(e, op, true);
      e.ceil_mode = op.attribute("ceil_mode")[0] != 0;
      return;
    }
    // reshape / squeeze / unsqueeze
    const Shape& from = trace_.value(op.inputs[0]).shape;
    const Shape& to = trace_.value(op.output).shape;
    const bool same_batch = !from.empty() && !to.empty() && from[0] == to[0];
    const bool to_vector = to.size() == 2;
    const bool to_unit_map = to.size() == 4 && to[2] == 1 && to[3] == 1;
    FROST_CHECK(same_batch && (to_vector || to_unit_map || from == to), "convert", op.where(),
                ": the INT8 engine reshapes [N, C, H, W] to [N, C*H*W] (flatten) and between "
                "[N, C] and [N, C, 1, 1], not ",
                shape_str(from), " to ", shape_str(to));
    if (from == to) {
      ids_[op.output] = in;
      return;
    }
    emit(engine::OpKind::flatten, op, {in}, new_value(op.output, q, op.index));
  }

  // ---- channel views ---------------------------------------------------------------------
  // A trace value that is a selection / permutation of the channels of an engine value:
  // `channels[k]` is the source channel at position k of the value's channel dimensions
  // `dims` (row-major). The trace shape is [N, dims..., H, W] for a [C, H, W] source, [N,
  // dims...] for a [C] one.
  struct ChannelView {
    std::int64_t source = -1;
    std::vector<std::int64_t> dims;
    std::vector<std::int32_t> channels;
  };

  // The channel dimensions of trace shape `shape` over engine value `src`; empty if the shape
  // is not [N, dims..., H, W] (or [N, dims...]) with the source's H, W and `channels` in all.
  static std::vector<std::int64_t> channel_dims(const Shape& shape, const engine::Value& src,
                                                std::int64_t channels) {
    const std::size_t tail = src.spatial() ? 2 : 0;
    if (shape.size() < 2 + tail) return {};
    if (src.spatial() &&
        (shape[shape.size() - 2] != src.height() || shape[shape.size() - 1] != src.width()))
      return {};
    std::vector<std::int64_t> dims(shape.begin() + 1, shape.end() - static_cast<long>(tail));
    std::int64_t n = 1;
    for (auto d : dims) n *= d;
    return n == channels ? dims : std::vector<std::int64_t>{};
  }

  bool is_channel_view_op(const nn::TraceOp& op) const {
    if (op.inputs.empty() || op.inputs[0] < 0) return false;
    if (op.kind == "permute" || op.kind == "slice") return true;
    const bool from_view = views_.count(op.inputs[0]) != 0;
    if (op.kind == "clone" || op.kind == "dropout") return from_view;
    if (op.kind != "reshape") return false;
    // A reshape that neither flattens nor keeps [N, C, H, W] / [N, C] (a channel split into
    // groups), or one of a view.
    const std::size_t rank = trace_.value(op.output).shape.size();
    return from_view || (rank != 2 && rank != 4);
  }

  ChannelView view_of(const nn::TraceOp& op) {
    const std::int64_t id = op.inputs[0];
    const auto found = views_.find(id);
    if (found != views_.end()) return found->second;
    ChannelView v;
    v.source = input_of(op, 0);
    const engine::Value& src = value(v.source);
    v.dims = {src.channels()};
    v.channels.resize(static_cast<std::size_t>(src.channels()));
    for (std::size_t c = 0; c < v.channels.size(); ++c)
      v.channels[c] = static_cast<std::int32_t>(c);
    return v;
  }

  [[noreturn]] void view_unsupported(const nn::TraceOp& op, const char* what) const {
    frost::detail::throw_error("convert", op.where(), ": the INT8 engine moves channels only (",
                               what, "), got ", shape_str(trace_.value(op.inputs[0]).shape), " to ",
                               shape_str(trace_.value(op.output).shape),
                               "; keep the module in float with QConfigMapping::set_module_name(\"",
                               op.module_path, "\", std::nullopt)");
  }

  // `channels` of the view laid out with dims `dims`, re-read along `perm` (new dim i is old dim
  // perm[i]) and a range per new dim: new index m reads old index perm^-1(m) * step + start.
  static std::vector<std::int32_t> reindex(const std::vector<std::int32_t>& channels,
                                           const std::vector<std::int64_t>& dims,
                                           const std::vector<std::int64_t>& perm,
                                           const std::vector<std::int64_t>& new_dims,
                                           const std::vector<std::int64_t>& start,
                                           const std::vector<std::int64_t>& step) {
    const std::size_t k = dims.size();
    std::vector<std::int64_t> old_stride(k, 1);
    for (std::size_t d = k; d-- > 1;) old_stride[d - 1] = old_stride[d] * dims[d];
    std::int64_t total = 1;
    for (auto d : new_dims) total *= d;
    std::vector<std::int32_t> out(static_cast<std::size_t>(total));
    std::vector<std::int64_t> m(k, 0);
    for (std::int64_t flat = 0; flat < total; ++flat) {
      std::int64_t offset = 0;
      for (std::size_t i = 0; i < k; ++i) {
        const auto d = static_cast<std::size_t>(perm[i]);
        offset += (start[d] + m[i] * step[d]) * old_stride[d];
      }
      out[static_cast<std::size_t>(flat)] = channels[static_cast<std::size_t>(offset)];
      for (std::size_t i = k; i-- > 0;) {
        if (++m[i] < new_dims[i]) break;
        m[i] = 0;
      }
    }
    return out;
  }

  // False for a reshape of a flat view ([N, C, H, W] or [N, C]) that is not a channel
  // reshape (a flatten): the caller runs it on the materialized view.
  bool lower_channel_view(const nn::TraceOp& op) {
    ChannelView v = view_of(op);
    const engine::Value& src = value(v.source);
    const Shape& from = trace_.value(op.inputs[0]).shape;
    const Shape& to = trace_.value(op.output).shape;
    const std::size_t k = v.dims.size();
    const std::size_t tail = src.spatial() ? 2 : 0;
    if (from.empty() || to.empty() || from[0] != to[0]) view_unsupported(op, "the batch is kept");
    std::vector<std::int64_t> identity(k), zeros(k, 0), ones(k, 1);
    for (std::size_t i = 0; i < k; ++i) identity[i] = static_cast<std::int64_t>(i);
    if (op.kind == "reshape") {
      auto dims = channel_dims(to, src, static_cast<std::int64_t>(v.channels.size()));
      if (dims.empty() && v.dims.size() == 1 && (to.size() == 2 || to.size() == 4)) return false;
      if (dims.empty()) view_unsupported(op, "a reshape keeps H and W");
      v.dims = std::move(dims);
    } else if (op.kind == "permute") {
      const auto order = int_attribute(op, "dims");
      bool ok = order.size() == k + 1 + tail && order[0] == 0;
      for (std::size_t d = k + 1; ok && d < order.size(); ++d)
        ok = order[d] == static_cast<std::int64_t>(d);
      std::vector<std::int64_t> perm(k), new_dims(k);
      for (std::size_t i = 0; ok && i < k; ++i) {
        perm[i] = order[i + 1] - 1;
        ok = perm[i] >= 0 && perm[i] < static_cast<std::int64_t>(k);
        if (ok) new_dims[i] = v.dims[static_cast<std::size_t>(perm[i])];
      }
      if (!ok) view_unsupported(op, "a permute of the channel dimensions, N, H and W in place");
      v.channels = reindex(v.channels, v.dims, perm, new_dims, zeros, ones);
      v.dims = std::move(new_dims);
    } else if (op.kind == "slice") {
      const auto dim = static_cast<std::int64_t>(op.attribute("dim")[0]);
      const auto range = int_attribute(op, "range");
      if (dim < 1 || dim > static_cast<std::int64_t>(k) || range.size() != 3)
        view_unsupported(op, "a slice of channels");
      const auto d = static_cast<std::size_t>(dim - 1);
      std::vector<std::int64_t> start = zeros, step = ones, new_dims = v.dims;
      start[d] = range[0];
      step[d] = range[2];
      new_dims[d] = to[static_cast<std::size_t>(dim)];
      v.channels = reindex(v.channels, v.dims, identity, new_dims, start, step);
      v.dims = std::move(new_dims);
    }  // clone, dropout: the same view
    views_[op.output] = std::move(v);
    return true;
  }

  // The engine value of view `id`: its source when the view gives the channels back in order,
  // else a channel_gather. `reader` names the op that needs it (in errors).
  void materialize(std::int64_t id, const nn::TraceOp& reader) {
    const ChannelView& v = views_.at(id);
    const engine::Value& src = value(v.source);
    if (v.dims.size() != 1)
      frost::detail::throw_error(
          "convert", reader.where(), " reads value %", id, " of shape ",
          shape_str(trace_.value(id).shape),
          ": the INT8 engine holds [N, C, H, W] and [N, C] tensors (reshape a channel view back)");
    bool in_order = static_cast<std::int64_t>(v.channels.size()) == src.channels();
    for (std::size_t c = 0; in_order && c < v.channels.size(); ++c)
      in_order = v.channels[c] == static_cast<std::int32_t>(c);
    if (in_order) {
      ids_[id] = v.source;
      return;
    }
    const std::int64_t producer = trace_.value(id).producer;
    const nn::TraceOp& op = trace_.ops()[static_cast<std::size_t>(producer)];
    const std::int64_t source = v.source;
    std::vector<std::int32_t> channels = v.channels;
    const std::int64_t out = new_value(id, src.quantization, producer);
    auto& e = emit(engine::OpKind::channel_gather, op, {source}, out);
    e.channels = std::move(channels);
  }

  void lower_float(const Step& s) {
    const nn::TraceOp& op = s.op;
    if (op.kind != "module") unsupported(op);
    const auto module = model_.submodule(op.module_path);
    FROST_CHECK(s.output_fake_quant != nullptr, "convert", op.where(),
                " runs in float and its result is not quantized");
    const auto q = activation_quantization(*s.output_fake_quant, op.where());
    auto& e = emit(engine::OpKind::float_module, op, {input_of(op, 0)},
                   new_value(op.output, q, op.index));
    e.module = module;
  }

  void lower_layer(std::size_t i) {
    const Step& s = steps_[i];
    const nn::TraceOp& op = s.op;
    const std::int64_t in = input_of(op, 0);
    const float in_scale = value(in).quantization.scale;
    const Output out = output_of(i);
    const std::int64_t out_id = new_value(out.trace_id, out.q, static_cast<std::int64_t>(i));
    const nn::Module* m = op.module;
    if (const auto* linear = dynamic_cast<const QatLinear*>(m)) {
      FROST_CHECK(!value(in).spatial(), "convert", op.where(), ": expects an [N, K] input, got ",
                  shape_str(trace_.value(op.inputs[0]).shape));
      auto& e = emit(engine::OpKind::linear, op, {in}, out_id);
      e.activation = out.activation;
      quantize_weights(linear->weight().detach(), linear->weight_fake_quant()->qparams(),
                       op.where(), e);
      quantize_bias(linear->bias(), value(out_id).channels(), in_scale, e);
      return;
    }
    Tensor<float> weight, bias;
    const nn::Conv2dOptions* options = nullptr;
    const FakeQuantizeBase* wfq = nullptr;
    if (const auto* conv = dynamic_cast<const QatConv2d*>(m)) {
      weight = conv->weight().detach();
      bias = conv->bias().defined() ? conv->bias().detach() : Tensor<float>();
      options = &conv->options();
      wfq = conv->weight_fake_quant().get();
    } else if (const auto* cbn = dynamic_cast<const QatConvBn2d*>(m)) {
      const auto [w, b] = cbn->folded_weight_and_bias();
      weight = w;
      bias = b;
      options = &cbn->options();
      wfq = cbn->weight_fake_quant().get();
    } else {
      frost::detail::throw_error("convert", op.where(), " is not a quantized layer");
    }
    FROST_CHECK(value(in).spatial(), "convert", op.where(), ": expects an [N, C, H, W] input");
    auto& e = emit(engine::OpKind::conv2d, op, {in}, out_id);
    e.activation = out.activation;
    e.groups = options->groups;
    e.window.kernel_height = static_cast<int>(weight.size(2));
    e.window.kernel_width = static_cast<int>(weight.size(3));
    e.window.stride_height = options->stride.height;
    e.window.stride_width = options->stride.width;
    e.window.padding_height = options->padding.height;
    e.window.padding_width = options->padding.width;
    e.window.dilation_height = options->dilation.height;
    e.window.dilation_width = options->dilation.width;
    quantize_weights(weight, wfq->qparams(), op.where(), e);
    quantize_bias(bias, weight.size(0), in_scale, e);
  }

  nn::Module& model_;
  const QuantRuntime& runtime_;
  const nn::Trace& trace_;
  const std::vector<Step>& steps_;
  engine::Int8Model model_out_;
  std::map<std::int64_t, std::int64_t> ids_;   // trace value -> engine value
  std::set<std::size_t> absorbed_;             // activation steps fused into their producer
  std::map<std::int64_t, ChannelView> views_;  // trace value -> channels of an engine value
};

}  // namespace detail

// The INT8 model of a prepared model (quant/prepare.hpp), packed for the running CPU.
inline engine::Int8Model convert(nn::Module& model) {
  const QuantRuntime& runtime = runtime_of(model);
  const NoGradGuard no_grad;
  return detail::Converter(model, runtime).run();
}

}  // namespace frost::quant
