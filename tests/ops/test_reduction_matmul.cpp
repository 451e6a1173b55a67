#include <frost/autograd/gradcheck.hpp>
#include <frost/core/tensor.hpp>
#include <frost/ops/elementwise.hpp>
#include <frost/ops/linear.hpp>
#include <frost/ops/matmul.hpp>
#include <frost/ops/reduction.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
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
Tensor<double> leaf(const Shape& shape, std::uint64_t seed) {
  frost::Generator gen(seed);
  return Tensor<double>::randn(shape, gen).requires_grad_();
}
// Independent reference: naive triple loop.
Tensor<double> naive_matmul(const Tensor<double>& a, const Tensor<double>& b) {
  const auto m = a.size(0), k = a.size(1), n = b.size(1);
  auto c = Tensor<double>::zeros({m, n});
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j)
      for (std::int64_t p = 0; p < k; ++p) c.at({i, j}) += a.at({i, p}) * b.at({p, j});
  return c;
}
void require_close(const Tensor<double>& a, const Tensor<double>& b, double tol = 1e-10) {
  REQUIRE(a.shape() == b.shape());
  const auto av = values(a), bv = values(b);
  for (std::size_t i = 0; i < av.size(); ++i) REQUIRE(av[i] == Approx(bv[i]).margin(tol));
}
}  // namespace

TEST_CASE("sum, mean, var, max, argmax against hand-computed values", "[ops][reduction]") {
  // x = [[[0, 1, 2], [3, 4, 5]], [[6, 7, 8], [9, 10, 11]]]
  auto x = Tensor<double>::arange(12.0).reshape({2, 2, 3});
  REQUIRE(frost::sum(x).item() == 66);
  REQUIRE(frost::sum(x).dim() == 0);
  REQUIRE(values(frost::sum(x, {0})) == std::vector<double>{6, 8, 10, 12, 14, 16});
  REQUIRE(values(frost::sum(x, {-1})) == std::vector<double>{3, 12, 21, 30});
  auto s02 = frost::sum(x, {0, 2}, true);
  REQUIRE(s02.shape() == Shape{1, 2, 1});
  REQUIRE(values(s02) == std::vector<double>{0 + 1 + 2 + 6 + 7 + 8, 3 + 4 + 5 + 9 + 10 + 11});
  REQUIRE(values(frost::sum(x.permute({2, 0, 1}), {1})) ==
          std::vector<double>{6, 12, 8, 14, 10, 16});
  REQUIRE(frost::mean(x).item() == 5.5);
  REQUIRE(values(frost::mean(x, {1, 2})) == std::vector<double>{2.5, 8.5});
  // var over the last dim: rows {0,1,2} etc. have mean offset +1 and squared deviations 1,0,1.
  REQUIRE(values(frost::var(x, {2})) == std::vector<double>{1, 1, 1, 1});
  REQUIRE(values(frost::var(x, {2}, false)) ==
          std::vector<double>{2.0 / 3, 2.0 / 3, 2.0 / 3, 2.0 / 3});
  REQUIRE(frost::var(x).item() == Approx(143.0 / 12 * 12 / 11));  // (n^2-1)/12 * n/(n-1), n = 12
  auto y = Tensor<float>::from_vector({3, 9, 9, -1, 7, 2}, {2, 3});
  REQUIRE(values(frost::max(y, 1)) == std::vector<float>{9, 7});
  REQUIRE(values(frost::argmax(y, 1)) == std::vector<std::int32_t>{1, 1});
  REQUIRE(values(frost::argmax(y, 0, true)) == std::vector<std::int32_t>{0, 0, 0});
  REQUIRE(frost::argmax(y, 0, true).shape() == Shape{1, 3});
  REQUIRE(frost::max(y).item() == 9);
  REQUIRE(values(frost::min(y, 1)) == std::vector<float>{3, -1});
  REQUIRE(values(frost::argmin(y, 0)) == std::vector<std::int32_t>{1, 1, 1});
  REQUIRE(frost::min(y).item() == -1);
  REQUIRE(frost::argmin(y).item() == 3);
  REQUIRE(frost::argmax(y).item() == 1);
  auto i8 = Tensor<std::int8_t>::full({100}, 100);
  REQUIRE(frost::sum(i8).item() == 10000);  // integer sums widen to int32
}

TEST_CASE("gradcheck: reductions", "[ops][reduction][gradcheck]") {
  auto x = leaf({2, 3, 4}, 11);
  REQUIRE(frost::gradcheck([](const Inputs& in) { return frost::sum(in[0]); }, {x}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return frost::sum(in[0], {0, 2}); }, {x}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return frost::sum(in[0], {1}, true); }, {x}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return frost::mean(in[0]); }, {x}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return frost::mean(in[0], {-1}); }, {x}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return frost::var(in[0], {0, 2}); }, {x}));
  REQUIRE(
      frost::gradcheck([](const Inputs& in) { return frost::var(in[0], {1}, false, true); }, {x}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return frost::max(in[0], 1); }, {x}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return frost::max(in[0], 0, true); }, {x}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return frost::max(in[0]); }, {x}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return frost::min(in[0], 2, true); }, {x}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return frost::min(in[0]); }, {x}));
}

TEST_CASE("gradcheck: views", "[autograd][views][gradcheck]") {
  auto x = leaf({2, 3, 4}, 12);
  REQUIRE(frost::gradcheck([](const Inputs& in) { return in[0].permute({2, 0, 1}) * 2.0; }, {x}));
  REQUIRE(frost::gradcheck(
      [](const Inputs& in) {
        return in[0].transpose(0, 2).reshape({4, 6});
      },
      {x}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return in[0].narrow(2, 1, 2); }, {x}));
  REQUIRE(frost::gradcheck(
      [](const Inputs& in) { return in[0].slice(1, 0, 3, 2) * in[0].select(1, -1).unsqueeze(1); },
      {x}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return in[0].flatten(1).unsqueeze(0).squeeze(); },
                           {x}));
  auto b = leaf({3, 1}, 13);
  REQUIRE(frost::gradcheck([](const Inputs& in) { return in[0].expand({2, 3, 5}); }, {b}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return in[0].t().contiguous() * 1.5; },
                           {leaf({3, 4}, 14)}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return in[0].clone(); }, {x}));
}

TEST_CASE("matmul and linear match a naive product", "[ops][matmul][linear]") {
  frost::set_num_threads(2);
  frost::Generator gen(21);
  for (auto [m, k, n] : {std::tuple{1, 1, 1}, std::tuple{3, 5, 2}, std::tuple{70, 129, 65}}) {
    auto a = Tensor<double>::randn({m, k}, gen);
    auto b = Tensor<double>::randn({k, n}, gen);
    require_close(frost::matmul(a, b), naive_matmul(a, b));
    auto bt = Tensor<double>::randn({n, k}, gen);
    require_close(frost::matmul(a, bt.t()), naive_matmul(a, bt.t()));
    require_close(frost::matmul(a.t().contiguous().t(), b), naive_matmul(a, b));
  }
  auto a3 = Tensor<double>::randn({2, 3, 4}, gen);
  auto b3 = Tensor<double>::randn({2, 4, 5}, gen);
  auto c3 = frost::matmul(a3, b3);
  REQUIRE(c3.shape() == Shape{2, 3, 5});
  require_close(c3.select(0, 1), naive_matmul(a3.select(0, 1), b3.select(0, 1)));
  auto v = Tensor<double>::randn({4}, gen);
  REQUIRE(frost::matmul(a3.select(0, 0), v).shape() == Shape{3});
  require_close(frost::matmul(a3.select(0, 0), v),
                naive_matmul(a3.select(0, 0), v.reshape({4, 1})).reshape({3}));

  auto x = Tensor<double>::randn({6, 4}, gen);
  auto w = Tensor<double>::randn({3, 4}, gen);
  auto bias = Tensor<double>::randn({3}, gen);
  require_close(frost::linear(x, w, bias), naive_matmul(x, w.t()) + bias);
  require_close(frost::linear(x, w), naive_matmul(x, w.t()));
  REQUIRE(frost::linear(x.reshape({2, 3, 4}), w, bias).shape() == Shape{2, 3, 3});
}

TEST_CASE("gradcheck: matmul and linear", "[ops][matmul][linear][gradcheck]") {
  REQUIRE(frost::gradcheck([](const Inputs& in) { return frost::matmul(in[0], in[1]); },
                           {leaf({3, 4}, 1), leaf({4, 2}, 2)}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return frost::matmul(in[0], in[1].t()); },
                           {leaf({2, 3, 4}, 3), leaf({5, 4}, 4)}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return frost::matmul(in[0], in[1]); },
                           {leaf({2, 3, 4}, 5), leaf({2, 4, 2}, 6)}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return frost::matmul(in[0], in[1]); },
                           {leaf({4}, 7), leaf({4, 3}, 8)}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return frost::linear(in[0], in[1], in[2]); },
                           {leaf({5, 4}, 9), leaf({3, 4}, 10), leaf({3}, 11)}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return frost::linear(in[0], in[1]); },
                           {leaf({2, 2, 4}, 12), leaf({3, 4}, 13)}));
}

TEST_CASE("reduction, matmul and linear errors name the op and shapes", "[ops][errors]") {
  auto a = Tensor<float>::zeros({2, 3});
  REQUIRE_THROWS_WITH(frost::sum(a, {2}), Contains("sum") && Contains("dimension 2"));
  REQUIRE_THROWS_WITH(frost::max(Tensor<float>::zeros({0}), 0), Contains("max") && Contains("[0]"));
  REQUIRE_THROWS_WITH(frost::matmul(a, Tensor<float>::zeros({2, 3})),
                      Contains("matmul") && Contains("[2, 3]") && Contains("[2, 3]"));
  REQUIRE_THROWS_WITH(
      frost::matmul(Tensor<float>::zeros({2, 2, 3}), Tensor<float>::zeros({3, 3, 1})),
      Contains("matmul") && Contains("[2, 2, 3]") && Contains("[3, 3, 1]"));
  REQUIRE_THROWS_WITH(frost::linear(a, Tensor<float>::zeros({4, 2})),
                      Contains("linear") && Contains("[2, 3]") && Contains("[4, 2]"));
  REQUIRE_THROWS_WITH(frost::linear(a, Tensor<float>::zeros({4, 3}), Tensor<float>::zeros({3})),
                      Contains("linear") && Contains("[3]") && Contains("[4, 3]"));
}
