// FrostNet: the builder against the paper's parameter and multiply-accumulate counts, the
// options (small_input, dilated, in_channels, the feature extractor), and every mode at width
// 0.5 through prepare, calibration and convert, its INT8 output agreeing with the fake-
// quantized one.

#include <frost/frost.hpp>
#include <frost/models/complexity.hpp>
#include <frost/models/frostnet.hpp>
#include <frost/models/frostnet_config.hpp>
#include <frost/quant/convert.hpp>
#include <frost/quant/prepare.hpp>

#include "../quant/int8_agreement.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

using frost::Tensor;
namespace models = frost::models;
namespace quant = frost::quant;
using models::FrostNetMode;

TEST_CASE("make_divisible: nearest multiple of 8, at least 8, never 10% below",
          "[models][frostnet]") {
  CHECK(models::make_divisible(32) == 32);
  CHECK(models::make_divisible(3) == 8);
  CHECK(models::make_divisible(12) == 16);  // ties round up
  CHECK(models::make_divisible(11.9) == 8 + 8);
  CHECK(models::make_divisible(19) == 24);  // 16 would lose 15.8 %
  CHECK(models::make_divisible(96 * 0.35) == 32);
  CHECK(models::make_divisible(24 * 0.5) == 16);
}

TEST_CASE("FrostNet at width 1.0: the paper's parameter and multiply-accumulate counts",
          "[models][frostnet]") {
  struct Want {
    FrostNetMode mode;
    double params_m;
    double macs_m;  // 0: the paper gives none
  };
  for (const Want& w : {Want{FrostNetMode::kSmall, 4.86, 315}, Want{FrostNetMode::kBase, 5.00, 362},
                        Want{FrostNetMode::kLarge, 5.81, 0}}) {
    INFO(models::frostnet_mode_name(w.mode));
    models::FrostNet net(w.mode);
    const double params = static_cast<double>(models::parameter_count(net)) / 1e6;
    CHECK(std::round(params * 100) / 100 == Approx(w.params_m));
    if (w.macs_m > 0) {
      const double macs = static_cast<double>(models::multiply_accumulates(
                              net, Tensor<float>::zeros({1, 3, 224, 224}))) /
                          1e6;
      CHECK(macs == Approx(w.macs_m).epsilon(0.02));
    }
  }
}

TEST_CASE("FrostNet options: small_input, in_channels, dilated and the feature extractor",
          "[models][frostnet]") {
  frost::NoGradGuard no_grad;
  SECTION("small_input keeps a 28x28 grey image at 28x28 through stage 1") {
    models::FrostNet net(FrostNetMode::kSmall,
                         {.width = 0.5, .in_channels = 1, .num_classes = 10, .small_input = true});
    net.eval();
    const auto maps = net.features(Tensor<float>::zeros({2, 1, 28, 28}));
    REQUIRE(maps.size() == 4);
    CHECK(maps[0].shape() == frost::Shape{2, 16, 28, 28});
    CHECK(maps[1].shape() == frost::Shape{2, 24, 14, 14});
    CHECK(maps[2].shape() == frost::Shape{2, 48, 7, 7});
    CHECK(maps[3].shape() == frost::Shape{2, 160, 4, 4});
    CHECK(net(Tensor<float>::zeros({2, 1, 28, 28})).shape() == frost::Shape{2, 10});
    CHECK_THROWS_WITH(net(Tensor<float>::zeros({2, 3, 28, 28})),
                      Catch::Contains("FrostNet") && Catch::Contains("[2, 3, 28, 28]"));
  }
  SECTION("width 1.0 features: strides 4, 8, 16, 32 with 24, 40, 96, 320 channels") {
    models::FrostNet net(FrostNetMode::kSmall);
    net.eval();
    const auto maps = net.features(Tensor<float>::zeros({1, 3, 64, 64}));
    REQUIRE(maps.size() == 4);
    CHECK(maps[0].shape() == frost::Shape{1, 24, 16, 16});
    CHECK(maps[1].shape() == frost::Shape{1, 40, 8, 8});
    CHECK(maps[2].shape() == frost::Shape{1, 96, 4, 4});
    CHECK(maps[3].shape() == frost::Shape{1, 320, 2, 2});
  }
  SECTION("dilated: stages 4 and 5 stay at stride 16, with dilation 2 in their depthwise") {
    models::FrostNet plain(FrostNetMode::kBase, {.num_classes = 10});
    models::FrostNet dilated(FrostNetMode::kBase, {.num_classes = 10, .dilated = true});
    dilated.eval();
    const auto maps = dilated.features(Tensor<float>::zeros({1, 3, 64, 64}));
    CHECK(maps[2].shape() == frost::Shape{1, 96, 4, 4});
    CHECK(maps[3].shape() == frost::Shape{1, 320, 4, 4});
    // The same weights: dilation changes the dataflow, not the parameters.
    CHECK(models::parameter_count(plain) == models::parameter_count(dilated));
    int dilated_convs = 0;
    for (const auto& [path, m] : dilated.named_modules()) {
      if (const auto* conv = dynamic_cast<const frost::nn::Conv2d*>(m.get());
          conv != nullptr && conv->options().dilation.height == 2) {
        CHECK((path.rfind("stage4.", 0) == 0 || path.rfind("stage5.", 0) == 0));
        CHECK(conv->options().stride.height == 1);
        ++dilated_convs;
      }
    }
    CHECK(dilated_convs == 5);  // one depthwise per block of stages 4 (4 blocks) and 5 (1)
  }
  SECTION("bad configurations are errors naming the block") {
    CHECK_THROWS_WITH(models::FrostBottleneck(16, 16, 4, 1, 3, 4), Catch::Contains("odd kernel"));
    CHECK_THROWS_WITH(models::FrostNet(models::FrostNetStages(4, {models::FrostBlockConfig{}})),
                      Catch::Contains("5 stages"));
  }
}

TEST_CASE(
    "FrostNet small / base / large at width 0.5 convert to INT8 that agrees with the "
    "fake-quantized model",
    "[models][frostnet][quant]") {
  for (FrostNetMode mode : {FrostNetMode::kSmall, FrostNetMode::kBase, FrostNetMode::kLarge}) {
    INFO(models::frostnet_mode_name(mode));
    frost::Generator gen(11);
    auto net = std::make_shared<models::FrostNet>(
        mode,
        models::FrostNetOptions{
            .width = 0.5, .in_channels = 1, .num_classes = 10, .small_input = true},
        gen);
    const auto images = [&](std::int64_t n) { return Tensor<float>::randn({n, 1, 28, 28}, gen); };
    {
      // Running statistics that are not the initial (0, 1), so that folding folds something.
      frost::NoGradGuard no_grad;
      net->train();
      for (int i = 0; i < 3; ++i) (*net)(images(8));
    }
    net->eval();
    quant::prepare(net, images(1));
    quant::calibrate(*net, std::vector<Tensor<float>>{images(8), images(8)});
    const Tensor<float> x = images(32);
    auto& runtime = quant::runtime_of(*net);
    runtime.record_values(true);
    Tensor<float> fake;
    {
      frost::NoGradGuard no_grad;
      fake = (*net)(x);
    }
    runtime.record_values(false);
    frost::engine::Int8Model int8 = quant::convert(*net);
    frost_test::check_every_value_agrees(int8, x, runtime.recorded(), 20);
    frost_test::check_output_agrees(int8, int8.forward(x), fake, 0.99);
  }
}

TEST_CASE("FrostNet configuration JSON: round trip to the same network, clear errors",
          "[models][frostnet]") {
  for (FrostNetMode mode : {FrostNetMode::kSmall, FrostNetMode::kBase, FrostNetMode::kLarge}) {
    const auto stages = models::frostnet_stages(mode);
    const std::string text = models::frostnet_config_json(stages);
    CHECK(models::parse_frostnet_config(text, "mem") == stages);
  }
  // The same seed and the same rows give the same weights, whichever way the rows came.
  const auto path = std::filesystem::temp_directory_path() / "frost_test_frostnet_config.json";
  models::save_frostnet_config(models::frostnet_stages(FrostNetMode::kBase), path);
  frost::Generator g1(5), g2(5);
  models::FrostNet from_file(models::load_frostnet_config(path), {.width = 0.35}, g1);
  models::FrostNet built(FrostNetMode::kBase, {.width = 0.35}, g2);
  std::filesystem::remove(path);
  const auto a = from_file.state_dict(), b = built.state_dict();
  REQUIRE(a.size() == b.size());
  for (const auto& [name, t] : a) {
    INFO(name);
    REQUIRE(b.contains(name));
    const Tensor<float> u = b.at(name);
    REQUIRE(u.shape() == t.shape());
    for (std::int64_t i = 0; i < t.numel(); ++i) REQUIRE(u.data()[i] == t.data()[i]);
  }

  using Catch::Contains;
  CHECK_THROWS_WITH(models::parse_frostnet_config("[]", "a.json"), Contains("a.json"));
  CHECK_THROWS_WITH(
      models::parse_frostnet_config(
          R"({"format": "frost.frostnet", "version": 1, "stages": [[[3,16,1,1,1]]]})", "b.json"),
      Contains("5 stages"));
  CHECK_THROWS_WITH(
      models::parse_frostnet_config(R"({"format": "frost.frostnet", "version": 1, "stages":
        [[[3,16,1,1,1]], [[4,24,3,4,2]], [[3,8,1,1,1]], [[3,8,1,1,1]], [[3,8,1,1,1]]]})",
                                    "c.json"),
      Contains("c.json") && Contains("stage 2 block 1") && Contains("[4, 24, 3, 4, 2]"));
  CHECK_THROWS_WITH(models::load_frostnet_config("/nonexistent/frostnet.json"),
                    Contains("/nonexistent/frostnet.json"));
}
