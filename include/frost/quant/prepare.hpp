#pragma once
// prepare_qat / prepare: make a float model quantization-aware, PyTorch-style, with no change
// to the model's code.
//
//   quant::prepare_qat(model, example_input);                 // QAT: observe + fake-quantize
//   ... train ...
//   engine::Int8Model int8 = quant::convert(*model);          // quant/convert.hpp
//
//   quant::prepare(model, example_input);                     // post-training: observe only
//   quant::calibrate(*model, batches);                        // a few hundred images
//   engine::Int8Model int8 = quant::convert(*model);
//
// What prepare does:
//   1. traces the model once (nn::trace, eval mode, no gradients: running statistics untouched);
//   2. fuses: every nn::Conv2d whose only consumer is an nn::BatchNorm2d becomes one
//      QatConvBn2d (BN folding simulated in training) and the BatchNorm2d an Identity; other
//      Conv2d / Linear modules become QatConv2d / QatLinear. The QAT modules share the float
//      modules' tensors, so an optimizer made for the float model goes on training them (the
//      StatAssist handover). The swaps take effect for typed members too (nn::Module's
//      replace_module forwards the old module's calls to its replacement);
//   3. traces the result and plans every op: its output is fake-quantized (compute ops: conv,
//      linear, add, mul, cat, pools, element-wise activations), fused into the activation after
//      it (conv/linear/add followed only by ReLU or ReLU6, as the INT8 kernels fuse them), keeps
//      its input's parameters (max pool, reshapes, permutes and slices, dropout, a ReLU on
//      quantized codes), or runs
//      in float (modules whose QConfig is std::nullopt, ops the INT8 engine does not have); the
//      model's input is fake-quantized, and so is every float value a quantized op reads;
//   4. registers the activation fake quantizers as the child "activation_fake_quant" of the model
//      (so state_dict() saves their statistics) and installs the runtime (quant/runtime.hpp).
//
// A model whose forward() calls a layer's forward() directly (conv_->forward(x)) instead of its
// operator() would bypass the swap: prepare detects it from the trace and says so.

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "frost/autograd/grad_mode.hpp"
#include "frost/core/tensor.hpp"
#include "frost/nn/activation.hpp"
#include "frost/nn/batch_norm.hpp"
#include "frost/nn/conv.hpp"
#include "frost/nn/linear.hpp"
#include "frost/nn/module.hpp"
#include "frost/nn/trace.hpp"
#include "frost/quant/fake_quantize.hpp"
#include "frost/quant/qat_modules.hpp"
#include "frost/quant/qconfig.hpp"
#include "frost/quant/runtime.hpp"

namespace frost::quant {

struct PrepareOptions {
  // Fold Conv2d + BatchNorm2d pairs found in the trace.
  bool fuse = true;
};

namespace detail {

inline bool is_qat_module(const nn::Module& m) {
  return dynamic_cast<const QatConv2d*>(&m) != nullptr ||
         dynamic_cast<const QatLinear*>(&m) != nullptr ||
         dynamic_cast<const QatConvBn2d*>(&m) != nullptr;
}

// Element-wise ops of one quantized input that the INT8 engine runs as a 256-entry table.
inline bool is_table_kind(std::string_view k) {
  static const std::set<std::string_view> kinds{
      "sigmoid",    "tanh",       "hardswish",   "hardsigmoid", "leaky_relu", "exp",
      "log",        "sqrt",       "pow",         "abs",         "neg",        "add_scalar",
      "mul_scalar", "div_scalar", "rsub_scalar", "rdiv_scalar", "clamp"};
  return kinds.count(k) != 0;
}
// Ops with their own output parameters.
inline bool is_compute_kind(std::string_view k) {
  return k == "add" || k == "mul" || k == "cat" || k == "mean" || k == "adaptive_avg_pool2d" ||
         k == "avg_pool2d" || is_table_kind(k);
}
// Ops whose output keeps the input's parameters.
inline bool is_passthrough_kind(std::string_view k) {
  return k == "max_pool2d" || k == "reshape" || k == "squeeze" || k == "unsqueeze" ||
         k == "dropout" || k == "clone" || k == "relu" || k == "relu6" || k == "permute" ||
         k == "slice";
}
inline bool is_activation_kind(std::string_view k) {
  return k == "relu" || k == "relu6";
}

inline const std::optional<QConfig>& qconfig_of(const QConfigMapping& mapping,
                                                const nn::TraceOp& op) {
  return mapping.lookup(op.module_path, op.enclosing_types);
}

inline std::shared_ptr<FakeQuantizeBase> make_activation_fake_quant(const QConfig& q) {
  FROST_CHECK(q.activation != nullptr, "prepare", "QConfig '", q.name,
              "' has no activation observer");
  if (q.learnable_activation) return std::make_shared<LearnableFakeQuantize>(q.activation());
  return std::make_shared<FakeQuantize>(q.activation());
}
inline std::shared_ptr<FakeQuantizeBase> make_weight_fake_quant(const QConfig& q) {
  FROST_CHECK(q.weight != nullptr, "prepare", "QConfig '", q.name, "' has no weight observer");
  return std::make_shared<FakeQuantize>(q.weight());
}

// The outermost modules kept in float: run as leaves so that none of their ops is quantized.
inline std::set<const nn::Module*> float_modules(nn::Module& model, const QConfigMapping& mapping) {
  std::set<const nn::Module*> out;
  const auto modules = model.named_modules();
  std::map<std::string, std::string> type_of;
  for (const auto& [path, m] : modules) type_of[path] = m->type_name();
  for (const auto& [path, m] : modules) {
    if (path.empty()) continue;
    std::vector<std::string> types{model.type_name()};
    std::string prefix;
    bool parent_float = false;
    for (std::size_t start = 0;;) {
      const std::size_t dot = path.find('.', start);
      prefix = path.substr(0, dot);
      types.push_back(type_of[prefix]);
      if (dot == std::string::npos) break;
      if (out.count(model.submodule(prefix).get())) parent_float = true;
      start = dot + 1;
    }
    if (!parent_float && !mapping.lookup(path, types).has_value()) out.insert(m.get());
  }
  return out;
}

inline nn::TraceOptions trace_options(std::set<const nn::Module*> float_leaves) {
  nn::TraceOptions options;
  options.keep_values = false;
  options.is_leaf = [float_leaves = std::move(float_leaves)](const nn::Module& m) {
    return is_qat_module(m) || float_leaves.count(&m) != 0 ||
           dynamic_cast<const FakeQuantizeBase*>(&m) != nullptr ||
           dynamic_cast<const Observer*>(&m) != nullptr;
  };
  return options;
}

inline nn::Trace trace_in_eval(nn::Module& model, const Tensor<float>& example,
                               nn::TraceOptions options) {
  const bool was_training = model.is_training();
  model.eval();
  struct Restore {
    nn::Module& m;
    bool training;
    ~Restore() { m.train(training); }
  } restore{model, was_training};
  return nn::trace(model, example, std::move(options));
}

template <class M>
inline std::shared_ptr<M> module_at(nn::Module& model, const nn::TraceOp& op, const char* what) {
  FROST_CHECK(op.module_path.find("<unregistered") == std::string::npos, "prepare", what, " at '",
              op.module_path,
              "' is not registered in the model (register_module), so it cannot be swapped for "
              "its quantization-aware version");
  auto m = std::dynamic_pointer_cast<M>(model.submodule(op.module_path));
  FROST_CHECK(m != nullptr, "prepare", "module '", op.module_path, "' is not a ", what);
  return m;
}

// The modules a group fuses, by path: a conv (or linear) and optionally the batch norm after it.
struct FusionGroup {
  std::string conv;
  std::string bn;  // empty: no batch norm
  bool linear = false;
};

inline void apply_fusion(nn::Module& model, const FusionGroup& g, const QConfig& qconfig) {
  if (g.linear) {
    auto linear = std::dynamic_pointer_cast<nn::Linear>(model.submodule(g.conv));
    FROST_CHECK(linear != nullptr, "prepare", "module '", g.conv, "' is not a Linear");
    model.replace_module(g.conv,
                         std::make_shared<QatLinear>(linear, make_weight_fake_quant(qconfig)));
    return;
  }
  auto conv = std::dynamic_pointer_cast<nn::Conv2d>(model.submodule(g.conv));
  FROST_CHECK(conv != nullptr, "fuse_modules", "module '", g.conv, "' is not a Conv2d (it is ",
              model.submodule(g.conv)->repr(), ")");
  if (g.bn.empty()) {
    model.replace_module(g.conv,
                         std::make_shared<QatConv2d>(conv, make_weight_fake_quant(qconfig)));
    return;
  }
  auto bn = std::dynamic_pointer_cast<nn::BatchNorm2d>(model.submodule(g.bn));
  FROST_CHECK(bn != nullptr, "fuse_modules", "module '", g.bn, "' is not a BatchNorm2d (it is ",
              model.submodule(g.bn)->repr(), ")");
  FROST_CHECK(bn->num_features() == conv->out_channels(), "fuse_modules", "'", g.conv, "' has ",
              conv->out_channels(), " output channels but '", g.bn, "' normalises ",
              bn->num_features());
  model.replace_module(g.conv,
                       std::make_shared<QatConvBn2d>(conv, bn, make_weight_fake_quant(qconfig)));
  model.replace_module(g.bn, std::make_shared<nn::Identity>());
}

// Conv(+BN) and Linear groups of a traced float model.
inline std::vector<FusionGroup> find_fusion_groups(const nn::Trace& t, nn::Module& model,
                                                   const QConfigMapping& mapping, bool fuse_bn) {
  std::vector<FusionGroup> groups;
  std::map<std::string, int> calls;
  for (const nn::TraceOp& op : t.ops()) {
    if ((op.kind == "conv2d" || op.kind == "linear") && op.inputs.size() > 1 && op.inputs[1] >= 0) {
      // A layer's weight read outside the layer: its forward() was called directly, which no
      // swap can reach.
      const nn::TraceValue& w = t.value(op.inputs[1]);
      const std::string owner =
          w.name.size() > 7 && w.name.compare(w.name.size() - 7, 7, ".weight") == 0
              ? w.name.substr(0, w.name.size() - 7)
              : std::string();
      if (w.source == nn::ValueSource::parameter && !owner.empty() && owner != op.module_path)
        frost::detail::throw_error(
            "prepare", op.where(), " reads '", w.name, "' outside its layer '", owner,
            "': the model calls that layer's forward() directly, so the layer cannot be "
            "replaced by its quantization-aware version. Call it through its operator() "
            "((*layer)(x))");
    }
    const bool conv = op.kind == "conv2d" && op.module_type == "Conv2d";
    const bool linear = op.kind == "linear" && op.module_type == "Linear";
    if (!conv && !linear) continue;
    if (!qconfig_of(mapping, op).has_value()) continue;
    FROST_CHECK(++calls[op.module_path] == 1, "prepare", "module '", op.module_path,
                "' runs more than once in forward(); a quantized layer needs its own module for "
                "each call (its output parameters differ)");
    FusionGroup g;
    g.conv = op.module_path;
    g.linear = linear;
    if (linear) {
      module_at<nn::Linear>(model, op, "Linear");
    } else {
      module_at<nn::Conv2d>(model, op, "Conv2d");
      const std::vector<std::int64_t> users = t.consumers(op.output);
      if (fuse_bn && users.size() == 1 && t.use_count(op.output) == 1) {
        const nn::TraceOp& next = t.ops()[static_cast<std::size_t>(users[0])];
        if (next.kind == "batch_norm2d" && next.module_type == "BatchNorm2d" &&
            next.inputs[0] == op.output && qconfig_of(mapping, next).has_value()) {
          module_at<nn::BatchNorm2d>(model, next, "BatchNorm2d");
          g.bn = next.module_path;
        }
      }
    }
    groups.push_back(g);
  }
  return groups;
}

// The modules swapped by fusion, to recognise their parameters in a trace that bypassed them.
inline void check_no_bypass(const nn::Trace& t, const std::vector<FusionGroup>& groups) {
  for (const nn::TraceOp& op : t.ops()) {
    if (op.kind == "module") continue;
    for (std::int64_t id : op.inputs) {
      if (id < 0) continue;
      const nn::TraceValue& v = t.value(id);
      if (v.source != nn::ValueSource::parameter && v.source != nn::ValueSource::buffer) continue;
      for (const FusionGroup& g : groups)
        for (const std::string& path : {g.conv, g.bn})
          if (!path.empty() && v.name.compare(0, path.size() + 1, path + ".") == 0)
            frost::detail::throw_error(
                "prepare", "'", path, "' was replaced by its quantization-aware version, but ",
                op.where(), " still reads its parameter '", v.name,
                "': the model calls that layer's forward() directly. Call it through its "
                "operator() ((*layer)(x)), which runs the replacement");
    }
  }
}

}  // namespace detail

// Fuses the given groups by module path, as torch.ao.quantization.fuse_modules for QAT:
// {"conv", "bn"} or {"conv", "bn", "relu"} -> QatConvBn2d (+ the ReLU stays where it is and is
// fused at conversion), {"conv"} / {"conv", "relu"} -> QatConv2d, {"fc"} / {"fc", "relu"} ->
// QatLinear. prepare_qat does this by itself from the trace; call it to choose the groups.
inline void fuse_modules(nn::Module& model, const std::vector<std::vector<std::string>>& groups,
                         const QConfig& qconfig = default_qat_qconfig()) {
  for (const auto& names : groups) {
    FROST_CHECK(!names.empty() && names.size() <= 3, "fuse_modules",
                "a group names 1 to 3 modules, got ", names.size());
    detail::FusionGroup g;
    g.conv = names[0];
    const auto first = model.submodule(names[0]);
    g.linear = dynamic_cast<nn::Linear*>(first.get()) != nullptr;
    for (std::size_t i = 1; i < names.size(); ++i) {
      const auto m = model.submodule(names[i]);
      if (dynamic_cast<nn::BatchNorm2d*>(m.get()) != nullptr && i == 1 && !g.linear) {
        g.bn = names[i];
      } else {
        FROST_CHECK(dynamic_cast<nn::ReLU*>(m.get()) || dynamic_cast<nn::ReLU6*>(m.get()),
                    "fuse_modules", "cannot fuse '", names[i], "' (", m->repr(), ") after '",
                    names[0], "': expected BatchNorm2d, ReLU or ReLU6");
      }
    }
    detail::apply_fusion(model, g, qconfig);
  }
}

namespace detail {

inline std::shared_ptr<QuantRuntime> prepare_impl(const std::shared_ptr<nn::Module>& model,
                                                  const Tensor<float>& example,
                                                  const QConfigMapping& mapping,
                                                  const PrepareOptions& options) {
  FROST_CHECK(model != nullptr, "prepare", "model is null");
  FROST_CHECK(model->op_hook() == nullptr, "prepare", model->type_name(),
              " is already prepared for quantization");
  const std::set<const nn::Module*> floats = float_modules(*model, mapping);

  // 1-2: trace the float model, fuse and swap.
  const nn::Trace float_trace = trace_in_eval(*model, example, trace_options(floats));
  const std::vector<FusionGroup> groups =
      find_fusion_groups(float_trace, *model, mapping, options.fuse);
  for (const FusionGroup& g : groups) {
    const auto& op = *std::find_if(float_trace.ops().begin(), float_trace.ops().end(),
                                   [&](const nn::TraceOp& o) { return o.module_path == g.conv; });
    apply_fusion(*model, g, *qconfig_of(mapping, op));
  }

  // 3: trace what the swaps made and plan every op.
  nn::Trace t = trace_in_eval(*model, example, trace_options(floats));
  check_no_bypass(t, groups);
  const auto& ops = t.ops();
  std::vector<Step> steps(ops.size());
  std::vector<char> quantized(t.values().size(), 0);
  std::set<std::int64_t> needs_quantization;  // float values that quantized ops read
  const bool quantize_input = mapping.lookup("", {model->type_name()}).has_value();
  quantized[static_cast<std::size_t>(t.input())] = quantize_input;
  const auto is_activation = [&](std::int64_t id) {
    if (id < 0) return false;
    const auto s = t.value(id).source;
    return s == nn::ValueSource::op || s == nn::ValueSource::input;
  };
  for (const nn::TraceOp& op : ops) {
    Step& step = steps[static_cast<std::size_t>(op.index)];
    step.op = op;
    const bool float_op = (op.kind == "module" && floats.count(op.module) != 0) ||
                          !qconfig_of(mapping, op).has_value();
    bool only_activations = !op.inputs.empty();
    for (std::int64_t id : op.inputs) only_activations = only_activations && is_activation(id);
    if (float_op) {
      step.role = StepRole::floating;
    } else if ((op.kind == "module" && is_qat_module(*op.module)) ||
               (is_compute_kind(op.kind) && only_activations)) {
      step.role = StepRole::compute;
    } else if (is_passthrough_kind(op.kind) && !op.inputs.empty() && is_activation(op.inputs[0]) &&
               quantized[static_cast<std::size_t>(op.inputs[0])]) {
      step.role = StepRole::passthrough;
    } else {
      step.role = StepRole::floating;
    }
    if (step.role == StepRole::compute)
      for (std::int64_t id : op.inputs)
        if (is_activation(id) && !quantized[static_cast<std::size_t>(id)]) {
          needs_quantization.insert(id);
          quantized[static_cast<std::size_t>(id)] = 1;
        }
    quantized[static_cast<std::size_t>(op.output)] =
        step.role == StepRole::compute || step.role == StepRole::passthrough;
  }
  // The model's result leaves the INT8 model dequantized, so it must be quantized.
  if (!quantized[static_cast<std::size_t>(t.output())]) needs_quantization.insert(t.output());
  // Conv / linear / add whose only reader is a ReLU or ReLU6: the activation carries the output
  // parameters, as the INT8 kernels clamp in their requantization.
  for (const nn::TraceOp& op : ops) {
    Step& step = steps[static_cast<std::size_t>(op.index)];
    if (step.role != StepRole::compute || !(op.kind == "module" || op.kind == "add")) continue;
    const auto users = t.consumers(op.output);
    if (users.size() != 1 || t.use_count(op.output) != 1) continue;
    Step& next = steps[static_cast<std::size_t>(users[0])];
    if (is_activation_kind(next.op.kind) && next.role == StepRole::passthrough) {
      step.role = StepRole::fused;
      next.role = StepRole::compute;
    }
  }

  // 4: the fake quantizers.
  auto container = std::make_shared<nn::Module>("ActivationFakeQuantizers");
  std::shared_ptr<FakeQuantizeBase> input_fq;
  const auto qconfig_for_value = [&](std::int64_t id) -> const QConfig& {
    const nn::TraceValue& v = t.value(id);
    if (v.source == nn::ValueSource::op) {
      const auto& q = qconfig_of(mapping, ops[static_cast<std::size_t>(v.producer)]);
      if (q) return *q;
    }
    for (std::int64_t user : t.consumers(id)) {
      const auto& q = qconfig_of(mapping, ops[static_cast<std::size_t>(user)]);
      if (q) return *q;
    }
    const auto& g = mapping.global();
    FROST_CHECK(g.has_value(), "prepare", "no QConfig for value %", id);
    return *g;
  };
  if (quantize_input || needs_quantization.count(t.input())) {
    input_fq = make_activation_fake_quant(qconfig_for_value(t.input()));
    container->register_module("input", input_fq);
  }
  for (Step& step : steps) {
    const bool boundary = needs_quantization.count(step.op.output) != 0;
    if (step.role != StepRole::compute && !boundary) continue;
    step.output_fake_quant = make_activation_fake_quant(qconfig_for_value(step.op.output));
    container->register_module("op" + std::to_string(step.op.index) + "_" +
                                   (step.op.kind == "module" ? step.op.module_type : step.op.kind),
                               step.output_fake_quant);
  }
  // Each QAT layer learns which fake quantizers give its input's scale (the output of the step
  // that produced it, through steps that keep their input's parameters) and its output's, so
  // that in eval it computes what its INT8 op will (quant/int8_simulation.hpp).
  const auto input_fake_quant_of = [&](std::int64_t id) -> std::shared_ptr<FakeQuantizeBase> {
    while (id >= 0) {
      const nn::TraceValue& v = t.value(id);
      if (v.source == nn::ValueSource::input) return input_fq;
      if (v.source != nn::ValueSource::op) return nullptr;
      const Step& producer = steps[static_cast<std::size_t>(v.producer)];
      if (producer.output_fake_quant) return producer.output_fake_quant;
      if (producer.role != StepRole::passthrough || producer.op.inputs.empty()) return nullptr;
      id = producer.op.inputs[0];
    }
    return nullptr;
  };
  for (const Step& step : steps) {
    const bool quantized_layer = step.role == StepRole::compute || step.role == StepRole::fused;
    if (!quantized_layer || step.op.kind != "module" || step.op.inputs.empty()) continue;
    auto* layer = dynamic_cast<Int8Simulation*>(const_cast<nn::Module*>(step.op.module));
    if (layer == nullptr) continue;
    layer->set_input_fake_quant(input_fake_quant_of(step.op.inputs[0]));
    // A fused layer's INT8 output takes the parameters of the activation after it.
    const Step& carrier = step.role == StepRole::fused
                              ? steps[static_cast<std::size_t>(t.consumers(step.op.output)[0])]
                              : step;
    layer->set_output_fake_quant(carrier.output_fake_quant);
  }
  model->register_module("activation_fake_quant", container);
  model->train(model->is_training());  // the new modules take the model's mode

  auto runtime = std::make_shared<QuantRuntime>(model.get(), std::move(t), std::move(steps),
                                                std::move(input_fq));
  model->set_op_hook(runtime);
  return runtime;
}

}  // namespace detail

// Every fake quantizer of a model (activations and weights).
inline std::vector<FakeQuantizeBase*> fake_quantizers(nn::Module& model) {
  std::vector<FakeQuantizeBase*> out;
  model.apply([&](nn::Module& m) {
    if (auto* fq = dynamic_cast<FakeQuantizeBase*>(&m)) out.push_back(fq);
  });
  return out;
}
inline void enable_observer(nn::Module& model, bool on = true) {
  for (FakeQuantizeBase* fq : fake_quantizers(model)) fq->enable_observer(on);
}
inline void disable_observer(nn::Module& model) {
  enable_observer(model, false);
}
inline void enable_fake_quant(nn::Module& model, bool on = true) {
  for (FakeQuantizeBase* fq : fake_quantizers(model)) fq->enable_fake_quant(on);
}
inline void disable_fake_quant(nn::Module& model) {
  enable_fake_quant(model, false);
}
// Batch norms of QatConvBn2d use (and stop updating) their running statistics in training.
inline void freeze_bn_stats(nn::Module& model, bool on = true) {
  model.apply([&](nn::Module& m) {
    if (auto* c = dynamic_cast<QatConvBn2d*>(&m)) c->freeze_bn_stats(on);
  });
}

// The runtime a prepared model runs with; throws when the model is not prepared.
inline QuantRuntime& runtime_of(const nn::Module& model) {
  auto* r = dynamic_cast<QuantRuntime*>(model.op_hook().get());
  FROST_CHECK(r != nullptr, "quant", model.type_name(),
              " is not prepared for quantization (call quant::prepare_qat or quant::prepare)");
  return *r;
}

// QAT: observers and fake quantization on.
inline std::shared_ptr<QuantRuntime> prepare_qat(
    const std::shared_ptr<nn::Module>& model, const Tensor<float>& example_input,
    const QConfigMapping& qconfig = QConfigMapping(default_qat_qconfig()),
    const PrepareOptions& options = {}) {
  auto runtime = detail::prepare_impl(model, example_input, qconfig, options);
  enable_observer(*model, true);
  enable_fake_quant(*model, true);
  return runtime;
}
inline std::shared_ptr<QuantRuntime> prepare_qat(const std::shared_ptr<nn::Module>& model,
                                                 const Tensor<float>& example_input,
                                                 const QConfig& qconfig,
                                                 const PrepareOptions& options = {}) {
  return prepare_qat(model, example_input, QConfigMapping(qconfig), options);
}

// Post-training quantization: observers on, fake quantization off until calibrate() is done.
inline std::shared_ptr<QuantRuntime> prepare(
    const std::shared_ptr<nn::Module>& model, const Tensor<float>& example_input,
    const QConfigMapping& qconfig = QConfigMapping(default_qconfig()),
    const PrepareOptions& options = {}) {
  auto runtime = detail::prepare_impl(model, example_input, qconfig, options);
  enable_observer(*model, true);
  enable_fake_quant(*model, false);
  return runtime;
}
inline std::shared_ptr<QuantRuntime> prepare(const std::shared_ptr<nn::Module>& model,
                                             const Tensor<float>& example_input,
                                             const QConfig& qconfig,
                                             const PrepareOptions& options = {}) {
  return prepare(model, example_input, QConfigMapping(qconfig), options);
}

// Runs the batches through a prepared model in eval mode with gradients off, so its observers
// see them; then turns observers off and fake quantization on (the model now computes what the
// INT8 model will). `batches` is any range of Tensor<float> (or of data::Batch).
template <class Batches>
inline void calibrate(nn::Module& model, const Batches& batches, std::int64_t max_batches = -1) {
  runtime_of(model);
  const bool was_training = model.is_training();
  model.eval();
  enable_observer(model, true);
  enable_fake_quant(model, false);
  {
    const NoGradGuard no_grad;
    std::int64_t n = 0;
    for (const auto& batch : batches) {
      if (max_batches >= 0 && n++ >= max_batches) break;
      if constexpr (requires { batch.images; })
        model(batch.images);
      else
        model(batch);
    }
  }
  enable_observer(model, false);
  enable_fake_quant(model, true);
  model.train(was_training);
}

}  // namespace frost::quant
