// The input normalisation an Int8Model records (input_mean, input_std) in its file: it
// round-trips bit for bit; files written before it existed load with none (and a model without
// one is written as they were, so older readers still take it); and a file whose normalisation
// is the wrong length, non-finite or has a std <= 0 is a frost::Error naming the file. The
// edited files are re-checksummed, so that the validation behind the checksum is what answers.

// GCC 12 at -O3 sometimes sees engine::save's `"'" + path.string() + "'"` as an overlapping
// memcpy (-Wrestrict, a false positive of its string range analysis, GCC bug 105651).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
#include <frost/engine/serialize.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#include <frost/io/safetensors.hpp>

#include <catch2/catch.hpp>

#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace frost;
using namespace frost::engine;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("frost_int8_preprocessing_" + tag + "_" +
             std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + "_" +
             std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

// quantize -> global_avg_pool -> linear on [channels, 4, 4], 2 classes.
Int8Model mean_classifier(std::int64_t channels) {
  const QuantizationParams q{4.0f / 255.0f, 128};
  Int8Model m;
  m.input_shape = {channels, 4, 4};
  m.values.resize(3);
  m.values[0].shape = {channels, 4, 4};
  m.values[1].shape = {channels};
  m.values[2].shape = {2};
  for (std::size_t i = 0; i < 3; ++i) {
    m.values[i].quantization = q;
    m.values[i].source_step = static_cast<std::int64_t>(i) - 1;
  }
  m.input = 0;
  m.output = 2;
  m.ops.resize(3);
  m.ops[0].kind = OpKind::quantize;
  m.ops[0].output = 0;
  m.ops[1].kind = OpKind::global_avg_pool;
  m.ops[1].inputs = {0};
  m.ops[1].output = 1;
  Op& fc = m.ops[2];
  fc.kind = OpKind::linear;
  fc.inputs = {1};
  fc.output = 2;
  for (std::int64_t i = 0; i < 2 * channels; ++i)
    fc.weights.push_back(static_cast<std::int8_t>(i % 2 ? 100 - 30 * i : -90 + 20 * i));
  fc.bias = {7, -3};
  fc.weight_scales = {1.0f / 127.0f};
  m.class_names = {"no", "yes"};
  m.pack();
  return m;
}

std::uint32_t bits(float x) {
  return std::bit_cast<std::uint32_t>(x);
}

std::vector<std::uint32_t> all_bits(const std::vector<float>& v) {
  std::vector<std::uint32_t> out;
  for (float x : v) out.push_back(bits(x));
  return out;
}

// Rewrites a saved file with `edit` applied to its tensors, and a checksum that matches.
using Edit = std::function<void(std::vector<io::SafetensorsRecord>&)>;

void rewrite(const fs::path& from, const fs::path& to, const Edit& edit) {
  io::SafetensorsContents contents = io::read_safetensors(from);
  edit(contents.tensors);
  std::vector<io::SafetensorsView> views;
  for (const auto& t : contents.tensors) views.push_back({t.name, t.dtype, t.shape, t.bytes});
  std::map<std::string, std::string> metadata = contents.metadata;
  metadata[std::string(kInt8ModelChecksumKey)] = engine::detail::checksum_string(
      engine::detail::model_checksum(metadata.at(std::string(kInt8ModelGraphKey)), views));
  io::write_safetensors(to, views, metadata);
}

void drop(std::vector<io::SafetensorsRecord>& tensors, const std::string& name) {
  const auto before = tensors.size();
  std::erase_if(tensors, [&](const io::SafetensorsRecord& t) { return t.name == name; });
  REQUIRE(tensors.size() == before - 1);
}

io::SafetensorsRecord& record(std::vector<io::SafetensorsRecord>& tensors,
                              const std::string& name) {
  for (auto& t : tensors)
    if (t.name == name) return t;
  FAIL("no tensor " << name);
  throw;  // unreachable
}

void set_floats(io::SafetensorsRecord& t, const std::vector<float>& values) {
  t.dtype = io::SafetensorsDType::kF32;
  t.shape = {static_cast<std::int64_t>(values.size())};
  t.bytes.resize(4 * values.size());
  if (!values.empty()) std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
}

std::vector<std::string> tensor_names(const fs::path& file) {
  std::vector<std::string> names;
  for (const auto& t : io::read_safetensors(file).tensors) names.push_back(t.name);
  return names;
}

}  // namespace

TEST_CASE("int8 preprocessing: mean and std round-trip bit for bit", "[engine][serialize]") {
  TempDir dir("round_trip");
  for (const std::int64_t channels : {1, 3}) {
    INFO(channels << " channel(s)");
    Int8Model m = mean_classifier(channels);
    // Not decimal-exact in binary: a text round trip would change their last bits.
    m.input_mean = std::vector<float>(static_cast<std::size_t>(channels), 0.1f);
    m.input_std = std::vector<float>(static_cast<std::size_t>(channels), 1.0f / 3.0f);
    m.input_mean.back() = 0.2860f;
    m.input_std.back() = std::nextafter(0.3530f, 1.0f);
    const fs::path file = dir / (std::to_string(channels) + "-channel.int8");
    save(m, file);
    const Int8Model loaded = load(file);
    CHECK(all_bits(loaded.input_mean) == all_bits(m.input_mean));
    CHECK(all_bits(loaded.input_std) == all_bits(m.input_std));
    CHECK(loaded.class_names == m.class_names);
    const auto stored = io::read_safetensors(file);
    const auto* mean = stored.find("input.mean");
    REQUIRE(mean != nullptr);
    CHECK(mean->dtype == io::SafetensorsDType::kF32);
    CHECK(mean->shape == std::vector<std::int64_t>{channels});
  }
}

TEST_CASE("int8 preprocessing: files without it load with none, and are still written so",
          "[engine][serialize]") {
  TempDir dir("old_format");
  Int8Model m = mean_classifier(3);
  m.input_mean = {0.485f, 0.456f, 0.406f};
  m.input_std = {0.229f, 0.224f, 0.225f};
  save(m, dir / "new.int8");

  // The graph JSON is as before (the normalisation is only in tensors), so the file without
  // those two tensors is the one a frost from before them wrote.
  const auto contents = io::read_safetensors(dir / "new.int8");
  CHECK(contents.metadata.at("version") == "1");
  CHECK_THAT(contents.metadata.at(std::string(kInt8ModelGraphKey)),
             !Contains("mean") && !Contains("std"));
  rewrite(dir / "new.int8", dir / "old.int8", [](auto& tensors) {
    drop(tensors, "input.mean");
    drop(tensors, "input.std");
  });
  const Int8Model old = load(dir / "old.int8");
  CHECK(old.input_mean.empty());
  CHECK(old.input_std.empty());
  CHECK(old.class_names == m.class_names);
  const auto x = Tensor<float>::from_vector(std::vector<float>(48, 0.25f), {1, 3, 4, 4});
  const Tensor<float> a = old.forward(x), b = m.forward(x);
  REQUIRE(a.numel() == 2);
  CHECK(a.data()[0] == b.data()[0]);
  CHECK(a.data()[1] == b.data()[1]);

  // A model without a normalisation gets no such tensors: older readers still load it.
  Int8Model plain = mean_classifier(3);
  save(plain, dir / "plain.int8");
  CHECK(tensor_names(dir / "plain.int8") ==
        std::vector<std::string>{"op2.bias", "op2.weight_scales", "op2.weights", "values.scale"});
  const Int8Model reloaded = load(dir / "plain.int8");
  CHECK(reloaded.input_mean.empty());
  CHECK(reloaded.input_std.empty());
}

TEST_CASE("int8 preprocessing: a bad normalisation in a file is an error naming the file",
          "[engine][serialize]") {
  TempDir dir("bad_file");
  Int8Model m = mean_classifier(3);
  m.input_mean = {0.5f, 0.5f, 0.5f};
  m.input_std = {0.25f, 0.25f, 0.25f};
  const fs::path good = dir / "good.int8";
  save(m, good);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  struct Case {
    const char* what;
    Edit edit;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"a std per channel too few",
       [](auto& t) {
         set_floats(record(t, "input.std"), {0.25f, 0.25f});
       },
       "the input normalisation has 3 means and 2 standard deviations for 3 input channels"},
      {"a mean too many",
       [](auto& t) {
         set_floats(record(t, "input.mean"), {0.5f, 0.5f, 0.5f, 0.5f});
       },
       "the input normalisation has 4 means and 3 standard deviations for 3 input channels"},
      {"one value for three channels",
       [](auto& t) {
         set_floats(record(t, "input.mean"), {0.5f});
         set_floats(record(t, "input.std"), {0.25f});
       },
       "the input normalisation has 1 means and 1 standard deviations for 3 input channels"},
      {"std 0",
       [](auto& t) {
         set_floats(record(t, "input.std"), {0.25f, 0.0f, 0.25f});
       },
       "input channel 1 normalisation mean 0.5, std 0: both must be finite and the std > 0"},
      {"std < 0",
       [](auto& t) {
         set_floats(record(t, "input.std"), {0.25f, 0.25f, -0.5f});
       },
       "input channel 2 normalisation mean 0.5, std -0.5"},
      {"std NaN",
       [=](auto& t) {
         set_floats(record(t, "input.std"), {nan, 0.25f, 0.25f});
       },
       "input channel 0 normalisation"},
      {"mean infinite",
       [=](auto& t) {
         set_floats(record(t, "input.mean"), {0.5f, inf, 0.5f});
       },
       "input channel 1 normalisation"},
      {"a mean without a std", [](auto& t) { drop(t, "input.std"); },
       "the file has no tensor \"input.std\""},
      {"a std without a mean", [](auto& t) { drop(t, "input.mean"); },
       "the file has no tensor \"input.mean\""},
      {"integer means",
       [](auto& t) {
         auto& mean = record(t, "input.mean");
         mean.dtype = io::SafetensorsDType::kI32;
       },
       "tensor \"input.mean\" is I32 [3], expected 1-D F32"},
      {"a 2-D std",
       [](auto& t) {
         auto& std = record(t, "input.std");
         std.shape = {1, 3};
       },
       "tensor \"input.std\" is F32 [1, 3], expected 1-D F32"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    const fs::path bad = dir / "bad.int8";
    rewrite(good, bad, c.edit);
    CHECK_THROWS_AS(load(bad), Error);
    CHECK_THROWS_WITH(load(bad), Contains("engine::load") && Contains("'" + bad.string() + "'") &&
                                     Contains(c.message));
  }
  CHECK_NOTHROW(load(good));
}

TEST_CASE("int8 preprocessing: save refuses what load would refuse", "[engine][serialize]") {
  TempDir dir("bad_save");
  const fs::path file = dir / "m.int8";
  Int8Model m = mean_classifier(1);
  m.input_mean = {0.5f};  // and no std
  CHECK_THROWS_WITH(save(m, file), Contains("engine::save") &&
                                       Contains("'" + file.string() + "'") &&
                                       Contains("1 means and 0 standard deviations"));
  m.input_std = {-1.0f};
  CHECK_THROWS_WITH(save(m, file), Contains("input channel 0 normalisation mean 0.5, std -1"));
  CHECK_FALSE(fs::exists(file));
  m.input_std = {0.25f};
  save(m, file);
  CHECK(fs::exists(file));
}
