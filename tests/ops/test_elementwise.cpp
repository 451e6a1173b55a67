#include <frost/autograd/gradcheck.hpp>
#include <frost/core/tensor.hpp>
#include <frost/ops/activation.hpp>
#include <frost/ops/elementwise.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <vector>

using Catch::Matchers::Contains;
using frost::Shape;
using frost::Tensor;
using Inputs = std::vector<Tensor<double>>;

namespace {
template <class T>
std::vector<T> values(const Tensor<T>& t) {
  const Tensor<T> c = t.contiguous();
  return std::vector<T>(c.data(), c.data() + c.numel());
}
Tensor<double> leaf(const Shape& shape, std::uint64_t seed, double offset = 0) {
  frost::Generator gen(seed);
  return frost::add(Tensor<double>::randn(shape, gen), offset).requires_grad_();
}
}  // namespace

TEST_CASE("broadcasting binary ops against hand-computed values", "[ops][elementwise]") {
  auto a = Tensor<float>::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  auto col = Tensor<float>::from_vector({10, 20}, {2, 1});
  auto row = Tensor<float>::from_vector({1, 2, 4}, {3});
  REQUIRE(values(a + col) == std::vector<float>{11, 12, 13, 24, 25, 26});
  REQUIRE(values(a - row) == std::vector<float>{0, 0, -1, 3, 3, 2});
  REQUIRE(values(a * row) == std::vector<float>{1, 4, 12, 4, 10, 24});
  REQUIRE(values(a / row) == std::vector<float>{1, 1, 0.75f, 4, 2.5f, 1.5f});
  REQUIRE((col + row).shape() == Shape{2, 3});
  REQUIRE(values(col + row) == std::vector<float>{11, 12, 14, 21, 22, 24});
  REQUIRE(values(2.f - a.t()) == std::vector<float>{1, -2, 0, -3, -1, -4});
  REQUIRE(values(12.f / row) == std::vector<float>{12, 6, 3});
  REQUIRE(values(-a * 2) == std::vector<float>{-2, -4, -6, -8, -10, -12});
  // Strided (transposed) operands and a [N,C,H,W] + [1,C,1,1] bias.
  auto x = Tensor<float>::arange(24.f).reshape({2, 3, 2, 2});
  auto bias = Tensor<float>::from_vector({100, 200, 300}, {1, 3, 1, 1});
  auto y = x + bias;
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c)
      for (int h = 0; h < 2; ++h)
        for (int w = 0; w < 2; ++w)
          REQUIRE(y.at({n, c, h, w}) == x.at({n, c, h, w}) + 100.f * (c + 1));
  auto xt = x.permute({3, 1, 0, 2});
  auto z = xt * xt;
  for (int i = 0; i < 2; ++i)
    for (int c = 0; c < 3; ++c)
      REQUIRE(z.at({i, c, 1, 0}) == xt.at({i, c, 1, 0}) * xt.at({i, c, 1, 0}));
  // Integer tensors.
  auto i8 = Tensor<std::int8_t>::from_vector({-3, 4}, {2});
  REQUIRE(values(frost::abs(i8) * std::int8_t(2)) == std::vector<std::int8_t>{6, 8});
}

TEST_CASE("large element-wise ops match a serial reference on 2 threads",
          "[ops][elementwise][parallel]") {
  frost::set_num_threads(2);
  frost::Generator gen(3);
  auto a = Tensor<float>::randn({300, 257}, gen);
  auto b = Tensor<float>::randn({257}, gen);
  auto y = a * b + a.t().contiguous().t();
  const auto av = values(a), bv = values(b), yv = values(y);
  // Approx: the reference may be contracted into an FMA by the compiler.
  for (std::size_t i = 0; i < av.size(); ++i)
    REQUIRE(yv[i] == Approx(av[i] * bv[i % 257] + av[i]).epsilon(1e-6).margin(1e-6));
}

TEST_CASE("element-wise engine: broadcast and transposed operands, strided output",
          "[ops][elementwise]") {
  // Rows longer than one buffered block (256), operands with stride 0, 1 and > 1. (Approx: the
  // reference may compile to an FMA.)
  frost::Generator gen(8);
  auto a = Tensor<double>::randn({600, 3}, gen);  // read transposed: stride 3
  auto b = Tensor<double>::randn({3, 1}, gen);    // broadcast along the rows
  auto c = Tensor<double>::randn({600}, gen);     // broadcast over the first dim
  auto out = Tensor<double>::zeros({600, 3});
  auto out_t = out.t();  // written with stride 3
  frost::detail::elementwise_into(
      "test", out_t, [](double x, double y, double z) { return x * y + z; }, a.t(), b, c);
  for (std::int64_t i = 0; i < 3; ++i)
    for (std::int64_t j = 0; j < 600; ++j)
      REQUIRE(out.at({j, i}) ==
              Approx(a.at({j, i}) * b.at({i, 0}) + c.at({j})).epsilon(1e-14).margin(1e-14));
}

TEST_CASE("unary math ops and activations: values", "[ops][elementwise][activation]") {
  auto x = Tensor<double>::from_vector({-4, -1, 0, 0.5, 3, 7}, {6});
  const std::vector<double> xs = values(x);
  auto check = [&](const Tensor<double>& y, const std::function<double(double)>& ref) {
    const auto ys = values(y);
    for (std::size_t i = 0; i < xs.size(); ++i) REQUIRE(ys[i] == Approx(ref(xs[i])).margin(1e-12));
  };
  check(frost::relu(x), [](double v) { return v > 0 ? v : 0; });
  check(frost::relu6(x), [](double v) { return std::min(std::max(v, 0.0), 6.0); });
  check(frost::leaky_relu(x, 0.1), [](double v) { return v > 0 ? v : 0.1 * v; });
  check(frost::sigmoid(x), [](double v) { return 1 / (1 + std::exp(-v)); });
  check(frost::tanh(x), [](double v) { return std::tanh(v); });
  check(frost::hardswish(x), [](double v) { return v <= -3 ? 0 : (v >= 3 ? v : v * (v + 3) / 6); });
  check(frost::hardsigmoid(x), [](double v) { return v <= -3 ? 0 : (v >= 3 ? 1 : (v + 3) / 6); });
  check(frost::abs(x), [](double v) { return std::abs(v); });
  check(frost::clamp(x, -1.0, 2.0), [](double v) { return std::min(std::max(v, -1.0), 2.0); });
  check(frost::exp(x), [](double v) { return std::exp(v); });
  check(frost::pow(x, 2.0), [](double v) { return v * v; });
  auto p = Tensor<double>::from_vector({0.5, 4}, {2});
  REQUIRE(values(frost::log(p)) == std::vector<double>{std::log(0.5), std::log(4.0)});
  REQUIRE(values(frost::sqrt(p)) == std::vector<double>{std::sqrt(0.5), 2.0});
}

TEST_CASE("gradcheck: binary ops with broadcasting, scalar overloads",
          "[ops][elementwise][gradcheck]") {
  auto a = leaf({2, 3, 4}, 1);
  auto b = leaf({3, 1}, 2);
  auto pos = leaf({4}, 3, 3.0);  // kept away from 0 for division
  REQUIRE(frost::gradcheck([](const Inputs& in) { return in[0] + in[1]; }, {a, b}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return in[0] - in[1]; }, {a, b}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return in[0] * in[1]; }, {a, b}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return in[1] * in[0]; }, {a, b}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return in[0] / in[1]; }, {a, pos}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return in[1] / in[0]; }, {pos, a}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return (in[0] + 2.0) * 3.0 - 1.0; }, {a}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return 2.0 - in[0] / 4.0; }, {a}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return 5.0 / in[0]; }, {pos}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return -in[0]; }, {a}));
  // A strided (transposed) operand and one that does not require grad.
  auto c = Tensor<double>::randn({4, 3});
  REQUIRE(frost::gradcheck([c](const Inputs& in) { return in[0] * c.t(); }, {leaf({3, 4}, 4)}));
}

TEST_CASE("gradcheck: unary math ops and activations",
          "[ops][elementwise][activation][gradcheck]") {
  // Values away from the kinks (0, +-3, 6) so finite differences are exact enough.
  auto x = Tensor<double>::from_vector({-4.5, -2.2, -0.7, 0.4, 1.9, 2.6, 4.1, 6.8}, {2, 4})
               .requires_grad_();
  auto pos = leaf({2, 4}, 5, 4.0);
  using F = std::function<Tensor<double>(const Inputs&)>;
  const std::vector<std::pair<const char*, F>> unary = {
      {"exp", [](const Inputs& in) { return frost::exp(in[0]); }},
      {"abs", [](const Inputs& in) { return frost::abs(in[0]); }},
      {"clamp", [](const Inputs& in) { return frost::clamp(in[0], -1.0, 2.0); }},
      {"relu", [](const Inputs& in) { return frost::relu(in[0]); }},
      {"relu6", [](const Inputs& in) { return frost::relu6(in[0]); }},
      {"leaky_relu", [](const Inputs& in) { return frost::leaky_relu(in[0], 0.2); }},
      {"sigmoid", [](const Inputs& in) { return frost::sigmoid(in[0]); }},
      {"tanh", [](const Inputs& in) { return frost::tanh(in[0]); }},
      {"hardswish", [](const Inputs& in) { return frost::hardswish(in[0]); }},
      {"hardsigmoid", [](const Inputs& in) { return frost::hardsigmoid(in[0]); }},
  };
  for (const auto& [name, fn] : unary) {
    INFO(name);
    const auto r = frost::gradcheck(fn, {x});
    INFO(r.message);
    REQUIRE(r.ok);
  }
  REQUIRE(frost::gradcheck([](const Inputs& in) { return frost::log(in[0]); }, {pos}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return frost::sqrt(in[0]); }, {pos}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return frost::pow(in[0], 2.5); }, {pos}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return frost::pow(in[0], -1.0); }, {pos}));
}

TEST_CASE("integer arithmetic wraps instead of overflowing; division by zero throws",
          "[ops][elementwise]") {
  const std::int32_t big = 2147483647, small = -2147483647 - 1;
  auto a = Tensor<std::int32_t>::from_vector({big, small}, {2});
  REQUIRE(values(a + 1) == std::vector<std::int32_t>{small, small + 1});
  REQUIRE(values(-a) == std::vector<std::int32_t>{-big, small});
  REQUIRE(values(a / -1) == std::vector<std::int32_t>{-big, small});
  REQUIRE(values(Tensor<std::uint8_t>::full({1}, 200) * std::uint8_t(2)) ==
          std::vector<std::uint8_t>{144});
  REQUIRE_THROWS_WITH(a / Tensor<std::int32_t>::from_vector({1, 0}, {2}),
                      Contains("div") && Contains("zero"));
  REQUIRE_THROWS_WITH(a / 0, Contains("div") && Contains("zero"));
  REQUIRE_THROWS_WITH(5 / Tensor<std::int8_t>::zeros({3}), Contains("div") && Contains("[3]"));
}

TEST_CASE("element-wise errors name the op and both shapes", "[ops][elementwise][errors]") {
  auto a = Tensor<float>::zeros({2, 3});
  auto b = Tensor<float>::zeros({4});
  REQUIRE_THROWS_WITH(a + b, Contains("add") && Contains("[2, 3]") && Contains("[4]"));
  REQUIRE_THROWS_WITH(a - b, Contains("sub") && Contains("[2, 3]") && Contains("[4]"));
  REQUIRE_THROWS_WITH(a * b, Contains("mul") && Contains("[2, 3]") && Contains("[4]"));
  REQUIRE_THROWS_WITH(a / b, Contains("div") && Contains("[2, 3]") && Contains("[4]"));
  REQUIRE_THROWS_WITH(frost::clamp(a, 1.f, 0.f), Contains("clamp"));
}

TEST_CASE(
    "float exp, log, sigmoid, tanh, hardswish, hardsigmoid on xsimd: close to std::, "
    "the same wherever an element sits",
    "[ops][activation][simd]") {
  using Fn = std::function<Tensor<float>(const Tensor<float>&)>;
  struct Case {
    const char* name;
    Fn op;
    std::function<double(double)> exact;
    bool positive;
  };
  const std::vector<Case> cases{
      {"exp", [](const Tensor<float>& t) { return frost::exp(t); },
       [](double v) { return std::exp(v); }, false},
      {"log", [](const Tensor<float>& t) { return frost::log(t); },
       [](double v) { return std::log(v); }, true},
      {"sigmoid", [](const Tensor<float>& t) { return frost::sigmoid(t); },
       [](double v) { return 1 / (1 + std::exp(-v)); }, false},
      {"tanh", [](const Tensor<float>& t) { return frost::tanh(t); },
       [](double v) { return std::tanh(v); }, false},
      {"hardswish", [](const Tensor<float>& t) { return frost::hardswish(t); },
       [](double v) { return v * std::min(std::max(v + 3, 0.0), 6.0) / 6; }, false},
      {"hardsigmoid", [](const Tensor<float>& t) { return frost::hardsigmoid(t); },
       [](double v) { return std::min(std::max(v + 3, 0.0), 6.0) / 6; }, false},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    for (std::int64_t n = 0; n <= 67; ++n) {
      std::vector<float> v(static_cast<std::size_t>(n));
      for (std::int64_t i = 0; i < n; ++i)
        v[static_cast<std::size_t>(i)] = c.positive ? 0.01f + 0.37f * static_cast<float>(i)
                                                    : -8.0f + 0.25f * static_cast<float>(i);
      const Tensor<float> y = c.op(Tensor<float>::from_vector(v, {n}));
      REQUIRE(y.numel() == n);
      for (std::int64_t i = 0; i < n; ++i) {
        const float xi = v[static_cast<std::size_t>(i)];
        const double want = c.exact(static_cast<double>(xi));
        CHECK(std::abs(y.data()[i] - want) <= 4e-7 * std::max(1.0, std::abs(want)));
        // Alone (a tail of one element) it is the same float.
        CHECK(c.op(Tensor<float>::from_vector({xi}, {1})).data()[0] == y.data()[i]);
      }
    }
  }
}
