#pragma once
// The optimizer base. Two levels:
//
//   Optimizer                      what a trainer or an LR schedule talks to: step(), zero_grad(),
//                                  the parameter groups and their learning rates.
//   BasicOptimizer<Options, State> parameter groups that each carry a full copy of the options,
//                                  lazily created per-parameter state, input validation, and the
//                                  gradient-transform extension point. SGD, RMSprop, Adam and
//                                  AdamW implement update() on raw float pointers.
//
// Parameters are Tensor<float> handles: copies of a module's parameters share their storage and
// their autograd state, so the optimizer sees the gradients backward() accumulates and writes the
// updated values where the module reads them. A parameter without a gradient is skipped, as in
// PyTorch (and its state is not created).
//
// State dicts (optim/state_dict.hpp): state_dict() / load_state_dict() hold every group's
// options and every parameter's state; Options and State list their fields for it with a static
// fields(self, fn) (see detail::DescribesFields), and a subclass with state of its own (GradBoost)
// adds it through write_extra_state() / read_extra_state().
//
// Extension point (GradBoost, DESIGN.md §5). An optimizer that overrides transforms_gradient() to
// return true gets transform_gradient(group, index, grad) called once per parameter and step,
// with a private copy of the gradient it may rewrite (the parameter's own .grad() is left
// untouched). Each optimizer calls it where §5 puts the GradBoost noise:
//   SGD, RMSprop: on the raw gradient, before the L2 weight-decay term is added;
//   Adam:         after the L2 term (g + weight_decay * p);
//   AdamW:        after the decoupled decay p *= 1 - lr * weight_decay.
// A GradBoost variant is then a thin subclass (or one mixin template over all four optimizers)
// that keeps its exp_min / exp_max / step / restart-step state per (group, index) and a warm-up
// flag, and adds the boost to `grad` in transform_gradient().

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "frost/core/error.hpp"
#include "frost/core/parallel.hpp"
#include "frost/core/tensor.hpp"
#include "frost/optim/state_dict.hpp"

namespace frost::optim {

// A parameter group given as overrides of the optimizer's default options: only the learning
// rate and the weight decay, the two things the usual groupings (no decay on biases and
// normalisation, DESIGN.md §5's depthwise / BN groups) change. For other per-group options use
// add_param_group(params, options).
struct ParamGroupSpec {
  std::vector<Tensor<float>> params = {};
  std::optional<double> lr = std::nullopt;
  std::optional<double> weight_decay = std::nullopt;
};

// A parameter group as stored: its parameters and its own copy of every option.
template <class Options>
struct ParamGroup {
  std::vector<Tensor<float>> params;
  Options options;
};

class Optimizer {
 public:
  Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;
  virtual ~Optimizer() = default;

  // One update of every parameter that has a gradient. Records no autograd graph.
  virtual void step() = 0;
  // Drops every parameter's gradient (set_to_none, PyTorch's default) or fills it with zeros.
  virtual void zero_grad(bool set_to_none = true) = 0;

  virtual const char* name() const = 0;
  virtual std::size_t num_param_groups() const = 0;
  virtual const std::vector<Tensor<float>>& params(std::size_t group) const = 0;
  virtual double lr(std::size_t group) const = 0;
  virtual void set_lr(std::size_t group, double lr) = 0;

  // Sets the learning rate of every group.
  void set_lr(double lr) {
    for (std::size_t g = 0; g < num_param_groups(); ++g) set_lr(g, lr);
  }

  // A snapshot of the optimizer's state: the options of every group and the state of every
  // parameter (layout: optim/state_dict.hpp). optim::save writes it to a file.
  virtual OptimStateDict state_dict() const = 0;
  // Replaces every group's options and every parameter's state with copies of the dict's. The
  // dict must come from the same kind of optimizer over parameters of the same shapes in the
  // same groups; otherwise a frost::Error says what differs and nothing has changed.
  virtual void load_state_dict(const OptimStateDict& dict) = 0;
};

namespace detail {

// Below this many elements an update runs on the calling thread: waking the pool costs more than
// a few microseconds of streaming arithmetic.
inline constexpr std::int64_t kUpdateGrain = std::int64_t(1) << 15;

// Runs body(lo, hi) over [0, n) in parallel chunks. Updates are element-wise, so the result does
// not depend on the split.
template <class Body>
inline void for_each_chunk(std::int64_t n, Body&& body) {
  parallel_for(0, n, kUpdateGrain, std::forward<Body>(body));
}

inline void check_finite_nonnegative(const char* op, const char* what, double value) {
  FROST_CHECK(std::isfinite(value) && value >= 0.0, op, "invalid ", what, " ", value,
              " (must be finite and >= 0)");
}

}  // namespace detail

// One parameter's part of a step: the tensor, where its values and its (contiguous) gradient live.
struct ParamUpdate {
  std::size_t group = 0;
  std::size_t index = 0;
  const Tensor<float>* tensor = nullptr;
  float* param = nullptr;
  const float* grad = nullptr;
  std::int64_t numel = 0;
};

// Options must provide `double lr`, `double weight_decay` and `void validate(const char* op)
// const`; State must be default-constructible (the state of a parameter that has not been updated
// yet). For state dicts both also provide a static fields(self, fn) (optim/state_dict.hpp).
template <class Options, class State>
class BasicOptimizer : public Optimizer {
 public:
  using options_type = Options;
  using state_type = State;

  const char* name() const final { return name_; }
  std::size_t num_param_groups() const final { return groups_.size(); }
  const ParamGroup<Options>& param_group(std::size_t group) const {
    return groups_[checked(group)];
  }
  const std::vector<Tensor<float>>& params(std::size_t group) const final {
    return groups_[checked(group)].params;
  }
  const Options& options(std::size_t group) const { return groups_[checked(group)].options; }
  const Options& defaults() const { return defaults_; }

  double lr(std::size_t group) const final { return groups_[checked(group)].options.lr; }
  void set_lr(std::size_t group, double lr) final {
    detail::check_finite_nonnegative(name(), "learning rate", lr);
    groups_[checked(group)].options.lr = lr;
  }
  using Optimizer::set_lr;

  // Replaces a group's options (validated); its parameters and their state are kept.
  void set_options(std::size_t group, const Options& options) {
    options.validate(name());
    groups_[checked(group)].options = options;
  }

  // The state of parameter `index` of `group`; default (empty) until its first update.
  const State& state(std::size_t group, std::size_t index) const {
    FROST_CHECK(index < states_[checked(group)].size(), name(), "parameter index ", index,
                " out of range for group ", group, " of ", states_[group].size(), " parameters");
    return states_[group][index];
  }

  // Adds a group of parameters with its own options. Parameters must be contiguous leaf tensors
  // and may appear in only one group.
  void add_param_group(std::vector<Tensor<float>> params, const Options& options) {
    options.validate(name());
    for (std::size_t i = 0; i < params.size(); ++i) {
      const Tensor<float>& p = params[i];
      FROST_CHECK(p.defined(), name(), "parameter ", i, " of group ", groups_.size(),
                  " is undefined");
      FROST_CHECK(p.is_leaf(), name(), "cannot optimize a non-leaf tensor of shape ",
                  shape_str(p.shape()), " (parameter ", i, " of group ", groups_.size(), ")");
      FROST_CHECK(p.is_contiguous(), name(), "parameter ", i, " of group ", groups_.size(),
                  " (shape ", shape_str(p.shape()), ") is not contiguous");
      if (p.numel() == 0) continue;
      for (const auto& group : groups_)
        for (const auto& q : group.params)
          FROST_CHECK(q.data() != p.data(), name(), "a parameter of shape ", shape_str(p.shape()),
                      " appears in more than one parameter group");
      for (std::size_t j = 0; j < i; ++j)
        FROST_CHECK(params[j].data() != p.data(), name(), "parameter ", i, " (shape ",
                    shape_str(p.shape()), ") appears twice in group ", groups_.size());
    }
    states_.emplace_back(params.size());
    groups_.push_back(ParamGroup<Options>{std::move(params), options});
  }

  void step() final {
    NoGradGuard no_grad;
    for (std::size_t g = 0; g < groups_.size(); ++g) {
      auto& group = groups_[g];
      for (std::size_t i = 0; i < group.params.size(); ++i) {
        Tensor<float>& p = group.params[i];
        Tensor<float> grad = p.grad();
        if (!grad.defined()) continue;
        FROST_CHECK(grad.shape() == p.shape(), name(), "gradient of shape ",
                    shape_str(grad.shape()), " for parameter ", i, " of group ", g, " of shape ",
                    shape_str(p.shape()));
        grad = grad.contiguous();
        update(group.options, states_[g][i],
               ParamUpdate{g, i, &p, p.data(), grad.data(), p.numel()});
      }
    }
  }

  OptimStateDict state_dict() const override {
    if constexpr (!detail::DescribesFields<Options> || !detail::DescribesFields<State>) {
      frost::detail::throw_error(name(),
                                 "state_dict: the options or state type does not list its "
                                 "fields (static fields(self, fn))");
    } else {
      OptimStateDict dict;
      dict.metadata["format"] = kOptimizerStateFormat;
      dict.metadata["optimizer"] = name();
      detail::put(dict, "param_groups", static_cast<std::int64_t>(groups_.size()));
      std::size_t index = 0;
      for (std::size_t g = 0; g < groups_.size(); ++g) {
        const std::string prefix = "param_groups." + std::to_string(g) + ".";
        detail::put(dict, prefix + "params", static_cast<std::int64_t>(groups_[g].params.size()));
        Options::fields(groups_[g].options, [&](const char* field, const auto& value) {
          detail::put(dict, prefix + field, value);
        });
        for (std::size_t i = 0; i < groups_[g].params.size(); ++i, ++index) {
          dict.metadata["params." + std::to_string(index) + ".shape"] =
              shape_str(groups_[g].params[i].shape());
          State::fields(states_[g][i], [&](const char* field, const auto& value) {
            detail::put(dict, detail::state_key(index, field), value);
          });
        }
      }
      write_extra_state(dict);
      return dict;
    }
  }

  void load_state_dict(const OptimStateDict& dict) override {
    if constexpr (!detail::DescribesFields<Options> || !detail::DescribesFields<State>) {
      (void)dict;
      frost::detail::throw_error(name(),
                                 "load_state_dict: the options or state type does not list its "
                                 "fields (static fields(self, fn))");
    } else {
      // Everything is read and checked into copies first; the optimizer changes only at the end.
      detail::StateDictReader in(dict, name());
      in.expect("format", kOptimizerStateFormat);
      in.expect("optimizer", name());
      const std::size_t num_groups = in.count("param_groups");
      in.fail_unless(num_groups == groups_.size(), "the state dict has ", num_groups,
                     " parameter groups, the optimizer ", groups_.size());
      std::vector<Options> options(groups_.size());
      std::vector<std::vector<State>> states(groups_.size());
      std::size_t index = 0;
      for (std::size_t g = 0; g < groups_.size(); ++g) {
        const std::string prefix = "param_groups." + std::to_string(g) + ".";
        const std::vector<Tensor<float>>& params = groups_[g].params;
        const std::size_t num_params = in.count(prefix + "params");
        in.fail_unless(num_params == params.size(), "group ", g, " has ", num_params,
                       " parameters in the state dict, ", params.size(), " in the optimizer");
        options[g] = groups_[g].options;
        Options::fields(options[g],
                        [&](const char* field, auto& value) { in.read(prefix + field, value); });
        options[g].validate(name());
        states[g].resize(params.size());
        for (std::size_t i = 0; i < params.size(); ++i, ++index) {
          const Shape& shape = params[i].shape();
          const std::string shape_key = "params." + std::to_string(index) + ".shape";
          const std::string& saved_shape = in.text(shape_key);
          in.fail_unless(saved_shape == shape_str(shape), "parameter ", index, " (parameter ", i,
                         " of group ", g, ") has shape ", shape_str(shape), " but \"", shape_key,
                         "\" is ", saved_shape);
          State::fields(states[g][i], [&](const char* field, auto& value) {
            in.read_state(detail::state_key(index, field), value, shape, index);
          });
        }
      }
      std::function<void()> commit_extra = read_extra_state(in);
      in.check_all_read();

      for (std::size_t g = 0; g < groups_.size(); ++g) groups_[g].options = std::move(options[g]);
      states_ = std::move(states);
      if (commit_extra) commit_extra();
    }
  }

  void zero_grad(bool set_to_none = true) final {
    for (auto& group : groups_)
      for (auto& p : group.params) {
        if (set_to_none) {
          p.zero_grad();
        } else if (Tensor<float> grad = p.grad(); grad.defined()) {
          grad.zero_();
        }
      }
  }

 protected:
  BasicOptimizer(const char* name, const Options& defaults) : name_(name), defaults_(defaults) {
    defaults_.validate(name_);
  }

  // Helpers for the derived constructors (PyTorch's "empty parameter list" check included).
  void add_params(std::vector<Tensor<float>> params) {
    FROST_CHECK(!params.empty(), name(), "got an empty parameter list");
    add_param_group(std::move(params), defaults_);
  }
  void add_groups(std::vector<ParamGroupSpec> groups) {
    FROST_CHECK(!groups.empty(), name(), "got an empty list of parameter groups");
    for (auto& spec : groups) {
      Options options = defaults_;
      if (spec.lr) options.lr = *spec.lr;
      if (spec.weight_decay) options.weight_decay = *spec.weight_decay;
      add_param_group(std::move(spec.params), options);
    }
  }

  // State a subclass keeps beside the options and State (GradBoost's), in the same dict.
  // read_extra_state() reads and checks it with `in` (which reports keys nobody read) without
  // changing the optimizer, and returns what installs it; that runs only once the whole dict
  // has been checked, and must not throw.
  virtual void write_extra_state(OptimStateDict& dict) const { (void)dict; }
  virtual std::function<void()> read_extra_state(detail::StateDictReader& in) {
    (void)in;
    return {};
  }

  // Updates one parameter in place from its gradient. Called only for parameters with a gradient.
  virtual void update(const Options& options, State& state, const ParamUpdate& param) = 0;

  // ---- extension point (see the top of this file) --------------------------------------------
  virtual bool transforms_gradient() const { return false; }
  virtual void transform_gradient(std::size_t group, std::size_t index, std::span<float> grad) {
    (void)group, (void)index, (void)grad;
  }

  // For update(): a copy of the gradient, plus l2 * param when l2 != 0 (Adam's order), after the
  // transform. The buffer belongs to the optimizer and stays valid until the next call.
  const float* transformed_gradient(const ParamUpdate& u, float l2) {
    scratch_.resize(static_cast<std::size_t>(u.numel));
    float* out = scratch_.data();
    detail::for_each_chunk(u.numel, [&](std::int64_t lo, std::int64_t hi) {
      if (l2 == 0.0f)
        std::copy(u.grad + lo, u.grad + hi, out + lo);
      else
        for (std::int64_t k = lo; k < hi; ++k) out[k] = u.grad[k] + l2 * u.param[k];
    });
    transform_gradient(u.group, u.index, std::span<float>(out, static_cast<std::size_t>(u.numel)));
    return out;
  }

 private:
  std::size_t checked(std::size_t group) const {
    FROST_CHECK(group < groups_.size(), name(), "parameter group ", group, " out of range (",
                groups_.size(), " groups)");
    return group;
  }

  const char* name_;
  Options defaults_;
  std::vector<ParamGroup<Options>> groups_;
  std::vector<std::vector<State>> states_;
  std::vector<float> scratch_;
};

}  // namespace frost::optim
