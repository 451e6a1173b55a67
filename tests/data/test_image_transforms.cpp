// Image transforms against hand-computed pixels: PyTorch's bilinear sampling
// (align_corners=False), torchvision's centre-crop offsets and padding, RandomResizedCrop's
// window and fallback, and ColorJitter's blends.

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include <frost/data/image_transforms.hpp>

using frost::Generator;
using frost::data::Image;

namespace {

// One channel, pixel (y, x) = 10 * y + x (or `value(y, x)` when given).
Image grid(std::int64_t h, std::int64_t w) {
  Image img{1, h, w, std::vector<float>(static_cast<std::size_t>(h * w))};
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x) img.at(0, y, x) = static_cast<float>(10 * y + x);
  return img;
}

Image run_transform(const frost::data::Transform& t, Image img, std::uint64_t seed = 0) {
  Generator gen(seed);
  t(img, gen);
  return img;
}

void check_pixels(const Image& img, std::int64_t h, std::int64_t w,
                  const std::vector<float>& want) {
  REQUIRE(img.height == h);
  REQUIRE(img.width == w);
  REQUIRE(img.pixels.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO("pixel " << i);
    CHECK(img.pixels[i] == Approx(want[i]).margin(1e-5));
  }
}

}  // namespace

TEST_CASE("bilinear resize samples like PyTorch with align_corners=False", "[data][image]") {
  // 4x4 -> 2x2: src = 2 (d + 0.5) - 0.5 = 0.5, 2.5, so every output averages a 2x2 block.
  check_pixels(run_transform(frost::data::resize(2, 2), grid(4, 4)), 2, 2,
               {5.5f, 7.5f, 25.5f, 27.5f});
  // [0, 1] -> 4 wide: src = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (right tap clamps to 1).
  Image pair{1, 1, 2, {0.0f, 1.0f}};
  check_pixels(run_transform(frost::data::resize(1, 4), pair), 1, 4, {0.0f, 0.25f, 0.75f, 1.0f});
  // 3 -> 2, scale 1.5: src = 0.25 and 1.75; [0, 4, 8] -> 0.75*0 + 0.25*4, 0.25*4 + 0.75*8.
  Image three{1, 1, 3, {0.0f, 4.0f, 8.0f}};
  check_pixels(run_transform(frost::data::resize(1, 2), three), 1, 2, {1.0f, 7.0f});
  // Same size is the identity; channels are resized independently.
  Image two_channels{2, 1, 2, {1.0f, 2.0f, 10.0f, 20.0f}};
  check_pixels(run_transform(frost::data::resize(1, 1), two_channels), 1, 1, {1.5f, 15.0f});
  check_pixels(run_transform(frost::data::resize(3, 3), grid(3, 3)), 3, 3,
               {0, 1, 2, 10, 11, 12, 20, 21, 22});
}

TEST_CASE("resize_shorter_side keeps the aspect ratio with truncation", "[data][image]") {
  // 6x9: shorter side 6 -> 4, longer int(4 * 9 / 6) = 6.
  const Image a = run_transform(frost::data::resize_shorter_side(4), grid(6, 9));
  CHECK(a.height == 4);
  CHECK(a.width == 6);
  // 7x5: width is shorter -> 4, height int(4 * 7 / 5) = int(5.6) = 5.
  const Image b = run_transform(frost::data::resize_shorter_side(4), grid(7, 5));
  CHECK(b.height == 5);
  CHECK(b.width == 4);
}

TEST_CASE("center_crop uses Python rounding and pads larger crops", "[data][image]") {
  // 5x6 -> 2x2: top = round(1.5) = 2, left = round(2.0) = 2.
  check_pixels(run_transform(frost::data::center_crop(2), grid(5, 6)), 2, 2, {22, 23, 32, 33});
  // 4x5 -> 3x3: top = round(0.5) = 0 (half to even), left = round(1.0) = 1.
  check_pixels(run_transform(frost::data::center_crop(3), grid(4, 5)), 3, 3,
               {1, 2, 3, 11, 12, 13, 21, 22, 23});
  // 2x2 -> 4x5: padded by (5-2)//2 = 1 on the left and (4-2)//2 = 1 on top.
  check_pixels(run_transform(frost::data::center_crop(4, 5), grid(2, 2)), 4, 5,
               {0, 0,  0,  0, 0,  //
                0, 0,  1,  0, 0,  //
                0, 10, 11, 0, 0,  //
                0, 0,  0,  0, 0});
}

TEST_CASE("random_resized_crop: window, fallback, ranges, determinism", "[data][image]") {
  // scale = ratio = 1: the window is the whole 4x4 image, then resized to 2x2.
  check_pixels(
      run_transform(frost::data::random_resized_crop(2, 2, {1.0, 1.0}, {1.0, 1.0}), grid(4, 4), 3),
      2, 2, {5.5f, 7.5f, 25.5f, 27.5f});
  // ratio 2 on a square: w = round(sqrt(32)) = 6 > 4 on all 10 tries, so the fallback cuts the
  // full width and h = round(4 / 2) = 2 rows from top = (4 - 2) / 2 = 1.
  check_pixels(
      run_transform(frost::data::random_resized_crop(2, 4, {1.0, 1.0}, {2.0, 2.0}), grid(4, 4), 5),
      2, 4, {10, 11, 12, 13, 20, 21, 22, 23});
  // Default ranges: every window fits, has area within [0.08, 1] of the image and an aspect
  // ratio within [3/4, 4/3] up to the rounding of its sides.
  Generator gen(11);
  int fallbacks = 0;
  for (int i = 0; i < 500; ++i) {
    const auto box =
        frost::data::random_resized_crop_box(60, 80, {0.08, 1.0}, {0.75, 4.0 / 3.0}, gen);
    REQUIRE(box.top >= 0);
    REQUIRE(box.left >= 0);
    REQUIRE(box.top + box.height <= 60);
    REQUIRE(box.left + box.width <= 80);
    const double area = static_cast<double>(box.height * box.width) / (60.0 * 80.0);
    const double aspect = static_cast<double>(box.width) / static_cast<double>(box.height);
    CHECK(area >= 0.06);
    CHECK(area <= 1.0);
    CHECK(aspect >= 0.75 * 0.9);
    CHECK(aspect <= 4.0 / 3.0 * 1.1);
    fallbacks += box.height == 60 && box.width == 80;
  }
  CHECK(fallbacks < 5);
  const auto t = frost::data::random_resized_crop(8);
  const Image x = run_transform(t, grid(20, 30), 42), y = run_transform(t, grid(20, 30), 42);
  const Image z = run_transform(t, grid(20, 30), 43);
  CHECK(x.pixels == y.pixels);
  CHECK(x.pixels != z.pixels);
  CHECK(x.height == 8);
  CHECK(x.width == 8);
}

TEST_CASE("colour adjustments blend as torchvision does", "[data][image]") {
  // Two RGB pixels (0.5, 0.4, 0.2) and (0.3, 0.6, 0.1); grey = 0.2989 R + 0.587 G + 0.114 B
  // = 0.40705 and 0.45327, mean 0.43016.
  const Image rgb{3, 1, 2, {0.5f, 0.3f, 0.4f, 0.6f, 0.2f, 0.1f}};
  Image b = rgb;
  frost::data::adjust_brightness(b, 2.5f);  // 2.5 x, clamped to 1
  check_pixels(b, 1, 2, {1.0f, 0.75f, 1.0f, 1.0f, 0.5f, 0.25f});
  Image c = rgb;
  frost::data::adjust_contrast(c, 1.5f);  // 1.5 v - 0.5 * 0.43016, clamped to 0
  check_pixels(c, 1, 2, {0.53492f, 0.23492f, 0.38492f, 0.68492f, 0.08492f, 0.0f});
  Image s = rgb;
  frost::data::adjust_saturation(s, 0.5f);  // 0.5 v + 0.5 grey(pixel)
  check_pixels(s, 1, 2, {0.453525f, 0.376635f, 0.403525f, 0.526635f, 0.303525f, 0.276635f});
  Image grey{1, 1, 2, {0.2f, 0.6f}};
  frost::data::adjust_saturation(grey, 0.0f);  // no-op on grey images
  check_pixels(grey, 1, 2, {0.2f, 0.6f});
  frost::data::adjust_contrast(grey, 0.0f);  // all pixels become the mean
  check_pixels(grey, 1, 2, {0.4f, 0.4f});
}

TEST_CASE("color_jitter draws factors in range, seeded", "[data][image]") {
  // Brightness alone scales every pixel by one factor in [0.6, 1.4].
  const Image img{1, 2, 2, {0.1f, 0.2f, 0.3f, 0.4f}};
  const auto t = frost::data::color_jitter(0.4f);
  bool differs = false;
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    const Image out = run_transform(t, img, seed);
    const float f = out.pixels[0] / 0.1f;
    CHECK(f >= 0.6f - 1e-5f);
    CHECK(f <= 1.4f + 1e-5f);
    for (std::size_t i = 1; i < 4; ++i) CHECK(out.pixels[i] == Approx(f * img.pixels[i]));
    differs |= std::abs(f - 1.0f) > 0.05f;
    CHECK(run_transform(t, img, seed).pixels == out.pixels);
  }
  CHECK(differs);
  const Image four_channels{4, 1, 1, {0, 0, 0, 0}};
  CHECK_THROWS_AS(run_transform(frost::data::color_jitter(0.1f, 0.1f, 0.1f), four_channels),
                  frost::Error);
}

TEST_CASE("to_image converts HWC u8 to CHW floats in [0, 1]", "[data][image]") {
  const auto hwc = frost::Tensor<std::uint8_t>::from_vector({0, 51, 102, 153, 204, 255}, {1, 2, 3});
  const Image img = frost::data::to_image(hwc);
  CHECK(img.channels == 3);
  check_pixels(img, 1, 2, {0.0f, 0.6f, 0.2f, 0.8f, 0.4f, 1.0f});
  const auto t = frost::data::to_tensor(img);
  CHECK(t.shape() == frost::Shape{3, 1, 2});
  CHECK(t.at({1, 0, 1}) == Approx(0.8f));
}
