// StatAssist as one schedule and its ablations: which epochs train in float and which under fake
// quantization, GradBoost's warm-up switched off at the boundary, the optimizer going on with the
// same parameter tensors and state, and the learning-rate schedule restarting.

#include <frost/frost.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

using frost::Tensor;
namespace nn = frost::nn;
namespace optim = frost::optim;
namespace quant = frost::quant;

namespace {

std::shared_ptr<nn::Sequential> tiny_model() {
  frost::manual_seed(5);
  return std::make_shared<nn::Sequential>(
      std::make_shared<nn::Conv2d>(1, 4, 3, nn::Conv2dOptions{.padding = 1, .bias = false}),
      std::make_shared<nn::BatchNorm2d>(4), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(4 * 6 * 6, 3));
}

struct Epoch {
  quant::Phase phase;
  int phase_epoch;
  std::size_t fake_quantizers;
  bool warmup;
  double lr_at_start;
};

struct Run {
  std::vector<Epoch> epochs;
  std::vector<const float*> weights_before, weights_after;
  float weight_change_in_qat = 0.0f;
};

Run run_schedule(quant::QatSchedule schedule, int fp_epochs, int qat_epochs) {
  auto model = tiny_model();
  model->train();
  optim::QSGD optimizer(model->parameters(), {.lr = 0.05, .momentum = 0.9}, {.seed = 1});
  optim::WarmupCosineLR scheduler(optimizer, 1, 4);
  frost::Generator gen(9);
  const Tensor<float> x = Tensor<float>::randn({8, 1, 6, 6}, gen);
  Tensor<std::int32_t> labels = Tensor<std::int32_t>::empty({8});
  for (std::int64_t i = 0; i < 8; ++i) labels.data()[i] = static_cast<std::int32_t>(i % 3);

  Run run;
  for (const auto& p : model->parameters()) run.weights_before.push_back(p.data());
  quant::StatAssist sa(model, x.narrow(0, 0, 1).clone(), optimizer, &scheduler,
                       {.schedule = schedule, .fp_epochs = fp_epochs, .qat_epochs = qat_epochs});
  sa.run([&](const quant::EpochContext& e) {
    run.epochs.push_back({e.phase, e.phase_epoch, quant::fake_quantizers(*model).size(),
                          optimizer.warmup(), optimizer.lr(0)});
    const Tensor<float> w0 = model->parameters()[0].clone();
    for (int step = 0; step < 3; ++step) {
      optimizer.zero_grad();
      frost::cross_entropy((*model)(x), labels).backward();
      optimizer.step();
      scheduler.step();
    }
    if (e.phase == quant::Phase::qat) {
      const Tensor<float> w1 = model->parameters()[0];
      for (std::int64_t i = 0; i < w1.numel(); ++i)
        run.weight_change_in_qat += std::abs(w1.data()[i] - w0.data()[i]);
    }
  });
  for (const auto& p : model->parameters()) run.weights_after.push_back(p.data());
  return run;
}

}  // namespace

TEST_CASE("StatAssist: float epochs, then QAT with the same optimizer", "[quant][stat_assist]") {
  const Run run = run_schedule(quant::QatSchedule::stat_assist, 2, 2);
  REQUIRE(run.epochs.size() == 4);
  for (int e = 0; e < 2; ++e) {
    CHECK(run.epochs[e].phase == quant::Phase::float_warmup);
    CHECK(run.epochs[e].phase_epoch == e);
    CHECK(run.epochs[e].fake_quantizers == 0);
    CHECK(run.epochs[e].warmup);
  }
  for (int e = 2; e < 4; ++e) {
    CHECK(run.epochs[e].phase == quant::Phase::qat);
    CHECK(run.epochs[e].phase_epoch == e - 2);
    CHECK(run.epochs[e].fake_quantizers >= 3);  // input, conv-bn-relu output, linear output
    CHECK_FALSE(run.epochs[e].warmup);
  }
  // The schedule restarted at the boundary: QAT's first epoch starts at the first epoch's lr.
  CHECK(run.epochs[2].lr_at_start == run.epochs[0].lr_at_start);
  CHECK(run.epochs[1].lr_at_start != run.epochs[0].lr_at_start);
  // The QAT modules train the float model's own tensors (so the optimizer's state still
  // belongs to them), and the optimizer moves them during QAT.
  CHECK(run.weights_after == run.weights_before);
  CHECK(run.weight_change_in_qat > 0.0f);
}

TEST_CASE("StatAssist: the ablations", "[quant][stat_assist]") {
  SECTION("QAT from scratch: fake quantization and GradBoost noise from the first epoch") {
    const Run run = run_schedule(quant::QatSchedule::qat_from_scratch, 2, 2);
    REQUIRE(run.epochs.size() == 2);
    for (const Epoch& e : run.epochs) {
      CHECK(e.phase == quant::Phase::qat);
      CHECK(e.fake_quantizers >= 3);
      CHECK_FALSE(e.warmup);
    }
  }
  SECTION("float only: every epoch in float, in warm-up, never quantized") {
    const Run run = run_schedule(quant::QatSchedule::float_only, 2, 1);
    REQUIRE(run.epochs.size() == 3);
    for (const Epoch& e : run.epochs) {
      CHECK(e.phase == quant::Phase::float_only);
      CHECK(e.fake_quantizers == 0);
      CHECK(e.warmup);
    }
  }
  SECTION("the separate steps refuse to begin QAT twice, and stat_assist needs a float epoch") {
    auto model = tiny_model();
    optim::QSGD optimizer(model->parameters(), {.lr = 0.05}, {.seed = 1});
    const Tensor<float> x = Tensor<float>::zeros({1, 1, 6, 6});
    CHECK_THROWS_AS(quant::StatAssist(model, x, optimizer, nullptr, {.fp_epochs = 0}),
                    frost::Error);
    quant::StatAssist sa(model, x, optimizer, nullptr, {.fp_epochs = 1, .qat_epochs = 1});
    sa.begin_float();
    CHECK(optimizer.warmup());
    sa.begin_qat();
    CHECK_FALSE(optimizer.warmup());
    CHECK(sa.quantization_started());
    CHECK_THROWS_WITH(sa.begin_qat(), Catch::Matchers::Contains("already begun"));
  }
}

TEST_CASE("StatAssist resumes bit-exactly from a checkpoint in either phase",
          "[quant][stat_assist][state_dict]") {
  // The reference trains 4 epochs (2 float, 2 QAT) and keeps the model's, optimizer's and
  // scheduler's state after every epoch; a resumed run builds everything afresh, resume_at(k),
  // loads the epoch-k state and trains the rest: every parameter and buffer (BN statistics,
  // observer ranges, fake-quantization parameters) must end with the same bits.
  frost::Generator gen(9);
  const Tensor<float> x = Tensor<float>::randn({8, 1, 6, 6}, gen);
  Tensor<std::int32_t> labels = Tensor<std::int32_t>::empty({8});
  for (std::int64_t i = 0; i < 8; ++i) labels.data()[i] = static_cast<std::int32_t>(i % 3);
  const quant::StatAssistOptions options{.fp_epochs = 2, .qat_epochs = 2};

  struct Checkpoint {
    nn::StateDict model;
    optim::OptimStateDict optimizer, scheduler;
  };
  const auto train = [&](int first_epoch, const Checkpoint* from,
                         std::vector<Checkpoint>* checkpoints) {
    auto model = tiny_model();
    model->train();
    optim::QSGD optimizer(model->parameters(), {.lr = 0.05, .momentum = 0.9}, {.seed = 1});
    optim::WarmupCosineLR scheduler(optimizer, 1, 4);
    quant::StatAssist sa(model, x.narrow(0, 0, 1).clone(), optimizer, &scheduler, options);
    if (from != nullptr)
      sa.resume_at(first_epoch, [&] {
        model->load_state_dict(from->model);
        optimizer.load_state_dict(from->optimizer);
        scheduler.load_state_dict(from->scheduler);
      });
    sa.run(
        [&](const quant::EpochContext&) {
          for (int step = 0; step < 3; ++step) {
            optimizer.zero_grad();
            frost::cross_entropy((*model)(x), labels).backward();
            optimizer.step();
            scheduler.step();
          }
          if (checkpoints == nullptr) return;
          // State dicts share storage with what they describe: a checkpoint copies.
          Checkpoint c{{}, optimizer.state_dict(), scheduler.state_dict()};
          for (const auto& [name, tensor] : model->state_dict())
            c.model.insert(name, tensor.clone());
          for (auto& [key, tensor] : c.optimizer.tensors) tensor = tensor.clone();
          checkpoints->push_back(std::move(c));
        },
        first_epoch);
    return model->state_dict();
  };

  std::vector<Checkpoint> checkpoints;
  const nn::StateDict reference = train(0, nullptr, &checkpoints);
  REQUIRE(checkpoints.size() == 4);
  for (int k = 1; k <= 4; ++k) {
    INFO("resumed after epoch " << k << (k < 2 ? " (float)" : k == 2 ? " (boundary)" : " (QAT)"));
    const nn::StateDict resumed = train(k, &checkpoints[static_cast<std::size_t>(k - 1)], nullptr);
    REQUIRE(resumed.size() == reference.size());
    for (const auto& [name, tensor] : reference) {
      INFO(name);
      const Tensor<float>& other = resumed.at(name);
      REQUIRE(other.shape() == tensor.shape());
      REQUIRE(std::memcmp(other.data(), tensor.data(),
                          static_cast<std::size_t>(tensor.numel()) * sizeof(float)) == 0);
    }
  }
  SECTION("an epoch outside the schedule is refused") {
    auto model = tiny_model();
    optim::QSGD optimizer(model->parameters(), {.lr = 0.05}, {.seed = 1});
    quant::StatAssist sa(model, x.narrow(0, 0, 1).clone(), optimizer, nullptr, options);
    CHECK_THROWS_WITH(sa.resume_at(5, {}), Catch::Matchers::Contains("epoch 5 outside [0, 4]"));
    CHECK_THROWS_WITH(sa.run([](const quant::EpochContext&) {}, -1),
                      Catch::Matchers::Contains("first epoch -1"));
  }
}
