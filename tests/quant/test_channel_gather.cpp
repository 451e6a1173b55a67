// Channel splits (chunk / narrow / slice of channels) and channel shuffles (reshape to
// [N, g, C/g, H, W], transpose, reshape back) written in forward: convert follows them as maps of
// channels and runs them as channel_gather ops that copy u8 codes (no requantization), composed
// so that a split of a shuffle is one gather. Shape ops that move H or W are refused by name.

#include <frost/engine/serialize.hpp>
#include <frost/frost.hpp>
#include <frost/models/shufflenet_v2.hpp>
#include <frost/quant/convert.hpp>
#include <frost/quant/prepare.hpp>

#include "int8_agreement.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

using Catch::Matchers::Contains;
using frost::Tensor;
namespace nn = frost::nn;
namespace quant = frost::quant;
using frost::engine::OpKind;
using frost_test::codes;

namespace {

std::shared_ptr<nn::Conv2d> conv(std::int64_t in, std::int64_t out, int k) {
  return std::make_shared<nn::Conv2d>(in, out, k,
                                      nn::Conv2dOptions{.padding = k / 2, .bias = false});
}

// stem (8 channels) -> chunk in halves -> cat(h0, relu(conv(h1))) -> shuffle (groups 2) ->
// cat(every second channel from 1, the first four) -> conv -> mean -> linear.
struct SplitShuffleNet : nn::Module {
  std::shared_ptr<nn::Conv2d> stem = register_module("stem", conv(3, 8, 3));
  std::shared_ptr<nn::BatchNorm2d> stem_bn =
      register_module("stem_bn", std::make_shared<nn::BatchNorm2d>(8));
  std::shared_ptr<nn::Conv2d> branch = register_module("branch", conv(4, 4, 1));
  std::shared_ptr<nn::Conv2d> head = register_module("head", conv(8, 6, 3));
  std::shared_ptr<nn::Linear> fc = register_module("fc", std::make_shared<nn::Linear>(6, 3));
  int bad = 0;  // 1: a transpose of H and W; 2: a slice of rows

  SplitShuffleNet() : nn::Module("SplitShuffleNet") {}

  Tensor<float> forward(const Tensor<float>& x) override {
    Tensor<float> y = frost::relu((*stem_bn)((*stem)(x)));
    const auto halves = frost::chunk(y, 2, 1);
    y = frost::cat({halves[0], frost::relu((*branch)(halves[1]))}, 1);
    y = frost::models::channel_shuffle(y, 2);
    if (bad == 1) y = y.transpose(2, 3);
    if (bad == 2) y = y.narrow(2, 0, 4);
    y = frost::cat({y.slice(1, 1, 8, 2), y.narrow(1, 0, 4)}, 1);
    y = frost::relu((*head)(y));
    return (*fc)(frost::mean(y, {2, 3}));
  }
};

Tensor<float> images(std::int64_t n, std::uint64_t seed) {
  frost::Generator gen(seed);
  return Tensor<float>::randn({n, 3, 8, 8}, gen);
}

void prepare_and_calibrate(const std::shared_ptr<nn::Module>& model) {
  {
    const frost::NoGradGuard no_grad;
    model->train();
    (*model)(images(16, 1));
  }
  model->eval();
  quant::prepare(model, images(1, 2));
  std::vector<Tensor<float>> batches{images(16, 3), images(16, 4)};
  quant::calibrate(*model, batches);
}

}  // namespace

TEST_CASE("convert: channel split and shuffle become channel gathers of u8 codes",
          "[quant][convert][gather]") {
  auto model = std::make_shared<SplitShuffleNet>();
  prepare_and_calibrate(model);
  // No fake quantizer on the shape ops: they keep their input's parameters.
  for (const auto& s : quant::runtime_of(*model).steps())
    if (s.op.kind == "slice" || s.op.kind == "permute" || s.op.kind == "reshape")
      CHECK(s.role == quant::StepRole::passthrough);

  const Tensor<float> x = images(24, 5);
  auto& runtime = quant::runtime_of(*model);
  runtime.record_values(true);
  Tensor<float> fake;
  {
    const frost::NoGradGuard no_grad;
    fake = (*model)(x);
  }
  runtime.record_values(false);
  frost::engine::Int8Model int8 = quant::convert(*model);

  // The halves of the stem's output, then the two slices of the shuffled concatenation, each
  // read from the concatenation itself: cat = [h0 (0-3), branch (4-7)], shuffled = [0 4 1 5 2 6
  // 3 7]; channels 1, 3, 5, 7 of it are 4 5 6 7, channels 0-3 are 0 4 1 5.
  std::vector<std::vector<std::int32_t>> gathers;
  std::vector<std::size_t> gather_ops;
  for (std::size_t i = 0; i < int8.ops.size(); ++i)
    if (int8.ops[i].kind == OpKind::channel_gather) {
      gathers.push_back(int8.ops[i].channels);
      gather_ops.push_back(i);
    }
  const std::vector<std::vector<std::int32_t>> expected{
      {4, 5, 6, 7}, {0, 1, 2, 3}, {4, 5, 6, 7}, {0, 4, 1, 5}};
  CHECK(gathers == expected);
  for (std::size_t i : gather_ops) {
    const auto& op = int8.ops[i];
    CHECK(int8.values[static_cast<std::size_t>(op.inputs[0])].quantization.scale ==
          int8.values[static_cast<std::size_t>(op.output)].quantization.scale);
  }

  // Each gather alone, fed the fake-quantized model's input value, gives exactly its output.
  const auto& recorded = runtime.recorded();
  for (std::size_t i : gather_ops) {
    const auto& op = int8.ops[i];
    const auto& in = int8.values[static_cast<std::size_t>(op.inputs[0])];
    const auto& out = int8.values[static_cast<std::size_t>(op.output)];
    REQUIRE(in.source_step >= 0);
    REQUIRE(out.source_step >= 0);
    const Tensor<float> got =
        int8.run_op_alone(i, {recorded[static_cast<std::size_t>(in.source_step)]});
    CHECK(codes(got, out.quantization) ==
          codes(recorded[static_cast<std::size_t>(out.source_step)], out.quantization));
  }

  // The whole model agrees with the fake-quantized one.
  frost_test::check_every_value_agrees(int8, x, recorded, 8);
  const Tensor<float> y = int8.forward(x);
  frost_test::check_output_agrees(int8, y, fake, 0.99);

  // Saved and loaded, the gathers compute the same bytes.
  const auto path = std::filesystem::temp_directory_path() / "frost_test_channel_gather.int8";
  frost::engine::save(int8, path);
  const frost::engine::Int8Model loaded = frost::engine::load(path);
  std::filesystem::remove(path);
  const Tensor<float> y2 = loaded.forward(x);
  REQUIRE(y2.shape() == y.shape());
  CHECK(std::equal(y.data(), y.data() + y.numel(), y2.data()));
  CHECK_THAT(frost::engine::describe(loaded), Contains("channel_gather"));

  // A channel index out of range is refused before it is run or stored.
  frost::engine::Int8Model broken = quant::convert(*model);
  broken.ops[gather_ops[0]].channels[1] = 8;
  CHECK_THROWS_WITH(broken.forward(x), Contains("channel_gather") && Contains("channel 8"));
  CHECK_THROWS_WITH(frost::engine::save(broken, path), Contains("channel 8"));
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("convert: shape ops that move H or W are refused by name", "[quant][convert][gather]") {
  for (int bad : {1, 2}) {
    INFO("case " << bad);
    auto model = std::make_shared<SplitShuffleNet>();
    model->bad = bad;
    prepare_and_calibrate(model);
    CHECK_THROWS_WITH(quant::convert(*model),
                      Contains(bad == 1 ? "permute" : "slice") && Contains("moves channels only"));
  }
}
