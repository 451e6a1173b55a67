#include <frost/optim/sgd.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <vector>

#include "optim_test_util.hpp"

using frost::Tensor;
using frost::optim::SGD;
using frost::optim::SGDOptions;
using namespace optim_test;

namespace {

// torch.optim.SGD, written out on doubles.
struct ReferenceSGD {
  SGDOptions o;
  std::vector<double> buf;

  void step(std::vector<double>& p, const std::vector<double>& g) {
    const bool first = buf.empty();
    if (first) buf.resize(p.size());
    for (std::size_t i = 0; i < p.size(); ++i) {
      double d = g[i] + o.weight_decay * p[i];
      if (o.momentum != 0.0) {
        buf[i] = first ? d : o.momentum * buf[i] + (1.0 - o.dampening) * d;
        d = o.nesterov ? d + o.momentum * buf[i] : buf[i];
      }
      p[i] -= o.lr * d;
    }
  }
};

const std::vector<std::vector<double>> kGrads = {{0.5, -1.25, 2.0, 0.0, 0.75, -0.3},
                                                 {0.25, -0.5, -1.0, 0.4, 0.75, 0.1},
                                                 {-0.6, 1.5, 0.2, -0.4, 0.0, 0.9}};
const std::vector<float> kStart = {1.0f, -2.0f, 0.5f, 3.0f, -0.25f, 0.0f};

}  // namespace

TEST_CASE("SGD: hand-computed steps on a scalar", "[optim][sgd]") {
  SECTION("momentum") {
    auto p = param({1.0f}, {1});
    SGD opt({p}, {.lr = 0.1, .momentum = 0.9});
    set_grad(p, {0.5});
    opt.step();
    require_close(values(p), {0.95});  // buf = 0.5
    opt.step();
    require_close(values(p), {0.855});  // buf = 0.9 * 0.5 + 0.5 = 0.95
  }
  SECTION("Nesterov") {
    auto p = param({1.0f}, {1});
    SGD opt({p}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
    set_grad(p, {0.5});
    opt.step();
    require_close(values(p), {0.905});  // d = 0.5 + 0.9 * 0.5
    opt.step();
    require_close(values(p), {0.7695});  // buf = 0.95, d = 0.5 + 0.855
  }
}

TEST_CASE("SGD matches torch.optim.SGD for three steps", "[optim][sgd]") {
  const SGDOptions options =
      GENERATE(SGDOptions{.lr = 0.1}, SGDOptions{.lr = 0.05, .weight_decay = 0.1},
               SGDOptions{.lr = 0.1, .momentum = 0.9},
               SGDOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.25},
               SGDOptions{.lr = 0.1, .momentum = 0.9, .nesterov = true},
               SGDOptions{.lr = 0.02, .momentum = 0.8, .weight_decay = 0.05, .nesterov = true},
               SGDOptions{.lr = 0.3, .momentum = 0.5, .dampening = 0.5, .weight_decay = 0.01});
  INFO("lr " << options.lr << " momentum " << options.momentum << " dampening " << options.dampening
             << " weight_decay " << options.weight_decay << " nesterov " << options.nesterov);
  auto p = param(kStart, {2, 3});
  SGD opt({p}, options);
  ReferenceSGD ref{options, {}};
  std::vector<double> expected = as_double(kStart);
  for (const auto& g : kGrads) {
    set_grad(p, g);
    opt.step();
    ref.step(expected, g);
    require_close(values(p), expected);
  }
  REQUIRE(opt.state(0, 0).momentum_buffer.defined() == (options.momentum != 0.0));
  if (options.momentum != 0.0) {
    REQUIRE(opt.state(0, 0).momentum_buffer.shape() == p.shape());
    require_close(values(opt.state(0, 0).momentum_buffer), ref.buf);
  }
}

TEST_CASE("SGD rejects bad options", "[optim][sgd][error]") {
  auto p = param({1.0f}, {1});
  REQUIRE_THROWS_AS(SGD({p}, {.lr = -0.1}), frost::Error);
  REQUIRE_THROWS_WITH(SGD({p}, {.lr = -0.1}),
                      Catch::Contains("SGD") && Catch::Contains("learning rate"));
  REQUIRE_THROWS_AS(SGD({p}, {.lr = 0.1, .momentum = -0.9}), frost::Error);
  REQUIRE_THROWS_AS(SGD({p}, {.lr = 0.1, .weight_decay = -1e-4}), frost::Error);
  REQUIRE_THROWS_WITH(SGD({p}, {.lr = 0.1, .nesterov = true}), Catch::Contains("Nesterov"));
  REQUIRE_THROWS_AS(SGD({p}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .nesterov = true}),
                    frost::Error);
}
