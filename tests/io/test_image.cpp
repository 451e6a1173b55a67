// Image decoding and PNG writing on files generated here: exact round trips for the lossless
// formats, a tolerance for JPEG, stb's grey/colour conversions on known pixels, and errors
// that name the path.

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include <frost/io/image.hpp>

#include "temp_files.hpp"

namespace {

using frost::Tensor;

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<std::uint8_t>*>(context);
  const auto* p = static_cast<const std::uint8_t*>(data);
  out->insert(out->end(), p, p + size);
}

// A 3 x 4 RGB image whose every byte differs: pixel (y, x) channel c = 20 * (4y + x) + c.
Tensor<std::uint8_t> ramp_rgb() {
  auto img = Tensor<std::uint8_t>::empty({3, 4, 3});
  for (std::int64_t i = 0; i < img.numel(); ++i) {
    img.data()[i] = static_cast<std::uint8_t>(20 * (i / 3) + i % 3);
  }
  return img;
}

std::vector<std::uint8_t> as_vector(const Tensor<std::uint8_t>& t) {
  return {t.data(), t.data() + t.numel()};
}

}  // namespace

TEST_CASE("PNG round trip is exact through memory and a file", "[io][image]") {
  const auto img = ramp_rgb();
  const auto decoded = frost::io::decode_image(frost::io::encode_png(img));
  CHECK(decoded.shape() == frost::Shape{3, 4, 3});
  CHECK(as_vector(decoded) == as_vector(img));

  frost_test::TempDir dir;
  frost::io::write_png(dir / "ramp.png", img);
  const auto read = frost::io::read_image(dir / "ramp.png");
  CHECK(as_vector(read) == as_vector(img));

  // CHW float: channel-major, v / 255. Pixel (y=2, x=1) is index 9: values 180, 181, 182.
  const auto chw = frost::io::read_image_chw(dir / "ramp.png");
  REQUIRE(chw.shape() == frost::Shape{3, 3, 4});
  CHECK(chw.at({0, 2, 1}) == Approx(180.0 / 255.0));
  CHECK(chw.at({1, 2, 1}) == Approx(181.0 / 255.0));
  CHECK(chw.at({2, 2, 1}) == Approx(182.0 / 255.0));
  CHECK(chw.at({2, 0, 0}) == Approx(2.0 / 255.0));
}

TEST_CASE("grey and colour conversions follow stb_image", "[io][image]") {
  // Grey 2 x 2 PNG: as stored it has one channel; asking for 3 replicates it.
  auto grey = Tensor<std::uint8_t>::from_vector({0, 64, 128, 255}, {2, 2, 1});
  const auto png = frost::io::encode_png(grey);
  const auto as_stored = frost::io::decode_image(png);
  CHECK(as_stored.shape() == frost::Shape{2, 2, 1});
  CHECK(as_vector(as_stored) == as_vector(grey));
  const auto rgb = frost::io::decode_image(png, 3);
  CHECK(rgb.shape() == frost::Shape{2, 2, 3});
  CHECK(as_vector(rgb) ==
        std::vector<std::uint8_t>{0, 0, 0, 64, 64, 64, 128, 128, 128, 255, 255, 255});
  // Colour to grey: (77 R + 150 G + 29 B) >> 8. (200, 100, 50): (15400 + 15000 + 1450) >> 8 = 124.
  auto colour = Tensor<std::uint8_t>::from_vector({200, 100, 50}, {1, 1, 3});
  const auto to_grey = frost::io::decode_image(frost::io::encode_png(colour), 1);
  CHECK(to_grey.shape() == frost::Shape{1, 1, 1});
  CHECK(to_grey.data()[0] == 124);
}

TEST_CASE("BMP and TGA decode exactly", "[io][image]") {
  const auto img = ramp_rgb();
  std::vector<std::uint8_t> bmp, tga;
  REQUIRE(stbi_write_bmp_to_func(append_bytes, &bmp, 4, 3, 3, img.data()) != 0);
  REQUIRE(stbi_write_tga_to_func(append_bytes, &tga, 4, 3, 3, img.data()) != 0);
  CHECK(as_vector(frost::io::decode_image(bmp)) == as_vector(img));
  CHECK(as_vector(frost::io::decode_image(tga)) == as_vector(img));
}

TEST_CASE("JPEG decodes close to the original", "[io][image]") {
  // A smooth 16 x 16 gradient at quality 100 comes back within a few levels.
  auto img = Tensor<std::uint8_t>::empty({16, 16, 3});
  for (std::int64_t y = 0; y < 16; ++y)
    for (std::int64_t x = 0; x < 16; ++x) {
      img.at({y, x, 0}) = static_cast<std::uint8_t>(40 + 8 * x);
      img.at({y, x, 1}) = static_cast<std::uint8_t>(60 + 6 * y);
      img.at({y, x, 2}) = 128;
    }
  std::vector<std::uint8_t> jpg;
  REQUIRE(stbi_write_jpg_to_func(append_bytes, &jpg, 16, 16, 3, img.data(), 100) != 0);
  const auto decoded = frost::io::decode_image(jpg);
  REQUIRE(decoded.shape() == frost::Shape{16, 16, 3});
  int worst = 0;
  for (std::int64_t i = 0; i < img.numel(); ++i) {
    worst = std::max(worst, std::abs(int{decoded.data()[i]} - int{img.data()[i]}));
  }
  CHECK(worst <= 6);
}

TEST_CASE("bad image files are errors naming the path", "[io][image]") {
  frost_test::TempDir dir;
  const auto expect_error = [](const std::filesystem::path& path, const std::string& reason) {
    try {
      (void)frost::io::read_image(path);
      FAIL("no error for " << path);
    } catch (const frost::Error& e) {
      const std::string what = e.what();
      CHECK_THAT(what, Catch::Contains(path.string()));
      CHECK_THAT(what, Catch::Contains(reason));
    }
  };
  const std::string text = "path label\nnot an image\n";
  frost_test::write_bytes(dir / "notes.png", std::vector<std::uint8_t>(text.begin(), text.end()));
  expect_error(dir / "notes.png", "cannot decode");

  frost_test::write_bytes(dir / "empty.png", std::vector<std::uint8_t>{});
  expect_error(dir / "empty.png", "empty file");
  expect_error(dir / "missing.png", "not found");

  auto big = Tensor<std::uint8_t>::empty({32, 32, 3});
  for (std::int64_t i = 0; i < big.numel(); ++i) big.data()[i] = static_cast<std::uint8_t>(i * 7);
  const auto png = frost::io::encode_png(big);
  frost_test::write_bytes(dir / "cut.png",
                          std::vector<std::uint8_t>(png.begin(), png.begin() + png.size() / 2));
  expect_error(dir / "cut.png", "cannot decode");

  std::vector<std::uint8_t> jpg;
  REQUIRE(stbi_write_jpg_to_func(append_bytes, &jpg, 32, 32, 3, big.data(), 90) != 0);
  REQUIRE_NOTHROW(frost::io::decode_image(jpg));
  frost_test::write_bytes(dir / "cut.jpg",
                          std::vector<std::uint8_t>(jpg.begin(), jpg.end() - jpg.size() / 3));
  expect_error(dir / "cut.jpg", "truncated JPEG");

  CHECK_THROWS_AS(frost::io::decode_image(png, 5), frost::Error);
}
