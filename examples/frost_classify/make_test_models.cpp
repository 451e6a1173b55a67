// frost_classify_test_models DIR: writes what classify_test.cmake runs frost-classify on.
//
// Two hand-built INT8 models, so that the right answer is known without training one:
//   rgb.int8   [3, 8, 8], classes red / green / blue: the logit of class c is the mean of
//              normalised channel c (quantize -> global_avg_pool -> identity linear).
//   grey.int8  [1, 8, 8], classes dark / bright: logits -m and +m for the normalised mean m.
// Their stored normalisations decide the answers: grey.png has equal channels, which only
// rgb.int8's mean turns into "green" (unnormalised they tie, and the tie goes to "red"); and
// every grey level is positive, so only grey.int8's mean makes dark.png "dark". red.png tells
// RGB from BGR. Images of sizes other than 8x8 exercise the resize, nested/ the recursion,
// green.PNG the case of extensions, and notes.txt that other files are skipped. Also written:
// broken.png (not an image), corrupt.int8 (rgb.int8 with one weight byte changed), and
// no_images/ (a folder with no image in it).

#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

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
#include <frost/io/file.hpp>
#include <frost/io/image.hpp>

namespace fs = std::filesystem;
using namespace frost::engine;

namespace {

// Wide enough for every normalised pixel both models see ((0 - 0.6) / 0.5 to (1 - 0.3) / 0.5
// for rgb.int8, +-2 for grey.int8), fine enough to keep the classes' margins.
constexpr float kScale = 4.0f / 255.0f;
constexpr std::int32_t kZeroPoint = 128;

Value value(frost::Shape shape, std::string name, std::int64_t source_step) {
  Value v;
  v.shape = std::move(shape);
  v.quantization = {kScale, kZeroPoint};
  v.name = std::move(name);
  v.source_step = source_step;
  return v;
}

Op op(OpKind kind, std::vector<std::int64_t> inputs, std::int64_t output, std::string name) {
  Op o;
  o.kind = kind;
  o.inputs = std::move(inputs);
  o.output = output;
  o.name = std::move(name);
  return o;
}

// logits = weights * mean over pixels of the normalised input; weights in [-1, 1] as codes of
// scale 1/127, [classes][channels].
Int8Model mean_classifier(std::int64_t channels, const std::vector<std::int8_t>& weights,
                          std::vector<std::string> class_names, std::vector<float> mean,
                          std::vector<float> std) {
  const auto classes = static_cast<std::int64_t>(class_names.size());
  Int8Model m;
  m.input_shape = {channels, 8, 8};
  m.values = {value({channels, 8, 8}, "input", -1), value({channels}, "pool out", 0),
              value({classes}, "logits", 1)};
  m.input = 0;
  m.output = 2;
  m.ops.push_back(op(OpKind::quantize, {}, 0, "input"));
  m.ops.push_back(op(OpKind::global_avg_pool, {0}, 1, "mean"));
  Op fc = op(OpKind::linear, {1}, 2, "linear");
  fc.weights = weights;
  fc.bias.assign(static_cast<std::size_t>(classes), 0);
  fc.weight_scales = {1.0f / 127.0f};
  m.ops.push_back(std::move(fc));
  m.class_names = std::move(class_names);
  m.input_mean = std::move(mean);
  m.input_std = std::move(std);
  m.pack();
  return m;
}

void write_image(const fs::path& path, std::int64_t height, std::int64_t width,
                 std::vector<std::uint8_t> rgb) {
  fs::create_directories(path.parent_path());
  auto hwc = frost::Tensor<std::uint8_t>::empty({height, width, 3});
  for (std::int64_t i = 0; i < height * width; ++i)
    for (std::int64_t c = 0; c < 3; ++c) hwc.data()[i * 3 + c] = rgb[static_cast<std::size_t>(c)];
  frost::io::write_png(path, hwc);
}

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: frost_classify_test_models DIR\n");
    return 2;
  }
  try {
    const fs::path dir = argv[1];
    fs::create_directories(dir);
    save(mean_classifier(3, {127, 0, 0, 0, 127, 0, 0, 0, 127}, {"red", "green", "blue"},
                         {0.6f, 0.3f, 0.5f}, {0.5f, 0.5f, 0.5f}),
         dir / "rgb.int8");
    save(mean_classifier(1, {-127, 127}, {"dark", "bright"}, {0.5f}, {0.25f}), dir / "grey.int8");

    write_image(dir / "images/red.png", 23, 37, {255, 0, 0});
    write_image(dir / "images/grey.png", 16, 16, {128, 128, 128});
    write_image(dir / "images/nested/blue.png", 9, 5, {0, 0, 255});
    write_image(dir / "images/nested/green.PNG", 8, 8, {0, 255, 0});
    write_text(dir / "images/notes.txt", "not an image, and not named like one\n");
    write_image(dir / "dark.png", 30, 20, {30, 20, 40});
    write_image(dir / "bright.png", 12, 12, {220, 230, 210});
    write_text(dir / "broken.png", "not a PNG");
    write_text(dir / "no_images/readme.txt", "no images here\n");

    // The last bytes of the file are tensor data (the header comes first): a weight or scale
    // changed, which only the checksum can tell.
    std::vector<std::uint8_t> bytes = frost::io::read_file(dir / "rgb.int8");
    bytes[bytes.size() - 3] ^= 0x10;
    write_text(dir / "corrupt.int8", std::string(bytes.begin(), bytes.end()));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "frost_classify_test_models: %s\n", e.what());
    return 1;
  }
  return 0;
}
