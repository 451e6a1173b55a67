// ImageLoader throughput on a generated folder of 192 JPEGs (quality 90, sides 224..400 px,
// smooth colour gradients plus noise, so the decoder sees realistic entropy): decode,
// RandomResizedCrop 224, horizontal flip and ImageNet normalisation with 1 and 2 worker
// threads, batch 16 (an epoch is 12 batches, so the second worker is not idle for a large part
// of it while the first makes the last batch); and decoding and transforming alone on the
// calling thread. Counter images/s. The folder is written once to the temp directory and
// removed at exit.
//
//   ./image_loader --benchmark_repetitions=3 --benchmark_report_aggregates_only=true

#include <frost/data/image_folder.hpp>
#include <frost/data/image_loader.hpp>
#include <frost/data/image_transforms.hpp>
#include <frost/data/transforms.hpp>
#include <frost/io/file.hpp>
#include <frost/io/image.hpp>

#include <benchmark/benchmark.h>

#include <unistd.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace {

constexpr int kClasses = 4, kPerClass = 48;

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<std::uint8_t>*>(context);
  const auto* p = static_cast<const std::uint8_t*>(data);
  out->insert(out->end(), p, p + size);
}

class JpegFolder {
 public:
  JpegFolder()
      : root_(std::filesystem::temp_directory_path() /
              ("frost-bench-images-" + std::to_string(::getpid()))) {
    frost::Generator gen(2024);
    for (int c = 0; c < kClasses; ++c) {
      const auto dir = root_ / ("class" + std::to_string(c));
      std::filesystem::create_directories(dir);
      for (int k = 0; k < kPerClass; ++k) {
        const int h = 224 + static_cast<int>(gen.uniform_int(177));
        const int w = 224 + static_cast<int>(gen.uniform_int(177));
        std::vector<std::uint8_t> rgb(static_cast<std::size_t>(h) * w * 3);
        for (int y = 0; y < h; ++y)
          for (int x = 0; x < w; ++x)
            for (int ch = 0; ch < 3; ++ch) {
              const double v = 128 + 90 * std::sin(0.02 * (ch + 1) * x + 0.03 * y + c + k) +
                               16 * (gen.uniform_double() - 0.5);
              rgb[(static_cast<std::size_t>(y) * w + x) * 3 + ch] =
                  static_cast<std::uint8_t>(std::clamp(v, 0.0, 255.0));
            }
        std::vector<std::uint8_t> jpg;
        stbi_write_jpg_to_func(append_bytes, &jpg, w, h, 3, rgb.data(), 90);
        frost::io::write_file_atomically(dir / ("img" + std::to_string(k) + ".jpg"), "bench",
                                         [&](std::ostream& out) {
                                           out.write(reinterpret_cast<const char*>(jpg.data()),
                                                     static_cast<std::streamsize>(jpg.size()));
                                         });
      }
    }
    files_ = frost::data::scan_image_folder(root_);
  }
  ~JpegFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  const frost::data::ImageFileList& files() const { return files_; }

 private:
  std::filesystem::path root_;
  frost::data::ImageFileList files_;
};

const JpegFolder& folder() {
  static const JpegFolder instance;
  return instance;
}

void BM_DecodeCropFlipNormalize(benchmark::State& state) {
  const auto& files = folder().files();
  frost::data::ImageLoaderOptions opt;
  opt.batch_size = 16;
  opt.num_workers = static_cast<int>(state.range(0));
  opt.prefetch_batches = 4;
  frost::data::ImageLoader loader(
      files, opt,
      frost::data::compose(
          {frost::data::random_resized_crop(224), frost::data::random_horizontal_flip(),
           frost::data::normalize({0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f})}));
  std::int64_t images = 0;
  for (auto _ : state) {
    for (const frost::data::Batch& batch : loader) {
      benchmark::DoNotOptimize(batch.images.data());
      images += batch.size();
    }
  }
  state.counters["images/s"] =
      benchmark::Counter(static_cast<double>(images), benchmark::Counter::kIsRate);
}

// The two halves of the work on the calling thread: JPEG decoding to CHW floats, and the
// transform chain on already-decoded images.
void BM_DecodeOnly(benchmark::State& state) {
  const auto& files = folder().files();
  std::int64_t images = 0;
  for (auto _ : state) {
    for (const auto& s : files.samples) {
      const frost::data::Image img = frost::data::to_image(frost::io::read_image(s.path, 3));
      benchmark::DoNotOptimize(img.pixels.data());
      ++images;
    }
  }
  state.counters["images/s"] =
      benchmark::Counter(static_cast<double>(images), benchmark::Counter::kIsRate);
}

void BM_TransformOnly(benchmark::State& state) {
  const auto& files = folder().files();
  std::vector<frost::data::Image> decoded;
  for (const auto& s : files.samples) {
    decoded.push_back(frost::data::to_image(frost::io::read_image(s.path, 3)));
  }
  const auto transform = frost::data::compose(
      {frost::data::random_resized_crop(224), frost::data::random_horizontal_flip(),
       frost::data::normalize({0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f})});
  frost::Generator gen(1);
  std::int64_t images = 0;
  for (auto _ : state) {
    for (const auto& d : decoded) {
      frost::data::Image img = d;
      transform(img, gen);
      benchmark::DoNotOptimize(img.pixels.data());
      ++images;
    }
  }
  state.counters["images/s"] =
      benchmark::Counter(static_cast<double>(images), benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(BM_DecodeOnly)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TransformOnly)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DecodeCropFlipNormalize)
    ->ArgName("workers")
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK_MAIN();
