#include <frost/optim/lr_scheduler.hpp>
#include <frost/optim/sgd.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

#include "optim_test_util.hpp"

using frost::Tensor;
using frost::optim::ExponentialLR;
using frost::optim::LambdaLR;
using frost::optim::LRScheduler;
using frost::optim::MultiStepLR;
using frost::optim::SGD;
using frost::optim::StepLR;
using frost::optim::WarmupCosineLR;
using frost::optim::WarmupCosineOptions;
using namespace optim_test;

namespace {

// Steps the scheduler through expected.size() values of group 0's lr (the first is the value
// set at construction), checking both get_lr() and the optimizer's lr.
void require_sequence(LRScheduler& scheduler, const frost::optim::Optimizer& opt,
                      const std::vector<double>& expected, std::size_t group = 0) {
  for (std::size_t n = 0; n < expected.size(); ++n) {
    INFO("step " << n);
    if (n > 0) scheduler.step();
    REQUIRE(scheduler.last_step() == static_cast<std::int64_t>(n));
    REQUIRE(scheduler.get_lr()[group] == Approx(expected[n]).margin(1e-12));
    REQUIRE(opt.lr(group) == Approx(expected[n]).margin(1e-12));
  }
}

struct Fixture {
  Tensor<float> a = param({1.0f}, {1});
  Tensor<float> b = param({1.0f, 2.0f}, {2});
  SGD opt{std::vector<frost::optim::ParamGroupSpec>{{{a}, 0.1, {}}, {{b}, 0.01, {}}}, {.lr = 1.0}};
};

}  // namespace

TEST_CASE("StepLR", "[optim][lr_scheduler]") {
  Fixture f;
  StepLR scheduler(f.opt, 2, 0.5);
  require_sequence(scheduler, f.opt, {0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125});
  // Every group follows its own base lr.
  REQUIRE(f.opt.lr(1) == Approx(0.00125));
  REQUIRE(scheduler.base_lrs() == std::vector<double>{0.1, 0.01});
}

TEST_CASE("MultiStepLR", "[optim][lr_scheduler]") {
  Fixture f;
  f.opt.set_lr(1.0);
  SECTION("milestones in any order") {
    MultiStepLR scheduler(f.opt, {5, 2}, 0.1);
    require_sequence(scheduler, f.opt, {1, 1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01});
  }
  SECTION("a repeated milestone counts twice, as in PyTorch") {
    MultiStepLR scheduler(f.opt, {3, 3}, 0.5);
    require_sequence(scheduler, f.opt, {1, 1, 1, 0.25, 0.25});
  }
}

TEST_CASE("ExponentialLR", "[optim][lr_scheduler]") {
  Fixture f;
  ExponentialLR scheduler(f.opt, 0.9);
  require_sequence(scheduler, f.opt, {0.1, 0.09, 0.081, 0.0729});
  REQUIRE(f.opt.lr(1) == Approx(0.00729));
  for (std::int64_t n = 0; n < 4; ++n)
    REQUIRE(scheduler.lrs_at(n)[1] == Approx(0.01 * std::pow(0.9, n)));
}

TEST_CASE("LambdaLR", "[optim][lr_scheduler]") {
  Fixture f;
  SECTION("one factor for every group") {
    LambdaLR scheduler(f.opt, [](std::int64_t n) { return 1.0 / static_cast<double>(n + 1); });
    require_sequence(scheduler, f.opt, {0.1, 0.05, 0.1 / 3, 0.025});
    REQUIRE(f.opt.lr(1) == Approx(0.0025));
  }
  SECTION("one factor per group") {
    LambdaLR scheduler(f.opt, std::vector<LambdaLR::Factor>{
                                  [](std::int64_t n) { return n < 2 ? 1.0 : 0.5; },
                                  [](std::int64_t n) { return static_cast<double>(n); }});
    REQUIRE(f.opt.lr(1) == 0.0);
    require_sequence(scheduler, f.opt, {0.1, 0.1, 0.05, 0.05});
    REQUIRE(f.opt.lr(1) == Approx(0.03));
  }
}

TEST_CASE("WarmupCosineLR: hand-computed sequence", "[optim][lr_scheduler]") {
  Fixture f;
  f.opt.set_lr(0, 0.8);
  const double c = std::cos(std::numbers::pi / 4);
  SECTION("from 0 to base, then down to 0 (the authors' schedule)") {
    WarmupCosineLR scheduler(f.opt, 4, 12);
    require_sequence(scheduler, f.opt,
                     {0.0, 0.2, 0.4, 0.6, 0.8, 0.4 * (1 + std::cos(std::numbers::pi / 8)),
                      0.4 * (1 + c), 0.4 * (1 + std::cos(3 * std::numbers::pi / 8)), 0.4,
                      0.4 * (1 - std::cos(3 * std::numbers::pi / 8)), 0.4 * (1 - c),
                      0.4 * (1 - std::cos(std::numbers::pi / 8)), 0.0, 0.0});
  }
  SECTION("start factor and eta_min") {
    WarmupCosineLR scheduler(
        f.opt, {.warmup_steps = 4, .total_steps = 12, .eta_min = 0.1, .start_factor = 0.25});
    require_sequence(
        scheduler, f.opt,
        {0.2, 0.35, 0.5, 0.65, 0.8, 0.1 + 0.35 * (1 + std::cos(std::numbers::pi / 8))});
    for (int i = 0; i < 3; ++i) scheduler.step();
    REQUIRE(f.opt.lr(0) == Approx(0.45));
    for (int i = 0; i < 10; ++i) scheduler.step();
    REQUIRE(f.opt.lr(0) == Approx(0.1));
  }
  SECTION("no warm-up") {
    WarmupCosineLR scheduler(f.opt, 0, 2);
    require_sequence(scheduler, f.opt, {0.8, 0.4, 0.0});
  }
}

TEST_CASE("WarmupCosineLR per iteration equals the authors' adjust_learning_rate_cosine",
          "[optim][lr_scheduler]") {
  // Their formula, with the epoch and the iteration inside it: warm-up over warmup_epochs whole
  // epochs from warmup_lr, then a cosine over the remaining iterations down to 0.
  const double base = 5e-3, warmup_lr = 0.0;
  const int epochs = 3, warmup_epochs = 1, iters = 7;
  auto authors = [&](int epoch, int iter) {
    if (epoch < warmup_epochs)
      return warmup_lr +
             (base - warmup_lr) * double(iter + epoch * iters) / double(warmup_epochs * iters);
    const double total = double((epochs - warmup_epochs) * iters);
    const double current = double(iter + (epoch - warmup_epochs) * iters);
    return base / 2 * (std::cos(std::numbers::pi * current / total) + 1);
  };
  Fixture f;
  f.opt.set_lr(0, base);
  WarmupCosineLR scheduler(f.opt, warmup_epochs * iters, epochs * iters);
  for (int epoch = 0; epoch < epochs; ++epoch)
    for (int iter = 0; iter < iters; ++iter) {
      INFO("epoch " << epoch << " iteration " << iter);
      REQUIRE(f.opt.lr(0) == Approx(authors(epoch, iter)).margin(1e-15));
      scheduler.step();
    }
}

TEST_CASE("LRScheduler::restart returns to step 0 with the same base lrs",
          "[optim][lr_scheduler]") {
  Fixture f;
  WarmupCosineLR scheduler(f.opt, 2, 6);
  for (int i = 0; i < 4; ++i) scheduler.step();
  REQUIRE(f.opt.lr(0) == Approx(0.05));
  scheduler.restart();
  REQUIRE(scheduler.last_step() == 0);
  REQUIRE(f.opt.lr(0) == 0.0);
  scheduler.step();
  REQUIRE(f.opt.lr(0) == Approx(0.05));
  REQUIRE(scheduler.lrs_at(2) == std::vector<double>{0.1, 0.01});
}

TEST_CASE("LR schedulers reject bad arguments", "[optim][lr_scheduler][error]") {
  Fixture f;
  REQUIRE_THROWS_WITH(StepLR(f.opt, 0), Catch::Contains("StepLR") && Catch::Contains("step_size"));
  REQUIRE_THROWS_AS(StepLR(f.opt, 2, -0.5), frost::Error);
  REQUIRE_THROWS_AS(MultiStepLR(f.opt, {2, -1}), frost::Error);
  REQUIRE_THROWS_WITH(ExponentialLR(f.opt, 0.0), Catch::Contains("ExponentialLR"));
  REQUIRE_THROWS_WITH(WarmupCosineLR(f.opt, 5, 5),
                      Catch::Contains("WarmupCosineLR") && Catch::Contains("total_steps"));
  REQUIRE_THROWS_AS(WarmupCosineLR(f.opt, -1, 5), frost::Error);
  REQUIRE_THROWS_AS(
      WarmupCosineLR(f.opt, {.warmup_steps = 1, .total_steps = 5, .start_factor = 2.0}),
      frost::Error);
  REQUIRE_THROWS_WITH(
      LambdaLR(f.opt, std::vector<LambdaLR::Factor>{[](std::int64_t) { return 1.0; }}),
      Catch::Contains("1 factor functions for 2 parameter groups"));
  // A factor that makes the lr negative is refused when it is applied.
  LambdaLR flips(f.opt, [](std::int64_t n) { return 1.0 - static_cast<double>(n); });
  flips.step();
  REQUIRE(f.opt.lr(0) == 0.0);
  REQUIRE_THROWS_WITH(flips.step(), Catch::Contains("SGD") && Catch::Contains("learning rate"));
  // The optimizer gained a group the scheduler does not know.
  auto c = param({3.0f}, {1});
  f.opt.add_param_group({c}, f.opt.defaults());
  StepLR stale(f.opt, 1);
  f.opt.add_param_group({param({4.0f}, {1})}, f.opt.defaults());
  REQUIRE_THROWS_WITH(stale.step(), Catch::Contains("parameter groups"));
}
