#include <frost/data/dataset.hpp>
#include <frost/data/loader.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>
#include <vector>

#include "../io/temp_files.hpp"

using Catch::Matchers::Contains;
using frost::Tensor;
using frost::data::Batch;
using frost::data::DataLoader;
using frost::data::DataLoaderOptions;
using frost::data::InMemoryDataset;

namespace {

// n images of shape [c, h, w]; every pixel of image i is i + pixel_index / 1000 (distinct
// pixels, so crops and flips are visible), and its label is i.
InMemoryDataset numbered_dataset(std::int64_t n, std::int64_t c = 1, std::int64_t h = 2,
                                 std::int64_t w = 2) {
  auto images = Tensor<float>::empty({n, c, h, w});
  const std::int64_t per = c * h * w;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t p = 0; p < per; ++p)
      images.data()[i * per + p] = static_cast<float>(i) + static_cast<float>(p) / 1000.0f;
  auto labels = Tensor<std::int32_t>::empty({n});
  for (std::int64_t i = 0; i < n; ++i) labels.data()[i] = static_cast<std::int32_t>(i);
  return InMemoryDataset(images, labels);
}

template <class T>
std::vector<T> values_of(const Tensor<T>& t) {
  return std::vector<T>(t.data(), t.data() + t.numel());
}

// Every batch of one pass, flattened to values, for comparing passes.
struct Pass {
  std::vector<std::vector<float>> images;
  std::vector<std::vector<std::int32_t>> labels;
  std::vector<frost::Shape> shapes;
  bool operator==(const Pass&) const = default;
};

Pass one_pass(DataLoader& loader) {
  Pass pass;
  for (const Batch& b : loader) {
    pass.images.push_back(values_of(b.images));
    pass.labels.push_back(values_of(b.labels));
    pass.shapes.push_back(b.images.shape());
  }
  return pass;
}

frost::data::Transform augment() {
  return frost::data::compose(
      {frost::data::random_crop(2, 1), frost::data::random_horizontal_flip()});
}

}  // namespace

TEST_CASE("to_dataset scales pixels by 1/255 into [N, 1, H, W]", "[data][dataset]") {
  frost::data::IdxDataset idx;
  idx.images = {2, 1, 3, {0, 51, 255, 1, 2, 254}};
  idx.labels = {7, 0};
  const auto ds = frost::data::to_dataset(idx);
  REQUIRE(ds.size() == 2);
  REQUIRE(ds.images().shape() == frost::Shape{2, 1, 1, 3});
  REQUIRE(values_of(ds.images()) ==
          std::vector<float>{0.0f, 0.2f, 1.0f, 1.0f / 255.0f, 2.0f / 255.0f, 254.0f / 255.0f});
  REQUIRE(ds.label(0) == 7);
  REQUIRE(ds.label(1) == 0);
  REQUIRE(ds.image_data(1)[2] == 254.0f / 255.0f);

  REQUIRE_THROWS_WITH(
      InMemoryDataset(Tensor<float>::zeros({2, 4}), Tensor<std::int32_t>::zeros({2})),
      Contains("images must be [N, C, H, W], got [2, 4]"));
  REQUIRE_THROWS_WITH(
      InMemoryDataset(Tensor<float>::zeros({2, 1, 2, 2}), Tensor<std::int32_t>::zeros({3})),
      Contains("labels must be [N] with N = 2"));
}

TEST_CASE("slice, select and random_split pick the right samples", "[data][dataset]") {
  const auto ds = numbered_dataset(10);
  const auto mid = ds.slice(3, 7);
  REQUIRE(mid.size() == 4);
  REQUIRE(mid.images().data() == ds.image_data(3));  // a view, no copy
  for (std::int64_t i = 0; i < 4; ++i) {
    REQUIRE(mid.label(i) == i + 3);
    REQUIRE(mid.image_data(i)[1] == static_cast<float>(i + 3) + 0.001f);
  }
  REQUIRE(ds.slice(10, 10).size() == 0);
  REQUIRE_THROWS_WITH(ds.slice(4, 11), Contains("range [4, 11) is outside [0, 10)"));

  const auto picked = ds.select({9, 0, 9});
  REQUIRE(values_of(picked.labels()) == std::vector<std::int32_t>{9, 0, 9});
  REQUIRE(picked.image_data(1)[2] == 0.002f);
  REQUIRE(picked.image_data(2)[0] == 9.0f);
  REQUIRE_THROWS_WITH(ds.select({1, 10}), Contains("index 10 out of range for 10 samples"));

  const auto [train, held_out] = frost::data::random_split(ds, 7, 123);
  REQUIRE(train.size() == 7);
  REQUIRE(held_out.size() == 3);
  std::vector<std::int32_t> all = values_of(train.labels());
  for (std::int32_t l : values_of(held_out.labels())) all.push_back(l);
  std::sort(all.begin(), all.end());
  REQUIRE(all == std::vector<std::int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});  // a partition
  for (std::int64_t i = 0; i < train.size(); ++i) {
    REQUIRE(train.image_data(i)[0] == static_cast<float>(train.label(i)));  // pairs kept
  }
  const auto again = frost::data::random_split(ds, 7, 123);
  REQUIRE(values_of(again.first.labels()) == values_of(train.labels()));
  REQUIRE(values_of(frost::data::random_split(ds, 7, 124).first.labels()) !=
          values_of(train.labels()));
  REQUIRE_THROWS_WITH(frost::data::random_split(ds, 11, 0), Contains("first_size 11"));
}

TEST_CASE("random_permutation is uniform over orders", "[data][dataset]") {
  // All 6 orders of 3 elements, each near 1/6 of 6000 draws (5 standard deviations: +-144).
  frost::Generator gen(2024);
  std::map<std::vector<std::int64_t>, int> counts;
  for (int k = 0; k < 6000; ++k) ++counts[frost::data::random_permutation(3, gen)];
  REQUIRE(counts.size() == 6);
  for (const auto& [order, count] : counts) {
    INFO("order " << order[0] << order[1] << order[2]);
    REQUIRE(std::abs(count - 1000) < 145);
  }
  REQUIRE(frost::data::random_permutation(0, gen).empty());
}

TEST_CASE("load_fashion_mnist gives [60000, 1, 28, 28] in [0, 1]",
          "[data][dataset][fashion_mnist]") {
  if (!std::filesystem::exists(frost::data::kDebianFashionMnistDir / "t10k-images-idx3-ubyte.gz")) {
    WARN("SKIPPED: Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)");
    return;
  }
  const auto test = frost::data::load_fashion_mnist(frost::data::Split::kTest);
  REQUIRE(test.images().shape() == frost::Shape{10000, 1, 28, 28});
  const auto pixels = values_of(test.images());
  REQUIRE(*std::min_element(pixels.begin(), pixels.end()) == 0.0f);
  REQUIRE(*std::max_element(pixels.begin(), pixels.end()) == 1.0f);
  REQUIRE(test.label(0) == 9);
  const auto train = frost::data::load_fashion_mnist(frost::data::Split::kTrain);
  REQUIRE(train.size() == 60000);
  const auto missing = frost_test::TempDir();
  REQUIRE_THROWS_WITH(frost::data::load_mnist_like(missing.path(), frost::data::Split::kTrain),
                      Contains("train-images-idx3-ubyte.gz") && Contains("file not found"));
}

TEST_CASE("DataLoader covers every sample once per epoch", "[data][loader]") {
  for (const int prefetch : {0, 1, 3}) {
    for (const bool shuffle : {false, true}) {
      INFO("prefetch " << prefetch << ", shuffle " << shuffle);
      DataLoader loader(
          numbered_dataset(10),
          {.batch_size = 3, .shuffle = shuffle, .seed = 9, .prefetch_batches = prefetch});
      REQUIRE(loader.num_batches() == 4);
      for (int epoch = 0; epoch < 3; ++epoch) {
        std::vector<std::int32_t> seen;
        std::vector<std::int64_t> sizes;
        for (const Batch& b : loader) {
          sizes.push_back(b.size());
          REQUIRE(b.images.shape() == frost::Shape{b.size(), 1, 2, 2});
          for (std::int64_t k = 0; k < b.size(); ++k) {
            const std::int32_t label = b.labels.data()[k];
            // The image travels with its label: pixel 3 of image i is i + 0.003.
            REQUIRE(b.images.data()[k * 4 + 3] == static_cast<float>(label) + 0.003f);
            seen.push_back(label);
          }
        }
        REQUIRE(sizes == std::vector<std::int64_t>{3, 3, 3, 1});
        if (!shuffle) REQUIRE(seen == std::vector<std::int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
        std::sort(seen.begin(), seen.end());
        REQUIRE(seen == std::vector<std::int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
      }
    }
  }
}

TEST_CASE("DataLoader drop_last drops the short final batch", "[data][loader]") {
  for (const int prefetch : {0, 2}) {
    DataLoader loader(numbered_dataset(10),
                      {.batch_size = 4, .drop_last = true, .prefetch_batches = prefetch});
    REQUIRE(loader.num_batches() == 2);
    std::set<std::int32_t> seen;
    int batches = 0;
    for (const Batch& b : loader) {
      REQUIRE(b.size() == 4);
      for (std::int64_t k = 0; k < 4; ++k) seen.insert(b.labels.data()[k]);
      ++batches;
    }
    REQUIRE(batches == 2);
    REQUIRE(seen.size() == 8);
  }
  DataLoader tiny(numbered_dataset(3), {.batch_size = 4, .drop_last = true});
  REQUIRE(tiny.num_batches() == 0);
  REQUIRE(one_pass(tiny).labels.empty());
  REQUIRE_THROWS_WITH(DataLoader(numbered_dataset(3), {.batch_size = 0}),
                      Contains("batch_size must be >= 1, got 0"));
}

TEST_CASE("DataLoader is deterministic for a seed, with and without prefetch", "[data][loader]") {
  const auto ds = numbered_dataset(23, 1, 3, 3);
  const auto make = [&](std::uint64_t seed, int prefetch) {
    return std::make_unique<DataLoader>(
        ds, DataLoaderOptions{.batch_size = 5, .seed = seed, .prefetch_batches = prefetch},
        augment());
  };
  auto sync = make(7, 0);
  auto async = make(7, 2);
  auto other_seed = make(8, 2);
  const Pass sync0 = one_pass(*sync), sync1 = one_pass(*sync);
  const Pass async0 = one_pass(*async), async1 = one_pass(*async);
  REQUIRE(sync0 == async0);  // same batches, same augmentations, whatever the thread
  REQUIRE(sync1 == async1);
  REQUIRE(sync0.labels != sync1.labels);  // a new order every epoch
  REQUIRE(sync0.images != sync1.images);
  REQUIRE(one_pass(*other_seed).labels != sync0.labels);
  REQUIRE(sync0.shapes.front() == frost::Shape{5, 1, 2, 2});  // 3x3 cropped to 2x2

  // Epochs can be revisited: set_epoch(1) on a fresh loader replays the second pass, and
  // make_batch rebuilds any single batch.
  auto fresh = make(7, 2);
  fresh->set_epoch(1);
  REQUIRE(one_pass(*fresh) == sync1);
  REQUIRE(values_of(fresh->make_batch(0, 2).images) == sync0.images[2]);
  REQUIRE(values_of(fresh->make_batch(1, 4).labels) == sync1.labels[4]);
}

TEST_CASE("DataLoader re-throws exceptions from making a batch", "[data][loader]") {
  // A transform that fails on sample 6 (its pixels start at 6.0).
  const frost::data::Transform fail_on_six = [](frost::data::Image& img, frost::Generator&) {
    if (img.pixels[0] == 6.0f) throw frost::Error("transform: cannot handle sample 6");
  };
  for (const int prefetch : {0, 2}) {
    INFO("prefetch " << prefetch);
    DataLoader loader(numbered_dataset(10),
                      {.batch_size = 2, .shuffle = false, .prefetch_batches = prefetch},
                      fail_on_six);
    int batches_before = 0;
    REQUIRE_THROWS_WITH(
        [&] {
          for (const Batch& b : loader) {
            (void)b;
            ++batches_before;
          }
        }(),
        "transform: cannot handle sample 6");
    REQUIRE(batches_before == 3);              // samples 0-5 arrive before the failing batch
    REQUIRE_FALSE(loader.next().has_value());  // the epoch is over
    // The loader stays usable: a new pass starts from the beginning.
    auto it = loader.begin();
    REQUIRE((*it).labels.data()[0] == 0);
  }

  // A transform whose output shape changes within a batch cannot be stacked.
  const frost::data::Transform uneven = [](frost::data::Image& img, frost::Generator&) {
    if (img.pixels[0] == 1.0f) img = {1, 1, 1, {0.0f}};
  };
  DataLoader bad(numbered_dataset(4), {.batch_size = 4, .shuffle = false}, uneven);
  REQUIRE_THROWS_WITH(one_pass(bad), Contains("the transform made sample 1 [1, 1, 1] but the "
                                              "batch's first sample [1, 2, 2]"));
}

TEST_CASE("DataLoader shuts down cleanly mid-epoch", "[data][loader]") {
  const auto ds = numbered_dataset(2000);
  for (int round = 0; round < 20; ++round) {
    DataLoader loader(
        ds, {.batch_size = 1, .seed = static_cast<std::uint64_t>(round), .prefetch_batches = 2});
    int taken = 0;
    for (const Batch& b : loader) {
      (void)b;
      if (++taken == round % 3 + 1) break;  // leave the worker blocked on a full queue
    }
    if (round % 2 == 0) {
      // Restarting mid-epoch stops the old worker and starts a fresh, complete pass.
      REQUIRE(one_pass(loader).labels.size() == 2000);
    }
  }  // destructor joins the worker; a hang here fails the test by timeout
  SUCCEED("no hang");
}
