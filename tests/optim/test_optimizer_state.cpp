// Optimizer and LR-scheduler state dicts: a run resumed from a checkpoint continues bit for bit
// as the run that saved it; state dicts that do not fit are refused and change nothing.
#include <frost/core/rng.hpp>
#include <frost/io/tensor_file.hpp>
#include <frost/optim/adam.hpp>
#include <frost/optim/gradboost.hpp>
#include <frost/optim/lr_scheduler.hpp>
#include <frost/optim/rmsprop.hpp>
#include <frost/optim/serialize.hpp>
#include <frost/optim/sgd.hpp>
#include <frost/optim/state_dict.hpp>

#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../io/temp_files.hpp"
#include "optim_test_util.hpp"

using frost::Shape;
using frost::Tensor;
using namespace frost::optim;
using Catch::Contains;

namespace {

// A small least-squares problem: four parameters (one large enough for two GradBoost noise
// chunks) pulled towards fixed targets, with a wobble in the gradient so that every step differs.
struct Problem {
  std::vector<Tensor<float>> params;
  std::vector<Tensor<float>> targets;

  // Two groups: {0, 1} with the optimizer's defaults, {2, 3} with their own weight decay.
  std::vector<ParamGroupSpec> groups() const {
    return {{{params[0], params[1]}, std::nullopt, std::nullopt},
            {{params[2], params[3]}, std::nullopt, 1e-3}};
  }
};

Problem make_problem() {
  const std::vector<Shape> shapes = {{4, 3}, {5}, {20000}, {2, 1, 3, 3}};
  frost::Generator gen(42);
  Problem p;
  for (const Shape& shape : shapes) {
    Tensor<float> param = Tensor<float>::empty(shape), target = Tensor<float>::empty(shape);
    for (std::int64_t k = 0; k < param.numel(); ++k) {
      param.data()[k] = 2.0f * gen.uniform_float() - 1.0f;
      target.data()[k] = 2.0f * gen.uniform_float() - 1.0f;
    }
    p.params.push_back(param.requires_grad_());
    p.targets.push_back(target);
  }
  return p;
}

constexpr int kBefore = 6;  // steps before the checkpoint
constexpr int kAfter = 6;   // steps after it

// The gradient of step s. Parameter 1 has none on odd steps; parameter 3 none until two steps
// after the checkpoint (its state does not exist yet when the checkpoint is taken).
void set_grads(Problem& p, int s) {
  for (std::size_t k = 0; k < p.params.size(); ++k) {
    if ((k == 1 && s % 2 == 1) || (k == 3 && s < kBefore + 2)) continue;
    const Tensor<float>& param = p.params[k];
    std::vector<float> g(static_cast<std::size_t>(param.numel()));
    for (std::size_t j = 0; j < g.size(); ++j) {
      const double wobble = 0.1 * std::sin(0.37 * s + 0.11 * static_cast<double>(j) + k);
      g[j] = static_cast<float>(param.data()[j] - p.targets[k].data()[j] + wobble);
    }
    p.params[k].set_grad(Tensor<float>::from_vector(g, param.shape()));
  }
}

using MakeOptimizer =
    std::function<std::unique_ptr<Optimizer>(std::vector<ParamGroupSpec> groups, bool fresh)>;
using Hook = std::function<void(Optimizer&, int step)>;

void train_step(Problem& p, Optimizer& opt, const Hook& hook, int s) {
  if (hook) hook(opt, s);
  set_grads(p, s);
  opt.step();
  opt.zero_grad();
}

void require_same_bits(const Tensor<float>& actual, const Tensor<float>& expected,
                       const std::string& what) {
  REQUIRE(actual.shape() == expected.shape());
  for (std::int64_t k = 0; k < actual.numel(); ++k) {
    if (std::bit_cast<std::uint32_t>(actual.data()[k]) !=
        std::bit_cast<std::uint32_t>(expected.data()[k])) {
      INFO(what << " element " << k << ": " << actual.data()[k] << " vs " << expected.data()[k]);
      REQUIRE(false);
    }
  }
}

bool same_state(const OptimStateDict& a, const OptimStateDict& b) {
  if (a.metadata != b.metadata || a.tensors.size() != b.tensors.size()) return false;
  for (const auto& [key, tensor] : a.tensors) {
    const auto it = b.tensors.find(key);
    if (it == b.tensors.end() || it->second.shape() != tensor.shape()) return false;
    for (std::int64_t k = 0; k < tensor.numel(); ++k)
      if (std::bit_cast<std::uint32_t>(tensor.data()[k]) !=
          std::bit_cast<std::uint32_t>(it->second.data()[k]))
        return false;
  }
  return true;
}

void require_same_state(const OptimStateDict& actual, const OptimStateDict& expected) {
  REQUIRE(actual.metadata == expected.metadata);
  REQUIRE(actual.tensors.size() == expected.tensors.size());
  for (const auto& [key, tensor] : expected.tensors) {
    INFO("tensor " << key);
    REQUIRE(actual.tensors.contains(key));
    require_same_bits(actual.tensors.at(key), tensor, key);
  }
}

// Trains kBefore steps, checkpoints (in memory and to a file), trains kAfter more: the reference.
// Then a fresh problem with the checkpoint's parameters and a fresh optimizer (built with other
// options, and for GradBoost another seed) loads the file and trains the same kAfter steps: every
// parameter must end bit-identical.
void require_bit_exact_resume(const MakeOptimizer& make, const Hook& hook = {}) {
  frost_test::TempDir dir;
  const auto path = dir / "optimizer.safetensors";

  Problem reference = make_problem();
  std::unique_ptr<Optimizer> opt = make(reference.groups(), false);
  for (int s = 0; s < kBefore; ++s) train_step(reference, *opt, hook, s);
  const OptimStateDict checkpoint = opt->state_dict();
  save(*opt, path);
  std::vector<Tensor<float>> params_at_checkpoint;
  for (const auto& p : reference.params) params_at_checkpoint.push_back(p.detach().clone());
  for (int s = kBefore; s < kBefore + kAfter; ++s) train_step(reference, *opt, hook, s);
  // The snapshot did not move with the optimizer.
  REQUIRE_FALSE(same_state(checkpoint, opt->state_dict()));

  Problem resumed = make_problem();
  for (std::size_t k = 0; k < resumed.params.size(); ++k) {
    frost::NoGradGuard no_grad;
    resumed.params[k].copy_(params_at_checkpoint[k]);
  }
  std::unique_ptr<Optimizer> opt2 = make(resumed.groups(), true);
  REQUIRE_FALSE(same_state(opt2->state_dict(), checkpoint));
  load(*opt2, path);
  require_same_state(opt2->state_dict(), checkpoint);
  for (int s = kBefore; s < kBefore + kAfter; ++s) train_step(resumed, *opt2, hook, s);

  for (std::size_t k = 0; k < reference.params.size(); ++k)
    require_same_bits(resumed.params[k], reference.params[k], "parameter " + std::to_string(k));
  require_same_state(opt2->state_dict(), opt->state_dict());
}

template <class Opt>
MakeOptimizer make_plain(typename Opt::options_type options) {
  return [options](std::vector<ParamGroupSpec> groups, bool fresh) -> std::unique_ptr<Optimizer> {
    return std::make_unique<Opt>(std::move(groups), fresh ? typename Opt::options_type{} : options);
  };
}

template <class Q>
MakeOptimizer make_boosted(typename Q::Options options, bool bias_corrected = false) {
  return [options, bias_corrected](std::vector<ParamGroupSpec> groups,
                                   bool fresh) -> std::unique_ptr<Optimizer> {
    if (fresh)
      return std::make_unique<Q>(std::move(groups), typename Q::Options{},
                                 GradBoostOptions{.seed = 999});
    return std::make_unique<Q>(
        std::move(groups), options,
        GradBoostOptions{.beta = 0.8,
                         .clip_by = 1e-2,
                         .noise_decay = 0.05,
                         .seed = 1,
                         .bias_corrected = bias_corrected});
  };
}

// Warm-up (statistics only) until step `noise_from`, noise afterwards; the noise decay restarts
// at step `restart`.
template <class Q>
Hook boost_schedule(int noise_from, int restart = -1) {
  return [=](Optimizer& opt, int s) {
    auto& q = dynamic_cast<Q&>(opt);
    if (s == noise_from) q.set_warmup(false);
    if (s == restart) q.reset_restart_steps();
  };
}

}  // namespace

TEST_CASE("Resuming from a checkpoint is bit-exact: SGD, RMSprop, Adam, AdamW",
          "[optim][state_dict]") {
  SECTION("SGD with momentum and dampening") {
    require_bit_exact_resume(
        make_plain<SGD>({.lr = 0.05, .momentum = 0.9, .dampening = 0.1, .weight_decay = 1e-2}));
  }
  SECTION("SGD with Nesterov momentum") {
    require_bit_exact_resume(
        make_plain<SGD>({.lr = 0.05, .momentum = 0.9, .weight_decay = 1e-2, .nesterov = true}));
  }
  SECTION("RMSprop, PyTorch form, centered with momentum") {
    require_bit_exact_resume(make_plain<RMSprop>(
        {.lr = 1e-2, .alpha = 0.9, .weight_decay = 1e-2, .momentum = 0.9, .centered = true}));
  }
  SECTION("RMSprop, TensorFlow form") {
    require_bit_exact_resume(make_plain<RMSprop>(
        RMSpropOptions{.lr = 1e-2, .alpha = 0.9, .momentum = 0.9}.tensorflow_form()));
  }
  SECTION("Adam") {
    require_bit_exact_resume(make_plain<Adam>({.lr = 1e-2, .weight_decay = 1e-2}));
  }
  SECTION("AMSGrad") {
    require_bit_exact_resume(make_plain<Adam>({.lr = 1e-2, .betas = {0.8, 0.99}, .amsgrad = true}));
  }
  SECTION("AdamW") {
    require_bit_exact_resume(make_plain<AdamW>({.lr = 1e-2}));
  }
}

TEST_CASE("Resuming from a checkpoint is bit-exact: GradBoost", "[optim][state_dict][gradboost]") {
  SECTION("QSGD, noise before the checkpoint") {
    require_bit_exact_resume(make_boosted<QSGD>(QSGD::authors_defaults(0.05)),
                             boost_schedule<QSGD>(2));
  }
  SECTION("QSGD, checkpoint in warm-up, noise after it, restarted decay") {
    require_bit_exact_resume(make_boosted<QSGD>(QSGD::authors_defaults(0.05)),
                             boost_schedule<QSGD>(kBefore + 1, kBefore + 4));
  }
  SECTION("QSGD, bias-corrected averages (the flag travels in the state dict)") {
    require_bit_exact_resume(make_boosted<QSGD>(QSGD::authors_defaults(0.05), true),
                             boost_schedule<QSGD>(2));
  }
  SECTION("QRMSprop") {
    require_bit_exact_resume(make_boosted<QRMSprop>(QRMSprop::authors_defaults(1e-2)),
                             boost_schedule<QRMSprop>(2, 4));
  }
  SECTION("QRMSprop, TensorFlow form") {
    require_bit_exact_resume(
        make_boosted<QRMSprop>(QRMSprop::authors_defaults(1e-2).tensorflow_form()),
        boost_schedule<QRMSprop>(3));
  }
  SECTION("QAdam") {
    require_bit_exact_resume(make_boosted<QAdam>({.lr = 1e-2, .weight_decay = 1e-2}),
                             boost_schedule<QAdam>(2));
  }
  SECTION("QAdam with AMSGrad") {
    require_bit_exact_resume(make_boosted<QAdam>({.lr = 1e-2, .amsgrad = true}),
                             boost_schedule<QAdam>(3));
  }
  SECTION("QAdamW") {
    require_bit_exact_resume(make_boosted<QAdamW>({.lr = 1e-2}), boost_schedule<QAdamW>(2));
  }
}

TEST_CASE("Optimizer state dict layout", "[optim][state_dict]") {
  auto a = optim_test::param({1, 2, 3, 4, 5, 6}, {2, 3});
  auto b = optim_test::param({1, 2}, {2});
  Adam opt(std::vector<ParamGroupSpec>{{{a}, std::nullopt, std::nullopt}, {{b}, 0.5, 0.25}},
           {.lr = 0.1, .betas = {0.9, 1.0 / 3.0}, .amsgrad = true});
  optim_test::set_grad(a, {1, 1, 1, 1, 1, 1});
  opt.step();
  const OptimStateDict dict = opt.state_dict();
  const std::map<std::string, std::string> expected = {
      {"format", "frost.optimizer.v1"},
      {"optimizer", "Adam"},
      {"param_groups", "2"},
      {"param_groups.0.params", "1"},
      {"param_groups.0.lr", "0.1"},
      {"param_groups.0.betas.0", "0.9"},
      {"param_groups.0.betas.1", "0.33333333333333331"},
      {"param_groups.0.eps", "1e-08"},
      {"param_groups.0.weight_decay", "0"},
      {"param_groups.0.amsgrad", "true"},
      {"param_groups.1.params", "1"},
      {"param_groups.1.lr", "0.5"},
      {"param_groups.1.betas.0", "0.9"},
      {"param_groups.1.betas.1", "0.33333333333333331"},
      {"param_groups.1.eps", "1e-08"},
      {"param_groups.1.weight_decay", "0.25"},
      {"param_groups.1.amsgrad", "true"},
      {"params.0.shape", "[2, 3]"},
      {"params.1.shape", "[2]"},
      {"state.0.step", "1"},
      {"state.1.step", "0"},  // no gradient yet: no tensors either
  };
  REQUIRE(dict.metadata == expected);
  REQUIRE(dict.tensors.size() == 3);
  for (const char* name : {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}) {
    INFO(name);
    const Tensor<float>& t = dict.tensors.at(std::string("state.0.") + name);
    REQUIRE(t.shape() == Shape{2, 3});
    REQUIRE(t.data() != opt.state(0, 0).exp_avg.data());  // a copy
  }
  REQUIRE(dict.tensors.at("state.0.exp_avg").data()[0] == Approx(0.1));
}

TEST_CASE("Doubles in state dicts read back to the same bits", "[optim][state_dict]") {
  using frost::optim::detail::format_double;
  using frost::optim::detail::parse_double;
  for (const double v : {0.0, -0.0, 0.1, 1e-5, 0.999, 1.0 / 3.0, 5e-3 * 0.01, 1e300,
                         std::numeric_limits<double>::denorm_min(),
                         std::numeric_limits<double>::max(), std::nextafter(0.1, 1.0)}) {
    INFO(format_double(v));
    const auto back = parse_double(format_double(v));
    REQUIRE(back.has_value());
    REQUIRE(std::bit_cast<std::uint64_t>(*back) == std::bit_cast<std::uint64_t>(v));
  }
  CHECK(format_double(0.1) == "0.1");
  CHECK(format_double(5e-3) == "0.005");
  CHECK_FALSE(parse_double("").has_value());
  CHECK_FALSE(parse_double(" 1").has_value());
  CHECK_FALSE(parse_double("1x").has_value());
  CHECK_FALSE(parse_double("fast").has_value());
}

TEST_CASE("load_state_dict refuses a state dict that does not fit, and changes nothing",
          "[optim][state_dict]") {
  using optim_test::param;
  auto a = param({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {3, 4});
  auto b = param({1, 2}, {2});
  const SGDOptions options{.lr = 0.1, .momentum = 0.9};
  SGD source(std::vector<ParamGroupSpec>{{{a}, std::nullopt, std::nullopt},
                                         {{b}, std::nullopt, std::nullopt}},
             options);
  optim_test::set_grad(a, std::vector<double>(12, 1.0));
  optim_test::set_grad(b, {1, 1});
  source.step();
  OptimStateDict dict = source.state_dict();

  auto a2 = param(std::vector<float>(12, 0.0f), {3, 4});
  auto b2 = param({0, 0}, {2});
  SGD target(std::vector<ParamGroupSpec>{{{a2}, std::nullopt, std::nullopt},
                                         {{b2}, std::nullopt, std::nullopt}},
             {.lr = 0.2});
  const OptimStateDict before = target.state_dict();
  bool loaded = false;

  SECTION("the right dict loads") {
    target.load_state_dict(dict);
    loaded = true;
    require_same_state(target.state_dict(), dict);
    REQUIRE(target.lr(1) == 0.1);
    REQUIRE(target.options(0).momentum == 0.9);
  }
  SECTION("another number of groups") {
    SGD one_group({a2, b2}, options);
    REQUIRE_THROWS_WITH(one_group.load_state_dict(dict),
                        Contains("SGD: load_state_dict: ") &&
                            Contains("the state dict has 2 parameter groups, the optimizer 1"));
  }
  SECTION("another number of parameters in a group") {
    auto c2 = param({0}, {1});
    SGD other(std::vector<ParamGroupSpec>{{{a2}, std::nullopt, std::nullopt},
                                          {{b2, c2}, std::nullopt, std::nullopt}},
              options);
    REQUIRE_THROWS_WITH(other.load_state_dict(dict),
                        Contains("group 1 has 1 parameters in the state dict, 2 in the optimizer"));
  }
  SECTION("a parameter of another shape") {
    auto transposed = param(std::vector<float>(12, 0.0f), {4, 3});
    SGD other(std::vector<ParamGroupSpec>{{{transposed}, std::nullopt, std::nullopt},
                                          {{b2}, std::nullopt, std::nullopt}},
              options);
    REQUIRE_THROWS_WITH(other.load_state_dict(dict), Contains("SGD") && Contains("parameter 0") &&
                                                         Contains("[4, 3]") &&
                                                         Contains("\"params.0.shape\" is [3, 4]"));
  }
  SECTION("a state tensor of another shape") {
    dict.metadata["param_groups.0.lr"] = "0.5";  // would change if the load went through
    dict.tensors["state.1.momentum_buffer"] = Tensor<float>::zeros({3});
    REQUIRE_THROWS_WITH(target.load_state_dict(dict),
                        Contains("SGD: load_state_dict: tensor \"state.1.momentum_buffer\" has "
                                 "shape [3] but parameter 1 has shape [2]"));
  }
  SECTION("another optimizer") {
    Adam adam({a}, {});
    REQUIRE_THROWS_WITH(target.load_state_dict(adam.state_dict()),
                        Contains("key \"optimizer\" is \"Adam\", expected \"SGD\""));
  }
  SECTION("GradBoost state into a plain optimizer and back") {
    QSGD boosted(std::vector<ParamGroupSpec>{{{a}, std::nullopt, std::nullopt},
                                             {{b}, std::nullopt, std::nullopt}},
                 options, {.seed = 5});
    REQUIRE_THROWS_WITH(target.load_state_dict(boosted.state_dict()),
                        Contains("unexpected keys [gradboost."));
    REQUIRE_THROWS_WITH(boosted.load_state_dict(dict), Contains("missing key \"gradboost.beta\""));
  }
  SECTION("unknown keys") {
    dict.metadata["epoch"] = "3";
    dict.tensors["state.0.velocity"] = Tensor<float>::zeros({3, 4});
    REQUIRE_THROWS_WITH(target.load_state_dict(dict),
                        Contains("2 unexpected keys [epoch, tensor state.0.velocity]"));
  }
  SECTION("missing and malformed values") {
    dict.metadata.erase("param_groups.1.momentum");
    REQUIRE_THROWS_WITH(target.load_state_dict(dict),
                        Contains("missing key \"param_groups.1.momentum\""));
    dict.metadata["param_groups.1.momentum"] = "fast";
    REQUIRE_THROWS_WITH(target.load_state_dict(dict),
                        Contains("key \"param_groups.1.momentum\" is \"fast\", not a number"));
    dict.metadata["param_groups.1.momentum"] = "-1";
    REQUIRE_THROWS_WITH(target.load_state_dict(dict), Contains("invalid momentum -1"));
    dict.metadata["param_groups.1.momentum"] = "0.9";
    dict.metadata["param_groups.1.nesterov"] = "yes";
    REQUIRE_THROWS_WITH(target.load_state_dict(dict), Contains("expected \"true\" or \"false\""));
  }
  SECTION("an empty dict") {
    REQUIRE_THROWS_WITH(target.load_state_dict(OptimStateDict{}),
                        Contains("missing key \"format\" (the state dict is empty)"));
  }
  SECTION("GradBoost counters must not be negative") {
    QAdam boosted({a}, {}, {.seed = 5});
    optim_test::set_grad(a, std::vector<double>(12, 1.0));
    boosted.step();
    OptimStateDict q = boosted.state_dict();
    q.metadata["state.0.gradboost.restart_step"] = "-2";
    QAdam other({a2}, {}, {.seed = 6});
    const OptimStateDict other_before = other.state_dict();
    REQUIRE_THROWS_WITH(other.load_state_dict(q),
                        Contains("key \"state.0.gradboost.restart_step\" is \"-2\""));
    require_same_state(other.state_dict(), other_before);
  }
  // Whatever failed, the target is as it was.
  if (!loaded) require_same_state(target.state_dict(), before);
}

TEST_CASE("LR schedulers resume from a state dict", "[optim][lr_scheduler][state_dict]") {
  const WarmupCosineOptions cosine{
      .warmup_steps = 3, .total_steps = 14, .eta_min = 1e-4, .start_factor = 0.1};
  auto build = [](Problem& p, double lr) {
    return std::make_unique<SGD>(
        std::vector<ParamGroupSpec>{{{p.params[0], p.params[1]}, lr, std::nullopt},
                                    {{p.params[2], p.params[3]}, lr / 10, std::nullopt}},
        SGDOptions{.momentum = 0.9, .nesterov = true});
  };
  // StatAssist: the schedule restarts when quantization-aware training begins (after step 2).
  auto run = [](Problem& p, Optimizer& opt, LRScheduler& scheduler, int from, int to,
                std::vector<double>* lrs) {
    for (int s = from; s < to; ++s) {
      train_step(p, opt, {}, s);
      scheduler.step();
      if (s == 2) scheduler.restart();
      if (lrs) {
        lrs->push_back(opt.lr(0));
        lrs->push_back(opt.lr(1));
      }
    }
  };

  Problem reference = make_problem();
  auto opt = build(reference, 0.1);
  WarmupCosineLR scheduler(*opt, cosine);
  run(reference, *opt, scheduler, 0, kBefore, nullptr);
  const OptimStateDict opt_checkpoint = opt->state_dict();
  const OptimStateDict checkpoint = scheduler.state_dict();
  CHECK(checkpoint.metadata ==
        std::map<std::string, std::string>{{"format", "frost.lr_scheduler.v1"},
                                           {"scheduler", "WarmupCosineLR"},
                                           {"last_step", "3"},
                                           {"base_lrs", "2"},
                                           {"base_lrs.0", "0.1"},
                                           {"base_lrs.1", "0.01"}});
  CHECK(checkpoint.tensors.empty());
  std::vector<Tensor<float>> params_at_checkpoint;
  for (const auto& p : reference.params) params_at_checkpoint.push_back(p.detach().clone());
  std::vector<double> expected_lrs;
  run(reference, *opt, scheduler, kBefore, kBefore + kAfter, &expected_lrs);

  // Built with another lr: the base lrs come from the state dict. Both load orders work.
  for (const bool scheduler_first : {false, true}) {
    INFO("scheduler loaded first: " << scheduler_first);
    Problem resumed = make_problem();
    for (std::size_t k = 0; k < resumed.params.size(); ++k) {
      frost::NoGradGuard no_grad;
      resumed.params[k].copy_(params_at_checkpoint[k]);
    }
    auto opt2 = build(resumed, 1.0);
    WarmupCosineLR scheduler2(*opt2, cosine);
    if (scheduler_first) scheduler2.load_state_dict(checkpoint);
    opt2->load_state_dict(opt_checkpoint);
    if (!scheduler_first) scheduler2.load_state_dict(checkpoint);
    REQUIRE(scheduler2.last_step() == 3);
    REQUIRE(scheduler2.base_lrs() == std::vector<double>{0.1, 0.01});
    REQUIRE(frost::optim::detail::format_double(opt2->lr(0)) ==
            opt_checkpoint.metadata.at("param_groups.0.lr"));
    std::vector<double> lrs;
    run(resumed, *opt2, scheduler2, kBefore, kBefore + kAfter, &lrs);
    REQUIRE(lrs == expected_lrs);
    for (std::size_t k = 0; k < reference.params.size(); ++k)
      require_same_bits(resumed.params[k], reference.params[k], "parameter " + std::to_string(k));
  }

  SECTION("another scheduler or number of groups is refused") {
    Problem p = make_problem();
    auto other = build(p, 0.1);
    StepLR step_lr(*other, 2);
    REQUIRE_THROWS_WITH(step_lr.load_state_dict(checkpoint),
                        Contains("StepLR: load_state_dict: key \"scheduler\" is "
                                 "\"WarmupCosineLR\", expected \"StepLR\""));
    SGD one_group(p.params, {});
    WarmupCosineLR narrow(one_group, cosine);
    REQUIRE_THROWS_WITH(narrow.load_state_dict(checkpoint),
                        Contains("base lrs for 2 parameter groups, the scheduler 1"));
    REQUIRE(narrow.last_step() == 0);
  }
}

TEST_CASE("optim::save and optim::load go through a safetensors file", "[optim][state_dict][io]") {
  frost_test::TempDir dir;
  const auto path = dir / "optimizer.safetensors";
  Problem p = make_problem();
  QAdam opt(p.groups(), {.lr = 1e-2}, {.seed = 7});
  WarmupCosineLR scheduler(opt, 2, 10);
  for (int s = 0; s < 3; ++s) {
    train_step(p, opt, {}, s);
    scheduler.step();
  }
  save(opt, scheduler, path);

  frost::io::SafetensorsMetadata metadata;
  const auto tensors = frost::io::load_safetensors_as<float>(path, &metadata);
  CHECK(metadata.at("format") == "frost.optimizer.v1");
  CHECK(metadata.at("optimizer") == "Adam");
  CHECK(metadata.at("gradboost.seed") == "7");
  CHECK(metadata.at("gradboost.warmup") == "true");
  CHECK(metadata.at("state.2.gradboost.step") == "3");
  CHECK(metadata.at("lr_scheduler.scheduler") == "WarmupCosineLR");
  CHECK(metadata.at("lr_scheduler.last_step") == "3");
  CHECK(tensors.at("state.2.exp_avg").shape() == Shape{20000});
  CHECK(tensors.at("state.0.gradboost.exp_max").shape() == Shape{4, 3});
  CHECK_FALSE(tensors.contains("state.3.exp_avg"));  // parameter 3 has had no gradient

  Problem q = make_problem();
  QAdam opt2(q.groups(), {}, {.seed = 8});
  WarmupCosineLR scheduler2(opt2, 2, 10);
  load(opt2, scheduler2, path);
  require_same_state(opt2.state_dict(), opt.state_dict());
  CHECK(scheduler2.last_step() == 3);
  CHECK(opt2.lr(0) == opt.lr(0));
  CHECK(opt2.lr(1) == opt.lr(1));

  // The optimizer alone from the shared file.
  QAdam opt3(q.groups(), {}, {.seed = 9});
  load(opt3, path);
  require_same_state(opt3.state_dict(), opt.state_dict());

  // A scheduler that does not match: the error names the file, the optimizer is unchanged.
  QAdam opt4(q.groups(), {}, {.seed = 10});
  StepLR step_lr(opt4, 3);
  const OptimStateDict before = opt4.state_dict();
  REQUIRE_THROWS_WITH(load(opt4, step_lr, path),
                      Contains("expected \"StepLR\"") && Contains("optimizer.safetensors"));
  require_same_state(opt4.state_dict(), before);

  // A file of model weights is not an optimizer state.
  const auto weights = dir / "weights.safetensors";
  frost::io::save_safetensors(
      weights, std::map<std::string, Tensor<float>>{{"w", Tensor<float>::ones({2})}});
  REQUIRE_THROWS_WITH(
      load(opt2, weights),
      Contains("Adam: load_state_dict: missing key \"format\"") && Contains("weights.safetensors"));
}
