// The reference classification networks of include/frost/models/: torchvision's parameter
// counts, state-dict names, forward shapes at small inputs, errors for bad input, and PTQ to
// INT8 (the INT8 model agreeing with the fake-quantized one) for the mobile-sized ones.

#include <frost/frost.hpp>
#include <frost/models/alexnet.hpp>
#include <frost/models/mobilenet_v2.hpp>
#include <frost/models/mobilenet_v3.hpp>
#include <frost/models/resnet.hpp>
#include <frost/models/shufflenet_v2.hpp>
#include <frost/models/vgg.hpp>
#include <frost/quant/convert.hpp>
#include <frost/quant/prepare.hpp>

#include "../quant/int8_agreement.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

using Catch::Matchers::Contains;
using frost::Tensor;
namespace models = frost::models;
namespace nn = frost::nn;
namespace quant = frost::quant;

namespace {

Tensor<float> images(std::int64_t n, std::int64_t c, std::int64_t size, std::uint64_t seed) {
  frost::Generator gen(seed);
  return Tensor<float>::randn({n, c, size, size}, gen);
}

Tensor<float> run_eval(nn::Module& model, const Tensor<float>& x) {
  model.eval();
  const frost::NoGradGuard no_grad;
  return model(x);
}

// PTQ as tests/quant/test_convert.cpp does it: BN statistics from training-mode passes (enough
// of them that the running statistics are mostly the data's rather than the initial 0 / 1:
// MobileNetV3's batch norms have momentum 0.01), prepare, calibrate, convert. Then (1) every INT8
// op on its own, fed the fake-quantized model's values, agrees with the fake-quantized result
// (within one step, equal on >= 99.9%; also along the whole chain), and (2) the INT8 model's output
// equals the fake-quantized model's on >= 99% of the elements and is never more than one step
// apart.
void check_ptq(const std::shared_ptr<nn::Module>& model, std::int64_t in_channels,
               std::int64_t size, std::size_t min_ops, int bn_passes = 20) {
  {
    const frost::NoGradGuard no_grad;
    model->train();
    for (int s = 0; s < bn_passes; ++s)
      (*model)(images(8, in_channels, size, 1000 + static_cast<std::uint64_t>(s)));
  }
  model->eval();
  quant::prepare(model, images(1, in_channels, size, 1));
  std::vector<Tensor<float>> batches;
  for (std::uint64_t s = 0; s < 3; ++s) batches.push_back(images(16, in_channels, size, 70 + s));
  quant::calibrate(*model, batches);

  const Tensor<float> x = images(32, in_channels, size, 99);
  auto& runtime = quant::runtime_of(*model);
  runtime.record_values(true);
  const Tensor<float> fake = run_eval(*model, x);
  runtime.record_values(false);
  frost::engine::Int8Model int8 = quant::convert(*model);
  frost_test::check_every_value_agrees(int8, x, runtime.recorded(), min_ops);
  const Tensor<float> y = int8.forward(x);
  frost_test::check_output_agrees(int8, y, fake, 0.99);
  // Not a constant: some image's logits differ from the first image's.
  bool varies = false;
  for (std::int64_t i = 1; i < y.size(0) && !varies; ++i)
    varies = !std::equal(y.data(), y.data() + y.size(1), y.data() + i * y.size(1));
  CHECK(varies);
}

std::size_t count_ops(const frost::engine::Int8Model& m, frost::engine::OpKind k) {
  return static_cast<std::size_t>(
      std::count_if(m.ops.begin(), m.ops.end(), [&](const auto& op) { return op.kind == k; }));
}

}  // namespace

TEST_CASE("reference models: torchvision's parameter counts at 1000 classes", "[models]") {
  CHECK(nn::count_parameters(*models::mobilenet_v2()) == 3504872);
  CHECK(nn::count_parameters(*models::mobilenet_v3_large()) == 5483032);
  CHECK(nn::count_parameters(*models::mobilenet_v3_small()) == 2542856);
  CHECK(nn::count_parameters(*models::resnet18()) == 11689512);
  CHECK(nn::count_parameters(*models::resnet50()) == 25557032);
  CHECK(nn::count_parameters(*models::shufflenet_v2_x1_0()) == 2278604);
  CHECK(nn::count_parameters(*models::shufflenet_v2_x0_5()) == 1366792);
  CHECK(nn::count_parameters(*models::alexnet()) == 61100840);
  CHECK(nn::count_parameters(*models::vgg11_bn()) == 132868840);
  CHECK(nn::count_parameters(*models::vgg16_bn()) == 138365992);
}

TEST_CASE("reference models: torchvision's state-dict names", "[models]") {
  const auto v2 = models::mobilenet_v2()->state_dict();
  CHECK(v2.contains("features.0.0.weight"));
  CHECK(v2.contains("features.1.conv.0.0.weight"));  // expand ratio 1: depthwise first
  CHECK(v2.contains("features.2.conv.3.running_var"));
  CHECK(v2.contains("features.18.1.bias"));
  CHECK(v2.contains("classifier.1.weight"));
  CHECK(v2.size() == 314);  // torchvision's mobilenet_v2().state_dict() has 314 entries

  const auto v3 = models::mobilenet_v3_large()->state_dict();
  CHECK(v3.contains("features.4.block.2.fc1.weight"));
  CHECK(v3.contains("features.4.block.2.fc2.bias"));
  CHECK(v3.contains("features.16.0.weight"));
  CHECK(v3.contains("classifier.3.weight"));

  const auto r18 = models::resnet18()->state_dict();
  CHECK(r18.contains("layer2.0.downsample.0.weight"));
  CHECK(r18.contains("layer2.0.downsample.1.running_mean"));
  CHECK_FALSE(r18.contains("layer1.0.downsample.0.weight"));
  CHECK(r18.contains("fc.weight"));
  CHECK(r18.size() == 122);  // as torchvision's resnet18

  const auto r50 = models::resnet50()->state_dict();
  CHECK(r50.contains("layer1.0.downsample.0.weight"));  // 64 -> 256 channels
  CHECK(r50.contains("layer4.2.bn3.weight"));
  CHECK(r50.at("layer2.0.conv2.weight").shape() == frost::Shape{128, 128, 3, 3});

  const auto shuffle = models::shufflenet_v2_x1_0()->state_dict();
  CHECK(shuffle.contains("stage2.0.branch1.0.weight"));
  CHECK(shuffle.contains("stage3.7.branch2.6.running_mean"));
  CHECK_FALSE(shuffle.contains("stage2.1.branch1.0.weight"));
  CHECK(shuffle.at("conv5.0.weight").shape() == frost::Shape{1024, 464, 1, 1});
}

TEST_CASE("reference models: forward at small inputs gives [N, classes]", "[models]") {
  SECTION("MobileNetV2 width 0.25, small input") {
    auto m = models::mobilenet_v2({.width_mult = 0.25, .num_classes = 7, .small_input = true});
    CHECK(run_eval(*m, images(2, 3, 32, 1)).shape() == frost::Shape{2, 7});
    auto grey = models::mobilenet_v2({.width_mult = 0.5, .num_classes = 10, .in_channels = 1});
    CHECK(run_eval(*grey, images(3, 1, 28, 2)).shape() == frost::Shape{3, 10});
  }
  SECTION("MobileNetV3 large and small, width 0.5") {
    auto large = models::mobilenet_v3_large({.width_mult = 0.5, .num_classes = 5});
    CHECK(run_eval(*large, images(2, 3, 32, 3)).shape() == frost::Shape{2, 5});
    auto small = models::mobilenet_v3_small({.width_mult = 0.5, .num_classes = 6});
    CHECK(run_eval(*small, images(2, 3, 32, 4)).shape() == frost::Shape{2, 6});
  }
  SECTION("ResNet-18 and ResNet-50") {
    auto r18 = models::resnet18({.num_classes = 4, .in_channels = 1});
    CHECK(run_eval(*r18, images(2, 1, 32, 5)).shape() == frost::Shape{2, 4});
    auto r50 = models::resnet50({.num_classes = 3});
    CHECK(run_eval(*r50, images(1, 3, 32, 6)).shape() == frost::Shape{1, 3});
  }
  SECTION("ShuffleNetV2 x0.5 and x1.0") {
    auto half = models::shufflenet_v2_x0_5({.num_classes = 10});
    CHECK(run_eval(*half, images(2, 3, 32, 7)).shape() == frost::Shape{2, 10});
    auto one = models::shufflenet_v2_x1_0({.num_classes = 2});
    CHECK(run_eval(*one, images(1, 3, 64, 8)).shape() == frost::Shape{1, 2});
  }
  SECTION("AlexNet at 64x64, VGG-11-BN and VGG-16-BN at 32x32") {
    auto alex = models::alexnet({.num_classes = 10});
    const Tensor<float> y = run_eval(*alex, images(2, 3, 64, 9));
    CHECK(y.shape() == frost::Shape{2, 10});
    CHECK(y.data()[0] != y.data()[10]);
    auto vgg11 = models::vgg11_bn({.num_classes = 10});
    CHECK(run_eval(*vgg11, images(1, 3, 32, 10)).shape() == frost::Shape{1, 10});
    auto vgg16 = models::vgg16_bn({.num_classes = 10});
    CHECK(run_eval(*vgg16, images(1, 3, 32, 11)).shape() == frost::Shape{1, 10});
  }
}

TEST_CASE("reference models: the same seed gives the same network", "[models]") {
  frost::Generator a(5), b(5), c(6);
  const auto m1 = models::shufflenet_v2_x0_5({.num_classes = 10}, a);
  const auto m2 = models::shufflenet_v2_x0_5({.num_classes = 10}, b);
  const auto m3 = models::shufflenet_v2_x0_5({.num_classes = 10}, c);
  const Tensor<float> w1 = m1->state_dict().at("stage3.2.branch2.0.weight");
  const Tensor<float> w2 = m2->state_dict().at("stage3.2.branch2.0.weight");
  const Tensor<float> w3 = m3->state_dict().at("stage3.2.branch2.0.weight");
  CHECK(std::equal(w1.data(), w1.data() + w1.numel(), w2.data()));
  CHECK_FALSE(std::equal(w1.data(), w1.data() + w1.numel(), w3.data()));
}

TEST_CASE("reference models: bad input is an error naming the model and the shape", "[models]") {
  auto v2 = models::mobilenet_v2({.width_mult = 0.25, .num_classes = 10});
  CHECK_THROWS_WITH(run_eval(*v2, images(1, 1, 32, 1)),
                    Contains("MobileNetV2") && Contains("[1, 1, 32, 32]"));
  CHECK_THROWS_WITH(run_eval(*v2, Tensor<float>::zeros({3, 32, 32})),
                    Contains("MobileNetV2") && Contains("[3, 32, 32]"));
  auto v3 = models::mobilenet_v3_small({.width_mult = 0.5, .num_classes = 10});
  CHECK_THROWS_WITH(run_eval(*v3, images(2, 4, 16, 1)),
                    Contains("MobileNetV3-Small") && Contains("[2, 4, 16, 16]"));
  auto r18 = models::resnet18({.num_classes = 10});
  CHECK_THROWS_WITH(run_eval(*r18, images(1, 1, 32, 1)),
                    Contains("ResNet-18") && Contains("[1, 1, 32, 32]"));
  auto shuffle = models::shufflenet_v2_x0_5({.num_classes = 10});
  CHECK_THROWS_WITH(run_eval(*shuffle, Tensor<float>::zeros({0, 3, 32, 32})),
                    Contains("ShuffleNetV2-x0.5") && Contains("[0, 3, 32, 32]"));
  auto alex = models::alexnet({.num_classes = 10});
  CHECK_THROWS_WITH(run_eval(*alex, images(1, 3, 62, 1)),
                    Contains("AlexNet") && Contains("H, W >= 63") && Contains("[1, 3, 62, 62]"));
  CHECK(run_eval(*alex, images(1, 3, 63, 1)).shape() == frost::Shape{1, 10});
  auto vgg = models::vgg11_bn({.num_classes = 10});
  CHECK_THROWS_WITH(run_eval(*vgg, images(1, 3, 31, 1)),
                    Contains("VGG-11-BN") && Contains("[1, 3, 31, 31]"));
  CHECK_THROWS_WITH(models::shufflenet_v2({.width = 0.75}), Contains("width 0.75"));
}

TEST_CASE("reference models: PTQ to INT8 agrees with the fake-quantized model", "[models][quant]") {
  SECTION("MobileNetV2 width 0.5") {
    auto m = models::mobilenet_v2({.width_mult = 0.5, .num_classes = 10, .small_input = true});
    check_ptq(m, 3, 32, 40);
  }
  SECTION("MobileNetV3-Small width 0.5") {
    auto m = models::mobilenet_v3_small({.width_mult = 0.5, .num_classes = 10});
    check_ptq(m, 3, 32, 40, 200);
  }
  SECTION("ResNet-18") {
    auto m = models::resnet18({.num_classes = 10});
    check_ptq(m, 3, 32, 20);
  }
  SECTION("ShuffleNetV2 x0.5: the channel split and shuffle as channel gathers") {
    auto m = models::shufflenet_v2_x0_5({.num_classes = 10});
    check_ptq(m, 3, 32, 40);
    const auto int8 = quant::convert(*m);
    // The two halves of each of the 13 stride-1 blocks gather straight from the concatenation
    // of the block before (the split composed with its shuffle); the shuffled outputs read
    // whole (by the 2 stride-2 blocks after the first and by conv5) are one gather each.
    CHECK(count_ops(int8, frost::engine::OpKind::channel_gather) == 2 * 13 + 3);
    CHECK(count_ops(int8, frost::engine::OpKind::float_module) == 0);
  }
}
