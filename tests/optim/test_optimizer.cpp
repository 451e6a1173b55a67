// What every optimizer shares: parameter groups, skipping parameters without a gradient,
// zero_grad, gradients from autograd, the gradient-transform extension point and its place in
// each update, threading, bad input, and convergence through frost's autograd ops.

#include <frost/core/parallel.hpp>
#include <frost/core/tensor.hpp>
#include <frost/ops/elementwise.hpp>
#include <frost/ops/matmul.hpp>
#include <frost/ops/reduction.hpp>
#include <frost/optim/adam.hpp>
#include <frost/optim/lr_scheduler.hpp>
#include <frost/optim/rmsprop.hpp>
#include <frost/optim/sgd.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "optim_test_util.hpp"

using frost::Shape;
using frost::Tensor;
using namespace frost::optim;
using namespace optim_test;

TEST_CASE("Parameter groups keep their own lr, weight decay and options", "[optim][groups]") {
  auto a = param({1.0f, -1.0f}, {2});
  auto b = param({2.0f, 0.5f}, {2});
  auto c = param({-3.0f}, {1});
  SGD opt(std::vector<ParamGroupSpec>{{{a}, 0.5, {}}, {{b}, {}, 0.1}},
          {.lr = 0.1, .weight_decay = 0.01});
  opt.add_param_group({c}, {.lr = 0.2, .momentum = 0.9});
  REQUIRE(opt.num_param_groups() == 3);
  REQUIRE(opt.lr(0) == 0.5);
  REQUIRE(opt.options(0).weight_decay == 0.01);
  REQUIRE(opt.lr(1) == 0.1);
  REQUIRE(opt.options(1).weight_decay == 0.1);
  REQUIRE(opt.options(2).momentum == 0.9);
  REQUIRE(opt.params(1).size() == 1);

  set_grad(a, {1.0, 2.0});
  set_grad(b, {0.5, -1.0});
  set_grad(c, {1.0});
  opt.step();
  require_close(values(a), {1.0 - 0.5 * (1.0 + 0.01 * 1.0), -1.0 - 0.5 * (2.0 - 0.01 * 1.0)});
  require_close(values(b), {2.0 - 0.1 * (0.5 + 0.1 * 2.0), 0.5 - 0.1 * (-1.0 + 0.1 * 0.5)});
  require_close(values(c), {-3.0 - 0.2 * 1.0});
  opt.step();  // group 2: buf = 0.9 * 1 + 1
  require_close(values(c), {-3.2 - 0.2 * 1.9});

  opt.set_lr(0.05);
  for (std::size_t g = 0; g < 3; ++g) REQUIRE(opt.lr(g) == 0.05);
  opt.set_options(1, {.lr = 0.3, .momentum = 0.5});
  REQUIRE(opt.options(1).momentum == 0.5);
  REQUIRE_THROWS_AS(opt.set_options(1, {.lr = 0.3, .nesterov = true}), frost::Error);
}

TEST_CASE("Parameters without a gradient are skipped", "[optim]") {
  auto a = param({1.0f, 2.0f}, {2});
  auto b = param({3.0f}, {1});
  Adam opt({a, b}, {.lr = 0.1});
  set_grad(a, {0.5, 0.5});
  opt.step();
  REQUIRE(values(b) == std::vector<double>{3.0});
  REQUIRE(opt.state(0, 1).step == 0);
  REQUIRE_FALSE(opt.state(0, 1).exp_avg.defined());
  REQUIRE(opt.state(0, 0).step == 1);
}

TEST_CASE("zero_grad drops or zeroes every gradient", "[optim]") {
  auto a = param({1.0f, 2.0f}, {2});
  auto b = param({3.0f}, {1});
  SGD opt({a, b}, {.lr = 0.1});
  set_grad(a, {1.0, 1.0});
  set_grad(b, {2.0});
  opt.zero_grad(false);
  REQUIRE(values(a.grad()) == std::vector<double>{0.0, 0.0});
  REQUIRE(values(b.grad()) == std::vector<double>{0.0});
  opt.zero_grad();
  REQUIRE_FALSE(a.grad().defined());
  REQUIRE_FALSE(b.grad().defined());
}

TEST_CASE("Optimizers update the module's tensors through shared handles", "[optim]") {
  // A module keeps its parameter; the optimizer holds a copy of the handle.
  auto w = param({1.0f, -1.0f, 2.0f}, {3});
  const std::vector<Tensor<float>> handles = {w};
  SGD opt(handles, {.lr = 0.25});
  auto x = Tensor<float>::from_vector({2.0f, 3.0f, -1.0f}, {3});
  frost::sum(frost::mul(w, x)).backward();  // d/dw sum(w * x) = x
  opt.step();
  require_close(values(w), {1.0 - 0.5, -1.0 - 0.75, 2.0 + 0.25});
  REQUIRE(w.requires_grad());
  REQUIRE(w.is_leaf());
}

TEST_CASE("A non-contiguous gradient is read in logical order", "[optim]") {
  auto p = param({1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f}, {2, 3});
  SGD opt({p}, {.lr = 0.1});
  // The gradient [[1, 2, 3], [4, 5, 6]] stored transposed.
  auto stored = Tensor<float>::from_vector({1, 4, 2, 5, 3, 6}, {3, 2});
  p.set_grad(stored.t());
  REQUIRE_FALSE(p.grad().is_contiguous());
  opt.step();
  require_close(values(p), {0.9, 1.8, 2.7, 3.6, 4.5, 5.4});
}

TEST_CASE("Large parameters update in parallel with the same result as one thread",
          "[optim][parallel]") {
  const std::int64_t n = 3 * (std::int64_t(1) << 15) + 77;  // several chunks
  frost::Generator gen(11);
  const auto start = Tensor<float>::randn({n}, gen);
  const auto grad1 = Tensor<float>::randn({n}, gen);
  const auto grad2 = Tensor<float>::randn({n}, gen);
  auto run = [&](int threads) {
    frost::set_num_threads(threads);
    auto p = start.clone().requires_grad_();
    Adam opt({p}, {.lr = 0.01, .weight_decay = 0.01, .amsgrad = true});
    p.set_grad(grad1.clone());
    opt.step();
    p.set_grad(grad2.clone());
    opt.step();
    return values(p);
  };
  const int saved = frost::num_threads();
  const auto one = run(1);
  const auto two = run(2);
  frost::set_num_threads(saved);
  REQUIRE(one == two);
  // Spot-check against the textbook formula (two steps, L2 decay).
  const std::vector<double> g1 = values(grad1), g2 = values(grad2), p0 = values(start);
  for (std::int64_t i : {std::int64_t(0), n / 2, n - 1}) {
    double p = p0[i], m = 0, v = 0, vmax = 0;
    for (int t = 1; t <= 2; ++t) {
      const double g = (t == 1 ? g1[i] : g2[i]) + 0.01 * p;
      m = 0.9 * m + 0.1 * g;
      v = 0.999 * v + 0.001 * g * g;
      vmax = std::max(vmax, v);
      p -=
          0.01 * (m / (1 - std::pow(0.9, t))) / (std::sqrt(vmax / (1 - std::pow(0.999, t))) + 1e-8);
    }
    REQUIRE(one[i] == Approx(p).margin(1e-6));
  }
}

// ---- the gradient-transform extension point (GradBoost's hook) --------------------------------

namespace {

// Records what the transform saw, then rewrites g to scale * g + shift.
template <class Base>
class AffineTransform : public Base {
 public:
  using Base::Base;
  float scale = 1.0f, shift = 0.0f;
  std::vector<std::vector<double>> seen_grads, seen_params;
  std::vector<std::pair<std::size_t, std::size_t>> seen_keys;

 protected:
  bool transforms_gradient() const override { return true; }
  void transform_gradient(std::size_t group, std::size_t index, std::span<float> grad) override {
    seen_keys.emplace_back(group, index);
    seen_grads.emplace_back(grad.begin(), grad.end());
    seen_params.push_back(values(this->params(group)[index]));
    for (float& g : grad) g = scale * g + shift;
  }
};

}  // namespace

TEST_CASE("The gradient transform runs where GradBoost needs it", "[optim][hook]") {
  const double p0 = 1.0, g0 = 0.5, lr = 0.1, wd = 0.1;
  auto p = param({static_cast<float>(p0)}, {1});

  SECTION("SGD: on the raw gradient, before the L2 term") {
    AffineTransform<SGD> opt({p}, {.lr = lr, .weight_decay = wd});
    opt.scale = 2.0f;
    set_grad(p, {g0});
    opt.step();
    require_close(opt.seen_grads.at(0), {g0});
    require_close(values(p), {p0 - lr * (2 * g0 + wd * p0)});
  }
  SECTION("RMSprop: on the raw gradient, before the L2 term") {
    AffineTransform<RMSprop> opt({p}, {.lr = lr, .alpha = 0.9, .eps = 0.0, .weight_decay = wd});
    opt.scale = 2.0f;
    set_grad(p, {g0});
    opt.step();
    require_close(opt.seen_grads.at(0), {g0});
    const double g = 2 * g0 + wd * p0;
    require_close(values(p), {p0 - lr * g / std::sqrt(0.1 * g * g)});
  }
  SECTION("Adam: after the L2 term") {
    AffineTransform<Adam> opt({p}, {.lr = lr, .eps = 0.0, .weight_decay = wd});
    opt.shift = -1.0f;  // flips the sign of the gradient: Adam's first step is lr * sign(g)
    set_grad(p, {g0});
    opt.step();
    require_close(opt.seen_grads.at(0), {g0 + wd * p0});
    require_close(values(p), {p0 + lr});
  }
  SECTION("AdamW: after the decoupled decay of the parameter") {
    AffineTransform<AdamW> opt({p}, {.lr = lr, .eps = 0.0, .weight_decay = wd});
    opt.shift = -1.0f;
    set_grad(p, {g0});
    opt.step();
    require_close(opt.seen_grads.at(0), {g0});
    require_close(opt.seen_params.at(0), {p0 * (1 - lr * wd)});
    require_close(values(p), {p0 * (1 - lr * wd) + lr});
  }
  // The transform works on a copy: the parameter's gradient is untouched.
  require_close(values(p.grad()), {g0});
}

TEST_CASE(
    "The gradient transform is called once per parameter with a gradient, keyed by group and index",
    "[optim][hook]") {
  auto a = param({1.0f}, {1});
  auto b = param({2.0f, 3.0f}, {2});
  auto c = param({4.0f}, {1});
  AffineTransform<SGD> opt(std::vector<ParamGroupSpec>{{{a, b}, {}, {}}, {{c}, {}, {}}},
                           {.lr = 0.1});
  set_grad(b, {1.0, 2.0});
  set_grad(c, {3.0});
  opt.step();
  REQUIRE(opt.seen_keys == std::vector<std::pair<std::size_t, std::size_t>>{{0, 1}, {1, 0}});
  require_close(opt.seen_grads[0], {1.0, 2.0});
  require_close(opt.seen_params[1], {4.0});
}

// ---- bad input
// -----------------------------------------------------------------------------------

TEST_CASE("Optimizers reject bad parameters and arguments", "[optim][error]") {
  auto p = param({1.0f, 2.0f, 3.0f, 4.0f}, {2, 2});
  REQUIRE_THROWS_WITH(SGD(std::vector<Tensor<float>>{}, {.lr = 0.1}),
                      Catch::Contains("SGD") && Catch::Contains("empty"));
  REQUIRE_THROWS_WITH(Adam(std::vector<ParamGroupSpec>{}, {}),
                      Catch::Contains("Adam") && Catch::Contains("empty"));
  REQUIRE_THROWS_WITH(SGD({Tensor<float>()}, {.lr = 0.1}), Catch::Contains("undefined"));
  REQUIRE_THROWS_WITH(SGD({frost::mul(p, 2.0f)}, {.lr = 0.1}),
                      Catch::Contains("non-leaf") && Catch::Contains("[2, 2]"));
  REQUIRE_THROWS_WITH(SGD({p.detach().t()}, {.lr = 0.1}), Catch::Contains("not contiguous"));
  REQUIRE_THROWS_WITH(SGD({p, p}, {.lr = 0.1}), Catch::Contains("appears twice"));
  REQUIRE_THROWS_WITH(SGD(std::vector<ParamGroupSpec>{{{p}, {}, {}}, {{p}, 0.1, {}}}, {.lr = 0.1}),
                      Catch::Contains("more than one parameter group"));
  REQUIRE_THROWS_WITH(SGD(std::vector<ParamGroupSpec>{{{p}, -0.5, {}}}, {.lr = 0.1}),
                      Catch::Contains("learning rate -0.5"));
  REQUIRE_THROWS_WITH(AdamW(std::vector<ParamGroupSpec>{{{p}, {}, -1.0}}, {}),
                      Catch::Contains("weight_decay"));

  SGD opt({p}, {.lr = 0.1});
  REQUIRE_THROWS_WITH(opt.set_lr(-1.0),
                      Catch::Contains("SGD") && Catch::Contains("learning rate -1"));
  REQUIRE_THROWS_AS(opt.set_lr(0, std::nan("")), frost::Error);
  REQUIRE_THROWS_WITH(opt.lr(1), Catch::Contains("parameter group 1 out of range"));
  REQUIRE_THROWS_AS(opt.state(0, 1), frost::Error);
  REQUIRE_THROWS_WITH(opt.add_param_group({p.detach()}, opt.defaults()),
                      Catch::Contains("more than one"));
  // A gradient of the wrong shape never reaches the optimizer: the tensor refuses it.
  REQUIRE_THROWS_WITH(p.set_grad(Tensor<float>::ones({4})),
                      Catch::Contains("[4]") && Catch::Contains("[2, 2]"));
  opt.step();  // no gradient: nothing happens
  REQUIRE(values(p) == std::vector<double>{1, 2, 3, 4});
}

// ---- convergence through autograd --------------------------------------------------------------

TEST_CASE("Every optimizer fits a linear regression through frost autograd",
          "[optim][convergence]") {
  frost::Generator gen(2024);
  const auto x = Tensor<float>::randn({64, 3}, gen);
  const auto w_true = Tensor<float>::from_vector({1.5f, -2.0f, 0.5f}, {3, 1});
  const float b_true = 0.3f;
  const auto y = frost::add(frost::matmul(x, w_true), b_true);

  const std::string name =
      GENERATE("SGD", "SGD-Nesterov", "RMSprop", "RMSprop-TF", "Adam", "AdamW-AMSGrad");
  INFO(name);
  auto w = Tensor<float>::zeros({3, 1}).requires_grad_();
  auto b = Tensor<float>::zeros({1}).requires_grad_();
  const std::vector<Tensor<float>> params = {w, b};
  std::unique_ptr<Optimizer> opt;
  if (name == "SGD") opt = std::make_unique<SGD>(params, SGDOptions{.lr = 0.1});
  if (name == "SGD-Nesterov")
    opt = std::make_unique<SGD>(params, SGDOptions{.lr = 0.05, .momentum = 0.9, .nesterov = true});
  if (name == "RMSprop")
    opt = std::make_unique<RMSprop>(
        params, RMSpropOptions{.lr = 0.02, .alpha = 0.9, .momentum = 0.5, .centered = true});
  if (name == "RMSprop-TF")
    opt = std::make_unique<RMSprop>(
        params,
        RMSpropOptions{.lr = 0.02, .alpha = 0.9, .eps = 1e-10, .momentum = 0.5}.tensorflow_form());
  if (name == "Adam") opt = std::make_unique<Adam>(params, AdamOptions{.lr = 0.05});
  if (name == "AdamW-AMSGrad")
    opt = std::make_unique<AdamW>(params,
                                  AdamWOptions{.lr = 0.05, .weight_decay = 1e-4, .amsgrad = true});
  REQUIRE(opt);
  const std::int64_t steps = 600;
  WarmupCosineLR schedule(*opt, 20, steps);

  double loss_value = 0;
  for (std::int64_t s = 0; s < steps; ++s) {
    opt->zero_grad();
    const auto residual = frost::sub(frost::add(frost::matmul(x, w), b), y);
    const auto loss = frost::mean(frost::mul(residual, residual));
    loss.backward();
    opt->step();
    schedule.step();
    loss_value = loss.item();
  }
  INFO("final loss " << loss_value);
  // AdamW's decay pulls the weights to a slightly shrunk solution.
  const double tol = name == "AdamW-AMSGrad" ? 5e-3 : 1e-3;
  require_close(values(w), {1.5, -2.0, 0.5}, tol);
  require_close(values(b), {b_true}, tol);
  REQUIRE(loss_value < 1e-4);
}
