#pragma once
// Learning-rate schedules. A schedule is a function of (base lr, step count); the scheduler
// remembers each group's base lr (the group's lr when the scheduler is built), sets every group's
// lr to schedule(base, 0) at once, and to schedule(base, n) after the n-th step(), like
// torch.optim.lr_scheduler (closed forms, so the values do not drift through repeated products).
//
// Whether a step is an epoch or an iteration is the caller's choice: call step() once per epoch,
// or once per iteration with every length given in iterations.
//
//   StepLR(opt, step_size, gamma)            base * gamma^floor(n / step_size)
//   MultiStepLR(opt, milestones, gamma)      base * gamma^(number of milestones <= n)
//   ExponentialLR(opt, gamma)                base * gamma^n
//   LambdaLR(opt, factor)                    base * factor(n)            (one function or one per
//   group) WarmupCosineLR(opt, warmup, total, ...)  linear warm-up from start_factor * base to base
//   over
//                                            `warmup` steps, then cosine from base to eta_min at
//                                            step `total`, eta_min afterwards (the StatAssist &
//                                            GradBoost authors' schedule, start_factor 0, eta_min
//                                            0)
//
// The optimizer must outlive its scheduler. restart() returns to step 0 (StatAssist restarts the
// schedule when quantization-aware training begins, DESIGN.md §4).
//
// state_dict() / load_state_dict() (layout: optim/state_dict.hpp) hold the step count and the
// base lrs, all a scheduler changes as it runs; the schedule itself (step size, milestones, warm-up
// length, ...) is what the constructor was given. Resuming: build the optimizer and the scheduler
// as for the original run, then load both (in either order; loading the scheduler sets the
// optimizer's lrs for the loaded step).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <numbers>
#include <string>
#include <utility>
#include <vector>

#include "frost/core/error.hpp"
#include "frost/optim/optimizer.hpp"

namespace frost::optim {

class LRScheduler {
 public:
  // Maps (group, base lr, step) to that group's lr.
  using Schedule = std::function<double(std::size_t group, double base_lr, std::int64_t step)>;

  LRScheduler(Optimizer& optimizer, Schedule schedule)
      : optimizer_(&optimizer), schedule_(std::move(schedule)) {
    base_lrs_.reserve(optimizer.num_param_groups());
    for (std::size_t g = 0; g < optimizer.num_param_groups(); ++g)
      base_lrs_.push_back(optimizer.lr(g));
    apply();
  }
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;
  virtual ~LRScheduler() = default;

  // Advances one step (epoch or iteration) and sets every group's lr.
  void step() {
    ++step_;
    apply();
  }
  // Back to step 0 with the same base lrs.
  void restart() {
    step_ = 0;
    apply();
  }

  // "StepLR", "WarmupCosineLR", ...; "LRScheduler" for a schedule given as a function.
  virtual const char* name() const { return "LRScheduler"; }

  OptimStateDict state_dict() const {
    OptimStateDict dict;
    dict.metadata["format"] = kLRSchedulerStateFormat;
    dict.metadata["scheduler"] = name();
    detail::put(dict, "last_step", step_);
    detail::put(dict, "base_lrs", static_cast<std::int64_t>(base_lrs_.size()));
    for (std::size_t g = 0; g < base_lrs_.size(); ++g)
      detail::put(dict, "base_lrs." + std::to_string(g), base_lrs_[g]);
    return dict;
  }

  // Restores the step count and the base lrs (checked first: kind of scheduler, number of groups)
  // and sets the optimizer's lrs for that step.
  void load_state_dict(const OptimStateDict& dict) {
    detail::StateDictReader in(dict, name());
    in.expect("format", kLRSchedulerStateFormat);
    in.expect("scheduler", name());
    std::int64_t step = 0;
    in.read("last_step", step);
    const std::size_t groups = in.count("base_lrs");
    in.fail_unless(groups == base_lrs_.size(), "the state dict has base lrs for ", groups,
                   " parameter groups, the scheduler ", base_lrs_.size());
    std::vector<double> base_lrs(groups);
    for (std::size_t g = 0; g < groups; ++g) {
      const std::string key = "base_lrs." + std::to_string(g);
      in.read(key, base_lrs[g]);
      in.fail_unless(std::isfinite(base_lrs[g]) && base_lrs[g] >= 0.0, "key \"", key, "\" is ",
                     base_lrs[g], ", not a valid learning rate");
    }
    in.check_all_read();
    step_ = step;
    base_lrs_ = std::move(base_lrs);
    apply();
  }

  std::int64_t last_step() const { return step_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  // The lr of every group at the current step (what step() / the constructor last set).
  std::vector<double> get_lr() const { return lrs_at(step_); }
  // The lr of every group at any step, without changing the optimizer.
  std::vector<double> lrs_at(std::int64_t step) const {
    std::vector<double> lrs(base_lrs_.size());
    for (std::size_t g = 0; g < lrs.size(); ++g) lrs[g] = schedule_(g, base_lrs_[g], step);
    return lrs;
  }

 private:
  void apply() {
    FROST_CHECK(optimizer_->num_param_groups() == base_lrs_.size(), "LRScheduler",
                "the optimizer has ", optimizer_->num_param_groups(),
                " parameter groups, the scheduler was built for ", base_lrs_.size());
    const std::vector<double> lrs = get_lr();
    for (std::size_t g = 0; g < lrs.size(); ++g) optimizer_->set_lr(g, lrs[g]);
  }

  Optimizer* optimizer_;
  Schedule schedule_;
  std::vector<double> base_lrs_;
  std::int64_t step_ = 0;
};

class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma = 0.1)
      : LRScheduler(optimizer, make(step_size, gamma)) {}
  const char* name() const override { return "StepLR"; }

 private:
  static Schedule make(std::int64_t step_size, double gamma) {
    FROST_CHECK(step_size > 0, "StepLR", "step_size must be positive, got ", step_size);
    FROST_CHECK(std::isfinite(gamma) && gamma >= 0.0, "StepLR", "invalid gamma ", gamma);
    return [step_size, gamma](std::size_t, double base, std::int64_t n) {
      return base * std::pow(gamma, static_cast<double>(n / step_size));
    };
  }
};

class MultiStepLR : public LRScheduler {
 public:
  // A milestone listed k times multiplies by gamma^k, as in PyTorch.
  MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma = 0.1)
      : LRScheduler(optimizer, make(std::move(milestones), gamma)) {}
  const char* name() const override { return "MultiStepLR"; }

 private:
  static Schedule make(std::vector<std::int64_t> milestones, double gamma) {
    for (auto m : milestones)
      FROST_CHECK(m >= 0, "MultiStepLR", "milestones must be >= 0, got ", m);
    FROST_CHECK(std::isfinite(gamma) && gamma >= 0.0, "MultiStepLR", "invalid gamma ", gamma);
    std::sort(milestones.begin(), milestones.end());
    return [milestones = std::move(milestones), gamma](std::size_t, double base, std::int64_t n) {
      const auto passed =
          std::upper_bound(milestones.begin(), milestones.end(), n) - milestones.begin();
      return base * std::pow(gamma, static_cast<double>(passed));
    };
  }
};

class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma) : LRScheduler(optimizer, make(gamma)) {}
  const char* name() const override { return "ExponentialLR"; }

 private:
  static Schedule make(double gamma) {
    FROST_CHECK(std::isfinite(gamma) && gamma > 0.0, "ExponentialLR",
                "gamma must be positive, got ", gamma);
    return [gamma](std::size_t, double base, std::int64_t n) {
      return base * std::pow(gamma, static_cast<double>(n));
    };
  }
};

class LambdaLR : public LRScheduler {
 public:
  using Factor = std::function<double(std::int64_t step)>;

  // The same factor for every group.
  LambdaLR(Optimizer& optimizer, Factor factor) : LRScheduler(optimizer, make(std::move(factor))) {}
  // One factor per group.
  LambdaLR(Optimizer& optimizer, std::vector<Factor> factors)
      : LRScheduler(optimizer, make(optimizer, std::move(factors))) {}
  const char* name() const override { return "LambdaLR"; }

 private:
  static Schedule make(Factor factor) {
    FROST_CHECK(static_cast<bool>(factor), "LambdaLR", "empty factor function");
    return [factor = std::move(factor)](std::size_t, double base, std::int64_t n) {
      return base * factor(n);
    };
  }
  static Schedule make(const Optimizer& optimizer, std::vector<Factor> factors) {
    FROST_CHECK(factors.size() == optimizer.num_param_groups(), "LambdaLR", factors.size(),
                " factor functions for ", optimizer.num_param_groups(), " parameter groups");
    for (const auto& f : factors)
      FROST_CHECK(static_cast<bool>(f), "LambdaLR", "empty factor function");
    return [factors = std::move(factors)](std::size_t group, double base, std::int64_t n) {
      return base * factors[group](n);
    };
  }
};

struct WarmupCosineOptions {
  std::int64_t warmup_steps = 0;  // steps of linear warm-up
  std::int64_t total_steps = 0;   // step at which the cosine reaches eta_min (warm-up included)
  double eta_min = 0.0;           // final lr (absolute, the same for every group)
  double start_factor = 0.0;      // warm-up starts at start_factor * base lr
};

class WarmupCosineLR : public LRScheduler {
 public:
  WarmupCosineLR(Optimizer& optimizer, const WarmupCosineOptions& options)
      : LRScheduler(optimizer, make(options)) {}
  WarmupCosineLR(Optimizer& optimizer, std::int64_t warmup_steps, std::int64_t total_steps,
                 double eta_min = 0.0)
      : WarmupCosineLR(optimizer, WarmupCosineOptions{warmup_steps, total_steps, eta_min, 0.0}) {}
  const char* name() const override { return "WarmupCosineLR"; }

  // lr at step n for one base lr: the schedule itself, for tests and plots.
  static double lr_at(const WarmupCosineOptions& o, double base, std::int64_t n) {
    if (n < o.warmup_steps) {
      const double start = o.start_factor * base;
      return start + (base - start) * static_cast<double>(n) / static_cast<double>(o.warmup_steps);
    }
    if (n >= o.total_steps) return o.eta_min;
    const double progress = static_cast<double>(n - o.warmup_steps) /
                            static_cast<double>(o.total_steps - o.warmup_steps);
    return o.eta_min + (base - o.eta_min) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
  }

 private:
  static Schedule make(const WarmupCosineOptions& o) {
    FROST_CHECK(o.warmup_steps >= 0, "WarmupCosineLR", "warmup_steps must be >= 0, got ",
                o.warmup_steps);
    FROST_CHECK(o.total_steps > o.warmup_steps, "WarmupCosineLR", "total_steps (", o.total_steps,
                ") must exceed warmup_steps (", o.warmup_steps, ")");
    FROST_CHECK(std::isfinite(o.eta_min) && o.eta_min >= 0.0, "WarmupCosineLR", "invalid eta_min ",
                o.eta_min);
    FROST_CHECK(o.start_factor >= 0.0 && o.start_factor <= 1.0, "WarmupCosineLR", "start_factor ",
                o.start_factor, " outside [0, 1]");
    return [o](std::size_t, double base, std::int64_t n) { return lr_at(o, base, n); };
  }
};

}  // namespace frost::optim
