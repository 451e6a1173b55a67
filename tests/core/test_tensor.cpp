#include <frost/core/tensor.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <sstream>
#include <vector>

using Catch::Matchers::Contains;
using frost::Shape;
using frost::Tensor;

namespace {
template <class T>
std::vector<T> values(const Tensor<T>& t) {
  const Tensor<T> c = t.contiguous();
  return std::vector<T>(c.data(), c.data() + c.numel());
}
}  // namespace

TEST_CASE("factories fill shapes, strides and values", "[core][tensor]") {
  auto z = Tensor<float>::zeros({2, 3});
  REQUIRE(z.shape() == Shape{2, 3});
  REQUIRE(z.strides() == Shape{3, 1});
  REQUIRE(z.numel() == 6);
  REQUIRE(z.is_contiguous());
  REQUIRE(values(z) == std::vector<float>(6, 0.f));
  REQUIRE(values(Tensor<std::int32_t>::full({4}, 7)) == std::vector<std::int32_t>{7, 7, 7, 7});
  REQUIRE(values(Tensor<double>::arange(1.0, 2.0, 0.25)) ==
          std::vector<double>{1.0, 1.25, 1.5, 1.75});
  REQUIRE(values(Tensor<std::int8_t>::arange(4)) == std::vector<std::int8_t>{0, 1, 2, 3});
  auto s = Tensor<float>::scalar(2.5f);
  REQUIRE(s.dim() == 0);
  REQUIRE(s.item() == 2.5f);
  REQUIRE(reinterpret_cast<std::uintptr_t>(Tensor<std::uint8_t>::empty({3}).data()) % 64 == 0);
  REQUIRE_THROWS_WITH(Tensor<float>::from_vector({1, 2, 3}, {2, 2}),
                      Contains("from_vector") && Contains("[2, 2]"));
}

TEST_CASE("random factories are reproducible from a seed", "[core][tensor]") {
  frost::Generator g1(42), g2(42);
  auto a = Tensor<float>::randn({100}, g1);
  auto b = Tensor<float>::randn({100}, g2);
  REQUIRE(values(a) == values(b));
  auto u = Tensor<double>::uniform({1000}, -2.0, 3.0, g1);
  for (double v : values(u)) REQUIRE((v >= -2.0 && v < 3.0));
  auto m = Tensor<std::uint8_t>::bernoulli({1000}, 0.3, g1);
  int ones = 0;
  for (auto v : values(m)) {
    REQUIRE((v == 0 || v == 1));
    ones += v;
  }
  REQUIRE(ones > 240);
  REQUIRE(ones < 360);
}

TEST_CASE("permute, transpose and narrow are views with hand-computed strides",
          "[core][tensor][views]") {
  auto x = Tensor<float>::arange(24.f).reshape({2, 3, 4});
  REQUIRE(x.strides() == Shape{12, 4, 1});
  auto p = x.permute({2, 0, 1});
  REQUIRE(p.shape() == Shape{4, 2, 3});
  REQUIRE(p.strides() == Shape{1, 12, 4});
  REQUIRE(!p.is_contiguous());
  REQUIRE(p.storage() == x.storage());
  REQUIRE(p.at({3, 1, 2}) == 1 * 12 + 2 * 4 + 3);

  auto t = x.transpose(0, 2);
  REQUIRE(t.shape() == Shape{4, 3, 2});
  REQUIRE(t.at({1, 2, 1}) == 12 + 8 + 1);

  auto n = x.narrow(2, 1, 2);  // columns 1..2
  REQUIRE(n.shape() == Shape{2, 3, 2});
  REQUIRE(n.storage_offset() == 1);
  REQUIRE(n.strides() == Shape{12, 4, 1});
  REQUIRE(values(n) == std::vector<float>{1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22});

  auto s = x.slice(1, 0, 3, 2);  // rows 0 and 2
  REQUIRE(s.shape() == Shape{2, 2, 4});
  REQUIRE(s.strides() == Shape{12, 8, 1});
  REQUIRE(s.at({1, 1, 3}) == 12 + 8 + 3);
  REQUIRE(x.slice(1, -2, 100).shape() == Shape{2, 2, 4});

  auto sel = x.select(1, -1);
  REQUIRE(sel.shape() == Shape{2, 4});
  REQUIRE(values(sel) == std::vector<float>{8, 9, 10, 11, 20, 21, 22, 23});

  // Writing through a view writes the base tensor.
  n.at({0, 0, 0}) = 100.f;
  REQUIRE(x.at({0, 0, 1}) == 100.f);
}

TEST_CASE("squeeze, unsqueeze, expand, reshape, flatten", "[core][tensor][views]") {
  auto x = Tensor<float>::arange(6.f).reshape({1, 2, 1, 3});
  REQUIRE(x.squeeze().shape() == Shape{2, 3});
  REQUIRE(x.squeeze(2).shape() == Shape{1, 2, 3});
  REQUIRE(x.squeeze(1).shape() == Shape{1, 2, 1, 3});
  auto u = x.squeeze().unsqueeze(-1);
  REQUIRE(u.shape() == Shape{2, 3, 1});
  REQUIRE(u.strides() == Shape{3, 1, 1});

  auto col = Tensor<float>::from_vector({1, 2, 3}, {3, 1});
  auto e = col.expand({2, 3, 4});
  REQUIRE(e.shape() == Shape{2, 3, 4});
  REQUIRE(e.strides() == Shape{0, 1, 0});
  REQUIRE(e.at({1, 2, 3}) == 3.f);
  REQUIRE(values(e.reshape({-1})).size() == 24);
  REQUIRE_THROWS_WITH(col.expand({2, 4}),
                      Contains("expand") && Contains("[3, 1]") && Contains("[2, 4]"));

  auto r = Tensor<float>::arange(12.f).reshape({3, -1});
  REQUIRE(r.shape() == Shape{3, 4});
  REQUIRE(r.storage() == r.reshape({2, 6}).storage());
  auto rt = r.t().reshape({12});  // not viewable: copies
  REQUIRE(rt.storage() != r.storage());
  REQUIRE(values(rt) == std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  REQUIRE(Tensor<float>::zeros({2, 3, 4, 5}).flatten(1).shape() == Shape{2, 60});
  REQUIRE_THROWS_WITH(r.reshape({5, -1}), Contains("reshape") && Contains("[3, 4]"));
  REQUIRE_THROWS_WITH(r.t().view({12}), Contains("view") && Contains("not contiguous"));
}

TEST_CASE("contiguous, clone, cast, fill_, copy_, at bounds", "[core][tensor]") {
  auto x = Tensor<float>::arange(6.f).reshape({2, 3});
  auto c = x.t().contiguous();
  REQUIRE(c.is_contiguous());
  REQUIRE(values(c) == std::vector<float>{0, 3, 1, 4, 2, 5});
  REQUIRE(x.contiguous().storage() == x.storage());
  auto k = x.clone();
  REQUIRE(k.storage() != x.storage());
  REQUIRE(values(k) == values(x));

  auto f = Tensor<float>::from_vector({-1.7f, 2.9f, 300.f}, {3});
  REQUIRE(values(f.cast<std::int32_t>()) == std::vector<std::int32_t>{-1, 2, 300});
  REQUIRE(values(f.cast<double>()) == std::vector<double>{double(-1.7f), double(2.9f), 300.0});

  x.t().narrow(0, 1, 1).fill_(9.f);  // column 1
  REQUIRE(values(x) == std::vector<float>{0, 9, 2, 3, 9, 5});
  x.copy_(Tensor<std::int32_t>::from_vector({1, 2, 3}, {3}));  // broadcast over rows
  REQUIRE(values(x) == std::vector<float>{1, 2, 3, 1, 2, 3});
  REQUIRE_THROWS_WITH(x.at({2, 0}), Contains("at") && Contains("[2, 3]"));
  REQUIRE_THROWS_WITH(Tensor<float>::zeros({3, 1}).expand({3, 4}).fill_(1.f),
                      Contains("fill_") && Contains("expanded") && Contains("[3, 4]"));
  REQUIRE_THROWS_WITH(x.at({0}), Contains("at"));
  REQUIRE_THROWS_WITH(x.item(), Contains("item") && Contains("[2, 3]"));
}

TEST_CASE("printing shows values, shape and dtype, and truncates big tensors", "[core][print]") {
  std::ostringstream os;
  os << Tensor<float>::arange(4.f).reshape({2, 2});
  REQUIRE(os.str() ==
          "tensor([[0.0000, 1.0000],\n        [2.0000, 3.0000]], shape=[2, 2], dtype=float32)");
  std::ostringstream sci;
  sci << Tensor<double>::from_vector({1e-5, 2.5e9}, {2});
  REQUIRE(sci.str() == "tensor([1.0000e-05, 2.5000e+09], shape=[2], dtype=float64)");
  std::ostringstream big;
  big << Tensor<std::int32_t>::arange(2000);
  REQUIRE(big.str() ==
          "tensor([   0,    1,    2, ..., 1997, 1998, 1999], shape=[2000], dtype=int32)");
}

TEST_CASE("large storage is reused from the cache; limit 0 disables it", "[core][storage]") {
  frost::clear_storage_cache();
  const float* first = nullptr;
  {
    auto t = Tensor<float>::empty({100000});
    first = t.data();
  }
  REQUIRE(frost::storage_cache_bytes() >= 400000);
  {
    auto again = Tensor<float>::empty({100000});
    REQUIRE(again.data() == first);
    REQUIRE(frost::storage_cache_bytes() == 0);
    REQUIRE(reinterpret_cast<std::uintptr_t>(again.data()) % 64 == 0);
  }
  frost::set_storage_cache_limit(0);
  { auto t = Tensor<float>::empty({100000}); }
  REQUIRE(frost::storage_cache_bytes() == 0);
  frost::set_storage_cache_limit(frost::default_storage_cache_limit());
}

TEST_CASE("a full storage cache gives its oldest buffers back to make room for new sizes",
          "[core][storage]") {
  constexpr std::size_t kLimit = 1 << 20;  // 1 MiB: room for two of the 400 KB buffers
  frost::set_storage_cache_limit(kLimit);
  const float* newer = nullptr;
  {
    auto oldest = Tensor<float>::empty({100000});
    auto old = Tensor<float>::empty({100000});
    newer = old.data();
  }  // `old` is freed first, `oldest` second: both cached
  REQUIRE(frost::storage_cache_bytes() == 2 * 401408);
  { auto other = Tensor<float>::empty({150000}); }  // 600 KB: evicts one 400 KB buffer
  REQUIRE(frost::storage_cache_bytes() == 401408 + 602112);
  {
    auto again = Tensor<float>::empty({100000});  // the one left is the most recently freed
    REQUIRE(frost::storage_cache_bytes() == 602112);
    auto second = Tensor<float>::empty({100000});  // none left: a fresh buffer
    REQUIRE(frost::storage_cache_bytes() == 602112);
    REQUIRE(again.data() != newer);
  }
  { auto huge = Tensor<float>::empty({1 << 19}); }  // 2 MiB is over the limit: never cached
  REQUIRE(frost::storage_cache_bytes() <= kLimit);
  frost::set_storage_cache_limit(frost::default_storage_cache_limit());
}
