#include <frost/data/idx.hpp>

#include <catch2/catch.hpp>

#include <numeric>
#include <string>
#include <vector>

#include "../io/temp_files.hpp"

using Catch::Matchers::Contains;
using frost_test::TempDir;

namespace {

std::vector<std::uint8_t> make_idx(std::uint8_t type, const std::vector<std::uint32_t>& dims,
                                   const std::vector<std::uint8_t>& payload) {
  std::vector<std::uint8_t> out = {0, 0, type, static_cast<std::uint8_t>(dims.size())};
  for (std::uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8)
      out.push_back(static_cast<std::uint8_t>(d >> shift));
  }
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

std::vector<std::uint8_t> iota_bytes(std::size_t n, int start) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(start + static_cast<int>(i));
  return v;
}

}  // namespace

TEST_CASE("read_idx_images and read_idx_labels, plain and gzip", "[data][idx]") {
  TempDir dir;
  const auto pixels = iota_bytes(3 * 2 * 4, 10);  // 3 images of 2x4
  const std::vector<std::uint8_t> labels = {4, 0, 9};
  const auto images_idx = make_idx(0x08, {3, 2, 4}, pixels);
  const auto labels_idx = make_idx(0x08, {3}, labels);
  frost_test::write_bytes(dir / "train-images-idx3-ubyte", images_idx);
  frost_test::write_bytes(dir / "train-labels-idx1-ubyte.gz",
                          frost_test::gzip_compress(labels_idx));

  const auto images = frost::data::read_idx_images(dir / "train-images-idx3-ubyte");
  REQUIRE(images.count == 3);
  REQUIRE(images.rows == 2);
  REQUIRE(images.cols == 4);
  REQUIRE(images.pixels == pixels);
  REQUIRE(frost::data::read_idx_labels(dir / "train-labels-idx1-ubyte.gz") == labels);

  // The split reader finds one file plain and the other compressed.
  const auto ds = frost::data::read_idx_dataset(dir.path(), "train");
  REQUIRE(ds.images.pixels == pixels);
  REQUIRE(ds.labels == labels);

  const auto arr = frost::data::read_idx(dir / "train-images-idx3-ubyte");
  REQUIRE(arr.shape == std::vector<std::int64_t>{3, 2, 4});
}

TEST_CASE("IDX validation errors name the path", "[data][idx][errors]") {
  TempDir dir;
  const auto write = [&](const std::string& name, const std::vector<std::uint8_t>& bytes) {
    frost_test::write_bytes(dir / name, bytes);
    return dir / name;
  };
  const auto fails_with = [](auto&& fn, const std::filesystem::path& path,
                             const std::string& what) {
    REQUIRE_THROWS_WITH(fn(), Contains(path.string()) && Contains(what));
  };
  const auto images = [](const std::filesystem::path& p) {
    return [p] { return frost::data::read_idx_images(p); };
  };
  const auto labels = [](const std::filesystem::path& p) {
    return [p] { return frost::data::read_idx_labels(p); };
  };

  const auto missing = dir / "nothing-idx3-ubyte";
  fails_with(images(missing), missing, "file not found");

  auto p = write("extra", make_idx(0x08, {2, 2, 2}, iota_bytes(9, 0)));
  fails_with(images(p), p, "size mismatch");
  p = write("short", make_idx(0x08, {2, 2, 2}, iota_bytes(7, 0)));
  fails_with(images(p), p, "truncated");
  p = write("magic", {1, 0, 8, 1, 0, 0, 0, 0});
  fails_with(images(p), p, "bad magic");
  p = write("float", make_idx(0x0D, {1}, {0, 0, 0, 0}));
  fails_with(images(p), p, "f32");
  p = write("ndim", make_idx(0x08, {2}, {1, 2}));
  fails_with(images(p), p, "expected 3 dimensions");
  p = write("ndim-labels", make_idx(0x08, {1, 1, 1}, {1}));
  fails_with(labels(p), p, "expected 1 dimension");
  // Dimensions whose product overflows 64 bits must not wrap around to a small count.
  p = write("huge", make_idx(0x08, {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, {1, 2, 3}));
  fails_with(images(p), p, "truncated");
  p = write("range", make_idx(0x08, {4}, {0, 9, 10, 1}));
  fails_with(labels(p), p, "label 10 at index 2");
  REQUIRE(frost::data::read_idx_labels(p, 11).size() == 4);
  p = write("gz-garbage.gz", {0x1f, 0x8b, 8, 0, 1, 2, 3});
  fails_with(images(p), p, "truncated");

  // Image and label counts must agree.
  write("t10k-images-idx3-ubyte", make_idx(0x08, {3, 1, 1}, {1, 2, 3}));
  const auto two_labels = write("t10k-labels-idx1-ubyte", make_idx(0x08, {2}, {1, 2}));
  fails_with([&] { return frost::data::read_idx_dataset(dir.path(), "t10k"); }, two_labels,
             "holds 2 labels");
}

TEST_CASE("every truncation of an IDX file is an error naming the path", "[data][idx][errors]") {
  TempDir dir;
  const auto full = make_idx(0x08, {2, 3, 3}, iota_bytes(18, 1));
  for (const bool gz : {false, true}) {
    const auto bytes = gz ? frost_test::gzip_compress(full) : full;
    const auto path = dir / (gz ? "cut.gz" : "cut");
    for (std::size_t len = 0; len < bytes.size(); ++len) {
      frost_test::write_bytes(path, std::span(bytes).first(len));
      INFO("truncated to " << len << " of " << bytes.size() << " bytes");
      REQUIRE_THROWS_WITH(frost::data::read_idx_images(path), Contains(path.string()));
    }
  }
}

TEST_CASE("Debian's Fashion-MNIST files load", "[data][idx][fashion_mnist]") {
  const auto& dir = frost::data::kDebianFashionMnistDir;
  if (!std::filesystem::exists(dir / "train-images-idx3-ubyte.gz")) {
    WARN("SKIPPED: Fashion-MNIST not installed at " << dir
                                                    << " (apt-get install dataset-fashion-mnist)");
    return;
  }
  for (const auto& [split, count] : {std::pair{"train", 60000}, std::pair{"t10k", 10000}}) {
    const auto ds = frost::data::read_idx_dataset(dir, split);
    REQUIRE(ds.images.count == count);
    REQUIRE(ds.images.rows == 28);
    REQUIRE(ds.images.cols == 28);
    REQUIRE(ds.images.pixels.size() == std::size_t(count) * 28 * 28);
    // Fashion-MNIST is balanced: each of the 10 classes has a tenth of the examples.
    std::vector<int> per_class(10, 0);
    for (std::uint8_t label : ds.labels) ++per_class[label];
    for (int c : per_class) REQUIRE(c == count / 10);
    // The first example of both splits is an ankle boot (class 9), as in the dataset's README.
    REQUIRE(ds.labels[0] == 9);
    const auto ink = std::accumulate(ds.images.pixels.begin(), ds.images.pixels.begin() + 784, 0);
    REQUIRE(ink > 0);
  }
}
