#include <frost/data/transforms.hpp>

#include <catch2/catch.hpp>

#include <set>
#include <vector>

using Catch::Matchers::Contains;
using frost::data::Image;

namespace {

// 1 x 3 x 3 image holding 1..9.
Image one_to_nine() {
  return {1, 3, 3, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
}

// Naive reference for a crop: build the zero-padded image explicitly, then cut the window.
Image padded_crop(const Image& in, std::int64_t pad, std::int64_t top, std::int64_t left,
                  std::int64_t h, std::int64_t w) {
  const std::int64_t ph = in.height + 2 * pad, pw = in.width + 2 * pad;
  std::vector<float> padded(static_cast<std::size_t>(in.channels * ph * pw), 0.0f);
  for (std::int64_t c = 0; c < in.channels; ++c)
    for (std::int64_t y = 0; y < in.height; ++y)
      for (std::int64_t x = 0; x < in.width; ++x)
        padded[static_cast<std::size_t>((c * ph + y + pad) * pw + x + pad)] = in.at(c, y, x);
  Image out{in.channels, h, w, {}};
  for (std::int64_t c = 0; c < in.channels; ++c)
    for (std::int64_t y = 0; y < h; ++y)
      for (std::int64_t x = 0; x < w; ++x)
        out.pixels.push_back(padded[static_cast<std::size_t>((c * ph + y + top) * pw + x + left)]);
  return out;
}

}  // namespace

TEST_CASE("normalize subtracts the mean and divides by the std per channel", "[data][transforms]") {
  Image img{2, 1, 2, {0.5f, 1.0f, 0.25f, 0.0f}};
  frost::Generator gen(1);
  frost::data::normalize({0.5f, 0.25f}, {0.5f, 0.25f})(img, gen);
  // channel 0: (0.5-0.5)/0.5 = 0, (1-0.5)/0.5 = 1; channel 1: (0.25-0.25)/0.25 = 0, -1.
  REQUIRE(img.pixels == std::vector<float>{0.0f, 1.0f, 0.0f, -1.0f});

  Image grey{1, 1, 3, {0.0f, 0.2860f, 1.0f}};
  frost::data::normalize({0.2860f}, {0.3530f})(grey, gen);  // Fashion-MNIST's statistics
  REQUIRE(grey.pixels[0] == Approx(-0.2860 / 0.3530));
  REQUIRE(grey.pixels[1] == Approx(0.0).margin(1e-7));
  REQUIRE(grey.pixels[2] == Approx((1 - 0.2860) / 0.3530));

  REQUIRE_THROWS_WITH(frost::data::normalize({0.5f}, {0.0f}), Contains("std must be positive"));
  REQUIRE_THROWS_WITH(frost::data::normalize({0.5f, 0.5f}, {1.0f}), Contains("normalize"));
  Image three{3, 1, 1, {1, 2, 3}};
  REQUIRE_THROWS_WITH(frost::data::normalize({0.5f, 0.5f}, {1.0f, 1.0f})(three, gen),
                      Contains("image has 3 channels but mean/std have 2 values"));
}

TEST_CASE("random_crop with padding gives every shifted window, zero filled",
          "[data][transforms]") {
  // Hand-computed: the window at the padded image's top-left corner.
  const Image corner = padded_crop(one_to_nine(), 1, 0, 0, 3, 3);
  REQUIRE(corner.pixels == std::vector<float>{0, 0, 0, 0, 1, 2, 0, 4, 5});

  const auto crop = frost::data::random_crop(3, 1);
  std::set<std::pair<std::int64_t, std::int64_t>> seen;
  for (std::uint64_t seed = 0; seed < 300; ++seed) {
    Image img = one_to_nine();
    frost::Generator gen(seed);
    crop(img, gen);
    REQUIRE(img.channels == 1);
    REQUIRE(img.height == 3);
    REQUIRE(img.width == 3);
    // The result must be one of the 9 windows of the padded image.
    bool matched = false;
    for (std::int64_t top = 0; top < 3 && !matched; ++top) {
      for (std::int64_t left = 0; left < 3 && !matched; ++left) {
        if (img.pixels == padded_crop(one_to_nine(), 1, top, left, 3, 3).pixels) {
          seen.insert({top, left});
          matched = true;
        }
      }
    }
    REQUIRE(matched);
  }
  REQUIRE(seen.size() == 9);  // every offset occurs
}

TEST_CASE("random_crop to a smaller size on several channels matches the naive reference",
          "[data][transforms]") {
  Image img{2, 4, 5, {}};
  for (int i = 0; i < 40; ++i) img.pixels.push_back(static_cast<float>(i + 1));
  const auto crop = frost::data::random_crop(3, 4, 2);
  std::set<std::pair<std::int64_t, std::int64_t>> seen;
  for (std::uint64_t seed = 0; seed < 400; ++seed) {
    Image out = img;
    frost::Generator gen(seed);
    crop(out, gen);
    REQUIRE(out.height == 3);
    REQUIRE(out.width == 4);
    bool matched = false;
    for (std::int64_t top = 0; top <= 4 + 4 - 3 && !matched; ++top) {
      for (std::int64_t left = 0; left <= 5 + 4 - 4 && !matched; ++left) {
        if (out.pixels == padded_crop(img, 2, top, left, 3, 4).pixels) {
          seen.insert({top, left});
          matched = true;
        }
      }
    }
    REQUIRE(matched);
  }
  REQUIRE(seen.size() == 6 * 6);
  Image small{1, 2, 2, {1, 2, 3, 4}};
  frost::Generator gen(0);
  REQUIRE_THROWS_WITH(frost::data::random_crop(5, 0)(small, gen),
                      Contains("crop 5x5 is larger than the 2x2 image padded by 0"));
}

TEST_CASE("random_horizontal_flip mirrors every channel's rows", "[data][transforms]") {
  frost::Generator gen(3);
  Image img{2, 2, 3, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}};
  frost::data::random_horizontal_flip(1.0)(img, gen);
  REQUIRE(img.pixels == std::vector<float>{3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10});
  frost::data::random_horizontal_flip(0.0)(img, gen);
  REQUIRE(img.pixels == std::vector<float>{3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10});

  int flipped = 0;
  const auto flip = frost::data::random_horizontal_flip(0.5);
  for (std::uint64_t seed = 0; seed < 1000; ++seed) {
    Image row{1, 1, 2, {1, 2}};
    frost::Generator g(seed);
    flip(row, g);
    REQUIRE((row.pixels == std::vector<float>{1, 2} || row.pixels == std::vector<float>{2, 1}));
    flipped += row.pixels[0] == 2;
  }
  REQUIRE(flipped > 420);  // binomial(1000, 0.5): 5 standard deviations each side
  REQUIRE(flipped < 580);
  REQUIRE_THROWS_WITH(frost::data::random_horizontal_flip(1.5), Contains("outside [0, 1]"));

  // An inconsistent image (as a buggy custom transform might produce) is refused, not indexed.
  Image liar{1, 4, 4, {1, 2, 3}};
  REQUIRE_THROWS_WITH(frost::data::random_horizontal_flip(1.0)(liar, gen),
                      Contains("random_horizontal_flip: image of 1x4x4 holds 3 pixels"));
  REQUIRE_THROWS_WITH(frost::data::random_crop(2, 0)(liar, gen), Contains("random_crop"));
  REQUIRE_THROWS_WITH(frost::data::normalize({0.0f}, {1.0f})(liar, gen), Contains("normalize"));
}

TEST_CASE("transforms are deterministic for a seed", "[data][transforms]") {
  const auto augment =
      frost::data::compose({frost::data::random_crop(6, 2), frost::data::random_horizontal_flip(),
                            frost::data::normalize({0.5f}, {0.25f})});
  Image base{1, 6, 6, {}};
  for (int i = 0; i < 36; ++i) base.pixels.push_back(static_cast<float>(i) / 36.0f);
  const auto run = [&](std::uint64_t seed) {
    frost::Generator gen(seed);
    std::vector<float> all;
    for (int k = 0; k < 20; ++k) {
      Image img = base;
      augment(img, gen);
      all.insert(all.end(), img.pixels.begin(), img.pixels.end());
    }
    return all;
  };
  REQUIRE(run(42) == run(42));
  REQUIRE(run(42) != run(43));
}
