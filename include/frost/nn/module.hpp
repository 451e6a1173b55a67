#pragma once
// nn::Module: the base of every layer and model, in the libtorch style. A module registers its
// parameters, buffers and children by name; from those registries come, recursively and with
// dotted names ("features.0.weight"), named_parameters(), state_dict(), train()/eval() and the
// printed model. Modules are held by std::shared_ptr; forward(Tensor<float>) -> Tensor<float>
// is the one virtual a layer implements, and operator() runs it with the hooks.
//
// What later layers rely on (DESIGN.md section 1):
//   - replace_module("features.0", m) swaps a submodule by its dotted path (QAT fusion and
//     prepare). The swap takes effect however the parent calls the child: containers look it up
//     in the registry, and the replaced module itself forwards every later call of its
//     operator() to its replacement, so a model that keeps a typed pointer
//     (std::shared_ptr<Conv2d> conv_) and calls (*conv_)(x) runs the replacement too. Only a
//     direct call of conv_->forward(x) bypasses it; quantization detects that from the trace
//     and says so.
//   - operator() reports module entry and exit to the op hook (autograd/op_hook.hpp), which
//     is how a trace knows the module path of every op.
//   - register_forward_pre_hook / register_forward_hook rewrite a module's input / output
//     (fake quantization around a module, observers, tracing which module ran).
//   - Parameters belong to a group: the default group (kWeights) is what parameters() and
//     named_parameters() return; other groups (the architecture search's kArchitecture logits)
//     come from parameters_in(group) and never reach a weight optimizer by accident. Every group
//     is saved in state_dict().
//
// Parameters and buffers are Tensor<float>; a counter like BatchNorm2d's num_batches_tracked is
// stored as float (exact up to 2^24).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "frost/autograd/grad_mode.hpp"
#include "frost/autograd/op_hook.hpp"
#include "frost/core/error.hpp"
#include "frost/core/tensor.hpp"
#include "frost/nn/ordered_dict.hpp"

namespace frost::nn {

namespace detail {
// The replaced modules whose call is being forwarded on this thread: a replacement that wraps
// the module it replaced (and calls it) reaches the original forward() instead of looping.
inline std::vector<const void*>& redirect_stack() {
  static thread_local std::vector<const void*> stack;
  return stack;
}
inline bool redirecting(const void* module) {
  const auto& s = redirect_stack();
  return std::find(s.begin(), s.end(), module) != s.end();
}
class RedirectGuard {
 public:
  explicit RedirectGuard(const void* module) { redirect_stack().push_back(module); }
  RedirectGuard(const RedirectGuard&) = delete;
  RedirectGuard& operator=(const RedirectGuard&) = delete;
  ~RedirectGuard() { redirect_stack().pop_back(); }
};
}  // namespace detail

using StateDict = OrderedDict<Tensor<float>>;

// Parameter groups: ordinary weights, and the architecture search's logits.
inline constexpr std::string_view kWeights = "weights";
inline constexpr std::string_view kArchitecture = "architecture";

// What load_state_dict(dict, /*strict=*/false) did not load.
struct LoadResult {
  std::vector<std::string> missing_keys;     // in the module, not in the dict
  std::vector<std::string> unexpected_keys;  // in the dict, not in the module
  std::vector<std::string> mismatched_keys;  // in both with different shapes (left unchanged)
  bool ok() const {
    return missing_keys.empty() && unexpected_keys.empty() && mismatched_keys.empty();
  }
};

// "missing keys [a, b]; unexpected keys [c]; shape mismatches [...]", or "ok".
inline std::string describe(const LoadResult& r) {
  std::ostringstream os;
  auto list = [&os](const char* what, const std::vector<std::string>& names) {
    if (names.empty()) return;
    os << what << " [";
    for (std::size_t i = 0; i < names.size(); ++i) os << (i ? ", " : "") << names[i];
    os << "]; ";
  };
  list("missing keys", r.missing_keys);
  list("unexpected keys", r.unexpected_keys);
  list("shape mismatches", r.mismatched_keys);
  std::string s = os.str();
  return s.empty() ? "ok" : s.substr(0, s.size() - 2);
}

class Module : public std::enable_shared_from_this<Module> {
 public:
  // input -> (possibly replaced) input, run before forward().
  using ForwardPreHook = std::function<Tensor<float>(Module&, const Tensor<float>& input)>;
  // (input, output) -> (possibly replaced) output, run after forward().
  using ForwardHook = std::function<Tensor<float>(Module&, const Tensor<float>& input,
                                                  const Tensor<float>& output)>;

  explicit Module(std::string type_name = "Module") : type_name_(std::move(type_name)) {}
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  virtual ~Module() = default;

  // ---- computation ---------------------------------------------------------------------------
  virtual Tensor<float> forward(const Tensor<float>& input) {
    (void)input;
    frost::detail::throw_error(type_name_.c_str(), "this module does not implement forward()");
  }

  Tensor<float> operator()(const Tensor<float>& input) {
    if (replacement_ && !detail::redirecting(this)) {
      const detail::RedirectGuard guard(this);
      return (*replacement_)(input);
    }
    if (own_op_hook_) {
      // This module's own hook (a quantization runtime) sees everything it runs.
      const autograd::OpHookGuard installed(own_op_hook_.get());
      return call_with_op_hook(own_op_hook_.get(), input);
    }
    autograd::OpHook* const op_hook = autograd::top_level_op_hook();
    if (op_hook == nullptr) return run_with_hooks(input);
    return call_with_op_hook(op_hook, input);
  }

  // Installs `hook` for every call of this module (null removes it). Quantization's prepare
  // gives the prepared model its runtime this way.
  void set_op_hook(std::shared_ptr<autograd::OpHook> hook) { own_op_hook_ = std::move(hook); }
  const std::shared_ptr<autograd::OpHook>& op_hook() const { return own_op_hook_; }

  // The module that now runs in this one's place (replace_module), or null.
  std::shared_ptr<Module> replacement() const { return replacement_; }

  // Hooks run in registration order; the returned id removes them.
  std::size_t register_forward_pre_hook(ForwardPreHook hook) {
    pre_hooks_.emplace_back(++last_hook_id_, std::move(hook));
    return last_hook_id_;
  }
  std::size_t register_forward_hook(ForwardHook hook) {
    hooks_.emplace_back(++last_hook_id_, std::move(hook));
    return last_hook_id_;
  }
  bool remove_hook(std::size_t id) {
    return std::erase_if(pre_hooks_, [id](const auto& h) { return h.first == id; }) +
               std::erase_if(hooks_, [id](const auto& h) { return h.first == id; }) >
           0;
  }

  // ---- registration --------------------------------------------------------------------------
  // Registers `tensor` (its handle: the module and the caller share storage and gradient) and
  // returns it with requires_grad set.
  Tensor<float> register_parameter(std::string name, Tensor<float> tensor,
                                   bool requires_grad = true, std::string_view group = kWeights) {
    check_new_name(name, "register_parameter");
    FROST_CHECK(tensor.defined(), "register_parameter", type_name_, ": parameter '", name,
                "' is undefined");
    FROST_CHECK(tensor.is_leaf(), "register_parameter", type_name_, ": parameter '", name,
                "' must be a leaf tensor (detach() it)");
    tensor.requires_grad_(requires_grad);
    parameters_.insert(std::move(name), Parameter{tensor, std::string(group)});
    return tensor;
  }

  Tensor<float> register_buffer(std::string name, Tensor<float> tensor) {
    check_new_name(name, "register_buffer");
    FROST_CHECK(tensor.defined(), "register_buffer", type_name_, ": buffer '", name,
                "' is undefined");
    buffers_.insert(std::move(name), tensor);
    return tensor;
  }

  template <class M>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module) {
    static_assert(std::is_base_of_v<Module, M>, "register_module: M must derive from nn::Module");
    check_new_name(name, "register_module");
    FROST_CHECK(module != nullptr, "register_module", type_name_, ": submodule '", name,
                "' is null");
    children_.insert(std::move(name), module);
    return module;
  }

  // Swaps the submodule at a dotted path ("features.0") for `module`, keeping its name and
  // position; returns the module it replaced.
  std::shared_ptr<Module> replace_module(std::string_view path, std::shared_ptr<Module> module) {
    FROST_CHECK(module != nullptr, "replace_module", type_name_, ": replacement for '", path,
                "' is null");
    const std::size_t dot = path.rfind('.');
    Module& parent = dot == std::string_view::npos ? *this : *submodule(path.substr(0, dot));
    const std::string_view name = dot == std::string_view::npos ? path : path.substr(dot + 1);
    std::shared_ptr<Module>* slot = parent.children_.find(name);
    FROST_CHECK(slot != nullptr, "replace_module", type_name_, ": no submodule '", path, "'");
    FROST_CHECK(!module->reaches(slot->get()), "replace_module", type_name_, ": the replacement ",
                module->repr(), " for '", path, "' forwards to the module it replaces");
    std::shared_ptr<Module> old = std::exchange(*slot, module);
    if (old != module) old->replacement_ = std::move(module);
    return old;
  }

  // ---- lookup --------------------------------------------------------------------------------
  const std::string& type_name() const { return type_name_; }

  // The direct child `name`; throws when there is none.
  std::shared_ptr<Module> child(std::string_view name) const {
    const std::shared_ptr<Module>* found = children_.find(name);
    FROST_CHECK(found != nullptr, "Module::child", type_name_, " has no child '", name, "'");
    return *found;
  }
  // The submodule at a dotted path; "" is this module.
  std::shared_ptr<Module> submodule(std::string_view path) {
    std::shared_ptr<Module> current = self();
    const std::string_view full_path = path;
    while (!path.empty()) {
      const std::size_t dot = path.find('.');
      const std::shared_ptr<Module>* next = current->children_.find(path.substr(0, dot));
      FROST_CHECK(next != nullptr, "Module::submodule", type_name_, " has no submodule '",
                  full_path, "'");
      current = *next;
      path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    }
    return current;
  }
  Tensor<float> parameter(std::string_view name) const {
    const Parameter* p = parameters_.find(name);
    FROST_CHECK(p != nullptr, "Module::parameter", type_name_, " has no parameter '", name, "'");
    return p->tensor;
  }
  Tensor<float> buffer(std::string_view name) const {
    const Tensor<float>* b = buffers_.find(name);
    FROST_CHECK(b != nullptr, "Module::buffer", type_name_, " has no buffer '", name, "'");
    return *b;
  }

  // ---- traversal -----------------------------------------------------------------------------
  // Parameters of the default group (what an optimizer of the weights takes).
  OrderedDict<Tensor<float>> named_parameters(bool recurse = true) const {
    return named_parameters_in(kWeights, recurse);
  }
  std::vector<Tensor<float>> parameters(bool recurse = true) const {
    return named_parameters(recurse).values();
  }
  OrderedDict<Tensor<float>> named_parameters_in(std::string_view group,
                                                 bool recurse = true) const {
    OrderedDict<Tensor<float>> out;
    visit(recurse, "", [&](const Module& m, const std::string& prefix) {
      for (const auto& [name, p] : m.parameters_)
        if (p.group == group) out.insert(prefix + name, p.tensor);
    });
    return out;
  }
  std::vector<Tensor<float>> parameters_in(std::string_view group, bool recurse = true) const {
    return named_parameters_in(group, recurse).values();
  }
  OrderedDict<Tensor<float>> named_buffers(bool recurse = true) const {
    OrderedDict<Tensor<float>> out;
    visit(recurse, "", [&](const Module& m, const std::string& prefix) {
      for (const auto& [name, b] : m.buffers_) out.insert(prefix + name, b);
    });
    return out;
  }
  std::vector<Tensor<float>> buffers(bool recurse = true) const {
    return named_buffers(recurse).values();
  }

  const OrderedDict<std::shared_ptr<Module>>& named_children() const { return children_; }
  std::vector<std::shared_ptr<Module>> children() const { return children_.values(); }

  // This module (named "") and every submodule, depth first, parents before children.
  OrderedDict<std::shared_ptr<Module>> named_modules() {
    OrderedDict<std::shared_ptr<Module>> out;
    out.insert("", self());
    collect_modules("", out);
    return out;
  }

  // Calls fn on every submodule, children before parents, then on this module (torch's
  // Module.apply), e.g. to initialise every Conv2d of a model.
  void apply(const std::function<void(Module&)>& fn) {
    for (auto& [name, child] : children_) child->apply(fn);
    fn(*this);
  }

  // ---- mode ----------------------------------------------------------------------------------
  virtual void train(bool on = true) {
    training_ = on;
    for (auto& [name, child] : children_) child->train(on);
  }
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Drops the gradient of every parameter, of every group.
  void zero_grad() {
    visit(true, "", [](const Module& m, const std::string&) {
      for (const auto& [name, p] : m.parameters_) Tensor<float>(p.tensor).zero_grad();
    });
  }

  // ---- state ---------------------------------------------------------------------------------
  // Parameters (every group) then buffers of each module, parents before children, by dotted
  // name. The tensors share storage with the module (detached from the graph).
  StateDict state_dict() const {
    StateDict out;
    visit(true, "", [&](const Module& m, const std::string& prefix) {
      for (const auto& [name, p] : m.parameters_) out.insert(prefix + name, p.tensor.detach());
      for (const auto& [name, b] : m.buffers_) out.insert(prefix + name, b.detach());
    });
    return out;
  }

  // Copies the dict's tensors into this module's (in place: handles stay valid). Strict: any
  // missing, unexpected or mis-shaped name throws a frost::Error listing them all and nothing is
  // loaded. Not strict: loads every name that matches and returns the others.
  LoadResult load_state_dict(const StateDict& dict, bool strict = true) {
    const StateDict own = state_dict();
    LoadResult result;
    for (const auto& [name, target] : own) {
      const Tensor<float>* source = dict.find(name);
      if (!source)
        result.missing_keys.push_back(name);
      else if (source->shape() != target.shape())
        result.mismatched_keys.push_back(name + " (module " + shape_str(target.shape()) +
                                         ", dict " + shape_str(source->shape()) + ")");
    }
    for (const auto& [name, source] : dict)
      if (!own.contains(name)) result.unexpected_keys.push_back(name);
    FROST_CHECK(!strict || result.ok(), "load_state_dict", type_name_, ": ", describe(result));

    NoGradGuard no_grad;
    for (const auto& [name, target] : own) {
      const Tensor<float>* source = dict.find(name);
      if (source && source->shape() == target.shape()) Tensor<float>(target).copy_(*source);
    }
    return result;
  }

  // ---- printing ------------------------------------------------------------------------------
  // The text inside the parentheses of this module's line ("1, 32, kernel_size=(3, 3)").
  virtual std::string extra_repr() const { return {}; }
  // "Conv2d(1, 32, kernel_size=(3, 3), ...)": how error messages name the layer.
  std::string repr() const { return type_name_ + "(" + extra_repr() + ")"; }

  void print(std::ostream& os, int indent = 0) const {
    os << type_name_ << '(' << extra_repr();
    if (!children_.empty()) {
      os << '\n';
      for (const auto& [name, child] : children_) {
        os << std::string(indent + 2, ' ') << '(' << name << "): ";
        child->print(os, indent + 2);
        os << '\n';
      }
      os << std::string(indent, ' ');
    }
    os << ')';
  }

 protected:
  // For subclasses that set their printed name after construction.
  void set_type_name(std::string name) { type_name_ = std::move(name); }

 private:
  Tensor<float> call_with_op_hook(autograd::OpHook* op_hook, const Tensor<float>& given) {
    Tensor<float> input = given;
    const bool leaf = op_hook->enter_module(this, input);
    Tensor<float> y;
    try {
      if (leaf) {
        const autograd::OpDepthGuard hidden;
        y = run_with_hooks(input);
      } else {
        y = run_with_hooks(input);
      }
    } catch (...) {
      op_hook->exit_module(this, input, Tensor<float>(), leaf, true);
      throw;
    }
    Tensor<float> out = op_hook->exit_module(this, input, y, leaf, false);
    return leaf ? out : y;
  }

  Tensor<float> run_with_hooks(const Tensor<float>& input) {
    if (pre_hooks_.empty() && hooks_.empty()) return forward(input);
    Tensor<float> x = input;
    for (auto& [id, hook] : pre_hooks_) x = hook(*this, x);
    Tensor<float> y = forward(x);
    for (auto& [id, hook] : hooks_) y = hook(*this, x, y);
    return y;
  }

  // True when calls of this module end up in `other` (itself or through replacements).
  bool reaches(const Module* other) const {
    for (const Module* m = this; m != nullptr; m = m->replacement_.get())
      if (m == other) return true;
    return false;
  }

  struct Parameter {
    Tensor<float> tensor;
    std::string group;
  };

  // A shared_ptr to this module: the owning one when it is held by a shared_ptr, otherwise a
  // non-owning one (valid while the module lives).
  std::shared_ptr<Module> self() {
    if (auto owner = weak_from_this().lock()) return owner;
    return std::shared_ptr<Module>(std::shared_ptr<Module>(), this);
  }

  template <class Fn>
  void visit(bool recurse, const std::string& prefix, Fn&& fn) const {
    fn(*this, prefix);
    if (!recurse) return;
    for (const auto& [name, child] : children_) child->visit(true, prefix + name + ".", fn);
  }

  void collect_modules(const std::string& prefix, OrderedDict<std::shared_ptr<Module>>& out) const {
    for (const auto& [name, child] : children_) {
      const std::string path = prefix.empty() ? name : prefix + "." + name;
      out.insert(path, child);
      child->collect_modules(path, out);
    }
  }

  void check_new_name(const std::string& name, const char* op) const {
    FROST_CHECK(!name.empty() && name.find('.') == std::string::npos, op, type_name_,
                ": invalid name '", name, "' (must be non-empty and contain no '.')");
    FROST_CHECK(
        !parameters_.contains(name) && !buffers_.contains(name) && !children_.contains(name), op,
        type_name_, ": name '", name, "' is already registered");
  }

  std::string type_name_;
  bool training_ = true;
  OrderedDict<Parameter> parameters_;
  OrderedDict<Tensor<float>> buffers_;
  OrderedDict<std::shared_ptr<Module>> children_;
  std::vector<std::pair<std::size_t, ForwardPreHook>> pre_hooks_;
  std::vector<std::pair<std::size_t, ForwardHook>> hooks_;
  std::size_t last_hook_id_ = 0;
  std::shared_ptr<Module> replacement_;
  std::shared_ptr<autograd::OpHook> own_op_hook_;
};

inline std::ostream& operator<<(std::ostream& os, const Module& m) {
  m.print(os);
  return os;
}

// Number of elements in the parameters of the default group.
inline std::int64_t count_parameters(const Module& m) {
  std::int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace frost::nn
