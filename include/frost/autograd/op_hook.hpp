#pragma once
// The op hook: how a trace (quant/trace.hpp) and the quantization runtime see the computation a
// model runs, without the model's code being written for them.
//
// Every traced op (conv2d, linear, batch_norm2d, add, mul, cat, relu, flatten, ...) opens an
// OpScope at its top and passes its result through OpScope::finish(kind, inputs, attributes,
// output) at its end. When a hook is installed on the thread (OpHookGuard) and the op runs at
// top level, that is neither inside another traced op (linear's reshape, the ops a backward or
// an observer runs) nor inside a module the hook runs as a leaf, the hook sees the op and may
// replace its output: a trace records it, fake quantization rewrites it. With no hook installed
// an op pays two thread-local increments.
//
// nn::Module::operator() reports module entry and exit to the hook, so that it knows which
// module (by its path in the model) each op ran in, and can run a module as a leaf: one opaque
// op (a QAT conv) whose inner ops it does not see.
//
// Only Tensor<float> ops reach the hook: models are float.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace frost {

template <class T>
class Tensor;

namespace autograd {

// One named attribute of an op: integers (stride {2, 2}, groups, dim) and reals (eps, p) are
// all held as doubles, exact for every integer an op takes.
struct OpAttribute {
  std::string name;
  std::vector<double> values;
};
using OpAttributes = std::vector<OpAttribute>;

class OpHook {
 public:
  virtual ~OpHook() = default;
  // A top-level op ran; returns its output, or a replacement of the same shape.
  virtual Tensor<float> on_op(std::string_view kind, const std::vector<Tensor<float>>& inputs,
                              const OpAttributes& attributes, const Tensor<float>& output) = 0;
  // A module's operator() starts; `module` is the nn::Module. The hook may replace `input`
  // (quantization of a model's input). Returns true to run the module as a leaf.
  virtual bool enter_module(const void* module, Tensor<float>& input) = 0;
  // The module's forward has returned `output` (or thrown: `failed`). For a leaf module the
  // returned tensor replaces its output; for others it is ignored.
  virtual Tensor<float> exit_module(const void* module, const Tensor<float>& input,
                                    const Tensor<float>& output, bool leaf, bool failed) = 0;
};

namespace detail {
inline OpHook*& op_hook_slot() {
  static thread_local OpHook* hook = nullptr;
  return hook;
}
// Nesting depth of traced ops and leaf modules on this thread.
inline int& op_depth() {
  static thread_local int depth = 0;
  return depth;
}
}  // namespace detail

// The hook of this thread when an op at the current depth would reach it, else null.
inline OpHook* top_level_op_hook() {
  return detail::op_depth() == 0 ? detail::op_hook_slot() : nullptr;
}
inline OpHook* installed_op_hook() {
  return detail::op_hook_slot();
}

// Installs `hook` on this thread for the guard's lifetime (nullptr hides the current one).
class OpHookGuard {
 public:
  explicit OpHookGuard(OpHook* hook)
      : previous_(detail::op_hook_slot()), previous_depth_(detail::op_depth()) {
    detail::op_hook_slot() = hook;
    detail::op_depth() = 0;
  }
  OpHookGuard(const OpHookGuard&) = delete;
  OpHookGuard& operator=(const OpHookGuard&) = delete;
  ~OpHookGuard() {
    detail::op_hook_slot() = previous_;
    detail::op_depth() = previous_depth_;
  }

 private:
  OpHook* previous_;
  int previous_depth_;
};

// Raises the depth for its lifetime: what runs inside is not top level.
class OpDepthGuard {
 public:
  OpDepthGuard() { ++detail::op_depth(); }
  OpDepthGuard(const OpDepthGuard&) = delete;
  OpDepthGuard& operator=(const OpDepthGuard&) = delete;
  ~OpDepthGuard() { --detail::op_depth(); }
};

// Opened at the top of a traced op; finish() hands the result to the hook.
class OpScope {
 public:
  OpScope() : hook_(top_level_op_hook()) { ++detail::op_depth(); }
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;
  ~OpScope() { --detail::op_depth(); }

  bool traced() const { return hook_ != nullptr; }

  struct NoAttributes {
    OpAttributes operator()() const { return {}; }
  };

  // `attributes` is a callable returning OpAttributes, called only when the op is traced, so
  // untraced ops build no strings.
  template <class T, class Attributes = NoAttributes>
  Tensor<T> finish(std::string_view kind, std::initializer_list<const Tensor<T>*> inputs,
                   Tensor<T> output, Attributes&& attributes = {}) const {
    if constexpr (std::is_same_v<T, float>) {
      if (hook_) {
        std::vector<Tensor<T>> in;  // dependent: Tensor may be incomplete where this is parsed
        in.reserve(inputs.size());
        for (const Tensor<T>* t : inputs) in.push_back(*t);
        return hook_->on_op(kind, in, attributes(), output);
      }
    }
    (void)kind, (void)inputs, (void)attributes;
    return output;
  }
  template <class T, class Attributes = NoAttributes>
  Tensor<T> finish(std::string_view kind, const std::vector<Tensor<T>>& inputs, Tensor<T> output,
                   Attributes&& attributes = {}) const {
    if constexpr (std::is_same_v<T, float>) {
      if (hook_) return hook_->on_op(kind, inputs, attributes(), output);
    }
    (void)kind, (void)inputs, (void)attributes;
    return output;
  }

 private:
  OpHook* hook_;
};

}  // namespace autograd
}  // namespace frost
