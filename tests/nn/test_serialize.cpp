// nn::save / nn::load: state dicts through safetensors files.
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>

#include "../io/temp_files.hpp"
#include "frost/nn/activation.hpp"
#include "frost/nn/linear.hpp"
#include "frost/nn/sequential.hpp"
#include "frost/nn/serialize.hpp"

using frost::Tensor;
namespace nn = frost::nn;

namespace {
std::shared_ptr<nn::Sequential> make_mlp() {
  return std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(3, 5),
                                          std::make_shared<nn::ReLU>(),
                                          std::make_shared<nn::Linear>(5, 2));
}
}  // namespace

TEST_CASE("nn::save and nn::load round-trip a model through a safetensors file", "[nn][io]") {
  frost_test::TempDir dir;
  frost::manual_seed(1);
  auto a = make_mlp();
  frost::manual_seed(2);
  auto b = make_mlp();
  nn::save(*a, dir / "mlp.safetensors", {{"epoch", "3"}});

  const auto raw = frost::io::load_safetensors_as<float>(dir / "mlp.safetensors");
  CHECK(raw.size() == 4);
  CHECK(raw.at("2.weight").shape() == frost::Shape{2, 5});

  CHECK(nn::load(*b, dir / "mlp.safetensors").ok());
  const Tensor<float> x = Tensor<float>::randn({4, 3});
  const Tensor<float> ya = (*a)(x), yb = (*b)(x);
  for (std::int64_t i = 0; i < ya.numel(); ++i) CHECK(ya.data()[i] == yb.data()[i]);
}

TEST_CASE("nn::load names the file and the keys that do not match", "[nn][io]") {
  frost_test::TempDir dir;
  auto mlp = make_mlp();
  nn::Sequential other(std::make_shared<nn::Linear>(3, 5));
  nn::save(other, dir / "small.safetensors");
  try {
    nn::load(*mlp, dir / "small.safetensors");
    FAIL("expected frost::Error");
  } catch (const frost::Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("missing keys [2.weight, 2.bias]"));
    CHECK_THAT(e.what(), Catch::Contains("small.safetensors"));
  }
  const auto partial = nn::load(*mlp, dir / "small.safetensors", /*strict=*/false);
  CHECK(partial.missing_keys == std::vector<std::string>{"2.weight", "2.bias"});

  std::map<std::string, Tensor<std::int32_t>> ints{
      {"0.weight", Tensor<std::int32_t>::zeros({5, 3})}};
  frost::io::save_safetensors(dir / "ints.safetensors", ints);
  CHECK_THROWS_WITH(nn::load(*mlp, dir / "ints.safetensors"), Catch::Contains("0.weight"));
  CHECK_THROWS_WITH(nn::load(*mlp, dir / "missing.safetensors"),
                    Catch::Contains("missing.safetensors"));
}
