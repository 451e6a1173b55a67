#include <frost/autograd/function.hpp>
#include <frost/autograd/gradcheck.hpp>
#include <frost/core/tensor.hpp>
#include <frost/ops/elementwise.hpp>
#include <frost/ops/reduction.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

using Catch::Matchers::Contains;
using frost::Tensor;

namespace {
template <class T>
std::vector<T> values(const Tensor<T>& t) {
  const Tensor<T> c = t.contiguous();
  return std::vector<T>(c.data(), c.data() + c.numel());
}
}  // namespace

TEST_CASE("backward accumulates into leaves through a shared subexpression", "[autograd]") {
  auto x = Tensor<double>::from_vector({1, 2, 3}, {3}).requires_grad_();
  auto w = Tensor<double>::from_vector({4, 5, 6}, {3}).requires_grad_();
  auto y = x * w;                     // reused twice
  auto loss = frost::sum(y * y + y);  // d/dx = (2 y + 1) w
  REQUIRE(loss.item() == Approx(16 + 100 + 324 + 4 + 10 + 18));
  loss.backward();
  REQUIRE(values(x.grad()) ==
          std::vector<double>{(2 * 4 + 1) * 4, (2 * 10 + 1) * 5, (2 * 18 + 1) * 6});
  REQUIRE(values(w.grad()) ==
          std::vector<double>{(2 * 4 + 1) * 1, (2 * 10 + 1) * 2, (2 * 18 + 1) * 3});

  // A second backward on a fresh graph adds to .grad(); zero_grad drops it.
  frost::sum(x).backward();
  REQUIRE(values(x.grad()) == std::vector<double>{37, 106, 223});
  x.zero_grad();
  REQUIRE(!x.grad().defined());
}

TEST_CASE("graph is freed after backward unless retain_graph", "[autograd]") {
  auto x = Tensor<float>::from_vector({1, 2}, {2}).requires_grad_();
  auto loss = frost::sum(x * x);
  REQUIRE(loss.grad_fn() != nullptr);
  REQUIRE(loss.grad_fn()->name() == "sum");
  REQUIRE(loss.grad_fn()->inputs().size() == 1);
  loss.backward(Tensor<float>(), /*retain_graph=*/true);
  loss.backward();
  REQUIRE(values(x.grad()) == std::vector<float>{4, 8});
  REQUIRE_THROWS_WITH(loss.backward(), Contains("backward") && Contains("second time"));
}

TEST_CASE("backward with an explicit gradient; non-scalar without one throws", "[autograd]") {
  auto x = Tensor<double>::from_vector({1, 2, 3, 4}, {2, 2}).requires_grad_();
  auto y = x * 3.0;
  REQUIRE_THROWS_WITH(y.backward(), Contains("backward") && Contains("[2, 2]"));
  REQUIRE_THROWS_WITH(y.backward(Tensor<double>::ones({4})),
                      Contains("backward") && Contains("[4]"));
  y.backward(Tensor<double>::from_vector({1, 0, 2, 0}, {2, 2}));
  REQUIRE(values(x.grad()) == std::vector<double>{3, 0, 6, 0});
}

TEST_CASE("NoGradGuard, detach and requires_grad rules", "[autograd]") {
  auto x = Tensor<float>::ones({2}).requires_grad_();
  REQUIRE(frost::is_grad_enabled());
  {
    frost::NoGradGuard guard;
    REQUIRE(!frost::is_grad_enabled());
    auto y = x * 2.f;
    REQUIRE(!y.requires_grad());
    REQUIRE(y.is_leaf());
    x.mul_(3.f);  // allowed without grad mode
  }
  REQUIRE(frost::is_grad_enabled());
  REQUIRE(values(x) == std::vector<float>{3, 3});
  REQUIRE_THROWS_WITH(x.mul_(2.f), Contains("mul_") && Contains("requires grad"));
  auto d = (x * 2.f).detach();
  REQUIRE(!d.requires_grad());
  REQUIRE(d.is_leaf());
  REQUIRE_THROWS_WITH(d.backward(), Contains("backward") && Contains("does not require grad"));
  REQUIRE_THROWS_WITH(Tensor<std::int32_t>::zeros({2}).requires_grad_(),
                      Contains("requires_grad_") && Contains("int32"));
  REQUIRE_THROWS_WITH(Tensor<std::uint8_t>::zeros({3}).backward(),
                      Contains("backward") && Contains("uint8"));
  // Views of a tensor that requires grad are differentiable.
  auto v = x.reshape({1, 2}).expand({3, 2});
  frost::sum(v).backward();
  REQUIRE(values(x.grad()) == std::vector<float>{3, 3});
}

TEST_CASE("make_function: a straight-through estimator", "[autograd][function]") {
  auto x = Tensor<float>::from_vector({-2.f, 0.3f, 0.7f, 5.f}, {4}).requires_grad_();
  // round to integers in [-1, 1]; gradient passes only where x was inside the range.
  auto xc = x.detach();
  auto y = Tensor<float>::empty({4});
  auto pass = Tensor<float>::empty({4});
  for (int i = 0; i < 4; ++i) {
    const float v = xc.data()[i];
    pass.data()[i] = (v >= -1 && v <= 1) ? 1.f : 0.f;
    y.data()[i] = std::min(1.f, std::max(-1.f, std::nearbyint(v)));
  }
  auto q = frost::autograd::make_function("round_ste", y, {x}, [pass](const Tensor<float>& g) {
    return std::vector{frost::mul(g, pass)};
  });
  REQUIRE(q.grad_fn()->name() == "round_ste");
  REQUIRE(values(q) == std::vector<float>{-1, 0, 1, 1});
  frost::sum(q * Tensor<float>::from_vector({1, 2, 3, 4}, {4})).backward();
  REQUIRE(values(x.grad()) == std::vector<float>{0, 2, 3, 0});

  auto bad = frost::autograd::make_function("bad_fn", y, {x}, [](const Tensor<float>&) {
    return std::vector{Tensor<float>::zeros({3})};
  });
  REQUIRE_THROWS_WITH(frost::sum(bad).backward(),
                      Contains("bad_fn") && Contains("[3]") && Contains("[4]"));
}

TEST_CASE("gradcheck detects a wrong backward", "[autograd][gradcheck]") {
  auto x = Tensor<double>::randn({5}).requires_grad_();
  auto wrong = [](const std::vector<Tensor<double>>& in) {
    auto y = frost::mul(in[0], in[0]).detach();  // value x^2, claimed derivative 3x
    return frost::autograd::make_function(
        "wrong_square", y, {in[0]},
        [x = in[0].detach()](const Tensor<double>& g) { return std::vector{g * x * 3.0}; });
  };
  const auto bad = frost::gradcheck(wrong, {x});
  REQUIRE(!bad.ok);
  REQUIRE(bad.max_abs_error > 1e-3);
  REQUIRE_THAT(bad.message, Contains("gradcheck") && Contains("input 0"));
  const auto good =
      frost::gradcheck([](const std::vector<Tensor<double>>& in) { return in[0] * in[0]; }, {x});
  REQUIRE(good.ok);
  REQUIRE(good.max_abs_error < 1e-7);
}
