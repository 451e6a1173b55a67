#pragma once
// nn::trace: runs one forward pass of a model and records every op it executes as a graph that
// code can walk and print: op kind and attributes, the values it read and wrote (with shapes),
// and the path of the module it ran in. Adds, concatenations and activations written as plain
// tensor code inside forward() are ops like any other, so quantization finds them without the
// model being rewritten; ONNX export and the architecture search build on the same graph.
//
//   nn::Trace t = nn::trace(*model, Tensor<float>::randn({1, 3, 32, 32}));
//   std::cout << t;                                  // one line per op
//   for (const nn::TraceOp& op : t.ops()) ...        // op.kind, op.inputs, op.module_path
//
// Values are identified by the storage, offset, shape and strides of their tensor: a detached
// handle is the same value, a reshaped view a new one made by a "reshape" op. A tensor the
// trace did not see being made is a model input, a parameter or buffer (named from the model's
// state dict), or a constant made inside forward().
//
// Leaf modules (TraceOptions::is_leaf) are recorded as one op of kind "module" whose inner ops
// are hidden: a quantization-aware conv is one op, not its fake quantization and conv2d.
//
// The trace runs with gradients off and leaves the model's train/eval mode as it was; it runs in
// whichever mode the model is in (batch norm in training mode updates its running statistics,
// so trace in eval mode, as quantization does).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "frost/autograd/grad_mode.hpp"
#include "frost/autograd/op_hook.hpp"
#include "frost/core/tensor.hpp"
#include "frost/nn/module.hpp"

namespace frost::nn {

enum class ValueSource { input, op, parameter, buffer, constant };

struct TraceValue {
  std::int64_t id = -1;
  ValueSource source = ValueSource::constant;
  Shape shape;
  std::int64_t producer = -1;  // index of the op that made it (source == op)
  std::string name;            // state-dict name of a parameter or buffer
  Tensor<float> tensor;        // the value itself (TraceOptions::keep_values)
};

struct TraceOp {
  std::int64_t index = -1;
  std::string kind;                  // "conv2d", "add", ..., or "module" for a leaf module
  std::vector<std::int64_t> inputs;  // value ids; -1 for an absent optional input (no bias)
  std::int64_t output = -1;          // value id
  autograd::OpAttributes attributes;
  std::string module_path;                   // innermost module the op ran in ("" = the model)
  std::string module_type;                   // its type name
  std::vector<std::string> enclosing_types;  // types of the modules it ran in, outermost first
  const Module* module = nullptr;            // that module (for leaf ops: the leaf itself)

  // Attribute `name`, or throws naming the op.
  const std::vector<double>& attribute(std::string_view name) const {
    for (const auto& a : attributes)
      if (a.name == name) return a.values;
    frost::detail::throw_error("TraceOp::attribute", "op ", index, " (", kind, " in '", module_path,
                               "') has no attribute '", name, "'");
  }
  bool has_attribute(std::string_view name) const {
    for (const auto& a : attributes)
      if (a.name == name) return true;
    return false;
  }
  // "add in 'layer1.block0'" for messages.
  std::string where() const {
    return (kind == "module" ? module_type : kind) + " (op " + std::to_string(index) + ") in '" +
           module_path + "'";
  }
};

struct TraceOptions {
  // Modules to record as one opaque op.
  std::function<bool(const Module&)> is_leaf;
  // Keep every value's tensor in the trace (the per-layer report needs them; a walk of the
  // graph does not).
  bool keep_values = true;
};

class Trace {
 public:
  const std::vector<TraceValue>& values() const { return values_; }
  const std::vector<TraceOp>& ops() const { return ops_; }
  const TraceValue& value(std::int64_t id) const {
    FROST_CHECK(id >= 0 && id < static_cast<std::int64_t>(values_.size()), "Trace::value",
                "no value ", id, " in a trace of ", values_.size(), " values");
    return values_[static_cast<std::size_t>(id)];
  }
  std::int64_t input() const { return input_; }
  std::int64_t output() const { return output_; }

  // Indices of the ops that read value `id`, in execution order.
  std::vector<std::int64_t> consumers(std::int64_t id) const {
    std::vector<std::int64_t> out;
    for (const TraceOp& op : ops_)
      for (std::int64_t in : op.inputs)
        if (in == id) {
          out.push_back(op.index);
          break;
        }
    return out;
  }
  // How many times value `id` is read (by ops, and as the model's output).
  std::int64_t use_count(std::int64_t id) const {
    std::int64_t n = id == output_ ? 1 : 0;
    for (const TraceOp& op : ops_)
      for (std::int64_t in : op.inputs) n += in == id;
    return n;
  }

  void print(std::ostream& os) const {
    os << "trace: input %" << input_ << " " << shape_str(value(input_).shape) << ", " << ops_.size()
       << " ops\n";
    for (const TraceOp& op : ops_) {
      os << "  %" << op.output << " " << shape_str(value(op.output).shape) << " = "
         << (op.kind == "module" ? "module:" + op.module_type : op.kind) << "(";
      for (std::size_t i = 0; i < op.inputs.size(); ++i) {
        os << (i ? ", " : "");
        if (op.inputs[i] < 0) {
          os << "none";
          continue;
        }
        const TraceValue& v = value(op.inputs[i]);
        if (v.source == ValueSource::parameter || v.source == ValueSource::buffer)
          os << v.name;
        else if (v.source == ValueSource::constant)
          os << "const" << shape_str(v.shape);
        else
          os << "%" << v.id;
      }
      for (const auto& a : op.attributes) {
        os << ", " << a.name << "=";
        if (a.values.size() == 1) {
          os << a.values[0];
        } else {
          os << "[";
          for (std::size_t i = 0; i < a.values.size(); ++i) os << (i ? ", " : "") << a.values[i];
          os << "]";
        }
      }
      os << ")  # " << (op.module_path.empty() ? "<model>" : op.module_path) << "\n";
    }
    os << "  return %" << output_ << "\n";
  }

 private:
  friend class Tracer;
  std::vector<TraceValue> values_;
  std::vector<TraceOp> ops_;
  std::int64_t input_ = -1, output_ = -1;
};

inline std::ostream& operator<<(std::ostream& os, const Trace& t) {
  t.print(os);
  return os;
}

// The op hook that builds a Trace. Usable directly for models called in unusual ways; trace()
// below is the ordinary entry.
class Tracer : public autograd::OpHook {
 public:
  Tracer(Module& model, TraceOptions options) : model_(model), options_(std::move(options)) {
    for (const auto& [path, module] : model.named_modules()) paths_[module.get()] = path;
    for (const auto& [name, tensor] : model.state_dict()) {
      const bool is_parameter = model.named_parameters().contains(name) ||
                                model.named_parameters_in(kArchitecture).contains(name);
      known_[key(tensor)] = {name, is_parameter ? ValueSource::parameter : ValueSource::buffer};
    }
  }

  void set_input(const Tensor<float>& x) { trace_.input_ = add_value(x, ValueSource::input, -1); }
  Trace finish(const Tensor<float>& output) {
    trace_.output_ = value_of(output);
    if (!options_.keep_values)
      for (TraceValue& v : trace_.values_) v.tensor = Tensor<float>();
    return std::move(trace_);
  }

  Tensor<float> on_op(std::string_view kind, const std::vector<Tensor<float>>& inputs,
                      const autograd::OpAttributes& attributes,
                      const Tensor<float>& output) override {
    record(std::string(kind), inputs, attributes, output, current_module(), current_path());
    return output;
  }

  bool enter_module(const void* module, Tensor<float>& input) override {
    const auto* m = static_cast<const Module*>(module);
    const bool leaf = stack_.size() > 0 && options_.is_leaf && options_.is_leaf(*m);
    stack_.push_back(m);
    (void)input;
    return leaf;
  }
  Tensor<float> exit_module(const void* module, const Tensor<float>& input,
                            const Tensor<float>& output, bool leaf, bool failed) override {
    (void)module;
    if (leaf && !failed) {
      const Module* m = stack_.back();
      record("module", {input}, {}, output, m, path_of(m));
    }
    stack_.pop_back();
    return output;
  }

 private:
  using Key = std::tuple<const void*, std::int64_t, Shape, Shape>;
  struct Known {
    std::string name;
    ValueSource source;
  };

  static Key key(const Tensor<float>& t) {
    return {static_cast<const void*>(t.storage().get()), t.storage_offset(), t.shape(),
            t.strides()};
  }

  std::string path_of(const Module* m) const {
    const auto it = paths_.find(m);
    if (it != paths_.end()) return it->second;
    // Not registered in the model: name it by its type under the enclosing module.
    std::string parent;
    for (auto s = stack_.rbegin(); s != stack_.rend(); ++s)
      if (*s != m && paths_.count(*s)) {
        parent = paths_.at(*s);
        break;
      }
    return (parent.empty() ? "" : parent + ".") + "<unregistered " + m->type_name() + ">";
  }
  const Module* current_module() const { return stack_.empty() ? &model_ : stack_.back(); }
  std::string current_path() const { return path_of(current_module()); }

  std::int64_t add_value(const Tensor<float>& t, ValueSource source, std::int64_t producer,
                         std::string name = {}) {
    TraceValue v;
    v.id = static_cast<std::int64_t>(trace_.values_.size());
    v.source = source;
    v.shape = t.shape();
    v.producer = producer;
    v.name = std::move(name);
    // Every value is kept alive while tracing, so that no storage is reused under a live key;
    // the tensors are dropped at the end unless keep_values.
    v.tensor = t.detach();
    ids_[key(t)] = v.id;
    trace_.values_.push_back(std::move(v));
    return trace_.values_.back().id;
  }

  std::int64_t value_of(const Tensor<float>& t) {
    if (!t.defined()) return -1;
    const Key k = key(t);
    if (const auto it = ids_.find(k); it != ids_.end()) return it->second;
    if (const auto it = known_.find(k); it != known_.end())
      return add_value(t, it->second.source, -1, it->second.name);
    return add_value(t, ValueSource::constant, -1);
  }

  void record(std::string kind, const std::vector<Tensor<float>>& inputs,
              const autograd::OpAttributes& attributes, const Tensor<float>& output,
              const Module* module, std::string path) {
    TraceOp op;
    op.index = static_cast<std::int64_t>(trace_.ops_.size());
    op.kind = std::move(kind);
    for (const Tensor<float>& in : inputs) op.inputs.push_back(value_of(in));
    op.attributes = attributes;
    op.module_path = std::move(path);
    op.module_type = module->type_name();
    op.module = module;
    for (const Module* m : stack_) op.enclosing_types.push_back(m->type_name());
    // An op that returns its input unchanged (dropout in eval) still makes a new value.
    op.output = add_value(output, ValueSource::op, op.index);
    trace_.ops_.push_back(std::move(op));
  }

  Module& model_;
  TraceOptions options_;
  Trace trace_;
  std::map<Key, std::int64_t> ids_;
  std::map<Key, Known> known_;
  std::unordered_map<const Module*, std::string> paths_;
  std::vector<const Module*> stack_;
};

// Runs model(input) once with gradients off and returns the trace of what it ran.
inline Trace trace(Module& model, const Tensor<float>& input, TraceOptions options = {}) {
  FROST_CHECK(input.defined(), "nn::trace", "input must be a defined tensor");
  Tracer tracer(model, std::move(options));
  const NoGradGuard no_grad;
  const autograd::OpHookGuard installed(&tracer);
  tracer.set_input(input);
  const Tensor<float> output = model(input);
  return tracer.finish(output);
}

}  // namespace frost::nn
