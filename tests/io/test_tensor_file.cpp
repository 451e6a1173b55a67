#include <frost/io/tensor_file.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "temp_files.hpp"

using Catch::Matchers::Contains;
using frost::Tensor;
using frost::io::AnyTensor;
using frost_test::TempDir;

namespace {

template <class T>
std::vector<T> values_of(const Tensor<T>& t) {
  const Tensor<T> c = t.contiguous();
  return std::vector<T>(c.data(), c.data() + c.numel());
}

}  // namespace

TEST_CASE("save_safetensors / load_safetensors round trip every element type",
          "[io][safetensors][tensor]") {
  TempDir dir;
  frost::Generator gen(11);
  const auto f32 = Tensor<float>::randn({2, 3}, gen);
  const auto f64 = Tensor<double>::from_vector({1.0 / 3.0, -2.5e-300, 7.0}, {3});
  const auto i8 = Tensor<std::int8_t>::from_vector({-128, 0, 127, 5}, {2, 2});
  const auto u8 = Tensor<std::uint8_t>::from_vector({0, 255, 9}, {3, 1});
  const auto i32 = Tensor<std::int32_t>::scalar(-123456789);
  const auto empty = Tensor<float>::zeros({0, 5});
  const std::map<std::string, AnyTensor> tensors = {{"f32", f32}, {"f64", f64}, {"i8", i8},
                                                    {"u8", u8},   {"i32", i32}, {"empty", empty}};
  const auto path = dir / "mixed.safetensors";
  frost::io::save_safetensors(path, tensors, {{"step", "42"}});

  const auto loaded = frost::io::load_safetensors(path);
  REQUIRE(loaded.metadata.at("step") == "42");
  REQUIRE(loaded.tensors.size() == tensors.size());
  const auto& lf32 = std::get<Tensor<float>>(loaded.tensors.at("f32"));
  REQUIRE(lf32.shape() == frost::Shape{2, 3});
  REQUIRE(values_of(lf32) == values_of(f32));
  REQUIRE(values_of(std::get<Tensor<double>>(loaded.tensors.at("f64"))) == values_of(f64));
  REQUIRE(values_of(std::get<Tensor<std::int8_t>>(loaded.tensors.at("i8"))) == values_of(i8));
  const auto& lu8 = std::get<Tensor<std::uint8_t>>(loaded.tensors.at("u8"));
  REQUIRE(lu8.shape() == frost::Shape{3, 1});
  REQUIRE(values_of(lu8) == values_of(u8));
  const auto& li32 = std::get<Tensor<std::int32_t>>(loaded.tensors.at("i32"));
  REQUIRE(li32.dim() == 0);
  REQUIRE(li32.item() == -123456789);
  REQUIRE(std::get<Tensor<float>>(loaded.tensors.at("empty")).shape() == frost::Shape{0, 5});

  // The dtype tags in the file are the standard ones, readable by any safetensors reader.
  const auto raw = frost::io::read_safetensors(path);
  REQUIRE(raw.find("f32")->dtype == frost::io::SafetensorsDType::kF32);
  REQUIRE(raw.find("f64")->dtype == frost::io::SafetensorsDType::kF64);
  REQUIRE(raw.find("i8")->dtype == frost::io::SafetensorsDType::kI8);
  REQUIRE(raw.find("u8")->dtype == frost::io::SafetensorsDType::kU8);
  REQUIRE(raw.find("i32")->dtype == frost::io::SafetensorsDType::kI32);
}

TEST_CASE("an ordered float state dict saves and loads by name", "[io][safetensors][tensor]") {
  TempDir dir;
  frost::Generator gen(5);
  auto weight = Tensor<float>::randn({4, 3}, gen);
  weight.requires_grad_();  // parameters save as plain values, without touching the graph
  const std::vector<std::pair<std::string, Tensor<float>>> state = {
      {"fc.weight", weight},
      {"fc.bias", Tensor<float>::from_vector({0.5f, -0.5f, 0.25f, 0.0f}, {4})},
      {"bn.running_mean", Tensor<float>::zeros({4})}};
  const auto path = dir / "state.safetensors";
  frost::io::save_safetensors(path, state);

  frost::io::SafetensorsMetadata metadata = {{"stale", "value"}};
  const auto loaded = frost::io::load_safetensors_as<float>(path, &metadata);
  REQUIRE(metadata.empty());
  REQUIRE(loaded.size() == 3);
  for (const auto& [name, tensor] : state) {
    REQUIRE(loaded.at(name).shape() == tensor.shape());
    REQUIRE(values_of(loaded.at(name)) == values_of(tensor));
    REQUIRE_FALSE(loaded.at(name).requires_grad());
  }
}

TEST_CASE("non-contiguous views are saved as their values", "[io][safetensors][tensor]") {
  TempDir dir;
  const auto base = Tensor<float>::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  const std::map<std::string, Tensor<float>> tensors = {
      {"transposed", base.transpose(0, 1)},  // [[1,4],[2,5],[3,6]]
      {"column", base.narrow(1, 1, 1)}};     // [[2],[5]]
  const auto path = dir / "views.safetensors";
  frost::io::save_safetensors(path, tensors);
  const auto loaded = frost::io::load_safetensors_as<float>(path);
  REQUIRE(loaded.at("transposed").shape() == frost::Shape{3, 2});
  REQUIRE(values_of(loaded.at("transposed")) == std::vector<float>{1, 4, 2, 5, 3, 6});
  REQUIRE(loaded.at("column").shape() == frost::Shape{2, 1});
  REQUIRE(values_of(loaded.at("column")) == std::vector<float>{2, 5});
}

TEST_CASE("tensor loading errors name the path and the tensor", "[io][safetensors][errors]") {
  TempDir dir;
  const auto path = dir / "ints.safetensors";
  frost::io::save_safetensors(path, std::map<std::string, Tensor<std::int32_t>>{
                                        {"steps", Tensor<std::int32_t>::ones({2})}});
  REQUIRE_THROWS_WITH(frost::io::load_safetensors_as<float>(path),
                      Contains(path.string()) &&
                          Contains("tensor \"steps\" has dtype I32, expected F32 (float32)"));

  // A half-precision file (as PyTorch writes for fp16 models) has no frost tensor type.
  const auto half_path = dir / "half.safetensors";
  const std::vector<std::uint8_t> half_bytes = {0x00, 0x3C};  // 1.0 in IEEE half
  const std::vector<frost::io::SafetensorsView> half = {
      {"h", frost::io::SafetensorsDType::kF16, {1}, half_bytes}};
  frost::io::write_safetensors(half_path, half);
  REQUIRE_THROWS_WITH(frost::io::load_safetensors(half_path),
                      Contains(half_path.string()) && Contains("tensor \"h\" has dtype F16"));

  const auto undefined_path = dir / "undefined.safetensors";
  REQUIRE_THROWS_WITH(
      frost::io::save_safetensors(undefined_path,
                                  std::map<std::string, Tensor<float>>{{"w", Tensor<float>()}}),
      Contains(undefined_path.string()) && Contains("tensor \"w\" is undefined"));
  REQUIRE_FALSE(std::filesystem::exists(undefined_path));
}
