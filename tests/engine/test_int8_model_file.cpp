// engine::save / engine::load / engine::describe (engine/serialize.hpp). Two hand-built INT8
// models that between them hold every op kind a file can store round-trip field for field and
// run bit-identically after loading. Every truncation and every single bit flip of a saved file,
// wrong format and version strings, and hand-edited graphs and tensors (re-checksummed, so that
// the validation behind the checksum is what answers) are frost::Errors that name the file and
// the problem. A failed save leaves the old file as it was.

#include <frost/core/rng.hpp>
#include <frost/engine/serialize.hpp>
#include <frost/io/file.hpp>
#include <frost/io/safetensors.hpp>
#include <frost/nn/activation.hpp>

#include <catch2/catch.hpp>

#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace frost;
using namespace frost::engine;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

// A fresh directory per test case, removed with everything in it at the end.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("frost_int8_file_" + tag + "_" +
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
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::vector<std::uint8_t> read_bytes(const fs::path& p) {
  return io::read_file(p);
}

void write_bytes(const fs::path& p, std::span<const std::uint8_t> bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

Value make_value(Shape shape, float scale, std::int32_t zero_point, std::string name,
                 std::int64_t source_step) {
  Value v;
  v.shape = std::move(shape);
  v.quantization = {scale, zero_point};
  v.name = std::move(name);
  v.source_step = source_step;
  return v;
}

Op make_op(OpKind kind, std::vector<std::int64_t> inputs, std::int64_t output, std::string name) {
  Op op;
  op.kind = kind;
  op.inputs = std::move(inputs);
  op.output = output;
  op.name = std::move(name);
  return op;
}

Window window(int kernel, int stride, int padding, int dilation = 1) {
  Window w;
  w.kernel_height = w.kernel_width = kernel;
  w.stride_height = w.stride_width = stride;
  w.padding_height = w.padding_width = padding;
  w.dilation_height = w.dilation_width = dilation;
  return w;
}

// Random int8 weights in [-127, 127] and int32 biases in [-range, range].
void fill_weights(Generator& gen, Op& op, std::size_t weights, std::size_t outputs,
                  std::vector<float> scales, int bias_range) {
  op.weights.resize(weights);
  for (auto& w : op.weights)
    w = static_cast<std::int8_t>(static_cast<int>(gen.uniform_int(255)) - 127);
  op.bias.resize(outputs);
  for (auto& b : op.bias)
    b = static_cast<std::int32_t>(gen.uniform_int(static_cast<std::uint64_t>(2 * bias_range + 1))) -
        bias_range;
  op.weight_scales = std::move(scales);
}

// quantize -> conv2d 3x3 (ReLU) -> add (residual) -> lookup_table (hard-swish) ->
// global_avg_pool -> linear, on [3, 6, 6] images, 5 classes.
Int8Model model_a() {
  Generator gen(11);
  Int8Model m;
  m.input_shape = {3, 6, 6};
  m.values = {
      make_value({3, 6, 6}, 2.0f / 255.0f, 128, "input", -1),
      make_value({3, 6, 6}, 0.01f, 0, "conv out", 0),
      make_value({3, 6, 6}, 0.02f, 60, "add out", 2),
      make_value({3, 6, 6}, 0.02f, 30, "hardswish out", 3),
      make_value({3}, 0.01f, 20, "pool out", 4),
      make_value({5}, 0.02f, 128, "logits", 5),
  };
  m.input = 0;
  m.output = 5;
  m.ops.push_back(make_op(OpKind::quantize, {}, 0, "input"));
  Op conv = make_op(OpKind::conv2d, {0}, 1, "conv2d in 'block.conv'");
  conv.window = window(3, 1, 1);
  conv.activation = FusedActivation::relu;
  fill_weights(gen, conv, 3 * 3 * 3 * 3, 3, {0.004f, 0.005f, 0.006f}, 300);
  m.ops.push_back(std::move(conv));
  m.ops.push_back(make_op(OpKind::add, {1, 0}, 2, "add in 'block'"));
  Op hs = make_op(OpKind::lookup_table, {2}, 3, "hardswish in 'block.act'");
  hs.table = kernels::make_unary_lookup_table(kernels::UnaryOp::hardswish, m.values[2].quantization,
                                              m.values[3].quantization);
  m.ops.push_back(std::move(hs));
  m.ops.push_back(make_op(OpKind::global_avg_pool, {3}, 4, "mean in 'pool'"));
  Op fc = make_op(OpKind::linear, {4}, 5, "linear in 'fc'");
  fill_weights(gen, fc, 5 * 3, 5, {0.01f}, 2000);
  m.ops.push_back(std::move(fc));
  // Quotes, backslashes, control characters and non-ASCII text in names all round-trip.
  m.class_names = {"cat", "dog \"big\"", "na\xC3\xAFve \xE2\x98\x83", "back\\slash",
                   "tab\tnew\nline"};
  m.input_mean = {0.485f, 0.456f, 0.406f};
  m.input_std = {0.229f, 0.224f, 0.225f};
  return m;
}

// quantize -> depthwise conv2d 3x3 stride 2 (ReLU6) and grouped 1x1 conv2d stride 2 -> concat
// -> avg_pool2d 3x3 (padding excluded) and global_avg_pool [C, 1, 1] -> mul (squeeze-excite
// gate) -> max_pool2d 3x3 stride 2 ceil_mode -> flatten -> linear (ReLU), on [4, 8, 8].
Int8Model model_b() {
  Generator gen(22);
  Int8Model m;
  m.input_shape = {4, 8, 8};
  m.values = {
      make_value({4, 8, 8}, 1.0f / 128.0f, 128, "input", -1),
      make_value({4, 4, 4}, 0.03f, 0, "dw out", 0),
      make_value({6, 4, 4}, 0.02f, 128, "pw out", 1),
      make_value({10, 4, 4}, 0.025f, 100, "cat out", 2),
      make_value({10, 4, 4}, 0.02f, 100, "avg out", 3),
      make_value({10, 1, 1}, 0.02f, 90, "gate", 4),
      make_value({10, 4, 4}, 0.02f, 128, "mul out", 5),
      make_value({10, 3, 3}, 0.02f, 128, "max out", 6),
      make_value({90}, 0.02f, 128, "flat", 7),
      make_value({3}, 0.05f, 10, "logits", 8),
  };
  m.input = 0;
  m.output = 9;
  m.ops.push_back(make_op(OpKind::quantize, {}, 0, "input"));
  Op dw = make_op(OpKind::conv2d, {0}, 1, "conv2d in 'dw'");
  dw.window = window(3, 2, 1);
  dw.groups = 4;
  dw.activation = FusedActivation::relu6;
  fill_weights(gen, dw, 4 * 3 * 3, 4, {0.01f, 0.02f, 0.015f, 0.012f}, 500);
  m.ops.push_back(std::move(dw));
  Op pw = make_op(OpKind::conv2d, {0}, 2, "conv2d in 'pw'");
  pw.window = window(1, 2, 0);
  pw.groups = 2;
  fill_weights(gen, pw, 6 * 2, 6, {0.02f}, 500);
  m.ops.push_back(std::move(pw));
  m.ops.push_back(make_op(OpKind::concat, {1, 2}, 3, "cat"));
  Op avg = make_op(OpKind::avg_pool2d, {3}, 4, "avg_pool2d in 'avg'");
  avg.window = window(3, 1, 1);
  avg.count_include_pad = false;
  m.ops.push_back(std::move(avg));
  m.ops.push_back(make_op(OpKind::global_avg_pool, {3}, 5, "adaptive_avg_pool2d in 'se'"));
  m.ops.push_back(make_op(OpKind::mul, {4, 5}, 6, "mul in 'se'"));
  Op max = make_op(OpKind::max_pool2d, {6}, 7, "max_pool2d in 'max'");
  max.window = window(3, 2, 1);
  max.ceil_mode = true;
  m.ops.push_back(std::move(max));
  m.ops.push_back(make_op(OpKind::flatten, {7}, 8, "flatten"));
  Op fc = make_op(OpKind::linear, {8}, 9, "linear in 'fc'");
  fc.activation = FusedActivation::relu;
  fill_weights(gen, fc, 3 * 90, 3, {0.01f, 0.012f, 0.008f}, 3000);
  for (auto& b : fc.bias) b += 30000;  // mostly above the ReLU's clamp
  m.ops.push_back(std::move(fc));
  return m;
}

Tensor<float> random_input(const Int8Model& m, std::int64_t batch, std::uint64_t seed) {
  Shape shape{batch};
  shape.insert(shape.end(), m.input_shape.begin(), m.input_shape.end());
  Tensor<float> x = Tensor<float>::empty(shape);
  Generator gen(seed);
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data()[i] = 2.0f * gen.uniform_float() - 1.0f;
  return x;
}

std::uint32_t bits(float f) {
  return std::bit_cast<std::uint32_t>(f);
}

bool same_bits(const Tensor<float>& a, const Tensor<float>& b) {
  if (a.shape() != b.shape()) return false;
  const Tensor<float> ac = a.contiguous(), bc = b.contiguous();
  return std::memcmp(ac.data(), bc.data(), static_cast<std::size_t>(ac.numel()) * sizeof(float)) ==
         0;
}

void require_same_scales(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) REQUIRE(bits(a[i]) == bits(b[i]));
}

// Every stored field, floats compared by bit pattern.
void require_same_model(const Int8Model& a, const Int8Model& b) {
  REQUIRE(a.input == b.input);
  REQUIRE(a.output == b.output);
  REQUIRE(a.input_shape == b.input_shape);
  REQUIRE(a.class_names == b.class_names);
  require_same_scales(a.input_mean, b.input_mean);
  require_same_scales(a.input_std, b.input_std);
  REQUIRE(a.values.size() == b.values.size());
  for (std::size_t i = 0; i < a.values.size(); ++i) {
    INFO("value " << i);
    REQUIRE(a.values[i].shape == b.values[i].shape);
    REQUIRE(bits(a.values[i].quantization.scale) == bits(b.values[i].quantization.scale));
    REQUIRE(a.values[i].quantization.zero_point == b.values[i].quantization.zero_point);
    REQUIRE(a.values[i].source_step == b.values[i].source_step);
    REQUIRE(a.values[i].name == b.values[i].name);
  }
  REQUIRE(a.ops.size() == b.ops.size());
  for (std::size_t i = 0; i < a.ops.size(); ++i) {
    INFO("op " << i);
    const Op &x = a.ops[i], &y = b.ops[i];
    REQUIRE(x.kind == y.kind);
    REQUIRE(x.inputs == y.inputs);
    REQUIRE(x.output == y.output);
    REQUIRE(x.name == y.name);
    REQUIRE(x.window.kernel_height == y.window.kernel_height);
    REQUIRE(x.window.kernel_width == y.window.kernel_width);
    REQUIRE(x.window.stride_height == y.window.stride_height);
    REQUIRE(x.window.stride_width == y.window.stride_width);
    REQUIRE(x.window.padding_height == y.window.padding_height);
    REQUIRE(x.window.padding_width == y.window.padding_width);
    REQUIRE(x.window.dilation_height == y.window.dilation_height);
    REQUIRE(x.window.dilation_width == y.window.dilation_width);
    REQUIRE(x.groups == y.groups);
    REQUIRE(x.weights == y.weights);
    REQUIRE(x.bias == y.bias);
    require_same_scales(x.weight_scales, y.weight_scales);
    REQUIRE(x.activation == y.activation);
    REQUIRE(x.count_include_pad == y.count_include_pad);
    REQUIRE(x.ceil_mode == y.ceil_mode);
    REQUIRE(x.table == y.table);
  }
}

// Saves, loads, and checks the loaded model field for field and its outputs and every
// intermediate value bit for bit; saving the loaded model reproduces the file byte for byte.
void check_round_trip(Int8Model m, const std::string& tag) {
  m.pack();
  const Tensor<float> x = random_input(m, 3, 7);
  std::vector<Tensor<float>> values_before;
  const Tensor<float> y = m.forward_with_values(x, values_before);
  // A model saturated to one code would hide a mis-read weight: the outputs must spread.
  const Tensor<float> yc = y.contiguous();
  std::set<std::uint32_t> distinct;
  for (std::int64_t i = 0; i < yc.numel(); ++i) distinct.insert(bits(yc.data()[i]));
  INFO("model " << tag << ": " << distinct.size() << " distinct outputs of " << yc.numel());
  REQUIRE(distinct.size() >= static_cast<std::size_t>(yc.numel()) * 2 / 3);

  TempDir dir(tag);
  const fs::path file = dir / "model.safetensors";
  save(m, file);
  const Int8Model loaded = load(file);
  require_same_model(m, loaded);
  CHECK(loaded.packed_isa() == kernels::active_isa());

  std::vector<Tensor<float>> values_after;
  const Tensor<float> y2 = loaded.forward_with_values(x, values_after);
  REQUIRE(same_bits(y, y2));
  REQUIRE(values_before.size() == values_after.size());
  for (std::size_t i = 0; i < values_before.size(); ++i) {
    INFO("value " << i);
    REQUIRE(same_bits(values_before[i], values_after[i]));
  }
  // A different batch size runs too (the batch is free at run time).
  const Tensor<float> x1 = random_input(m, 1, 8);
  REQUIRE(same_bits(m.forward(x1), loaded.forward(x1)));

  const fs::path again = dir / "again.safetensors";
  save(loaded, again);
  REQUIRE(read_bytes(again) == read_bytes(file));
}

bool throws_error_containing(const std::function<void()>& f, const std::string& needle,
                             std::string& message) {
  try {
    f();
  } catch (const Error& e) {
    message = e.what();
    return message.find(needle) != std::string::npos;
  }
  message = "(no exception)";
  return false;
}

// Rewrites a saved file: `edit` changes the graph JSON, the tensors or the metadata; the
// checksum is recomputed unless `keep_checksum`.
using Edit = std::function<void(std::string& graph, std::vector<io::SafetensorsRecord>& tensors,
                                std::map<std::string, std::string>& metadata)>;

void rewrite(const fs::path& from, const fs::path& to, const Edit& edit,
             bool keep_checksum = false) {
  io::SafetensorsContents contents = io::read_safetensors(from);
  std::map<std::string, std::string> metadata = contents.metadata;
  std::string graph = metadata.at(std::string(kInt8ModelGraphKey));
  edit(graph, contents.tensors, metadata);
  std::vector<io::SafetensorsView> views;
  for (const auto& t : contents.tensors) views.push_back({t.name, t.dtype, t.shape, t.bytes});
  if (metadata.count(std::string(kInt8ModelGraphKey)))
    metadata[std::string(kInt8ModelGraphKey)] = graph;
  if (!keep_checksum && metadata.count(std::string(kInt8ModelChecksumKey)))
    metadata[std::string(kInt8ModelChecksumKey)] =
        engine::detail::checksum_string(engine::detail::model_checksum(graph, views));
  io::write_safetensors(to, views, metadata);
}

// Replaces the one occurrence of `from` in `s`.
void replace_once(std::string& s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  REQUIRE(s.find(from, at + 1) == std::string::npos);
  s.replace(at, from.size(), to);
}

io::SafetensorsRecord& record(std::vector<io::SafetensorsRecord>& tensors,
                              const std::string& name) {
  for (auto& t : tensors)
    if (t.name == name) return t;
  FAIL("no tensor " << name);
  throw;  // unreachable
}

void set_float(io::SafetensorsRecord& t, std::size_t i, float value) {
  REQUIRE(t.bytes.size() >= (i + 1) * 4);
  std::memcpy(t.bytes.data() + 4 * i, &value, 4);
}

Edit graph_edit(std::string from, std::string to) {
  return [from, to](std::string& graph, auto&, auto&) { replace_once(graph, from, to); };
}

}  // namespace

TEST_CASE("engine file: quantize, conv2d, add, lookup_table, global_avg_pool, linear round-trip",
          "[engine][serialize]") {
  check_round_trip(model_a(), "a");
}

TEST_CASE("engine file: depthwise and grouped conv2d, concat, pools, mul, flatten round-trip",
          "[engine][serialize]") {
  check_round_trip(model_b(), "b");
}

TEST_CASE("engine file: the graph JSON and tensors as documented", "[engine][serialize]") {
  TempDir dir("layout");
  const fs::path file = dir / "m.safetensors";
  save(model_a(), file);
  const io::SafetensorsContents c = io::read_safetensors(file);
  CHECK(c.metadata.at("format") == "frost-int8");
  CHECK(c.metadata.at("version") == "1");
  CHECK(c.metadata.size() == 4);
  const std::string& graph = c.metadata.at("frost.int8_model");
  CHECK_THAT(graph, Contains("{\"input\":0,\"output\":5,\"input_shape\":[3,6,6],"));
  CHECK_THAT(graph, Contains("{\"name\":\"conv out\",\"shape\":[3,6,6],\"zero_point\":0,"
                             "\"source_step\":0}"));
  CHECK_THAT(graph,
             Contains("{\"kind\":\"conv2d\",\"name\":\"conv2d in 'block.conv'\",\"inputs\":[0],"
                      "\"output\":1,\"window\":{\"kernel\":[3,3],\"stride\":[1,1],\"padding\":[1,"
                      "1],\"dilation\":[1,1]},\"groups\":1,\"activation\":\"relu\"}"));
  CHECK_THAT(graph, Contains("{\"kind\":\"add\",\"name\":\"add in 'block'\",\"inputs\":[1,0],"
                             "\"output\":2,\"activation\":\"none\"}"));
  std::vector<std::string> names;
  for (const auto& t : c.tensors) names.push_back(t.name);
  CHECK(names == std::vector<std::string>{
                     "input.mean", "input.std", "op1.bias", "op1.weight_scales", "op1.weights",
                     "op3.table", "op5.bias", "op5.weight_scales", "op5.weights", "values.scale"});
  const auto* w = c.find("op1.weights");
  REQUIRE(w != nullptr);
  CHECK(w->dtype == io::SafetensorsDType::kI8);
  CHECK(w->shape == std::vector<std::int64_t>{3, 3, 3, 3});
  const Int8Model m = model_a();
  CHECK(std::memcmp(w->bytes.data(), m.ops[1].weights.data(), 81) == 0);
  const auto* fc = c.find("op5.weights");
  REQUIRE(fc != nullptr);
  CHECK(fc->shape == std::vector<std::int64_t>{5, 3});
  const auto* scales = c.find("values.scale");
  REQUIRE(scales != nullptr);
  CHECK(scales->shape == std::vector<std::int64_t>{6});
  float s1 = 0;
  std::memcpy(&s1, scales->bytes.data() + 4, 4);
  CHECK(bits(s1) == bits(0.01f));
  // The checksum is the CRC-32 of the graph and the tensors, as 8 lowercase hex digits.
  std::vector<io::SafetensorsView> views;
  for (const auto& t : c.tensors) views.push_back({t.name, t.dtype, t.shape, t.bytes});
  const std::uint32_t crc = engine::detail::model_checksum(graph, views);
  CHECK(c.metadata.at("crc32") == engine::detail::checksum_string(crc));
  CHECK(engine::detail::checksum_string(0x0123abcdu) == "0123abcd");
}

TEST_CASE("engine file: the input normalisation is optional and checked", "[engine][serialize]") {
  SECTION("a model without one (as every file before it existed) loads with none") {
    TempDir dir("no_normalisation");
    Int8Model m = model_b();
    REQUIRE(m.input_mean.empty());
    save(m, dir / "m.safetensors");
    const Int8Model loaded = load(dir / "m.safetensors");
    CHECK(loaded.input_mean.empty());
    CHECK(loaded.input_std.empty());
  }
  SECTION("one value per input channel, finite, std > 0") {
    TempDir dir("bad_normalisation");
    Int8Model m = model_a();
    m.input_mean = {0.5f, 0.5f};
    CHECK_THROWS_WITH(save(m, dir / "m.safetensors"),
                      Contains("the input normalisation has 2 means and 3 standard deviations "
                               "for 3 input channels"));
    m.input_mean = {0.5f, 0.5f, 0.5f};
    m.input_std = {0.2f, 0.0f, 0.2f};
    CHECK_THROWS_WITH(save(m, dir / "m.safetensors"),
                      Contains("input channel 1 normalisation mean 0.5, std 0"));
    CHECK_FALSE(fs::exists(dir / "m.safetensors"));
  }
}

TEST_CASE("engine file: describe prints a summary and one line per op", "[engine][serialize]") {
  Int8Model tiny;
  tiny.input_shape = {4};
  tiny.values = {make_value({4}, 0.5f, 128, "input", -1), make_value({4}, 0.25f, 3, "y", 0)};
  tiny.input = 0;
  tiny.output = 1;
  tiny.ops.push_back(make_op(OpKind::quantize, {}, 0, "input"));
  tiny.ops.push_back(make_op(OpKind::lookup_table, {0}, 1, "sigmoid in 'act'"));
  tiny.class_names = {"a", "b", "c", "d"};
  CHECK(describe(tiny) ==
        "Int8Model: input [4], 2 ops, 2 values, 256 parameter bytes, 4 classes\n"
        "op 0 quantize: v0 [4], scale 0.5 zero point 128; input\n"
        "op 1 lookup_table: v0 [4] -> v1 [4], scale 0.25 zero point 3; sigmoid in 'act'\n");

  const std::string a = describe(model_a());
  CHECK(std::count(a.begin(), a.end(), '\n') == 7);
  CHECK_THAT(a, Contains("op 1 conv2d: v0 [3, 6, 6] -> v1 [3, 6, 6], scale 0.01 zero point 0; 3x3 "
                         "stride 1 padding 1 relu; conv2d in 'block.conv'\n"));
  CHECK_THAT(a, Contains("op 2 add: v1 [3, 6, 6], v0 [3, 6, 6] -> v2 [3, 6, 6], scale 0.02 zero "
                         "point 60; add in 'block'\n"));
  CHECK_THAT(a, Contains("op 5 linear: v4 [3] -> v5 [5], scale 0.02 zero point 128; linear in "
                         "'fc'\n"));
  const std::string b = describe(model_b());
  CHECK_THAT(b, Contains("op 1 conv2d: v0 [4, 8, 8] -> v1 [4, 4, 4], scale 0.03 zero point 0; 3x3 "
                         "stride 2 padding 1 groups 4 relu6; conv2d in 'dw'\n"));
  CHECK_THAT(b, Contains("; 3x3 stride 1 padding 1 excluding padding; avg_pool2d in 'avg'\n"));
  CHECK_THAT(b, Contains("; 3x3 stride 2 padding 1 ceil_mode; max_pool2d in 'max'\n"));
  // Out-of-range indices print, they do not crash.
  tiny.ops[1].output = 9;
  CHECK_THAT(describe(tiny), Contains("-> v9 (out of range)"));
}

TEST_CASE("engine file: every truncated file is a frost::Error naming the file",
          "[engine][serialize]") {
  TempDir dir("truncated");
  const fs::path file = dir / "m.safetensors";
  save(model_a(), file);
  const std::vector<std::uint8_t> bytes = read_bytes(file);
  const fs::path cut = dir / "cut.safetensors";
  std::size_t failures = 0;
  std::string first_failure;
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    write_bytes(cut, std::span(bytes).first(n));
    std::string message;
    if (!throws_error_containing([&] { (void)load(cut); }, cut.string(), message)) {
      if (failures++ == 0) first_failure = std::to_string(n) + " bytes: " + message;
    }
  }
  INFO("first failure: " << first_failure);
  CHECK(failures == 0);
  CHECK(bytes.size() > 1000);
}

TEST_CASE("engine file: every single bit flip is a frost::Error", "[engine][serialize]") {
  TempDir dir("flips");
  const fs::path file = dir / "m.safetensors";
  save(model_b(), file);
  std::vector<std::uint8_t> bytes = read_bytes(file);
  REQUIRE_NOTHROW(engine::detail::load_from_bytes(bytes, "flipped"));
  std::size_t failures = 0;
  std::string first_failure;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      bytes[i] ^= static_cast<std::uint8_t>(1u << bit);
      std::string message;
      if (!throws_error_containing([&] { (void)engine::detail::load_from_bytes(bytes, "flipped"); },
                                   "'flipped'", message)) {
        if (failures++ == 0)
          first_failure =
              "byte " + std::to_string(i) + " bit " + std::to_string(bit) + ": " + message;
      }
      bytes[i] ^= static_cast<std::uint8_t>(1u << bit);
    }
  }
  INFO("first failure: " << first_failure);
  CHECK(failures == 0);
}

TEST_CASE("engine file: format, version and metadata are checked", "[engine][serialize]") {
  TempDir dir("meta");
  const fs::path file = dir / "m.safetensors";
  const fs::path bad = dir / "bad.safetensors";
  save(model_a(), file);
  const auto set_meta = [](std::string key, std::string value) -> Edit {
    return [key, value](auto&, auto&, auto& metadata) { metadata[key] = value; };
  };
  const auto drop_meta = [](std::string key) -> Edit {
    return [key](auto&, auto&, auto& metadata) { REQUIRE(metadata.erase(key) == 1); };
  };
  struct Case {
    const char* what;
    Edit edit;
    std::string expected;
    bool keep_checksum = false;
  };
  const std::vector<Case> cases = {
      {"version 2", set_meta("version", "2"),
       "format version \"2\" is not supported (this frost reads version 1)"},
      {"version 1.0", set_meta("version", "1.0"), "format version \"1.0\" is not supported"},
      {"no version", drop_meta("version"), "no \"version\" metadata"},
      {"other format", set_meta("format", "frost-int9"),
       "not a frost INT8 model file: format \"frost-int9\", expected \"frost-int8\""},
      {"no format", drop_meta("format"), "it has no \"format\" metadata"},
      {"extra metadata", set_meta("author", "me"), "unknown metadata \"author\""},
      {"no graph", drop_meta("frost.int8_model"), "no \"frost.int8_model\" metadata"},
      {"no checksum", drop_meta("crc32"), "no \"crc32\" metadata"},
      {"bad checksum text", set_meta("crc32", "ABCDEF01"), "is not 8 lowercase hex digits", true},
      {"wrong checksum", set_meta("crc32", "00000000"), "checksum mismatch", true},
      {"graph changed, checksum kept", graph_edit("\"zero_point\":60", "\"zero_point\":61"),
       "checksum mismatch (file says", true},
      {"tensor changed, checksum kept",
       [](auto&, auto& tensors, auto&) { record(tensors, "op1.weights").bytes[5] ^= 1; },
       "the file is corrupt", true},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    rewrite(file, bad, c.edit, c.keep_checksum);
    std::string message;
    CHECK(throws_error_containing([&] { (void)load(bad); }, c.expected, message));
    INFO(message);
    CHECK_THAT(message, Contains("engine::load: '" + bad.string() + "'"));
  }

  // A safetensors file that is not a model (a state dict), a missing file, a directory.
  const std::vector<float> w = {1.0f, 2.0f};
  const std::vector<io::SafetensorsView> plain = {
      {"weight", io::SafetensorsDType::kF32, {2}, engine::detail::element_bytes(w.data(), 2)}};
  io::write_safetensors(bad, plain);
  CHECK_THROWS_WITH(load(bad), Contains("not a frost INT8 model file: it has no \"format\""));
  CHECK_THROWS_WITH(load(dir / "missing.safetensors"), Contains("file not found"));
  CHECK_THROWS_WITH(load(dir.path()), Contains("is a directory"));
}

TEST_CASE("engine file: hand-edited graphs and tensors are refused with their problem",
          "[engine][serialize]") {
  TempDir dir("edits");
  const fs::path file_a = dir / "a.safetensors";
  const fs::path file_b = dir / "b.safetensors";
  const fs::path bad = dir / "bad.safetensors";
  save(model_a(), file_a);
  save(model_b(), file_b);
  const auto tensor_edit = [](std::function<void(std::vector<io::SafetensorsRecord>&)> f) -> Edit {
    return [f](auto&, auto& tensors, auto&) { f(tensors); };
  };
  struct Case {
    const char* what;
    bool model_b;
    Edit edit;
    std::string expected;
  };
  const std::vector<Case> cases = {
      // The graph's JSON.
      {"malformed JSON", false, graph_edit("{\"input\":0,", "{\"input\":0"),
       "metadata \"frost.int8_model\": malformed JSON header at byte"},
      {"wrong JSON type", false, graph_edit("{\"input\":0,", "{\"input\":\"0\","),
       "the graph's \"input\" is a JSON string, expected an integer"},
      {"missing key", false, graph_edit(",\"source_step\":-1}", "}"),
       "value 0 has no \"source_step\""},
      {"extra key", false,
       graph_edit("\"output\":2,\"activation\":\"none\"}",
                  "\"output\":2,\"activation\":\"none\",\"groups\":1}"),
       "op 2 ('add in 'block'') has an unknown key \"groups\""},
      {"unknown op kind", false, graph_edit("\"kind\":\"add\"", "\"kind\":\"sub\""),
       "op 2 ('add in 'block''): unknown op kind \"sub\""},
      {"float_module op", false,
       graph_edit("\"kind\":\"lookup_table\"", "\"kind\":\"float_module\""),
       "op 3 ('hardswish in 'block.act''): a float_module op (a module kept in float) cannot be "
       "stored"},
      {"unknown activation", false,
       graph_edit("\"activation\":\"relu\"", "\"activation\":\"gelu\""),
       "unknown activation \"gelu\""},
      {"zero point out of range", false, graph_edit("\"zero_point\":60", "\"zero_point\":300"),
       "value 2 ('add out'): zero point must be in [0, 255], got 300"},
      {"zero point beyond 32 bits", false,
       graph_edit("\"zero_point\":60", "\"zero_point\":99999999999"),
       "value 2 \"zero_point\" = 99999999999 does not fit in 32 bits"},
      {"output out of range", false,
       graph_edit("\"output\":5,\"input_shape\"", "\"output\":50,\"input_shape\""),
       "the output is value 50, out of range (the model has 6 values)"},
      {"input out of range", false, graph_edit("\"inputs\":[1,0]", "\"inputs\":[1,-1]"),
       "op 2 ('add in 'block''): add: input 1 is value -1, out of range"},
      {"input used before it is written", false, graph_edit("\"inputs\":[1,0]", "\"inputs\":[1,3]"),
       "add: input 1 is value 3, which no earlier op writes"},
      {"value written twice", false,
       graph_edit("\"inputs\":[2],\"output\":3", "\"inputs\":[2],\"output\":2"),
       "lookup_table: writes value 2, which op 2 already wrote"},
      {"first op not quantize", false, graph_edit("\"kind\":\"quantize\"", "\"kind\":\"flatten\""),
       "flatten: the first op must be quantize"},
      {"input_shape differs", false,
       graph_edit("\"input_shape\":[3,6,6]", "\"input_shape\":[3,6,7]"),
       "input_shape [3, 6, 7] differs from the shape [3, 6, 6] of the input value 0"},
      {"conv output channels do not match the weights", false,
       graph_edit("\"name\":\"conv out\",\"shape\":[3,6,6]",
                  "\"name\":\"conv out\",\"shape\":[4,6,6]"),
       "conv2d: 81 weights, but 4 output channels x 3x3 x 3 input channels per group need 108"},
      {"conv output size wrong", false, graph_edit("\"padding\":[1,1]", "\"padding\":[0,0]"),
       "conv2d: output shape [3, 6, 6], but the convolution of [3, 6, 6] gives [3, 4, 4]"},
      {"linear input does not match", false,
       graph_edit("\"name\":\"pool out\",\"shape\":[3]", "\"name\":\"pool out\",\"shape\":[4]"),
       "global_avg_pool: output shape [4] for input [3, 6, 6], expected [3] or [3, 1, 1]"},
      {"zero kernel", false, graph_edit("\"kernel\":[3,3]", "\"kernel\":[0,3]"),
       "conv2d: window kernel 0x3, stride 1x1, padding 1x1, dilation 1x1: kernel, stride and "
       "dilation must be in [1, 65536]"},
      {"zero groups", false, graph_edit("\"groups\":1", "\"groups\":0"),
       "conv2d: groups 0 must be >= 1"},
      {"huge value", false,
       graph_edit("\"name\":\"conv out\",\"shape\":[3,6,6]",
                  "\"name\":\"conv out\",\"shape\":[3,16777216,16777216]"),
       "value 1 ('conv out'): shape [3, 16777216, 16777216] has more than 2147483648 elements"},
      {"dimension out of range", false,
       graph_edit("\"name\":\"conv out\",\"shape\":[3,6,6]",
                  "\"name\":\"conv out\",\"shape\":[3,6,1099511627776]"),
       "has a size outside [1, 16777216]"},
      {"rank-2 value", false,
       graph_edit("\"name\":\"pool out\",\"shape\":[3]", "\"name\":\"pool out\",\"shape\":[3,1]"),
       "is neither [C, H, W] nor [C]"},
      // Model B's ops.
      {"flag not 0 or 1", true, graph_edit("\"ceil_mode\":1", "\"ceil_mode\":2"),
       "\"ceil_mode\" = 2, expected 0 or 1"},
      {"pool output size wrong", true,
       graph_edit("\"name\":\"max out\",\"shape\":[10,3,3]",
                  "\"name\":\"max out\",\"shape\":[10,2,2]"),
       "max_pool2d: output shape [10, 2, 2], but pooling [10, 4, 4] gives [10, 3, 3]"},
      {"max pool changes the zero point", true,
       graph_edit("\"name\":\"max out\",\"shape\":[10,3,3],\"zero_point\":128",
                  "\"name\":\"max out\",\"shape\":[10,3,3],\"zero_point\":127"),
       "max_pool2d: output scale / zero point 0.02 / 127 differ from the input's 0.02 / 128"},
      {"concat channels", true,
       graph_edit("\"name\":\"cat out\",\"shape\":[10,4,4]",
                  "\"name\":\"cat out\",\"shape\":[11,4,4]"),
       "concat: inputs have 10 channels in all, the output 11"},
      {"groups do not divide", true, graph_edit("\"groups\":2", "\"groups\":3"),
       "conv2d: groups 3 must be >= 1 and divide both 4 input and 6 output channels"},
      {"avg pool dilation", true,
       graph_edit("\"kernel\":[3,3],\"stride\":[1,1],\"padding\":[1,1],\"dilation\":[1,1]",
                  "\"kernel\":[3,3],\"stride\":[1,1],\"padding\":[1,1],\"dilation\":[2,1]"),
       "average pooling has no dilation"},
      {"mul gate with other channels", true, graph_edit("\"inputs\":[4,5]", "\"inputs\":[4,1]"),
       "mul: operands [10, 4, 4] and [4, 4, 4]"},
      {"flatten changes the size", true,
       graph_edit("\"name\":\"flat\",\"shape\":[90]", "\"name\":\"flat\",\"shape\":[91]"),
       "flatten: output shape [91] for input [10, 3, 3], expected [90] or [90, 1, 1]"},
      // The tensors.
      {"weights of the wrong shape", false, tensor_edit([](auto& t) {
         record(t, "op1.weights").shape = {3, 9, 3, 1};
       }),
       "tensor \"op1.weights\" has shape [3, 9, 3, 1], expected [3, 3, 3, 3]"},
      {"weights of the wrong dtype", false,
       tensor_edit([](auto& t) { record(t, "op1.weights").dtype = io::SafetensorsDType::kU8; }),
       "tensor \"op1.weights\" is U8 [3, 3, 3, 3], expected 4-D I8"},
      {"table of 255 entries", false, tensor_edit([](auto& t) {
         auto& table = record(t, "op3.table");
         table.bytes.pop_back();
         table.shape = {255};
       }),
       "tensor \"op3.table\" has 255 entries, a lookup table 256"},
      {"missing tensor", false, tensor_edit([](auto& t) {
         std::erase_if(t, [](const io::SafetensorsRecord& r) { return r.name == "op5.bias"; });
       }),
       "op 5 ('linear in 'fc''): the file has no tensor \"op5.bias\""},
      {"unexpected tensor", false, tensor_edit([](auto& t) {
         t.push_back({"op2.weights", io::SafetensorsDType::kI8, {1}, {7}});
       }),
       "unexpected tensor \"op2.weights\" (no op of the graph has it)"},
      {"bias count", false, tensor_edit([](auto& t) {
         auto& bias = record(t, "op1.bias");
         bias.bytes.resize(8);
         bias.shape = {2};
       }),
       "conv2d: 2 biases for 3 output channels"},
      {"weight scale count", false, tensor_edit([](auto& t) {
         auto& s = record(t, "op1.weight_scales");
         s.bytes.resize(8);
         s.shape = {2};
       }),
       "conv2d: 2 weight scales for 3 output channels (expected 1 or 3)"},
      {"value scale count", false, tensor_edit([](auto& t) {
         auto& s = record(t, "values.scale");
         s.bytes.resize(20);
         s.shape = {5};
       }),
       "tensor \"values.scale\" holds 5 scales for 6 values"},
      {"NaN scale", false, tensor_edit([](auto& t) {
         set_float(record(t, "values.scale"), 2, std::numeric_limits<float>::quiet_NaN());
       }),
       "value 2 ('add out'): scale must be finite and > 0, got nan"},
      {"zero scale", false,
       tensor_edit([](auto& t) { set_float(record(t, "values.scale"), 0, 0.0f); }),
       "value 0 ('input'): scale must be finite and > 0, got 0"},
      {"negative weight scale", false,
       tensor_edit([](auto& t) { set_float(record(t, "op1.weight_scales"), 1, -0.5f); }),
       "conv2d: weight scale 1 must be finite and > 0, got -0.5"},
      {"infinite weight scale", false, tensor_edit([](auto& t) {
         set_float(record(t, "op5.weight_scales"), 0, std::numeric_limits<float>::infinity());
       }),
       "linear: weight scale 0 must be finite and > 0, got inf"},
      {"requantization scale too large", false,
       tensor_edit([](auto& t) { set_float(record(t, "op5.weight_scales"), 0, 1.0e6f); }),
       "linear: requantization scale s_in * s_w / s_out"},
      {"add scale ratio too large", false,
       tensor_edit([](auto& t) { set_float(record(t, "values.scale"), 2, 1.0e-9f); }),
       "requantization scale must be finite and in (0, 256)"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    rewrite(c.model_b ? file_b : file_a, bad, c.edit);
    std::string message;
    CHECK(throws_error_containing([&] { (void)load(bad); }, c.expected, message));
    INFO(message);
    CHECK_THAT(message, Contains("engine::load: '" + bad.string() + "'"));
  }
  // The unedited files, rewritten the same way, load.
  rewrite(file_b, bad, [](auto&, auto&, auto&) {});
  CHECK_NOTHROW(load(bad));
}

TEST_CASE("engine file: models with float-kept modules cannot be saved", "[engine][serialize]") {
  TempDir dir("float");
  const fs::path file = dir / "m.safetensors";
  save(model_a(), file);
  const std::vector<std::uint8_t> before = read_bytes(file);
  Int8Model m = model_a();
  m.ops[3].kind = OpKind::float_module;
  m.ops[3].module = std::make_shared<nn::Hardswish>();
  m.pack();
  REQUIRE_NOTHROW(m.forward(random_input(m, 1, 3)));  // a valid model, only not storable
  CHECK_THROWS_WITH(save(m, file),
                    Contains("engine::save: '" + file.string() +
                             "': op 3 ('hardswish in "
                             "'block.act'') is a module kept in float (float_module): models with "
                             "float-kept modules cannot be saved"));
  CHECK(read_bytes(file) == before);
}

TEST_CASE("engine file: a failed save leaves the existing file untouched", "[engine][serialize]") {
  TempDir dir("failed_save");
  const fs::path file = dir / "m.safetensors";
  save(model_a(), file);
  const std::vector<std::uint8_t> before = read_bytes(file);

  // A directory that does not exist: the writer's error, nothing created.
  const fs::path nowhere = dir / "no_such_dir" / "m.safetensors";
  CHECK_THROWS_WITH(save(model_b(), nowhere),
                    Contains("engine::save: write_safetensors: '" + nowhere.string() + "'"));
  CHECK_FALSE(fs::exists(nowhere.parent_path()));

  // Invalid models: refused before anything is written.
  Int8Model m = model_a();
  m.ops[1].bias.pop_back();
  CHECK_THROWS_WITH(save(m, file), Contains("engine::save: '" + file.string() +
                                            "': op 1 ('conv2d in 'block.conv''): conv2d: 2 "
                                            "biases for 3 output channels"));
  m = model_a();
  m.ops[4].output = 42;
  CHECK_THROWS_WITH(save(m, file), Contains("global_avg_pool: output is value 42, out of range"));
  m = model_a();
  m.ops[2].inputs = {1, 4};
  CHECK_THROWS_WITH(save(m, file), Contains("add: input 1 is value 4, which no earlier op writes"));
  m = model_a();
  m.values[3].quantization.zero_point = -1;
  CHECK_THROWS_WITH(save(m, file), Contains("value 3 ('hardswish out'): zero point must be in "
                                            "[0, 255], got -1"));
  m = model_a();
  m.ops[2].kind = static_cast<OpKind>(99);
  CHECK_THROWS_WITH(save(m, file), Contains("op 2 ('add in 'block''): unknown op kind 99"));
  m = model_a();
  m.ops[1].activation = static_cast<FusedActivation>(7);
  CHECK_THROWS_WITH(save(m, file), Contains("conv2d: unknown fused activation 7"));
  m = model_a();
  m.class_names[1] = "bad \xFF utf-8";
  CHECK_THROWS_WITH(save(m, file), Contains("class name \"bad \xFF utf-8\" is not valid UTF-8"));
  m = Int8Model();
  CHECK_THROWS_WITH(save(m, file), Contains("the model has no ops"));

  CHECK(read_bytes(file) == before);
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(dir.path())) entries.push_back(e.path());
  CHECK(entries == std::vector<fs::path>{file});  // no temporary file left behind

  // And a successful save still replaces it.
  save(model_b(), file);
  CHECK(load(file).ops.size() == model_b().ops.size());
}
