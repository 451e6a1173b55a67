// ImageLoader on a generated folder: decoded pixels and labels, shuffling, bit-identical
// batches for 0 to 3 workers, and bad files (error naming the path, or skipped on request).

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <frost/data/image_folder.hpp>
#include <frost/data/image_loader.hpp>
#include <frost/io/image.hpp>

#include "../io/temp_files.hpp"

using Catch::Matchers::Contains;
using frost::Tensor;
using frost::data::Batch;
using frost::data::ImageFileList;
using frost::data::ImageLoader;
using frost::data::ImageLoaderOptions;

namespace {

// Image k of class c is h x w RGB with pixel (y, x) = (40 c + k, 10 y + x, 3 k + y).
Tensor<std::uint8_t> sample_pixels(int c, int k, std::int64_t h, std::int64_t w) {
  auto img = Tensor<std::uint8_t>::empty({h, w, 3});
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x) {
      img.at({y, x, 0}) = static_cast<std::uint8_t>(40 * c + k);
      img.at({y, x, 1}) = static_cast<std::uint8_t>(10 * y + x);
      img.at({y, x, 2}) = static_cast<std::uint8_t>(3 * k + y);
    }
  return img;
}

// 3 classes x 4 images; sizes vary with `varied_sizes` (9..14 px), else all 6 x 5.
ImageFileList make_folder(const std::filesystem::path& root, bool varied_sizes) {
  for (int c = 0; c < 3; ++c) {
    const auto dir = root / ("class" + std::to_string(c));
    std::filesystem::create_directories(dir);
    for (int k = 0; k < 4; ++k) {
      const std::int64_t h = varied_sizes ? 9 + (c + k) % 4 : 6;
      const std::int64_t w = varied_sizes ? 10 + (2 * c + k) % 5 : 5;
      frost::io::write_png(dir / ("img" + std::to_string(k) + ".png"), sample_pixels(c, k, h, w));
    }
  }
  return frost::data::scan_image_folder(root);
}

std::vector<Batch> epoch_batches(ImageLoader& loader) {
  std::vector<Batch> out;
  for (const Batch& b : loader) out.push_back(b);
  return out;
}

std::vector<float> values(const Tensor<float>& t) {
  return {t.data(), t.data() + t.numel()};
}
std::vector<std::int32_t> values(const Tensor<std::int32_t>& t) {
  return {t.data(), t.data() + t.numel()};
}

}  // namespace

TEST_CASE("ImageLoader decodes pixels and labels in file order", "[data][image]") {
  frost_test::TempDir dir;
  const ImageFileList files = make_folder(dir.path(), false);
  ImageLoaderOptions opt;
  opt.batch_size = 5;
  opt.shuffle = false;
  opt.num_workers = 2;
  ImageLoader loader(files, opt);
  const std::vector<Batch> batches = epoch_batches(loader);
  REQUIRE(batches.size() == 3);
  CHECK(batches[2].size() == 2);
  CHECK(values(batches[0].labels) == std::vector<std::int32_t>{0, 0, 0, 0, 1});
  CHECK(values(batches[2].labels) == std::vector<std::int32_t>{2, 2});
  // Batch 1, row 1 is sample 6 = class 1, image 2: pixel (y=3, x=4) is (42, 34, 9) / 255.
  const Tensor<float>& images = batches[1].images;
  REQUIRE(images.shape() == frost::Shape{5, 3, 6, 5});
  CHECK(images.at({1, 0, 3, 4}) == Approx(42.0f / 255.0f));
  CHECK(images.at({1, 1, 3, 4}) == Approx(34.0f / 255.0f));
  CHECK(images.at({1, 2, 3, 4}) == Approx(9.0f / 255.0f));
}

TEST_CASE("ImageLoader batches are identical for any number of workers", "[data][image]") {
  frost_test::TempDir dir;
  const ImageFileList files = make_folder(dir.path(), true);
  const auto transform = frost::data::compose(
      {frost::data::random_resized_crop(7, 8), frost::data::random_horizontal_flip(),
       frost::data::color_jitter(0.3f, 0.3f, 0.3f),
       frost::data::normalize({0.5f, 0.4f, 0.3f}, {0.2f, 0.25f, 0.3f})});
  std::vector<std::vector<Batch>> runs;
  for (int workers : {0, 1, 2, 3}) {
    ImageLoaderOptions opt;
    opt.batch_size = 5;
    opt.seed = 9;
    opt.num_workers = workers;
    opt.prefetch_batches = workers == 3 ? 1 : 2;
    ImageLoader loader(files, opt, transform);
    std::vector<Batch> both = epoch_batches(loader);
    for (Batch& b : epoch_batches(loader)) both.push_back(std::move(b));
    runs.push_back(std::move(both));
    if (workers == 2) {
      // make_batch rebuilds any batch on the caller's thread.
      const Batch again = loader.make_batch(1, 2);
      CHECK(values(again.images) == values(runs.back()[5].images));
    }
  }
  REQUIRE(runs[0].size() == 6);
  std::multiset<std::int32_t> labels;
  for (std::size_t b = 0; b < 3; ++b)
    for (std::int32_t l : values(runs[0][b].labels)) labels.insert(l);
  CHECK(labels == std::multiset<std::int32_t>{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2});
  for (std::size_t r = 1; r < runs.size(); ++r) {
    REQUIRE(runs[r].size() == runs[0].size());
    for (std::size_t b = 0; b < runs[0].size(); ++b) {
      INFO("run " << r << " batch " << b);
      CHECK(runs[r][b].images.shape() == runs[0][b].images.shape());
      CHECK(values(runs[r][b].images) == values(runs[0][b].images));
      CHECK(values(runs[r][b].labels) == values(runs[0][b].labels));
    }
  }
  // Epochs differ in order and augmentation; the batch shape is the transform's.
  CHECK(runs[0][0].images.shape() == frost::Shape{5, 3, 7, 8});
  CHECK(values(runs[0][0].images) != values(runs[0][3].images));
}

TEST_CASE("ImageLoader: bad files raise naming the path, or are skipped", "[data][image]") {
  frost_test::TempDir dir;
  ImageFileList files = make_folder(dir.path(), false);
  const auto bad = files.samples[5].path;
  const auto png = frost_test::read_bytes(bad);
  frost_test::write_bytes(bad, std::vector<std::uint8_t>(png.begin(), png.begin() + 40));
  ImageLoaderOptions opt;
  opt.batch_size = 4;
  opt.shuffle = false;
  for (int workers : {0, 2}) {
    opt.num_workers = workers;
    opt.skip_bad_files = false;
    ImageLoader strict(files, opt);
    auto it = strict.begin();
    CHECK(it->size() == 4);
    CHECK_THROWS_WITH(++it, Contains(bad.string()));
    CHECK(strict.next() == std::nullopt);

    opt.skip_bad_files = true;
    ImageLoader lenient(files, opt);
    const auto batches = epoch_batches(lenient);
    REQUIRE(batches.size() == 3);
    CHECK(batches[1].size() == 3);
    CHECK(values(batches[1].labels) == std::vector<std::int32_t>{1, 1, 1});
    CHECK(batches[1].images.shape() == frost::Shape{3, 3, 6, 5});
  }
  // Different sizes without a resizing transform cannot be batched.
  frost_test::TempDir other;
  ImageLoaderOptions plain;
  plain.shuffle = false;
  plain.num_workers = 0;
  ImageLoader mixed(make_folder(other.path(), true), plain);
  mixed.start_epoch();
  CHECK_THROWS_WITH(mixed.next(), Contains("add a resize or crop"));
}
