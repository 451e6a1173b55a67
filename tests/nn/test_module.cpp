// nn::Module: registration, recursive names, train/eval, state dicts, replacement, hooks.
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <sstream>
#include <string>

#include "frost/nn/activation.hpp"
#include "frost/nn/dropout.hpp"
#include "frost/nn/flatten.hpp"
#include "frost/nn/linear.hpp"
#include "frost/nn/module.hpp"
#include "frost/nn/sequential.hpp"
#include "frost/ops/elementwise.hpp"
#include "frost/ops/reduction.hpp"

using frost::Tensor;
namespace nn = frost::nn;

namespace {

// A module with a parameter of each group, a buffer and a child, like a supernet's mixed op.
class MixedOp : public nn::Module {
 public:
  MixedOp() : Module("MixedOp") {
    scale = register_parameter("scale", Tensor<float>::ones({3}));
    alpha = register_parameter("alpha", Tensor<float>::zeros({2}), true, nn::kArchitecture);
    count = register_buffer("count", Tensor<float>::zeros({}));
    proj = register_module("proj", std::make_shared<nn::Linear>(3, 3, false));
  }
  Tensor<float> forward(const Tensor<float>& x) override { return (*child("proj"))(x * scale); }

  Tensor<float> scale, alpha, count;
  std::shared_ptr<nn::Linear> proj;
};

std::shared_ptr<nn::Sequential> make_nested() {
  auto inner = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(8, 3),
                                                std::make_shared<MixedOp>());
  return std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(4, 8),
                                          std::make_shared<nn::ReLU>(), inner);
}

std::vector<float> values(const Tensor<float>& t) {
  const Tensor<float> c = t.contiguous();
  return std::vector<float>(c.data(), c.data() + c.numel());
}

// The tensor (parameter or buffer) at a dotted name; shares storage with the module.
Tensor<float> param(const nn::Module& m, const std::string& name) {
  return m.state_dict()[name];
}

}  // namespace

TEST_CASE("nn::Module names parameters, buffers and modules recursively", "[nn]") {
  auto net = make_nested();
  const auto params = net->named_parameters();
  REQUIRE(params.keys() == std::vector<std::string>{"0.weight", "0.bias", "2.0.weight", "2.0.bias",
                                                    "2.1.scale", "2.1.proj.weight"});
  CHECK(params["0.weight"].shape() == frost::Shape{8, 4});
  CHECK(params["2.1.proj.weight"].shape() == frost::Shape{3, 3});
  CHECK(nn::count_parameters(*net) == 8 * 4 + 8 + 3 * 8 + 3 + 3 + 9);
  for (const auto& p : net->parameters()) CHECK(p.requires_grad());

  CHECK(net->named_parameters(/*recurse=*/false).empty());
  CHECK(net->named_parameters_in(nn::kArchitecture).keys() ==
        std::vector<std::string>{"2.1.alpha"});
  CHECK(net->named_buffers().keys() == std::vector<std::string>{"2.1.count"});
  CHECK(net->named_modules().keys() ==
        std::vector<std::string>{"", "0", "1", "2", "2.0", "2.1", "2.1.proj"});
  CHECK(net->children().size() == 3);
  std::vector<std::string> applied;
  net->apply([&](nn::Module& m) { applied.push_back(m.type_name()); });
  CHECK(applied == std::vector<std::string>{"Linear", "ReLU", "Linear", "Linear", "MixedOp",
                                            "Sequential", "Sequential"});
  CHECK(net->submodule("2.1.proj")->type_name() == "Linear");
  CHECK_THROWS_WITH(net->submodule("2.5"), Catch::Contains("'2.5'"));

  CHECK(net->size() == 3);
  CHECK((*net)[1]->type_name() == "ReLU");
  CHECK_THROWS_WITH((*net)[3], Catch::Contains("index 3 out of range for 3 modules"));
  CHECK_THROWS_WITH(net->at<nn::Linear>(1), Catch::Contains("module 1 is a ReLU"));

  // Parameters are handles: the registry and the layer share storage.
  auto linear = net->at<nn::Linear>(0);
  linear->weight().data()[0] = 42.0f;
  CHECK(net->named_parameters()["0.weight"].data()[0] == 42.0f);
}

TEST_CASE("nn::Module rejects duplicate and dotted names", "[nn]") {
  nn::Module m;
  m.register_parameter("w", Tensor<float>::zeros({1}));
  CHECK_THROWS_WITH(m.register_buffer("w", Tensor<float>::zeros({1})),
                    Catch::Contains("'w' is already registered"));
  CHECK_THROWS_WITH(m.register_parameter("a.b", Tensor<float>::zeros({1})),
                    Catch::Contains("invalid name 'a.b'"));
  CHECK_THROWS_WITH(m.forward(Tensor<float>::zeros({1})),
                    Catch::Contains("does not implement forward"));
}

TEST_CASE("nn::Module train/eval propagates; Dropout is the identity in eval", "[nn]") {
  frost::Generator gen(7);
  auto dropout = std::make_shared<nn::Dropout>(0.25, gen);
  auto net = std::make_shared<nn::Sequential>(std::make_shared<nn::Sequential>(dropout));
  CHECK(dropout->is_training());
  net->eval();
  CHECK_FALSE(net->is_training());
  CHECK_FALSE(dropout->is_training());

  const Tensor<float> x = Tensor<float>::ones({4000});
  CHECK(values((*net)(x)) == values(x));

  net->train();
  CHECK(dropout->is_training());
  const auto y = values((*net)(x));
  int zeros = 0;
  for (float v : y) {
    if (v == 0.0f)
      ++zeros;
    else
      CHECK(v == Approx(1.0f / 0.75f));
  }
  // 1000 expected zeros; 5 standard deviations of a Binomial(4000, 0.25) is about 137.
  CHECK(std::abs(zeros - 1000) < 137);
}

TEST_CASE("Dropout backward passes the gradient through the kept elements only", "[nn]") {
  frost::Generator gen(3);
  nn::Dropout dropout(0.5, gen);
  Tensor<float> x = Tensor<float>::ones({64});
  x.requires_grad_();
  const Tensor<float> y = dropout(x);
  frost::sum(y).backward();
  for (std::int64_t i = 0; i < 64; ++i) CHECK(x.grad().data()[i] == y.data()[i]);
}

TEST_CASE("nn::Module state_dict round trip, strict and non-strict loading", "[nn]") {
  frost::manual_seed(1);
  auto a = make_nested();
  frost::manual_seed(2);
  auto b = make_nested();
  REQUIRE(values(param(*a, "0.weight")) != values(param(*b, "0.weight")));

  const nn::StateDict dict = a->state_dict();
  CHECK(dict.keys() == std::vector<std::string>{"0.weight", "0.bias", "2.0.weight", "2.0.bias",
                                                "2.1.scale", "2.1.alpha", "2.1.count",
                                                "2.1.proj.weight"});
  const auto result = b->load_state_dict(dict);
  CHECK(result.ok());
  for (const auto& [name, t] : b->state_dict()) CHECK(values(t) == values(dict[name]));
  // The layer's own handle sees the loaded values.
  CHECK(values(b->at<nn::Linear>(0)->weight()) == values(dict["0.weight"]));
  // state_dict() shares storage with its module; loading copies, so b does not share a's.
  const auto b_bias = values(param(*b, "0.bias"));
  param(*a, "0.bias").data()[0] += 1.0f;
  CHECK(dict["0.bias"].data()[0] == param(*a, "0.bias").data()[0]);
  CHECK(param(*b, "0.bias").data()[0] == b_bias[0]);

  SECTION("strict loading names every missing, unexpected and mis-shaped key and loads nothing") {
    nn::StateDict bad = a->state_dict();
    bad.erase("2.0.bias");
    bad.insert("2.7.weight", Tensor<float>::zeros({1}));
    bad.set("0.weight", Tensor<float>::zeros({4, 8}));
    const auto before = values(param(*b, "2.1.scale"));
    bad.set("2.1.scale", Tensor<float>::full({3}, 5.0f));
    try {
      b->load_state_dict(bad);
      FAIL("expected frost::Error");
    } catch (const frost::Error& e) {
      const std::string msg = e.what();
      CHECK_THAT(msg, Catch::Contains("load_state_dict"));
      CHECK_THAT(msg, Catch::Contains("missing keys [2.0.bias]"));
      CHECK_THAT(msg, Catch::Contains("unexpected keys [2.7.weight]"));
      CHECK_THAT(msg, Catch::Contains("0.weight (module [8, 4], dict [4, 8])"));
    }
    CHECK(values(param(*b, "2.1.scale")) == before);
  }

  SECTION("non-strict loading loads what matches and reports the rest") {
    nn::StateDict partial;
    partial.insert("2.1.scale", Tensor<float>::full({3}, 5.0f));
    partial.insert("0.bias", Tensor<float>::zeros({9}));
    partial.insert("head.weight", Tensor<float>::zeros({2}));
    const auto r = b->load_state_dict(partial, /*strict=*/false);
    CHECK(values(param(*b, "2.1.scale")) == std::vector<float>{5, 5, 5});
    CHECK(r.unexpected_keys == std::vector<std::string>{"head.weight"});
    CHECK(r.mismatched_keys.size() == 1);
    CHECK(r.missing_keys.size() == 6);
    CHECK(values(param(*b, "0.bias")) == b_bias);
  }
}

TEST_CASE("nn::Module replace_module swaps a submodule by path", "[nn]") {
  auto net = make_nested();
  frost::manual_seed(5);
  const Tensor<float> x = Tensor<float>::randn({2, 4});
  const auto relu_out = values((*net->at<nn::Linear>(0))(x));
  const auto old = net->replace_module("1", std::make_shared<nn::Sigmoid>());
  CHECK(old->type_name() == "ReLU");
  CHECK(net->submodule("1")->type_name() == "Sigmoid");

  // Run only the first two layers through a fresh Sequential sharing the children.
  nn::Sequential head((*net)[0], (*net)[1]);
  const auto y = values(head(x));
  for (std::size_t i = 0; i < y.size(); ++i)
    CHECK(y[i] == Approx(1.0 / (1.0 + std::exp(-relu_out[i]))));

  net->replace_module("2.1.proj", std::make_shared<nn::Identity>());
  CHECK(net->named_parameters().keys() ==
        std::vector<std::string>{"0.weight", "0.bias", "2.0.weight", "2.0.bias", "2.1.scale"});
  CHECK_THROWS_WITH(net->replace_module("2.9", std::make_shared<nn::Identity>()),
                    Catch::Contains("'2.9'"));
}

TEST_CASE("nn::Module hooks rewrite inputs and outputs and can be removed", "[nn]") {
  nn::ReLU relu;
  const auto pre =
      relu.register_forward_pre_hook([](nn::Module&, const Tensor<float>& x) { return x - 1.0f; });
  const auto post =
      relu.register_forward_hook([](nn::Module& m, const Tensor<float>&, const Tensor<float>& y) {
        CHECK(m.type_name() == "ReLU");
        return y * 10.0f;
      });
  const Tensor<float> x = Tensor<float>::from_vector({0.5f, 3.0f}, {2});
  CHECK(values(relu(x)) == std::vector<float>{0.0f, 20.0f});
  CHECK(relu.remove_hook(pre));
  CHECK(values(relu(x)) == std::vector<float>{5.0f, 30.0f});
  CHECK(relu.remove_hook(post));
  CHECK_FALSE(relu.remove_hook(post));
  CHECK(values(relu(x)) == std::vector<float>{0.5f, 3.0f});
}

TEST_CASE("nn::Module prints its tree", "[nn]") {
  nn::Sequential net(std::make_shared<nn::Linear>(4, 2),
                     std::make_shared<nn::Sequential>(std::make_shared<nn::ReLU>()));
  std::ostringstream os;
  os << net;
  CHECK(os.str() ==
        "Sequential(\n"
        "  (0): Linear(in_features=4, out_features=2, bias=true)\n"
        "  (1): Sequential(\n"
        "    (0): ReLU()\n"
        "  )\n"
        ")");
}

TEST_CASE("Layer errors name the layer, its position and the shapes", "[nn]") {
  nn::Sequential net(std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(12, 2));
  try {
    net(Tensor<float>::zeros({2, 3, 5}));
    FAIL("expected frost::Error");
  } catch (const frost::Error& e) {
    const std::string msg = e.what();
    CHECK_THAT(msg, Catch::Contains("Sequential[1]"));
    CHECK_THAT(msg, Catch::Contains("Linear(in_features=12, out_features=2"));
    CHECK_THAT(msg, Catch::Contains("[2, 15]"));
  }
}

TEST_CASE("A small MLP trains on a separable problem", "[nn]") {
  // Two Gaussian blobs in 2-D with labels +1 / -1; the model regresses the label (MSE).
  frost::Generator data_gen(11);
  const std::int64_t n = 128;
  Tensor<float> x = Tensor<float>::empty({n, 2}), t = Tensor<float>::empty({n, 1});
  for (std::int64_t i = 0; i < n; ++i) {
    const float label = i % 2 ? 1.0f : -1.0f;
    x.data()[2 * i] = label * 1.5f + 0.5f * static_cast<float>(data_gen.normal());
    x.data()[2 * i + 1] = -label + 0.5f * static_cast<float>(data_gen.normal());
    t.data()[i] = label;
  }
  frost::manual_seed(3);
  nn::Sequential net(std::make_shared<nn::Linear>(2, 16), std::make_shared<nn::Tanh>(),
                     std::make_shared<nn::Linear>(16, 1));
  const auto mse = [&] {
    const Tensor<float> d = net(x) - t;
    return frost::mean(d * d);
  };
  const float initial = mse().item();
  float loss = initial;
  for (int step = 0; step < 200; ++step) {
    net.zero_grad();
    Tensor<float> l = mse();
    loss = l.item();
    l.backward();
    frost::NoGradGuard no_grad;
    for (auto& p : net.parameters()) p.add_(p.grad(), -0.1f);
  }
  CHECK(initial > 0.5f);
  CHECK(loss < 0.05f);
  int correct = 0;
  const Tensor<float> y = net(x);
  for (std::int64_t i = 0; i < n; ++i) correct += (y.data()[i] > 0) == (t.data()[i] > 0);
  CHECK(correct == n);
}
