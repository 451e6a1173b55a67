#pragma once
// GradBoost (DESIGN.md §5): a small, decaying, sign-aligned random boost added to each gradient
// so that quantization-aware training from scratch leaves the flat regions fake quantization
// creates. One mixin over the four base optimizers:
//
//   QSGD = GradBoost<SGD>, QRMSprop = GradBoost<RMSprop>, QAdam = GradBoost<Adam>, QAdamW =
//   GradBoost<AdamW>
//
// The boost is applied through BasicOptimizer's gradient transform, which each optimizer calls
// where the authors add the noise (SGD, RMSprop: before the L2 term; Adam: after it; AdamW: after
// the decoupled decay). Per parameter tensor and step t, with a = |g|:
//
//   bc = 1 - beta^t
//   exp_min = (beta * exp_min + (1 - beta) * min(exp_min, a)) / bc       (every step)
//   exp_max = (beta * exp_max + (1 - beta) * max(exp_max, a)) / bc
//   after warm-up only:  r += 1
//     noise = |Laplace(0, 1)| * (exp_max - exp_min) * (1 - noise_decay)^r   (drawn as -log(u))
//             * coin (a fresh 0/1 per element, when toss_coin) * sign(g), clamped to ±clip_by
//     g += noise
//
// This is the authors' arithmetic, kept on purpose as the default: the averages are divided by bc
// in place, so exp_min stays 0 and exp_max never decreases (the sensitivity is then a running
// maximum of |g|, not a spread). GradBoostOptions::bias_corrected = true is the corrected variant:
// the stored averages are plain exponential averages, bias-corrected on read (as Adam's moments
// are), and the min / max of a step compare |g| with the previous corrected estimate (|g| itself
// on the first step, where there is none):
//
//   m = exp_min / (1 - beta^(t-1))  (a when t = 1);  exp_min = beta * exp_min + (1 - beta) * min(m,
//   a) M = exp_max / (1 - beta^(t-1))  (a when t = 1);  exp_max = beta * exp_max + (1 - beta) *
//   max(M, a) sensitivity = (exp_max - exp_min) / bc * (1 - noise_decay)^r
//
// so a gradient of constant magnitude gets no boost and the sensitivity follows the spread of |g|.
//
// Randomness: the noise of each (step, parameter, chunk of kNoiseChunk elements) comes from its
// own Generator seeded from the optimizer's seed, so a run is bit-identical for any thread count.
// The seed defaults to a draw from frost::default_generator() at construction (frost::manual_seed
// therefore controls it).
//
// The optimizer starts in warm-up (statistics only, no noise), as StatAssist's float phase wants
// (DESIGN.md §4); set_warmup(false) when fake quantization starts. Nothing is reset then: the
// statistics, the momentum / Adam moments and the step counts carry over.
//
// State dicts (optim/state_dict.hpp) hold, beside the base optimizer's, the GradBoost options,
// the seed, the number of noise streams drawn so far, the warm-up flag and each parameter's
// GradBoost state: a run resumed from one draws the same noise as the run that saved it.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "frost/core/parallel.hpp"
#include "frost/core/rng.hpp"
#include "frost/optim/adam.hpp"
#include "frost/optim/optimizer.hpp"
#include "frost/optim/rmsprop.hpp"
#include "frost/optim/sgd.hpp"

namespace frost::optim {

struct GradBoostOptions {
  double beta = 0.9;          // averaging constant of exp_min / exp_max
  double clip_by = 1e-3;      // |noise| <= clip_by (0 disables the clamp, as in the authors' code)
  double noise_decay = 1e-2;  // noise shrinks by (1 - noise_decay) per step after warm-up
  bool toss_coin = true;      // boost a random half of the elements
  std::optional<std::uint64_t> seed =
      std::nullopt;             // default: drawn from frost::default_generator()
  bool bias_corrected = false;  // the corrected averages above; false: the authors' arithmetic

  void validate(const char* op) const {
    FROST_CHECK(beta >= 0.0 && beta < 1.0, op, "GradBoost beta ", beta, " outside [0, 1)");
    detail::check_finite_nonnegative(op, "GradBoost clip_by", clip_by);
    FROST_CHECK(noise_decay >= 0.0 && noise_decay <= 1.0, op, "GradBoost noise_decay ", noise_decay,
                " outside [0, 1]");
  }

  // The options a state dict holds (optim/state_dict.hpp); the seed in use is saved apart.
  template <class Self, class Fn>
  static void fields(Self& self, Fn&& fn) {
    fn("beta", self.beta);
    fn("clip_by", self.clip_by);
    fn("noise_decay", self.noise_decay);
    fn("toss_coin", self.toss_coin);
  }
};

struct GradBoostState {
  std::int64_t step = 0;          // t: every step
  std::int64_t restart_step = 0;  // r: steps after warm-up
  Tensor<float> exp_min;
  Tensor<float> exp_max;

  template <class Self, class Fn>
  static void fields(Self& self, Fn&& fn) {
    fn("step", self.step);
    fn("restart_step", self.restart_step);
    fn("exp_min", self.exp_min);
    fn("exp_max", self.exp_max);
  }
};

template <class Base>
class GradBoost : public Base {
 public:
  using Options = typename Base::options_type;

  // Elements per independently seeded noise stream (a fixed split, unlike the thread count).
  static constexpr std::int64_t kNoiseChunk = std::int64_t(1) << 14;

  GradBoost(std::vector<Tensor<float>> params, const Options& options,
            const GradBoostOptions& boost = {})
      : Base(std::move(params), options),
        boost_(checked(boost)),
        seed_(boost.seed ? *boost.seed : default_generator().next_u64()) {}
  GradBoost(std::vector<ParamGroupSpec> groups, const Options& defaults,
            const GradBoostOptions& boost = {})
      : Base(std::move(groups), defaults),
        boost_(checked(boost)),
        seed_(boost.seed ? *boost.seed : default_generator().next_u64()) {}

  // The base optimizer's options the authors use with GradBoost (DESIGN.md §5): SGD with momentum
  // 0.9 and Nesterov; RMSprop with alpha 0.9, momentum 0.9, eps 1e-8; Adam / AdamW as PyTorch's.
  static Options authors_defaults(double lr) {
    Options o{};
    o.lr = lr;
    if constexpr (std::is_same_v<Options, SGDOptions>) {
      o.momentum = 0.9;
      o.nesterov = true;
    } else if constexpr (std::is_same_v<Options, RMSpropOptions>) {
      o.alpha = 0.9;
      o.momentum = 0.9;
      o.eps = 1e-8;
    }
    return o;
  }

  bool warmup() const { return warmup_; }
  void set_warmup(bool on) { warmup_ = on; }
  const GradBoostOptions& boost_options() const { return boost_; }

  // Restarts the noise decay ((1 - noise_decay)^r from r = 0) of every parameter.
  void reset_restart_steps() {
    for (auto& group : states_)
      for (auto& s : group) s.restart_step = 0;
  }

  // GradBoost's state of one parameter; default (empty) until its first step.
  const GradBoostState& boost_state(std::size_t group, std::size_t index) const {
    static const GradBoostState kEmpty;
    FROST_CHECK(index < this->params(group).size(), this->name(), "parameter index ", index,
                " out of range for group ", group, " of ", this->params(group).size(),
                " parameters");
    if (group >= states_.size() || index >= states_[group].size()) return kEmpty;
    return states_[group][index];
  }

 protected:
  bool transforms_gradient() const override { return true; }

  void transform_gradient(std::size_t group, std::size_t index, std::span<float> grad) override {
    GradBoostState& s = state_for(group, index);
    // Each buffer on its own, so that any state a state dict loads is usable.
    if (!s.exp_min.defined()) s.exp_min = Tensor<float>::zeros(this->params(group)[index].shape());
    if (!s.exp_max.defined()) s.exp_max = Tensor<float>::zeros(this->params(group)[index].shape());
    ++s.step;
    const bool boost = !warmup_;
    if (boost) ++s.restart_step;

    const auto beta = static_cast<float>(boost_.beta);
    const auto one_minus_beta = static_cast<float>(1.0 - boost_.beta);
    const auto bc = static_cast<float>(1.0 - std::pow(boost_.beta, static_cast<double>(s.step)));
    const bool corrected = boost_.bias_corrected;
    // Corrected: 1 / (1 - beta^(t-1)) turns the stored averages into the previous estimates; 0 on
    // the first step, where the estimate is |g| itself (picked below without dividing by zero).
    const auto prev_unbias =
        s.step > 1 ? static_cast<float>(
                         1.0 / (1.0 - std::pow(boost_.beta, static_cast<double>(s.step - 1))))
                   : 0.0f;
    const auto noise_scale =
        static_cast<float>(std::pow(1.0 - boost_.noise_decay, static_cast<double>(s.restart_step)));
    // The spread read for the noise: the stored one (authors') or its bias-corrected value.
    const float spread_scale = corrected ? 1.0f / bc : 1.0f;
    const auto clip = static_cast<float>(boost_.clip_by);
    const bool toss_coin = boost_.toss_coin;
    const std::uint64_t stream = Generator(seed_ ^ (0x9e3779b97f4a7c15ULL * ++draws_)).next_u64();

    float* g = grad.data();
    float* exp_min = s.exp_min.data();
    float* exp_max = s.exp_max.data();
    const auto n = static_cast<std::int64_t>(grad.size());
    const std::int64_t chunks = (n + kNoiseChunk - 1) / kNoiseChunk;
    const bool first_step = s.step == 1;
    parallel_for(0, chunks, 1, [&](std::int64_t first, std::int64_t last) {
      for (std::int64_t c = first; c < last; ++c) {
        const std::int64_t begin = c * kNoiseChunk;
        const std::int64_t end = std::min(n, begin + kNoiseChunk);
        // Statistics first, in loops the compiler can vectorize (the noise loop below is serial
        // in the generator).
        if (!corrected) {
          for (std::int64_t k = begin; k < end; ++k) {
            const float a = std::abs(g[k]);
            exp_min[k] = (beta * exp_min[k] + one_minus_beta * std::min(exp_min[k], a)) / bc;
            exp_max[k] = (beta * exp_max[k] + one_minus_beta * std::max(exp_max[k], a)) / bc;
          }
        } else if (first_step) {
          for (std::int64_t k = begin; k < end; ++k) {
            const float a = std::abs(g[k]);
            exp_min[k] = beta * exp_min[k] + one_minus_beta * a;
            exp_max[k] = beta * exp_max[k] + one_minus_beta * a;
          }
        } else {
          for (std::int64_t k = begin; k < end; ++k) {
            const float a = std::abs(g[k]);
            exp_min[k] = beta * exp_min[k] + one_minus_beta * std::min(exp_min[k] * prev_unbias, a);
            exp_max[k] = beta * exp_max[k] + one_minus_beta * std::max(exp_max[k] * prev_unbias, a);
          }
        }
        if (!boost) continue;
        Generator gen(stream + static_cast<std::uint64_t>(c));
        for (std::int64_t k = begin; k < end; ++k) {
          // One draw per element: the top bit is the coin, the low 24 bits a uniform u in (0, 1];
          // |Laplace(0, 1)| is Exponential(1), i.e. -log(u). Branch-free: a random coin would be
          // a 50% misprediction.
          const std::uint64_t bits = gen.next_u64();
          const float coin = toss_coin ? static_cast<float>(bits >> 63) : 1.0f;
          const float u = static_cast<float>((bits & 0xFFFFFF) + 1) * 0x1.0p-24f;
          const float sign = static_cast<float>((g[k] > 0.0f) - (g[k] < 0.0f));
          float noise = -std::log(u) * ((exp_max[k] - exp_min[k]) * spread_scale * noise_scale) *
                        (coin * sign);
          if (clip > 0.0f) noise = std::clamp(noise, -clip, clip);
          g[k] += noise;
        }
      }
    });
  }

  void write_extra_state(OptimStateDict& dict) const override {
    Base::write_extra_state(dict);
    GradBoostOptions::fields(boost_, [&](const char* field, const auto& value) {
      detail::put(dict, std::string("gradboost.") + field, value);
    });
    detail::put(dict, "gradboost.bias_corrected", boost_.bias_corrected);
    detail::put(dict, "gradboost.seed", seed_);
    detail::put(dict, "gradboost.draws", draws_);
    detail::put(dict, "gradboost.warmup", warmup_);
    std::size_t index = 0;
    for (std::size_t g = 0; g < this->num_param_groups(); ++g)
      for (std::size_t i = 0; i < this->params(g).size(); ++i, ++index)
        GradBoostState::fields(boost_state(g, i), [&](const char* field, const auto& value) {
          detail::put(dict, detail::state_key(index, std::string("gradboost.") + field), value);
        });
  }

  std::function<void()> read_extra_state(detail::StateDictReader& in) override {
    std::function<void()> commit_base = Base::read_extra_state(in);
    GradBoostOptions boost = boost_;
    GradBoostOptions::fields(boost, [&](const char* field, auto& value) {
      in.read(std::string("gradboost.") + field, value);
    });
    // Absent from state dicts written before the corrected variant existed: those ran the
    // authors' arithmetic.
    boost.bias_corrected = false;
    if (in.has("gradboost.bias_corrected"))
      in.read("gradboost.bias_corrected", boost.bias_corrected);
    boost.validate(this->name());
    std::uint64_t seed = 0, draws = 0;
    bool warmup = true;
    in.read("gradboost.seed", seed);
    in.read("gradboost.draws", draws);
    in.read("gradboost.warmup", warmup);
    boost.seed = seed;
    std::vector<std::vector<GradBoostState>> states(this->num_param_groups());
    std::size_t index = 0;
    for (std::size_t g = 0; g < states.size(); ++g) {
      states[g].resize(this->params(g).size());
      for (std::size_t i = 0; i < states[g].size(); ++i, ++index) {
        const Shape& shape = this->params(g)[i].shape();
        GradBoostState::fields(states[g][i], [&](const char* field, auto& value) {
          in.read_state(detail::state_key(index, std::string("gradboost.") + field), value, shape,
                        index);
        });
      }
    }
    return [this, commit_base = std::move(commit_base), boost, seed, draws, warmup,
            states = std::move(states)]() mutable {
      if (commit_base) commit_base();
      boost_ = boost;
      seed_ = seed;
      draws_ = draws;
      warmup_ = warmup;
      states_ = std::move(states);
    };
  }

 private:
  GradBoostOptions checked(const GradBoostOptions& boost) const {
    boost.validate(this->name());
    return boost;
  }

  GradBoostState& state_for(std::size_t group, std::size_t index) {
    if (states_.size() <= group) states_.resize(group + 1);
    if (states_[group].size() <= index) states_[group].resize(this->params(group).size());
    return states_[group][index];
  }

  GradBoostOptions boost_;
  std::uint64_t seed_;
  std::uint64_t draws_ = 0;
  bool warmup_ = true;
  std::vector<std::vector<GradBoostState>> states_;
};

// The authors' weight-decay groups (DESIGN.md §5), decided by shape as their training script does:
// depthwise convolution weights [C, 1, k, k] get none, other convolution and linear weights
// (4-D and 2-D) get `weight_decay`, everything else (batch-norm parameters, biases) gets
// weight_decay * 0.01. Always three groups, in that order; a group may be empty. (A convolution
// with a single input channel has the depthwise shape and is counted as one, as in their script.)
inline std::vector<ParamGroupSpec> authors_param_groups(const std::vector<Tensor<float>>& params,
                                                        double weight_decay) {
  detail::check_finite_nonnegative("authors_param_groups", "weight_decay", weight_decay);
  std::vector<ParamGroupSpec> groups = {{{}, std::nullopt, 0.0},
                                        {{}, std::nullopt, weight_decay},
                                        {{}, std::nullopt, weight_decay * 0.01}};
  for (const auto& p : params) {
    const bool depthwise = p.dim() == 4 && p.size(1) == 1;
    const bool weight = p.dim() == 4 || p.dim() == 2;
    groups[depthwise ? 0 : weight ? 1 : 2].params.push_back(p);
  }
  return groups;
}

using QSGD = GradBoost<SGD>;
using QRMSprop = GradBoost<RMSprop>;
using QAdam = GradBoost<Adam>;
using QAdamW = GradBoost<AdamW>;

}  // namespace frost::optim
