#pragma once
// engine::save / engine::load: an Int8Model as one versioned file, and engine::describe.
//
//   engine::save(int8, "classifier.int8.safetensors");
//   engine::Int8Model m = engine::load("classifier.int8.safetensors");  // packed for this CPU
//   std::cout << engine::describe(m);
//
// The file is a safetensors file (io/safetensors.hpp: a strict reader, an atomic writer), so
// the usual tools list it. Its metadata:
//   "format": "frost-int8", "version": "1",
//   "frost.int8_model": the graph as JSON (below),
//   "crc32": 8 hex digits, the CRC-32 of the graph JSON followed by every tensor in name order
//            (its name, a 0 byte, its bytes).
// Its tensors, named by op index, weights unpacked (packing depends on the CPU that loads):
//   "values.scale"         F32 [V]                      the scale of every value
//   "op<i>.weights"        I8  [O, kh, kw, I/groups]    conv2d (OHWI), or [O, K] for linear
//   "op<i>.bias"           I32 [O]                      conv2d, linear
//   "op<i>.weight_scales"  F32 [O] or [1]               conv2d, linear
//   "op<i>.table"          U8  [256]                    lookup_table
//   "op<i>.channels"       I32 [C_out]                  channel_gather (input channel of each)
//   "input.mean", "input.std"  F32 [C]                  the input normalisation, when recorded
//                                                       (files without them load with none)
// Every float is a tensor because frost's JSON has integers only; so all of them round-trip
// bit for bit, and a loaded model computes exactly what the saved one did. The graph:
//   {"input": 0, "output": 5, "input_shape": [3, 32, 32], "class_names": ["cat", ...],
//    "values": [{"name": "input", "shape": [3, 32, 32], "zero_point": 128, "source_step": -1},
//               ...],
//    "ops": [{"kind": "conv2d", "name": "conv2d in 'stem'", "inputs": [0], "output": 1,
//             "window": {"kernel": [3, 3], "stride": [2, 2], "padding": [1, 1],
//                        "dilation": [1, 1]},
//             "groups": 1, "activation": "relu"}, ...]}
// An op object has exactly the keys of its kind: besides kind, name, inputs and output, conv2d
// has window, groups and activation ("none", "relu", "relu6"); linear, add and mul activation;
// max_pool2d window and ceil_mode; avg_pool2d window, ceil_mode and count_include_pad (0 or 1).
// Modules kept in float (float_module ops) cannot be stored: a file holds no float code.
//
// load trusts nothing in the file. The checks (detail::check_model, which save runs too) bound
// every size before anything is computed or allocated from it and establish what forward relies
// on without checking: each value written once, before it is read; every output shape the one
// its op computes from its inputs; every parameter the kernels would refuse refused here. Any
// problem is a frost::Error naming the file and what is wrong. The checksum is there because a
// flipped bit in a zero point, a weight or a scale gives a model that passes every structural
// check and silently computes something else.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "frost/core/error.hpp"
#include "frost/core/shape.hpp"
#include "frost/engine/int8_model.hpp"
#include "frost/io/crc32.hpp"
#include "frost/io/file.hpp"
#include "frost/io/json.hpp"
#include "frost/io/safetensors.hpp"
#include "frost/kernels/detail/checked_size.hpp"
#include "frost/kernels/reference/pool.hpp"

namespace frost::engine {

inline constexpr std::string_view kInt8ModelFormat = "frost-int8";
inline constexpr std::string_view kInt8ModelVersion = "1";
inline constexpr std::string_view kInt8ModelGraphKey = "frost.int8_model";
inline constexpr std::string_view kInt8ModelChecksumKey = "crc32";

namespace detail {

// What a model may describe: far beyond any CNN the engine runs, small enough that no product of
// sizes overflows int64 and that a bogus file cannot make forward allocate terabytes.
inline constexpr std::int64_t kMaxModelDimension = std::int64_t{1} << 24;
inline constexpr std::int64_t kMaxModelValueElements = std::int64_t{1} << 31;  // per image
inline constexpr int kMaxModelWindow = 1 << 16;  // kernel, stride, padding, dilation

inline constexpr FusedActivation kActivations[] = {FusedActivation::none, FusedActivation::relu,
                                                   FusedActivation::relu6};

inline std::string_view activation_name(FusedActivation a) {
  switch (a) {
    case FusedActivation::none:
      return "none";
    case FusedActivation::relu:
      return "relu";
    case FusedActivation::relu6:
      return "relu6";
  }
  return "?";
}

inline std::optional<FusedActivation> parse_activation(std::string_view name) {
  for (FusedActivation a : kActivations)
    if (activation_name(a) == name) return a;
  return std::nullopt;
}

inline bool valid_activation(FusedActivation a) {
  return activation_name(a) != "?";
}

inline std::optional<OpKind> parse_op_kind(std::string_view name) {
  for (int k = 0; k <= static_cast<int>(OpKind::float_module); ++k)
    if (op_kind_name(static_cast<OpKind>(k)) == name) return static_cast<OpKind>(k);
  return std::nullopt;
}

inline bool has_window(OpKind k) {
  return k == OpKind::conv2d || k == OpKind::max_pool2d || k == OpKind::avg_pool2d;
}
inline bool has_activation(OpKind k) {
  return k == OpKind::conv2d || k == OpKind::linear || k == OpKind::add || k == OpKind::mul;
}
inline bool has_weights(OpKind k) {
  return k == OpKind::conv2d || k == OpKind::linear;
}

// The keys of an op object of kind k, beyond kind, name, inputs and output.
inline std::vector<std::string_view> op_extra_keys(OpKind k) {
  std::vector<std::string_view> keys;
  if (has_window(k)) keys.push_back("window");
  if (k == OpKind::conv2d) keys.push_back("groups");
  if (has_activation(k)) keys.push_back("activation");
  if (k == OpKind::max_pool2d || k == OpKind::avg_pool2d) keys.push_back("ceil_mode");
  if (k == OpKind::avg_pool2d) keys.push_back("count_include_pad");
  return keys;
}

inline std::string op_label(const Int8Model& m, std::size_t i) {
  const Op& op = m.ops[i];
  return frost::detail::concat_message("op ", i, op.name.empty() ? "" : " ('" + op.name + "')");
}

// ---- validation ---------------------------------------------------------------------------

inline bool same_quantization(const QuantizationParams& a, const QuantizationParams& b) {
  return a.scale == b.scale && a.zero_point == b.zero_point;
}

inline void check_window(const Window& w, const char* kind) {
  const auto in = [](int x, int lo) { return x >= lo && x <= kMaxModelWindow; };
  FROST_CHECK(in(w.kernel_height, 1) && in(w.kernel_width, 1) && in(w.stride_height, 1) &&
                  in(w.stride_width, 1) && in(w.dilation_height, 1) && in(w.dilation_width, 1) &&
                  in(w.padding_height, 0) && in(w.padding_width, 0),
              kind, "window kernel ", w.kernel_height, "x", w.kernel_width, ", stride ",
              w.stride_height, "x", w.stride_width, ", padding ", w.padding_height, "x",
              w.padding_width, ", dilation ", w.dilation_height, "x", w.dilation_width,
              ": kernel, stride and dilation must be in [1, ", kMaxModelWindow,
              "], padding in [0, ", kMaxModelWindow, "]");
}

inline void check_activation(const Op& op, const char* kind) {
  FROST_CHECK(valid_activation(op.activation), kind, "unknown fused activation ",
              static_cast<int>(op.activation));
}

// Bias, weight scales and the requantization scales pack() derives from them.
inline void check_weight_quantization(const Op& op, std::int64_t out_channels, const Value& in,
                                      const Value& out, const char* kind) {
  FROST_CHECK(static_cast<std::int64_t>(op.bias.size()) == out_channels, kind, op.bias.size(),
              " biases for ", out_channels, " output channels");
  FROST_CHECK(op.weight_scales.size() == 1 ||
                  static_cast<std::int64_t>(op.weight_scales.size()) == out_channels,
              kind, op.weight_scales.size(), " weight scales for ", out_channels,
              " output channels (expected 1 or ", out_channels, ")");
  for (std::size_t c = 0; c < op.weight_scales.size(); ++c) {
    const float sw = op.weight_scales[c];
    FROST_CHECK(std::isfinite(sw) && sw > 0.0f, kind, "weight scale ", c,
                " must be finite and > 0, got ", sw);
    // The expression of Int8Model::pack_op, so that this is the value the kernels will check.
    const float rq = in.quantization.scale * sw / out.quantization.scale;
    FROST_CHECK(std::isfinite(rq) && rq > 0.0f && rq < 256.0f, kind,
                "requantization scale s_in * s_w / s_out = ", in.quantization.scale, " * ", sw,
                " / ", out.quantization.scale, " = ", rq, " of weight scale ", c,
                " must be in (0, 256)");
  }
}

inline void check_shape_is(const Value& out, const Shape& expected, const char* kind,
                           const std::string& why) {
  FROST_CHECK(out.shape == expected, kind, "output shape ", shape_str(out.shape), ", but ", why,
              " gives ", shape_str(expected));
}

inline void check_conv2d(const Op& op, const Value& in, const Value& out) {
  constexpr const char* kind = "conv2d";
  check_window(op.window, kind);
  check_activation(op, kind);
  FROST_CHECK(in.spatial() && out.spatial(), kind, "input ", shape_str(in.shape), " and output ",
              shape_str(out.shape), " must both be [C, H, W]");
  const std::int64_t cin = in.channels(), cout = out.channels();
  FROST_CHECK(op.groups >= 1 && cin % op.groups == 0 && cout % op.groups == 0, kind, "groups ",
              op.groups, " must be >= 1 and divide both ", cin, " input and ", cout,
              " output channels");
  const std::int64_t group_in = cin / op.groups;
  const std::int64_t kh = op.window.kernel_height, kw = op.window.kernel_width;
  const std::int64_t expected = kernels::detail::checked_elements(kind, {cout, kh, kw, group_in});
  FROST_CHECK(static_cast<std::int64_t>(op.weights.size()) == expected, kind, op.weights.size(),
              " weights, but ", cout, " output channels x ", kh, "x", kw, " x ", group_in,
              " input channels per group need ", expected);
  check_weight_quantization(op, cout, in, out, kind);
  Shape shape;
  if (op.groups == cin && op.groups == cout && op.groups > 1) {
    const kernels::DwconvGeometry g = dwconv_geometry(op, in, 1);
    kernels::check_dwconv_geometry(g, kind);
    shape = {cout, g.output_height(), g.output_width()};
  } else {
    const kernels::Conv2dGeometry g = conv_geometry(op, in, 1, group_in, cout / op.groups);
    kernels::check_conv2d_geometry(g, kind);
    shape = {cout, g.out_height(), g.out_width()};
  }
  check_shape_is(out, shape, kind, "the convolution of " + shape_str(in.shape));
}

inline void check_linear(const Op& op, const Value& in, const Value& out) {
  constexpr const char* kind = "linear";
  check_activation(op, kind);
  FROST_CHECK(!in.spatial() && !out.spatial(), kind, "input ", shape_str(in.shape), " and output ",
              shape_str(out.shape), " must both be [C]");
  const std::int64_t k = in.channels(), n = out.channels();
  FROST_CHECK(static_cast<std::int64_t>(op.weights.size()) == n * k, kind, op.weights.size(),
              " weights, but ", n, " outputs x ", k, " inputs need ", n * k);
  check_weight_quantization(op, n, in, out, kind);
}

inline void check_mul(const Op& op, const Value& a, const Value& b, const Value& out) {
  constexpr const char* kind = "mul";
  check_activation(op, kind);
  if (a.elements_per_image() == b.elements_per_image()) {
    FROST_CHECK(a.shape == b.shape && out.shape == a.shape, kind, "operands ", shape_str(a.shape),
                " and ", shape_str(b.shape), " and output ", shape_str(out.shape),
                " must have one shape (or one operand be a [C, 1, 1] gate)");
  } else {
    // The rule of Int8Model::run_op: the second operand is the gate when it has one element
    // per channel, else the first.
    const bool gate_second = b.elements_per_image() == b.channels();
    const Value& x = gate_second ? a : b;
    const Value& gate = gate_second ? b : a;
    FROST_CHECK(x.spatial() && gate.spatial() && gate.height() == 1 && gate.width() == 1 &&
                    gate.channels() == x.channels() && out.shape == x.shape,
                kind, "operands ", shape_str(a.shape), " and ", shape_str(b.shape), " and output ",
                shape_str(out.shape),
                ": a broadcast multiply is [C, H, W] x [C, 1, 1] (either order) -> [C, H, W]");
  }
  (void)kernels::make_mul_params(a.quantization, b.quantization, out.quantization, op.activation);
}

inline void check_concat(const Int8Model& m, const Op& op, const Value& out) {
  constexpr const char* kind = "concat";
  std::int64_t channels = 0;
  for (std::size_t k = 0; k < op.inputs.size(); ++k) {
    const Value& in = m.values[static_cast<std::size_t>(op.inputs[k])];
    FROST_CHECK(in.shape.size() == out.shape.size() && in.height() == out.height() &&
                    in.width() == out.width(),
                kind, "input ", k, " ", shape_str(in.shape), " and output ", shape_str(out.shape),
                " differ in more than the channels");
    channels += in.channels();
    if (!same_quantization(in.quantization, out.quantization)) {
      const float multiplier = in.quantization.scale / out.quantization.scale;
      FROST_CHECK(std::isfinite(multiplier) && multiplier > 0.0f && multiplier < 256.0f, kind,
                  "input ", k, " scale ", in.quantization.scale, " / output scale ",
                  out.quantization.scale, " = ", multiplier, " must be in (0, 256)");
    }
  }
  FROST_CHECK(channels == out.channels(), kind, "inputs have ", channels,
              " channels in all, the output ", out.channels());
}

// One op, against the values it reads and writes; `producer[v]` is the op that wrote value v so
// far (-1: none). Messages start with the op's kind; check_model adds which op of which file.
inline void check_op(const Int8Model& m, std::size_t index,
                     const std::vector<std::int64_t>& producer) {
  const Op& op = m.ops[index];
  const std::string kind_name(op_kind_name(op.kind));
  const char* kind = kind_name.c_str();
  if (kind_name == "?")
    throw Error(frost::detail::concat_message("unknown op kind ", static_cast<int>(op.kind)));
  FROST_CHECK((op.kind == OpKind::quantize) == (index == 0), kind,
              index == 0 ? "the first op must be quantize (the model's entry)"
                         : "only the first op may be quantize");
  const std::size_t arity = op.kind == OpKind::quantize                        ? 0
                            : op.kind == OpKind::add || op.kind == OpKind::mul ? 2
                                                                               : 1;
  if (op.kind == OpKind::concat)
    FROST_CHECK(!op.inputs.empty(), kind, "needs at least one input");
  else
    FROST_CHECK(op.inputs.size() == arity, kind, op.inputs.size(), " inputs, expected ", arity);
  const auto nvalues = static_cast<std::int64_t>(m.values.size());
  for (std::size_t k = 0; k < op.inputs.size(); ++k) {
    const std::int64_t v = op.inputs[k];
    FROST_CHECK(v >= 0 && v < nvalues, kind, "input ", k, " is value ", v,
                ", out of range (the model has ", nvalues, " values)");
    FROST_CHECK(producer[static_cast<std::size_t>(v)] >= 0, kind, "input ", k, " is value ", v,
                ", which no earlier op writes");
  }
  FROST_CHECK(op.output >= 0 && op.output < nvalues, kind, "output is value ", op.output,
              ", out of range (the model has ", nvalues, " values)");
  FROST_CHECK(producer[static_cast<std::size_t>(op.output)] < 0, kind, "writes value ", op.output,
              ", which op ", producer[static_cast<std::size_t>(op.output)], " already wrote");
  const Value& out = m.values[static_cast<std::size_t>(op.output)];
  const auto input = [&](std::size_t k) -> const Value& {
    return m.values[static_cast<std::size_t>(op.inputs[k])];
  };
  switch (op.kind) {
    case OpKind::quantize:
      FROST_CHECK(op.output == m.input, kind, "writes value ", op.output,
                  ", but the model's input is value ", m.input);
      return;
    case OpKind::conv2d:
      check_conv2d(op, input(0), out);
      return;
    case OpKind::linear:
      check_linear(op, input(0), out);
      return;
    case OpKind::add: {
      check_activation(op, kind);
      const Value &a = input(0), &b = input(1);
      FROST_CHECK(a.shape == b.shape && out.shape == a.shape, kind, "operands ", shape_str(a.shape),
                  " and ", shape_str(b.shape), " and output ", shape_str(out.shape),
                  " must have one shape");
      (void)kernels::make_add_params(a.quantization, b.quantization, out.quantization,
                                     op.activation);
      return;
    }
    case OpKind::mul:
      check_mul(op, input(0), input(1), out);
      return;
    case OpKind::concat:
      check_concat(m, op, out);
      return;
    case OpKind::max_pool2d:
    case OpKind::avg_pool2d: {
      const Value& in = input(0);
      check_window(op.window, kind);
      FROST_CHECK(in.spatial() && out.spatial(), kind, "input ", shape_str(in.shape),
                  " and output ", shape_str(out.shape), " must both be [C, H, W]");
      const kernels::Pool2dNhwcGeometry g = pool_geometry(op, in, 1);
      if (op.kind == OpKind::max_pool2d) {
        kernels::check_pool2d_nhwc_geometry(g, kind);
        // The kernel compares codes: it is the float max only when both sides share them.
        FROST_CHECK(same_quantization(in.quantization, out.quantization), kind,
                    "output scale / zero point ", out.quantization.scale, " / ",
                    out.quantization.zero_point, " differ from the input's ", in.quantization.scale,
                    " / ", in.quantization.zero_point);
      } else {
        kernels::check_avg_pool2d_nhwc(g, op.count_include_pad, in.quantization, out.quantization,
                                       kind);
      }
      check_shape_is(out, {in.channels(), g.output_height(), g.output_width()}, kind,
                     "pooling " + shape_str(in.shape));
      return;
    }
    case OpKind::global_avg_pool: {
      const Value& in = input(0);
      FROST_CHECK(in.spatial(), kind, "input ", shape_str(in.shape), " must be [C, H, W]");
      const bool vector_out = out.shape == Shape{in.channels()};
      const bool map_out = out.shape == Shape{in.channels(), 1, 1};
      FROST_CHECK(vector_out || map_out, kind, "output shape ", shape_str(out.shape), " for input ",
                  shape_str(in.shape), ", expected [", in.channels(), "] or [", in.channels(),
                  ", 1, 1]");
      (void)kernels::make_global_avg_pool_params(in.height() * in.width(), in.quantization,
                                                 out.quantization);
      return;
    }
    case OpKind::lookup_table:
      check_shape_is(out, input(0).shape, kind, "an element-wise function of its input");
      return;
    case OpKind::flatten: {
      const Value& in = input(0);
      const std::int64_t n = in.elements_per_image();
      const bool vector_out = out.shape == Shape{n};
      const bool map_out = out.shape == Shape{n, 1, 1};
      FROST_CHECK(vector_out || map_out, kind, "output shape ", shape_str(out.shape), " for input ",
                  shape_str(in.shape), ", expected [", n, "] or [", n, ", 1, 1]");
      FROST_CHECK(same_quantization(in.quantization, out.quantization), kind,
                  "output scale / zero point ", out.quantization.scale, " / ",
                  out.quantization.zero_point, " differ from the input's ", in.quantization.scale,
                  " / ", in.quantization.zero_point, " (flatten copies codes)");
      return;
    }
    case OpKind::channel_gather: {
      const Value& in = input(0);
      Shape expected{static_cast<std::int64_t>(op.channels.size())};
      if (in.spatial()) expected.insert(expected.end(), {in.height(), in.width()});
      check_shape_is(out, expected, kind,
                     frost::detail::concat_message("gathering ", op.channels.size(),
                                                   " channels of ", shape_str(in.shape)));
      for (std::int32_t c : op.channels)
        FROST_CHECK(c >= 0 && c < in.channels(), kind, "channel ", c, " of an input with ",
                    in.channels(), " channels");
      FROST_CHECK(same_quantization(in.quantization, out.quantization), kind,
                  "output scale / zero point ", out.quantization.scale, " / ",
                  out.quantization.zero_point, " differ from the input's ", in.quantization.scale,
                  " / ", in.quantization.zero_point, " (channel_gather copies codes)");
      return;
    }
    case OpKind::float_module:
      FROST_CHECK(op.module != nullptr, kind, "has no module");
      return;
  }
}

// Everything forward and pack rely on: see the top of this file. `op` and `where` ("'path'")
// start every message.
inline void check_model(const Int8Model& m, const char* op, const std::string& where) {
  for (std::size_t i = 0; i < m.values.size(); ++i) {
    const Value& v = m.values[i];
    const std::string at = frost::detail::concat_message(where, ": value ", i, " ('", v.name, "')");
    FROST_CHECK(v.shape.size() == 1 || v.shape.size() == 3, op, at, ": shape ", shape_str(v.shape),
                " is neither [C, H, W] nor [C] (the float model's shape without the batch)");
    std::int64_t elements = 1;
    for (const std::int64_t d : v.shape) {
      FROST_CHECK(d >= 1 && d <= kMaxModelDimension, op, at, ": shape ", shape_str(v.shape),
                  " has a size outside [1, ", kMaxModelDimension, "]");
      elements *= d;  // < 2^31 * 2^24: no overflow
      FROST_CHECK(elements <= kMaxModelValueElements, op, at, ": shape ", shape_str(v.shape),
                  " has more than ", kMaxModelValueElements, " elements per image");
    }
    FROST_CHECK(std::isfinite(v.quantization.scale) && v.quantization.scale > 0.0f, op, at,
                ": scale must be finite and > 0, got ", v.quantization.scale);
    FROST_CHECK(v.quantization.zero_point >= 0 && v.quantization.zero_point <= 255, op, at,
                ": zero point must be in [0, 255], got ", v.quantization.zero_point);
    FROST_CHECK(v.source_step >= -1, op, at, ": source_step must be >= -1, got ", v.source_step);
  }
  const auto nvalues = static_cast<std::int64_t>(m.values.size());
  FROST_CHECK(!m.ops.empty(), op, where, ": the model has no ops");
  FROST_CHECK(m.input >= 0 && m.input < nvalues, op, where, ": the input is value ", m.input,
              ", out of range (the model has ", nvalues, " values)");
  FROST_CHECK(m.output >= 0 && m.output < nvalues, op, where, ": the output is value ", m.output,
              ", out of range (the model has ", nvalues, " values)");
  const Value& input = m.values[static_cast<std::size_t>(m.input)];
  FROST_CHECK(m.input_shape == input.shape, op, where, ": input_shape ", shape_str(m.input_shape),
              " differs from the shape ", shape_str(input.shape), " of the input value ", m.input);
  if (!m.input_mean.empty() || !m.input_std.empty()) {
    const auto channels = static_cast<std::size_t>(m.input_shape[0]);
    FROST_CHECK(m.input_mean.size() == channels && m.input_std.size() == channels, op, where,
                ": the input normalisation has ", m.input_mean.size(), " means and ",
                m.input_std.size(), " standard deviations for ", channels, " input channels");
    for (std::size_t c = 0; c < channels; ++c)
      FROST_CHECK(std::isfinite(m.input_mean[c]) && std::isfinite(m.input_std[c]) &&
                      m.input_std[c] > 0.0f,
                  op, where, ": input channel ", c, " normalisation mean ", m.input_mean[c],
                  ", std ", m.input_std[c], ": both must be finite and the std > 0");
  }
  std::vector<std::int64_t> producer(m.values.size(), -1);
  for (std::size_t i = 0; i < m.ops.size(); ++i) {
    try {
      check_op(m, i, producer);
    } catch (const Error& e) {
      throw Error(
          frost::detail::concat_message(op, ": ", where, ": ", op_label(m, i), ": ", e.what()));
    }
    producer[static_cast<std::size_t>(m.ops[i].output)] = static_cast<std::int64_t>(i);
  }
  FROST_CHECK(producer[static_cast<std::size_t>(m.output)] >= 0, op, where, ": the output value ",
              m.output, " is written by no op");
}

// ---- the checksum -------------------------------------------------------------------------

inline std::span<const std::uint8_t> string_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// CRC-32 of the graph JSON, then of each tensor in name order: name, a 0 byte, bytes.
inline std::uint32_t model_checksum(std::string_view graph,
                                    std::span<const io::SafetensorsView> tensors) {
  std::vector<const io::SafetensorsView*> by_name;
  for (const auto& t : tensors) by_name.push_back(&t);
  std::sort(by_name.begin(), by_name.end(),
            [](const auto* a, const auto* b) { return a->name < b->name; });
  std::uint32_t crc = io::crc32(string_bytes(graph));
  const std::uint8_t zero = 0;
  for (const auto* t : by_name) {
    crc = io::crc32(string_bytes(t->name), crc);
    crc = io::crc32({&zero, 1}, crc);
    crc = io::crc32(t->bytes, crc);
  }
  return crc;
}

inline std::string checksum_string(std::uint32_t crc) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(8, '0');
  for (int i = 7; i >= 0; --i, crc >>= 4) s[static_cast<std::size_t>(i)] = kHex[crc & 0xF];
  return s;
}

inline std::optional<std::uint32_t> parse_checksum(std::string_view s) {
  if (s.size() != 8) return std::nullopt;
  std::uint32_t crc = 0;
  for (const char c : s) {
    std::uint32_t digit = 0;
    if (c >= '0' && c <= '9')
      digit = static_cast<std::uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f')
      digit = static_cast<std::uint32_t>(c - 'a' + 10);
    else
      return std::nullopt;
    crc = crc << 4 | digit;
  }
  return crc;
}

// ---- writing ------------------------------------------------------------------------------

inline void append_integers(std::string& out, const std::vector<std::int64_t>& v) {
  out += '[';
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(v[i]);
  }
  out += ']';
}

inline void append_key(std::string& out, std::string_view key) {
  out += ',';
  io::append_json_string(out, key);
  out += ':';
}

inline std::string graph_json(const Int8Model& m) {
  std::string s = "{\"input\":" + std::to_string(m.input);
  append_key(s, "output");
  s += std::to_string(m.output);
  append_key(s, "input_shape");
  append_integers(s, m.input_shape);
  append_key(s, "class_names");
  s += '[';
  for (std::size_t i = 0; i < m.class_names.size(); ++i) {
    if (i) s += ',';
    io::append_json_string(s, m.class_names[i]);
  }
  s += ']';
  append_key(s, "values");
  s += '[';
  for (std::size_t i = 0; i < m.values.size(); ++i) {
    const Value& v = m.values[i];
    s += i ? ",{\"name\":" : "{\"name\":";
    io::append_json_string(s, v.name);
    append_key(s, "shape");
    append_integers(s, v.shape);
    append_key(s, "zero_point");
    s += std::to_string(v.quantization.zero_point);
    append_key(s, "source_step");
    s += std::to_string(v.source_step);
    s += '}';
  }
  s += ']';
  append_key(s, "ops");
  s += '[';
  for (std::size_t i = 0; i < m.ops.size(); ++i) {
    const Op& op = m.ops[i];
    s += i ? ",{\"kind\":" : "{\"kind\":";
    io::append_json_string(s, op_kind_name(op.kind));
    append_key(s, "name");
    io::append_json_string(s, op.name);
    append_key(s, "inputs");
    append_integers(s, op.inputs);
    append_key(s, "output");
    s += std::to_string(op.output);
    if (has_window(op.kind)) {
      const Window& w = op.window;
      append_key(s, "window");
      s += frost::detail::concat_message(
          "{\"kernel\":[", w.kernel_height, ",", w.kernel_width, "],\"stride\":[", w.stride_height,
          ",", w.stride_width, "],\"padding\":[", w.padding_height, ",", w.padding_width,
          "],\"dilation\":[", w.dilation_height, ",", w.dilation_width, "]}");
    }
    if (op.kind == OpKind::conv2d) {
      append_key(s, "groups");
      s += std::to_string(op.groups);
    }
    if (has_activation(op.kind)) {
      append_key(s, "activation");
      io::append_json_string(s, activation_name(op.activation));
    }
    if (op.kind == OpKind::max_pool2d || op.kind == OpKind::avg_pool2d) {
      append_key(s, "ceil_mode");
      s += op.ceil_mode ? '1' : '0';
    }
    if (op.kind == OpKind::avg_pool2d) {
      append_key(s, "count_include_pad");
      s += op.count_include_pad ? '1' : '0';
    }
    s += '}';
  }
  s += "]}";
  return s;
}

template <class T>
std::span<const std::uint8_t> element_bytes(const T* data, std::size_t n) {
  return {reinterpret_cast<const std::uint8_t*>(data), n * sizeof(T)};
}

// ---- reading ------------------------------------------------------------------------------

// Builds the model from the parsed graph and the file's tensors, checking every JSON type and
// key and every tensor's dtype and rank; the sizes are checked by check_model afterwards.
class GraphReader {
 public:
  GraphReader(const io::SafetensorsIndex& index, std::string where)
      : index_(index), where_(std::move(where)) {
    for (const auto& t : index.tensors) tensors_.emplace(t.name, &t);
  }

  Int8Model read(const io::JsonValue& root) {
    Int8Model m;
    expect_keys(root, {"input", "output", "input_shape", "class_names", "values", "ops"},
                "the graph");
    m.input = integer(*root.find("input"), "the graph's \"input\"");
    m.output = integer(*root.find("output"), "the graph's \"output\"");
    m.input_shape = integers(*root.find("input_shape"), "the graph's \"input_shape\"");
    const io::JsonValue& names = array(*root.find("class_names"), "the graph's \"class_names\"");
    for (std::size_t i = 0; i < names.items.size(); ++i)
      m.class_names.push_back(
          string(names.items[i], frost::detail::concat_message("class name ", i)));

    const io::JsonValue& values = array(*root.find("values"), "the graph's \"values\"");
    const std::vector<float> scales =
        floats(tensor("values.scale", io::SafetensorsDType::kF32, 1, "the values"));
    FROST_CHECK(scales.size() == values.items.size(), "engine::load", where_,
                ": tensor "
                "\"values.scale\" holds ",
                scales.size(), " scales for ", values.items.size(), " values");
    for (std::size_t i = 0; i < values.items.size(); ++i) {
      const io::JsonValue& v = values.items[i];
      const std::string at = frost::detail::concat_message("value ", i);
      expect_keys(v, {"name", "shape", "zero_point", "source_step"}, at);
      Value value;
      value.name = string(*v.find("name"), at + " \"name\"");
      value.shape = integers(*v.find("shape"), at + " \"shape\"");
      value.quantization.scale = scales[i];
      value.quantization.zero_point = int32(*v.find("zero_point"), at + " \"zero_point\"");
      value.source_step = integer(*v.find("source_step"), at + " \"source_step\"");
      m.values.push_back(std::move(value));
    }

    if (tensors_.contains("input.mean") || tensors_.contains("input.std")) {
      m.input_mean = floats(tensor("input.mean", io::SafetensorsDType::kF32, 1, "the input"));
      m.input_std = floats(tensor("input.std", io::SafetensorsDType::kF32, 1, "the input"));
    }

    const io::JsonValue& ops = array(*root.find("ops"), "the graph's \"ops\"");
    for (std::size_t i = 0; i < ops.items.size(); ++i) m.ops.push_back(read_op(ops.items[i], i));
    for (const auto& t : index_.tensors)
      FROST_CHECK(used_.count(t.name) != 0, "engine::load", where_, ": unexpected tensor \"",
                  t.name, "\" (no op of the graph has it)");
    return m;
  }

  // The file's shape of op i's weights ({} when it has none), checked by the caller against
  // the shape the validated model implies.
  const std::vector<Shape>& weight_shapes() const { return weight_shapes_; }

 private:
  template <class... Parts>
  [[noreturn]] void fail(const Parts&... parts) const {
    frost::detail::throw_error("engine::load", where_, ": ", parts...);
  }

  // `obj` must be an object with exactly `keys` (the parser has refused duplicates).
  void expect_keys(const io::JsonValue& obj, const std::vector<std::string_view>& keys,
                   const std::string& at) const {
    if (!obj.is_object())
      fail(at, " is a JSON ", io::json_kind_name(obj.kind), ", expected an object");
    for (const std::string& key : obj.keys)
      if (std::find(keys.begin(), keys.end(), key) == keys.end())
        fail(at, " has an unknown key \"", key, "\"");
    for (const std::string_view key : keys)
      if (obj.find(key) == nullptr) fail(at, " has no \"", key, "\"");
  }

  const io::JsonValue& array(const io::JsonValue& v, const std::string& at) const {
    if (!v.is_array()) fail(at, " is a JSON ", io::json_kind_name(v.kind), ", expected an array");
    return v;
  }
  std::int64_t integer(const io::JsonValue& v, const std::string& at) const {
    if (!v.is_integer())
      fail(at, " is a JSON ", io::json_kind_name(v.kind), ", expected an integer");
    return v.integer;
  }
  // Fields held in an int: range-checked here so that nothing is truncated; check_model checks
  // their meaning.
  int int32(const io::JsonValue& v, const std::string& at) const {
    const std::int64_t x = integer(v, at);
    if (x < std::numeric_limits<int>::min() || x > std::numeric_limits<int>::max())
      fail(at, " = ", x, " does not fit in 32 bits");
    return static_cast<int>(x);
  }
  bool flag(const io::JsonValue& v, const std::string& at) const {
    const std::int64_t x = integer(v, at);
    if (x != 0 && x != 1) fail(at, " = ", x, ", expected 0 or 1");
    return x == 1;
  }
  std::string string(const io::JsonValue& v, const std::string& at) const {
    if (!v.is_string()) fail(at, " is a JSON ", io::json_kind_name(v.kind), ", expected a string");
    return v.string;
  }
  std::vector<std::int64_t> integers(const io::JsonValue& v, const std::string& at) const {
    std::vector<std::int64_t> out;
    for (const io::JsonValue& x : array(v, at).items) out.push_back(integer(x, at + " entry"));
    return out;
  }
  std::pair<int, int> pair(const io::JsonValue& v, const std::string& at) const {
    const io::JsonValue& a = array(v, at);
    if (a.items.size() != 2) fail(at, " has ", a.items.size(), " entries, expected 2");
    return {int32(a.items[0], at), int32(a.items[1], at)};
  }

  const io::SafetensorsView& tensor(const std::string& name, io::SafetensorsDType dtype,
                                    std::size_t rank, const std::string& at) {
    const auto found = tensors_.find(name);
    if (found == tensors_.end()) fail(at, ": the file has no tensor \"", name, "\"");
    const io::SafetensorsView& t = *found->second;
    if (t.dtype != dtype || t.shape.size() != rank)
      fail(at, ": tensor \"", name, "\" is ", io::safetensors_dtype_name(t.dtype), " ",
           shape_str(t.shape), ", expected ", rank, "-D ", io::safetensors_dtype_name(dtype));
    used_.insert(name);
    return t;
  }

  // Element copies; the reader has checked that the bytes are exactly the shape's.
  template <class T>
  static std::vector<T> elements(const io::SafetensorsView& t) {
    std::vector<T> out(t.bytes.size() / sizeof(T));
    if (!out.empty()) std::memcpy(out.data(), t.bytes.data(), out.size() * sizeof(T));
    return out;
  }
  static std::vector<float> floats(const io::SafetensorsView& t) { return elements<float>(t); }

  Op read_op(const io::JsonValue& j, std::size_t i) {
    std::string at = frost::detail::concat_message("op ", i);
    if (!j.is_object()) fail(at, " is a JSON ", io::json_kind_name(j.kind), ", expected an object");
    const io::JsonValue* kind_json = j.find("kind");
    if (kind_json == nullptr) fail(at, " has no \"kind\"");
    const std::string kind_name = string(*kind_json, at + " \"kind\"");
    const io::JsonValue* name_json = j.find("name");
    if (name_json != nullptr && name_json->is_string()) at += " ('" + name_json->string + "')";
    const auto kind = parse_op_kind(kind_name);
    if (!kind) fail(at, ": unknown op kind \"", kind_name, "\"");
    if (*kind == OpKind::float_module)
      fail(at, ": a float_module op (a module kept in float) cannot be stored in a model file");
    std::vector<std::string_view> keys = {"kind", "name", "inputs", "output"};
    for (std::string_view k : op_extra_keys(*kind)) keys.push_back(k);
    expect_keys(j, keys, at);

    Op op;
    op.kind = *kind;
    op.name = string(*j.find("name"), at + " \"name\"");
    op.inputs = integers(*j.find("inputs"), at + " \"inputs\"");
    op.output = integer(*j.find("output"), at + " \"output\"");
    if (has_window(op.kind)) {
      const io::JsonValue& w = *j.find("window");
      const std::string wat = at + " \"window\"";
      expect_keys(w, {"kernel", "stride", "padding", "dilation"}, wat);
      std::tie(op.window.kernel_height, op.window.kernel_width) = pair(*w.find("kernel"), wat);
      std::tie(op.window.stride_height, op.window.stride_width) = pair(*w.find("stride"), wat);
      std::tie(op.window.padding_height, op.window.padding_width) = pair(*w.find("padding"), wat);
      std::tie(op.window.dilation_height, op.window.dilation_width) =
          pair(*w.find("dilation"), wat);
    }
    if (op.kind == OpKind::conv2d) op.groups = integer(*j.find("groups"), at + " \"groups\"");
    if (has_activation(op.kind)) {
      const std::string a = string(*j.find("activation"), at + " \"activation\"");
      const auto activation = parse_activation(a);
      if (!activation)
        fail(at, ": unknown activation \"", a, "\" (expected \"none\", \"relu\" or \"relu6\")");
      op.activation = *activation;
    }
    if (op.kind == OpKind::max_pool2d || op.kind == OpKind::avg_pool2d)
      op.ceil_mode = flag(*j.find("ceil_mode"), at + " \"ceil_mode\"");
    if (op.kind == OpKind::avg_pool2d)
      op.count_include_pad = flag(*j.find("count_include_pad"), at + " \"count_include_pad\"");

    const std::string prefix = frost::detail::concat_message("op", i, ".");
    Shape weight_shape;
    if (has_weights(op.kind)) {
      const auto& w = tensor(prefix + "weights", io::SafetensorsDType::kI8,
                             op.kind == OpKind::conv2d ? 4 : 2, at);
      op.weights = elements<std::int8_t>(w);
      weight_shape = w.shape;
      op.bias = elements<std::int32_t>(tensor(prefix + "bias", io::SafetensorsDType::kI32, 1, at));
      op.weight_scales =
          floats(tensor(prefix + "weight_scales", io::SafetensorsDType::kF32, 1, at));
    }
    if (op.kind == OpKind::lookup_table) {
      const auto& t = tensor(prefix + "table", io::SafetensorsDType::kU8, 1, at);
      if (t.bytes.size() != op.table.size())
        fail(at, ": tensor \"", t.name, "\" has ", t.bytes.size(), " entries, a lookup table ",
             op.table.size());
      std::copy(t.bytes.begin(), t.bytes.end(), op.table.begin());
    }
    if (op.kind == OpKind::channel_gather)
      op.channels =
          elements<std::int32_t>(tensor(prefix + "channels", io::SafetensorsDType::kI32, 1, at));
    weight_shapes_.push_back(std::move(weight_shape));
    return op;
  }

  const io::SafetensorsIndex& index_;
  std::string where_;
  std::map<std::string, const io::SafetensorsView*, std::less<>> tensors_;
  std::set<std::string, std::less<>> used_;
  std::vector<Shape> weight_shapes_;
};

// load() on a file already in memory; `source` names it in errors.
inline Int8Model load_from_bytes(std::span<const std::uint8_t> file, const std::string& source) {
  constexpr const char* kOp = "engine::load";
  const std::string where = "'" + source + "'";
  io::SafetensorsIndex index;
  try {
    index = io::parse_safetensors(file, source);
  } catch (const Error& e) {
    throw Error(frost::detail::concat_message(kOp, ": ", e.what()));
  }
  const auto meta = [&](std::string_view key) -> const std::string* {
    const auto found = index.metadata.find(std::string(key));
    return found == index.metadata.end() ? nullptr : &found->second;
  };
  const std::string* format = meta("format");
  FROST_CHECK(format != nullptr, kOp, where,
              ": not a frost INT8 model file: it has no \"format\" metadata (a state dict loads "
              "with nn::load)");
  FROST_CHECK(*format == kInt8ModelFormat, kOp, where, ": not a frost INT8 model file: format \"",
              *format, "\", expected \"", kInt8ModelFormat, "\"");
  const std::string* version = meta("version");
  FROST_CHECK(version != nullptr, kOp, where, ": no \"version\" metadata");
  FROST_CHECK(*version == kInt8ModelVersion, kOp, where, ": format version \"", *version,
              "\" is not supported (this frost reads version ", kInt8ModelVersion, ")");
  for (const auto& [key, value] : index.metadata)
    FROST_CHECK(key == "format" || key == "version" || key == kInt8ModelGraphKey ||
                    key == kInt8ModelChecksumKey,
                kOp, where, ": unknown metadata \"", key, "\"");
  const std::string* graph = meta(kInt8ModelGraphKey);
  FROST_CHECK(graph != nullptr, kOp, where, ": no \"", kInt8ModelGraphKey,
              "\" metadata (the graph)");
  const std::string* checksum = meta(kInt8ModelChecksumKey);
  FROST_CHECK(checksum != nullptr, kOp, where, ": no \"", kInt8ModelChecksumKey, "\" metadata");
  const auto expected = parse_checksum(*checksum);
  FROST_CHECK(expected.has_value(), kOp, where, ": metadata \"", kInt8ModelChecksumKey, "\" = \"",
              *checksum, "\" is not 8 lowercase hex digits");
  const std::uint32_t actual = model_checksum(*graph, index.tensors);
  FROST_CHECK(actual == *expected, kOp, where, ": checksum mismatch (file says ",
              checksum_string(*expected), ", contents give ", checksum_string(actual),
              "): the file is corrupt");

  const io::JsonValue root = io::parse_json(
      *graph, kOp, frost::detail::concat_message(where, ": metadata \"", kInt8ModelGraphKey, "\""));
  GraphReader reader(index, where);
  Int8Model m = reader.read(root);
  check_model(m, kOp, where);
  for (std::size_t i = 0; i < m.ops.size(); ++i) {
    const Op& op = m.ops[i];
    if (!has_weights(op.kind)) continue;
    const Value& in = m.values[static_cast<std::size_t>(op.inputs[0])];
    const Value& out = m.values[static_cast<std::size_t>(op.output)];
    const Shape expected_shape = op.kind == OpKind::linear
                                     ? Shape{out.channels(), in.channels()}
                                     : Shape{out.channels(), op.window.kernel_height,
                                             op.window.kernel_width, in.channels() / op.groups};
    FROST_CHECK(reader.weight_shapes()[i] == expected_shape, kOp, where, ": ", op_label(m, i),
                ": tensor \"op", i, ".weights\" has shape ", shape_str(reader.weight_shapes()[i]),
                ", expected ", shape_str(expected_shape));
  }
  try {
    m.pack();
  } catch (const Error& e) {
    throw Error(frost::detail::concat_message(kOp, ": ", where, ": ", e.what()));
  }
  return m;
}

}  // namespace detail

// Writes `model` to `path` (replacing it atomically: on any error the old file, if any, is
// untouched). Throws for a model with float_module ops and for any model load would refuse.
inline void save(const Int8Model& model, const std::filesystem::path& path) {
  constexpr const char* kOp = "engine::save";
  const std::string where = "'" + path.string() + "'";
  for (std::size_t i = 0; i < model.ops.size(); ++i)
    FROST_CHECK(model.ops[i].kind != OpKind::float_module, kOp, where, ": ",
                detail::op_label(model, i),
                " is a module kept in float (float_module): models with float-kept modules "
                "cannot be saved; quantize that module too or keep the whole model in float");
  detail::check_model(model, kOp, where);
  const auto check_utf8 = [&](const std::string& s, const std::string& what) {
    FROST_CHECK(io::first_invalid_utf8(s) == std::string_view::npos, kOp, where, ": ", what, " \"",
                s, "\" is not valid UTF-8");
  };
  for (std::size_t i = 0; i < model.values.size(); ++i)
    check_utf8(model.values[i].name, frost::detail::concat_message("the name of value ", i));
  for (std::size_t i = 0; i < model.ops.size(); ++i)
    check_utf8(model.ops[i].name, frost::detail::concat_message("the name of op ", i));
  for (const std::string& name : model.class_names) check_utf8(name, "class name");

  const std::string graph = detail::graph_json(model);
  std::vector<float> scales;
  for (const Value& v : model.values) scales.push_back(v.quantization.scale);
  std::vector<io::SafetensorsView> tensors;
  tensors.push_back({"values.scale",
                     io::SafetensorsDType::kF32,
                     {static_cast<std::int64_t>(scales.size())},
                     detail::element_bytes(scales.data(), scales.size())});
  if (!model.input_mean.empty()) {
    const auto channels = static_cast<std::int64_t>(model.input_mean.size());
    tensors.push_back({"input.mean",
                       io::SafetensorsDType::kF32,
                       {channels},
                       detail::element_bytes(model.input_mean.data(), model.input_mean.size())});
    tensors.push_back({"input.std",
                       io::SafetensorsDType::kF32,
                       {channels},
                       detail::element_bytes(model.input_std.data(), model.input_std.size())});
  }
  for (std::size_t i = 0; i < model.ops.size(); ++i) {
    const Op& op = model.ops[i];
    const std::string prefix = frost::detail::concat_message("op", i, ".");
    if (detail::has_weights(op.kind)) {
      const Value& in = model.values[static_cast<std::size_t>(op.inputs[0])];
      const Value& out = model.values[static_cast<std::size_t>(op.output)];
      const Shape shape = op.kind == OpKind::linear
                              ? Shape{out.channels(), in.channels()}
                              : Shape{out.channels(), op.window.kernel_height,
                                      op.window.kernel_width, in.channels() / op.groups};
      tensors.push_back({prefix + "weights", io::SafetensorsDType::kI8, shape,
                         detail::element_bytes(op.weights.data(), op.weights.size())});
      tensors.push_back({prefix + "bias",
                         io::SafetensorsDType::kI32,
                         {static_cast<std::int64_t>(op.bias.size())},
                         detail::element_bytes(op.bias.data(), op.bias.size())});
      tensors.push_back({prefix + "weight_scales",
                         io::SafetensorsDType::kF32,
                         {static_cast<std::int64_t>(op.weight_scales.size())},
                         detail::element_bytes(op.weight_scales.data(), op.weight_scales.size())});
    }
    if (op.kind == OpKind::lookup_table)
      tensors.push_back({prefix + "table",
                         io::SafetensorsDType::kU8,
                         {static_cast<std::int64_t>(op.table.size())},
                         detail::element_bytes(op.table.data(), op.table.size())});
    if (op.kind == OpKind::channel_gather)
      tensors.push_back({prefix + "channels",
                         io::SafetensorsDType::kI32,
                         {static_cast<std::int64_t>(op.channels.size())},
                         detail::element_bytes(op.channels.data(), op.channels.size())});
  }
  const std::map<std::string, std::string> metadata = {
      {"format", std::string(kInt8ModelFormat)},
      {"version", std::string(kInt8ModelVersion)},
      {std::string(kInt8ModelGraphKey), graph},
      {std::string(kInt8ModelChecksumKey),
       detail::checksum_string(detail::model_checksum(graph, tensors))},
  };
  try {
    io::write_safetensors(path, tensors, metadata);
  } catch (const Error& e) {
    throw Error(frost::detail::concat_message(kOp, ": ", e.what()));
  }
}

// Reads a file written by save, checks it completely and packs it for the running CPU.
inline Int8Model load(const std::filesystem::path& path) {
  const std::vector<std::uint8_t> file = io::read_file(path, "engine::load");
  return detail::load_from_bytes(file, path.string());
}

// A summary line, then one line per op: index, kind, input and output values with their shapes,
// the output's scale and zero point, the op's window / groups / activation, and its name.
//   op 1 conv2d: v0 [3, 32, 32] -> v1 [16, 16, 16], scale 0.0235 zero point 0; 3x3 stride 2
//   padding 1 relu; conv2d in 'stem'
inline std::string describe(const Int8Model& m) {
  std::ostringstream os;
  os << "Int8Model: input " << shape_str(m.input_shape) << ", " << m.ops.size() << " ops, "
     << m.values.size() << " values, " << m.parameter_bytes() << " parameter bytes";
  if (!m.class_names.empty()) os << ", " << m.class_names.size() << " classes";
  os << '\n';
  const auto value = [&](std::int64_t v) -> const Value* {
    return v >= 0 && v < static_cast<std::int64_t>(m.values.size())
               ? &m.values[static_cast<std::size_t>(v)]
               : nullptr;
  };
  const auto value_str = [&](std::int64_t v) {
    const Value* p = value(v);
    return frost::detail::concat_message("v", v, " ", p ? shape_str(p->shape) : "(out of range)");
  };
  const auto hw = [](int h, int w) {
    return h == w ? std::to_string(h) : std::to_string(h) + "x" + std::to_string(w);
  };
  for (std::size_t i = 0; i < m.ops.size(); ++i) {
    const Op& op = m.ops[i];
    os << "op " << i << ' ' << op_kind_name(op.kind) << ": ";
    for (std::size_t k = 0; k < op.inputs.size(); ++k)
      os << (k ? ", " : "") << value_str(op.inputs[k]);
    if (!op.inputs.empty()) os << " -> ";
    os << value_str(op.output);
    if (const Value* out = value(op.output))
      os << ", scale " << out->quantization.scale << " zero point " << out->quantization.zero_point;
    std::string attributes;
    const Window& w = op.window;
    if (detail::has_window(op.kind)) {
      attributes += frost::detail::concat_message(w.kernel_height, "x", w.kernel_width, " stride ",
                                                  hw(w.stride_height, w.stride_width));
      if (w.padding_height || w.padding_width)
        attributes += " padding " + hw(w.padding_height, w.padding_width);
      if (w.dilation_height != 1 || w.dilation_width != 1)
        attributes += " dilation " + hw(w.dilation_height, w.dilation_width);
    }
    if (op.kind == OpKind::conv2d && op.groups != 1)
      attributes += frost::detail::concat_message(" groups ", op.groups);
    if ((op.kind == OpKind::max_pool2d || op.kind == OpKind::avg_pool2d) && op.ceil_mode)
      attributes += " ceil_mode";
    if (op.kind == OpKind::avg_pool2d && !op.count_include_pad) attributes += " excluding padding";
    if (detail::has_activation(op.kind) && op.activation != FusedActivation::none)
      attributes += std::string(attributes.empty() ? "" : " ") +
                    std::string(detail::activation_name(op.activation));
    if (!attributes.empty())
      os << "; " << (attributes.front() == ' ' ? attributes.substr(1) : attributes);
    if (!op.name.empty()) os << "; " << op.name;
    os << '\n';
  }
  return os.str();
}

}  // namespace frost::engine
