#include <frost/core/rng.hpp>
#include <frost/core/tensor.hpp>
#include <frost/io/rng_state.hpp>
#include <frost/io/tensor_file.hpp>

#include <catch2/catch.hpp>

#include <bit>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "../io/temp_files.hpp"

using Catch::Matchers::Contains;
using frost::Generator;
using frost::GeneratorState;

namespace {

// 1000 draws of every kind, interleaved, as bit patterns (so NaN or -0.0 could not hide a
// difference): uniform_double, uniform_float, uniform_int (several bounds, including one that
// rejects often), normal, laplace, bernoulli, next_u64.
std::vector<std::uint64_t> draws(Generator& gen) {
  std::vector<std::uint64_t> out;
  for (int i = 0; i < 1000; ++i) {
    out.push_back(std::bit_cast<std::uint64_t>(gen.uniform_double()));
    out.push_back(std::bit_cast<std::uint32_t>(gen.uniform_float()));
    out.push_back(gen.uniform_int(10));
    out.push_back(gen.uniform_int((std::uint64_t{1} << 63) + 1));
    out.push_back(std::bit_cast<std::uint64_t>(gen.normal()));
    out.push_back(std::bit_cast<std::uint64_t>(gen.laplace()));
    out.push_back(gen.bernoulli(0.3) ? 1 : 0);
    out.push_back(gen.next_u64());
  }
  return out;
}

std::vector<std::uint64_t> normals(Generator& gen, int n) {
  std::vector<std::uint64_t> out;
  for (int i = 0; i < n; ++i) out.push_back(std::bit_cast<std::uint64_t>(gen.normal()));
  return out;
}

}  // namespace

TEST_CASE("Generator get_state/set_state reproduces every later draw", "[core][rng]") {
  const int warm_normals = GENERATE(0, 1, 2, 7);  // odd: a spare normal is pending
  Generator gen(1234);
  for (int i = 0; i < warm_normals; ++i) gen.normal();
  gen.uniform_int(3);

  const GeneratorState saved = gen.get_state();
  const std::string saved_text = gen.state_string();
  REQUIRE(saved.has_spare_normal == (warm_normals % 2 == 1));
  const std::vector<std::uint64_t> expected = draws(gen);
  const std::vector<std::uint64_t> expected_normals = normals(gen, 1001);

  SECTION("into the same generator") {
    gen.set_state(saved);
    REQUIRE(gen.get_state() == saved);
    REQUIRE(draws(gen) == expected);
    REQUIRE(normals(gen, 1001) == expected_normals);
  }
  SECTION("into another generator with a different seed and its own pending spare") {
    Generator other(99);
    other.normal();  // leaves a spare that set_state must replace or clear
    other.set_state(saved);
    REQUIRE(other.get_state() == saved);
    REQUIRE(draws(other) == expected);
    REQUIRE(normals(other, 1001) == expected_normals);
  }
  SECTION("through the text form") {
    Generator other(5);
    other.normal();
    other.set_state_string(saved_text);
    REQUIRE(other.get_state() == saved);
    REQUIRE(other.state_string() == saved_text);
    REQUIRE(frost::parse_generator_state(other.state_string()) == saved);
    REQUIRE(draws(other) == expected);
    REQUIRE(normals(other, 1001) == expected_normals);
  }
}

TEST_CASE("Generator state: the spare normal is part of the state", "[core][rng]") {
  Generator gen(42);
  const double first = gen.normal();
  const GeneratorState with_spare = gen.get_state();
  REQUIRE(with_spare.has_spare_normal);
  const double spare = gen.normal();
  REQUIRE(std::bit_cast<double>(with_spare.spare_normal_bits) == spare);
  // Consuming the spare does not advance the xoshiro words.
  const GeneratorState after = gen.get_state();
  REQUIRE_FALSE(after.has_spare_normal);
  REQUIRE(after.spare_normal_bits == 0);
  REQUIRE(after.words == with_spare.words);

  // The same words without the spare give a different next normal: the flag matters.
  GeneratorState without = with_spare;
  without.has_spare_normal = false;
  without.spare_normal_bits = 0;
  Generator a, b;
  a.set_state(with_spare);
  b.set_state(without);
  REQUIRE(a.normal() == spare);
  REQUIRE(b.normal() != spare);
  REQUIRE(first != spare);

  // A fresh or reseeded generator has no spare.
  Generator fresh(7);
  REQUIRE_FALSE(fresh.get_state().has_spare_normal);
  fresh.normal();
  fresh.manual_seed(7);
  REQUIRE(fresh.get_state() == Generator(7).get_state());
}

TEST_CASE("Generator state text form", "[core][rng]") {
  GeneratorState state;
  state.words = {0x0123456789abcdefULL, 1, 0xffffffffffffffffULL, 0};
  REQUIRE(frost::to_string(state) ==
          "frost.generator.v1 0123456789abcdef 0000000000000001 ffffffffffffffff "
          "0000000000000000 none");
  state.has_spare_normal = true;
  state.spare_normal_bits = std::bit_cast<std::uint64_t>(-1.5);
  REQUIRE(frost::to_string(state) ==
          "frost.generator.v1 0123456789abcdef 0000000000000001 ffffffffffffffff "
          "0000000000000000 bff8000000000000");
  REQUIRE(frost::parse_generator_state(frost::to_string(state)) == state);
  // Upper-case digits are accepted.
  REQUIRE(frost::parse_generator_state("frost.generator.v1 0123456789ABCDEF 0000000000000001 "
                                       "FFFFFFFFFFFFFFFF 0000000000000000 BFF8000000000000") ==
          state);
}

TEST_CASE("Generator state: malformed text throws and changes nothing", "[core][rng][error]") {
  const std::string good =
      "frost.generator.v1 0123456789abcdef 0000000000000001 ffffffffffffffff 0000000000000000 "
      "none";
  REQUIRE_NOTHROW(frost::parse_generator_state(good));
  const std::string bad = GENERATE(
      std::string(""), std::string("frost.generator.v1"),
      std::string("frost.generator.v2 0123456789abcdef 0000000000000001 ffffffffffffffff "
                  "0000000000000000 none"),
      std::string("0123456789abcdef 0000000000000001 ffffffffffffffff 0000000000000000 none"),
      // too few / too many fields
      std::string("frost.generator.v1 0123456789abcdef 0000000000000001 ffffffffffffffff none"),
      std::string("frost.generator.v1 0123456789abcdef 0000000000000001 ffffffffffffffff "
                  "0000000000000000 none none"),
      // short, long, non-hex, signed, prefixed words
      std::string("frost.generator.v1 123456789abcdef 0000000000000001 ffffffffffffffff "
                  "0000000000000000 none"),
      std::string("frost.generator.v1 00123456789abcdef 0000000000000001 ffffffffffffffff "
                  "0000000000000000 none"),
      std::string("frost.generator.v1 0123456789abcdeg 0000000000000001 ffffffffffffffff "
                  "0000000000000000 none"),
      std::string("frost.generator.v1 -123456789abcdef 0000000000000001 ffffffffffffffff "
                  "0000000000000000 none"),
      std::string("frost.generator.v1 0x23456789abcdef 0000000000000001 ffffffffffffffff "
                  "0000000000000000 none"),
      // separators: double space, tab, trailing space, leading space
      std::string("frost.generator.v1  0123456789abcdef 0000000000000001 ffffffffffffffff "
                  "0000000000000000 none"),
      std::string("frost.generator.v1\t0123456789abcdef 0000000000000001 ffffffffffffffff "
                  "0000000000000000 none"),
      std::string("frost.generator.v1 0123456789abcdef 0000000000000001 ffffffffffffffff "
                  "0000000000000000 none "),
      std::string(" frost.generator.v1 0123456789abcdef 0000000000000001 ffffffffffffffff "
                  "0000000000000000 none"),
      // bad spare: "None", short, non-finite (NaN, +inf)
      std::string("frost.generator.v1 0123456789abcdef 0000000000000001 ffffffffffffffff "
                  "0000000000000000 None"),
      std::string("frost.generator.v1 0123456789abcdef 0000000000000001 ffffffffffffffff "
                  "0000000000000000 3ff"),
      std::string("frost.generator.v1 0123456789abcdef 0000000000000001 ffffffffffffffff "
                  "0000000000000000 7ff8000000000000"),
      std::string("frost.generator.v1 0123456789abcdef 0000000000000001 ffffffffffffffff "
                  "0000000000000000 7ff0000000000000"),
      // the all-zero xoshiro state
      std::string("frost.generator.v1 0000000000000000 0000000000000000 0000000000000000 "
                  "0000000000000000 none"));
  CAPTURE(bad);
  REQUIRE_THROWS_AS(frost::parse_generator_state(bad), frost::Error);
  REQUIRE_THROWS_WITH(frost::parse_generator_state(bad),
                      Contains("parse_generator_state") && Contains("'" + bad + "'"));

  Generator gen(3);
  gen.normal();
  const GeneratorState before = gen.get_state();
  REQUIRE_THROWS_WITH(gen.set_state_string(bad), Contains("Generator::set_state_string") &&
                                                     Contains("malformed generator state"));
  REQUIRE(gen.get_state() == before);
}

TEST_CASE("Generator::set_state rejects the all-zero state", "[core][rng][error]") {
  Generator gen(3);
  const GeneratorState before = gen.get_state();
  REQUIRE_THROWS_WITH(gen.set_state(GeneratorState{}),
                      Contains("Generator::set_state") && Contains("zero"));
  REQUIRE(gen.get_state() == before);
}

TEST_CASE("get_rng_state/set_rng_state act on the default generator", "[core][rng]") {
  frost::manual_seed(11);
  frost::default_generator().normal();
  const GeneratorState saved = frost::get_rng_state();
  REQUIRE(saved == frost::default_generator().get_state());
  const std::vector<std::uint64_t> expected = draws(frost::default_generator());
  frost::set_rng_state(saved);
  REQUIRE(draws(frost::default_generator()) == expected);
}

TEST_CASE("save_rng_state/load_rng_state: a resumed run draws what the run would have",
          "[core][rng][checkpoint]") {
  frost_test::TempDir dir;
  const auto path = dir / "rng.safetensors";

  frost::manual_seed(2024);
  (void)frost::Tensor<float>::randn({3, 5});  // 15 normals: a spare is pending
  REQUIRE(frost::get_rng_state().has_spare_normal);
  frost::io::save_rng_state(path);
  const frost::Tensor<float> expected_noise = frost::Tensor<float>::randn({4, 7});
  const std::vector<std::uint64_t> expected = draws(frost::default_generator());

  // The "resumed" process: other draws happen (building the model), then the state is loaded.
  frost::manual_seed(1);
  (void)frost::Tensor<float>::randn({9});
  frost::io::load_rng_state(path);
  const frost::Tensor<float> noise = frost::Tensor<float>::randn({4, 7});
  REQUIRE(
      std::vector<float>(noise.data(), noise.data() + noise.numel()) ==
      std::vector<float>(expected_noise.data(), expected_noise.data() + expected_noise.numel()));
  REQUIRE(draws(frost::default_generator()) == expected);

  SECTION("a generator of one's own") {
    Generator own(77);
    own.normal();
    const auto own_path = dir / "own.safetensors";
    frost::io::save_rng_state(own_path, own);
    const std::vector<std::uint64_t> own_expected = draws(own);
    Generator restored(0);
    frost::io::load_rng_state(own_path, restored);
    REQUIRE(draws(restored) == own_expected);
  }
}

TEST_CASE("load_rng_state rejects other files and leaves the generator unchanged",
          "[core][rng][checkpoint][error]") {
  frost_test::TempDir dir;
  const auto path = dir / "bad.safetensors";
  const std::string good_state = Generator(5).state_string();
  std::map<std::string, frost::Tensor<float>> tensors;
  std::map<std::string, std::string> metadata;
  std::string expected_message;

  SECTION("a tensor in the file") {
    tensors.emplace("w", frost::Tensor<float>::zeros({2}));
    metadata = {{"format", "frost.rng_state.v1"}, {"generator", good_state}};
    expected_message = "holds 1 tensors";
  }
  SECTION("no format") {
    metadata = {{"generator", good_state}};
    expected_message = "has format '(none)'";
  }
  SECTION("another format") {
    metadata = {{"format", "frost.optimizer.v1"}, {"generator", good_state}};
    expected_message = "has format 'frost.optimizer.v1'";
  }
  SECTION("no state") {
    metadata = {{"format", "frost.rng_state.v1"}};
    expected_message = "has no 'generator' key";
  }
  SECTION("an unknown key") {
    metadata = {{"format", "frost.rng_state.v1"}, {"generator", good_state}, {"epoch", "3"}};
    expected_message = "unknown key 'epoch'";
  }
  SECTION("a malformed state") {
    metadata = {{"format", "frost.rng_state.v1"}, {"generator", "frost.generator.v1 1 2 3 4 none"}};
    expected_message = "malformed generator state 'frost.generator.v1 1 2 3 4 none'";
  }
  frost::io::save_safetensors(path, tensors, metadata);

  Generator gen(8);
  gen.normal();
  const GeneratorState before = gen.get_state();
  REQUIRE_THROWS_AS(frost::io::load_rng_state(path, gen), frost::Error);
  REQUIRE_THROWS_WITH(frost::io::load_rng_state(path, gen), Contains("load_rng_state") &&
                                                                Contains(expected_message) &&
                                                                Contains(path.string()));
  REQUIRE(gen.get_state() == before);
}

TEST_CASE("load_rng_state: a missing file throws", "[core][rng][checkpoint][error]") {
  frost_test::TempDir dir;
  Generator gen(8);
  const GeneratorState before = gen.get_state();
  REQUIRE_THROWS_AS(frost::io::load_rng_state(dir / "missing.safetensors", gen), frost::Error);
  REQUIRE(gen.get_state() == before);
}
