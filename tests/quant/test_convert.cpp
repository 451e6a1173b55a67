// The path from a float model to an INT8 one: the trace, module swaps that take effect for typed
// members, prepare_qat finding adds and concatenations written in forward(), the runtime's check
// that a model still runs its traced ops, and convert: the INT8 model of a network with conv,
// depthwise, grouped conv, residual add, concat, squeeze-excite, pooling and linear agrees with
// its fake-quantized model on every ISA path.

#include <frost/frost.hpp>
#include <frost/nn/trace.hpp>
#include <frost/quant/convert.hpp>
#include <frost/quant/prepare.hpp>

#include "int8_agreement.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

using Catch::Matchers::Contains;
using frost::Tensor;
namespace nn = frost::nn;
namespace quant = frost::quant;
using frost_test::check_every_value_agrees;
using frost_test::check_output_agrees;

namespace {

std::shared_ptr<nn::Conv2d> conv(std::int64_t in, std::int64_t out, int k, int stride = 1,
                                 std::int64_t groups = 1, bool bias = false) {
  return std::make_shared<nn::Conv2d>(
      in, out, k,
      nn::Conv2dOptions{.stride = stride, .padding = k / 2, .groups = groups, .bias = bias});
}

// Layers held as typed members and called directly, ops written as plain tensor code: what a
// new user writes, and what quantization must handle without a rewrite.
struct TestNet : nn::Module {
  std::shared_ptr<nn::Conv2d> stem = register_module("stem", conv(3, 8, 3));
  std::shared_ptr<nn::BatchNorm2d> stem_bn =
      register_module("stem_bn", std::make_shared<nn::BatchNorm2d>(8));
  std::shared_ptr<nn::Conv2d> dw = register_module("dw", conv(8, 8, 3, 1, 8));
  std::shared_ptr<nn::BatchNorm2d> dw_bn =
      register_module("dw_bn", std::make_shared<nn::BatchNorm2d>(8));
  std::shared_ptr<nn::ReLU6> dw_act = register_module("dw_act", std::make_shared<nn::ReLU6>());
  std::shared_ptr<nn::Conv2d> pw = register_module("pw", conv(8, 8, 1));
  std::shared_ptr<nn::BatchNorm2d> pw_bn =
      register_module("pw_bn", std::make_shared<nn::BatchNorm2d>(8));
  std::shared_ptr<nn::Conv2d> squeeze = register_module("squeeze", conv(8, 4, 1, 1, 1, true));
  std::shared_ptr<nn::Conv2d> grouped = register_module("grouped", conv(12, 12, 3, 2, 2));
  std::shared_ptr<nn::BatchNorm2d> grouped_bn =
      register_module("grouped_bn", std::make_shared<nn::BatchNorm2d>(12));
  std::shared_ptr<nn::Conv2d> se_reduce = register_module("se_reduce", conv(12, 4, 1, 1, 1, true));
  std::shared_ptr<nn::Conv2d> se_expand = register_module("se_expand", conv(4, 12, 1, 1, 1, true));
  std::shared_ptr<nn::Linear> fc =
      register_module("fc", std::make_shared<nn::Linear>(12 * 2 * 2, 5));

  TestNet() : nn::Module("TestNet") {}

  Tensor<float> forward(const Tensor<float>& x) override {
    Tensor<float> y = frost::relu((*stem_bn)((*stem)(x)));
    Tensor<float> z = (*pw_bn)((*pw)((*dw_act)((*dw_bn)((*dw)(y)))));
    y = y + z;                                           // residual add
    y = frost::cat({y, frost::relu((*squeeze)(y))}, 1);  // concat: 12 channels
    y = frost::relu((*grouped_bn)((*grouped)(y)));       // grouped, stride 2: 4x4
    Tensor<float> gate = frost::mean(y, {2, 3}, true);   // squeeze-excite
    gate = frost::hardsigmoid((*se_expand)(frost::relu((*se_reduce)(gate))));
    y = y * gate;
    y = frost::max_pool2d(y, 2);  // 2x2
    return (*fc)(y.flatten(1));
  }
};

Tensor<float> random_input(std::int64_t n, std::uint64_t seed) {
  frost::Generator gen(seed);
  return Tensor<float>::randn({n, 3, 8, 8}, gen);
}

// A few QAT steps on random data so that observers and BN statistics hold real ranges.
void train_a_little(const std::shared_ptr<nn::Module>& model, int steps) {
  model->train();
  frost::Generator gen(7);
  for (int s = 0; s < steps; ++s) {
    const Tensor<float> x = random_input(8, 100 + static_cast<std::uint64_t>(s));
    const Tensor<float> y = (*model)(x);
    Tensor<float> loss = frost::mean(frost::mul(y, y));
    model->zero_grad();
    loss.backward();
    frost::NoGradGuard no_grad;
    for (auto& p : model->parameters())
      if (p.grad().defined()) Tensor<float>(p).add_(p.grad(), -0.01f);
  }
}

}  // namespace

TEST_CASE("trace: records ops written in forward with module paths and attributes",
          "[quant][trace]") {
  auto model = std::make_shared<TestNet>();
  model->eval();
  const nn::Trace t = nn::trace(*model, random_input(1, 1));
  std::vector<std::string> kinds;
  for (const auto& op : t.ops()) kinds.push_back(op.kind);
  const std::vector<std::string> expected{
      "conv2d", "batch_norm2d", "relu", "conv2d",     "batch_norm2d", "relu6",
      "conv2d", "batch_norm2d", "add",  "conv2d",     "relu",         "cat",
      "conv2d", "batch_norm2d", "relu", "mean",       "conv2d",       "relu",
      "conv2d", "hardsigmoid",  "mul",  "max_pool2d", "reshape",      "linear"};
  CHECK(kinds == expected);
  const auto& first = t.ops()[0];
  CHECK(first.module_path == "stem");
  CHECK(first.module_type == "Conv2d");
  CHECK(t.value(first.inputs[1]).name == "stem.weight");
  CHECK(first.attribute("padding") == std::vector<double>{1, 1});
  const auto& add = t.ops()[8];
  CHECK(add.module_path.empty());
  CHECK(t.value(t.output()).shape == frost::Shape{1, 5});
  CHECK(t.consumers(t.ops()[7].output) == std::vector<std::int64_t>{8});
  std::ostringstream os;
  os << t;
  CHECK_THAT(os.str(), Contains("cat(") && Contains("# stem_bn"));
}

TEST_CASE("replace_module takes effect for typed members; a cycle is refused", "[quant][module]") {
  auto model = std::make_shared<TestNet>();
  model->eval();
  const Tensor<float> x = random_input(2, 3);
  auto old = model->replace_module("dw_act", std::make_shared<nn::Identity>());
  CHECK(old.get() == model->dw_act.get());
  // The typed member still points to the ReLU6, whose calls now reach the Identity.
  const nn::Trace t = nn::trace(*model, x);
  for (const auto& op : t.ops()) CHECK(op.kind != "relu6");
  CHECK_THROWS_WITH(model->replace_module("dw_act", old),
                    Contains("forwards to the module it replaces"));
}

TEST_CASE("prepare_qat: adds, concat and activations in forward get fake quantization",
          "[quant][prepare]") {
  auto model = std::make_shared<TestNet>();
  const auto runtime = quant::prepare_qat(model, random_input(1, 1));
  int fq_add = 0, fq_cat = 0, fq_mul = 0, fused = 0;
  for (const auto& s : runtime->steps()) {
    if (s.op.kind == "add") fq_add += s.output_fake_quant != nullptr;
    if (s.op.kind == "cat") fq_cat += s.output_fake_quant != nullptr;
    if (s.op.kind == "mul") fq_mul += s.output_fake_quant != nullptr;
    fused += s.role == quant::StepRole::fused;
  }
  CHECK(fq_add == 1);
  CHECK(fq_cat == 1);
  CHECK(fq_mul == 1);
  // stem+relu, dw+relu6 (module), squeeze+relu, grouped+relu, se_reduce+relu.
  CHECK(fused == 5);
  CHECK(model->dw->replacement() != nullptr);  // Conv2d -> QatConvBn2d
  CHECK(model->dw_bn->replacement()->type_name() == "Identity");
  CHECK(model->squeeze->replacement()->type_name() == "QatConv2d");
  CHECK(model->fc->replacement()->type_name() == "QatLinear");
  CHECK(model->state_dict().contains("activation_fake_quant.input.scale"));
  // Still trains.
  train_a_little(model, 2);
}

TEST_CASE("prepared model: a forward that runs other ops is an error naming the op",
          "[quant][prepare]") {
  struct Branchy : nn::Module {
    std::shared_ptr<nn::Conv2d> c = register_module("c", conv(3, 4, 3));
    bool twice = false;
    Branchy() : nn::Module("Branchy") {}
    Tensor<float> forward(const Tensor<float>& x) override {
      Tensor<float> y = frost::relu((*c)(x));
      return twice ? y + y : y * y;
    }
  };
  auto model = std::make_shared<Branchy>();
  quant::prepare_qat(model, random_input(1, 1));
  CHECK_NOTHROW((*model)(random_input(2, 2)));
  model->twice = true;
  CHECK_THROWS_WITH((*model)(random_input(2, 2)), Contains("op 2 is add") && Contains("mul"));
}

TEST_CASE("prepare: a layer whose forward() is called directly is reported", "[quant][prepare]") {
  struct Direct : nn::Module {
    std::shared_ptr<nn::Conv2d> c = register_module("c", conv(3, 4, 3));
    Direct() : nn::Module("Direct") {}
    Tensor<float> forward(const Tensor<float>& x) override { return frost::relu(c->forward(x)); }
  };
  auto model = std::make_shared<Direct>();
  CHECK_THROWS_WITH(quant::prepare_qat(model, random_input(1, 1)),
                    Contains("outside its layer 'c'") && Contains("operator()"));
}

TEST_CASE("convert: the INT8 model matches the fake-quantized model on every ISA path",
          "[quant][convert]") {
  auto model = std::make_shared<TestNet>();
  quant::prepare_qat(model, random_input(1, 1));
  train_a_little(model, 6);
  model->eval();
  quant::disable_observer(*model);
  const Tensor<float> x = random_input(40, 11);
  auto& runtime = quant::runtime_of(*model);
  runtime.record_values(true);
  Tensor<float> fake;
  {
    frost::NoGradGuard no_grad;
    fake = (*model)(x);
  }
  runtime.record_values(false);
  frost::engine::Int8Model int8 = quant::convert(*model);

  for (frost::kernels::Isa isa : frost::kernels::kAllIsas) {
    if (!frost::kernels::isa_supported(isa)) continue;
    INFO("isa " << frost::kernels::isa_name(isa));
    frost::kernels::IsaGuard guard(isa);
    int8.pack(isa);
    const Tensor<float> y = int8.forward(x);
    check_output_agrees(int8, y, fake, 0.99);
    check_every_value_agrees(int8, x, runtime.recorded(), 12);
  }
}

TEST_CASE("PTQ of a Sequential CNN: calibrate, convert, save, load, report",
          "[quant][convert][ptq]") {
  auto model = std::make_shared<nn::Sequential>(
      std::make_shared<nn::Conv2d>(1, 4, 3, nn::Conv2dOptions{.padding = 1}),
      std::make_shared<nn::BatchNorm2d>(4), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::MaxPool2d>(2),
      std::make_shared<nn::Conv2d>(4, 8, 3, nn::Conv2dOptions{.stride = 2, .padding = 1}),
      std::make_shared<nn::ReLU6>(), std::make_shared<nn::AdaptiveAvgPool2d>(1),
      std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(8, 3));
  frost::Generator gen(3);
  const auto images = [&](std::int64_t n) { return Tensor<float>::randn({n, 1, 12, 12}, gen); };
  {
    // Running statistics that are not the initial (0, 1), so folding has something to fold.
    frost::NoGradGuard no_grad;
    model->train();
    for (int i = 0; i < 4; ++i) (*model)(images(16));
  }
  model->eval();
  quant::prepare(model, images(1));
  std::vector<Tensor<float>> batches{images(16), images(16), images(16)};
  quant::calibrate(*model, batches);
  for (const auto* fq : quant::fake_quantizers(*model)) {
    CHECK_FALSE(fq->observer_enabled());
    CHECK(fq->fake_quant_enabled());
  }
  // The activation fake quantizers are part of the model's state, and not a step of the sequence.
  const auto state = model->state_dict();
  CHECK(state.contains("activation_fake_quant.input.scale"));
  CHECK(std::dynamic_pointer_cast<nn::Sequential>(model)->size() == 9);

  // Enough outputs (128 x 3) that one rounding tie is not a whole percent of them.
  const Tensor<float> x = images(128);
  auto& runtime = quant::runtime_of(*model);
  runtime.record_values(true);
  Tensor<float> fake;
  {
    frost::NoGradGuard no_grad;
    fake = (*model)(x);
  }
  runtime.record_values(false);
  frost::engine::Int8Model int8 = quant::convert(*model);
  check_every_value_agrees(int8, x, runtime.recorded(), 6);
  const Tensor<float> y = int8.forward(x);
  check_output_agrees(int8, y, fake, 0.99);

  // Save, load (packed for this CPU), run: the same bytes out.
  const auto path = std::filesystem::temp_directory_path() / "frost_test_ptq_sequential.int8";
  frost::engine::save(int8, path);
  const frost::engine::Int8Model loaded = frost::engine::load(path);
  std::filesystem::remove(path);
  const Tensor<float> y2 = loaded.forward(x);
  REQUIRE(y2.shape() == y.shape());
  for (std::int64_t i = 0; i < y.numel(); ++i) REQUIRE(y2.data()[i] == y.data()[i]);

  // The report covers every value the INT8 model computes, each far above the noise of a
  // broken layer (a wrong scale or a lost BN fold gives single-digit or negative dB).
  const auto report = quant::quantization_report(*model, int8, x);
  CHECK(report.layers.size() >= 6);
  for (const auto& layer : report.layers) {
    INFO(layer.name);
    CHECK(layer.sqnr_db > 20.0);
    CHECK(layer.scale > 0.0f);
  }
  std::ostringstream table;
  report.print(table);
  CHECK_THAT(table.str(), Contains("SQNR") && Contains("<- worst"));
  CHECK_THAT(report.to_json(), Contains("\"sqnr_db\""));
  // After the report, the model still computes what it did (the report restores fake quant).
  frost::NoGradGuard no_grad;
  const Tensor<float> again = (*model)(x);
  for (std::int64_t i = 0; i < again.numel(); ++i) REQUIRE(again.data()[i] == fake.data()[i]);
}

TEST_CASE("exact INT8 simulation where the accumulator passes 2^24 (its double branch)",
          "[quant][convert][exact]") {
  // 64 input channels x 3x3 taps, input codes near 255 and every weight code 127: the sums reach
  // about 576 * 240 * 127 = 17.6e6 > 2^24, where float accumulation is no longer exact, so the
  // eval path accumulates in double. (A float sum would be off by a unit or two in 17e6, which
  // rarely moves an output code: this guards the double branch, it cannot tell the two apart.)
  auto model = std::make_shared<nn::Sequential>(
      std::make_shared<nn::Conv2d>(64, 6, 3, nn::Conv2dOptions{.padding = 1}),
      std::make_shared<nn::ReLU>());
  {
    frost::NoGradGuard no_grad;
    auto conv = std::dynamic_pointer_cast<nn::Sequential>(model)->at<nn::Conv2d>(0);
    Tensor<float> w = conv->weight();
    for (std::int64_t i = 0; i < w.numel(); ++i) w.data()[i] = 0.02f;
  }
  frost::Generator gen(5);
  const auto images = [&](std::int64_t n) {
    // Mostly in [2, 2.3]: with 0 in the observed range, codes of about 200..255, zero point 0.
    return frost::add(frost::mul(frost::abs(Tensor<float>::randn({n, 64, 5, 5}, gen)), 0.1f), 2.0f);
  };
  model->eval();
  quant::prepare(model, images(1));
  quant::calibrate(*model, std::vector<Tensor<float>>{images(4), images(4)});
  const Tensor<float> x = images(8);
  Tensor<float> fake;
  {
    frost::NoGradGuard no_grad;
    fake = (*model)(x);
  }
  frost::engine::Int8Model int8 = quant::convert(*model);
  check_output_agrees(int8, int8.forward(x), fake, 1.0);
}
