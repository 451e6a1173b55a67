#pragma once
// An in-memory image classification dataset: float images [N, C, H, W] and int32 labels [N],
// the layout the DataLoader batches from. Fashion-MNIST (60000 + 10000 grey 28x28 images)
// takes 220 MB as float, so keeping it in memory is the fast and simple choice.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "frost/core/error.hpp"
#include "frost/core/rng.hpp"
#include "frost/core/tensor.hpp"
#include "frost/data/idx.hpp"

namespace frost::data {

// 0, 1, ..., n-1 in an order drawn uniformly by Fisher-Yates (torch.randperm).
inline std::vector<std::int64_t> random_permutation(std::int64_t n, Generator& gen) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(std::max<std::int64_t>(n, 0)));
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::int64_t>(i);
  for (std::size_t i = order.size(); i > 1; --i) {
    std::swap(order[i - 1], order[static_cast<std::size_t>(gen.uniform_int(i))]);
  }
  return order;
}

class InMemoryDataset {
 public:
  InMemoryDataset() = default;

  // images: [N, C, H, W]; labels: [N]. Both are made contiguous (a copy only if they are not).
  InMemoryDataset(Tensor<float> images, Tensor<std::int32_t> labels) {
    FROST_CHECK(images.defined() && labels.defined(), "InMemoryDataset",
                "images and labels must be defined tensors");
    FROST_CHECK(images.dim() == 4, "InMemoryDataset", "images must be [N, C, H, W], got ",
                shape_str(images.shape()));
    FROST_CHECK(labels.dim() == 1 && labels.size(0) == images.size(0), "InMemoryDataset",
                "labels must be [N] with N = ", images.size(0), " (the image count), got ",
                shape_str(labels.shape()));
    images_ = images.detach().contiguous();
    labels_ = labels.contiguous();
  }

  std::int64_t size() const { return images_.defined() ? images_.size(0) : 0; }
  std::int64_t channels() const { return images_.size(1); }
  std::int64_t height() const { return images_.size(2); }
  std::int64_t width() const { return images_.size(3); }
  std::int64_t image_numel() const { return channels() * height() * width(); }

  const Tensor<float>& images() const { return images_; }
  const Tensor<std::int32_t>& labels() const { return labels_; }

  // Sample i's pixels (image_numel() floats, C x H x W row-major) and label; no bounds check.
  const float* image_data(std::int64_t i) const { return images_.data() + i * image_numel(); }
  std::int32_t label(std::int64_t i) const { return labels_.data()[i]; }

  // Samples [begin, end), sharing this dataset's storage.
  InMemoryDataset slice(std::int64_t begin, std::int64_t end) const {
    FROST_CHECK(0 <= begin && begin <= end && end <= size(), "InMemoryDataset::slice", "range [",
                begin, ", ", end, ") is outside [0, ", size(), ")");
    return InMemoryDataset(images_.narrow(0, begin, end - begin),
                           labels_.narrow(0, begin, end - begin));
  }

  // The given samples, in the given order (a copy).
  InMemoryDataset select(const std::vector<std::int64_t>& indices) const {
    const auto n = static_cast<std::int64_t>(indices.size());
    auto images = Tensor<float>::empty({n, channels(), height(), width()});
    auto labels = Tensor<std::int32_t>::empty({n});
    for (std::int64_t k = 0; k < n; ++k) {
      const std::int64_t i = indices[static_cast<std::size_t>(k)];
      FROST_CHECK(0 <= i && i < size(), "InMemoryDataset::select", "index ", i,
                  " out of range for ", size(), " samples");
      std::copy_n(image_data(i), image_numel(), images.data() + k * image_numel());
      labels.data()[k] = label(i);
    }
    return InMemoryDataset(std::move(images), std::move(labels));
  }

 private:
  Tensor<float> images_;
  Tensor<std::int32_t> labels_;
};

// A seeded random partition into `first_size` samples and the rest, e.g. a training split and
// a held-out split for architecture search.
inline std::pair<InMemoryDataset, InMemoryDataset> random_split(const InMemoryDataset& dataset,
                                                                std::int64_t first_size,
                                                                std::uint64_t seed) {
  FROST_CHECK(0 <= first_size && first_size <= dataset.size(), "random_split", "first_size ",
              first_size, " is outside [0, ", dataset.size(), "]");
  Generator gen(seed);
  const std::vector<std::int64_t> order = random_permutation(dataset.size(), gen);
  const auto cut = order.begin() + first_size;
  return {dataset.select({order.begin(), cut}), dataset.select({cut, order.end()})};
}

// Grey u8 IDX images become [N, 1, H, W] floats in [0, 1] (pixel / 255).
inline InMemoryDataset to_dataset(const IdxDataset& idx) {
  const IdxImages& im = idx.images;
  auto images = Tensor<float>::empty({im.count, 1, im.rows, im.cols});
  float* dst = images.data();
  // A table of v / 255.0f: the same floats as torchvision's ToTensor (a true division, which
  // multiplying by 1/255 is not), at the cost of a lookup.
  float table[256];
  for (int v = 0; v < 256; ++v) table[v] = static_cast<float>(v) / 255.0f;
  for (std::size_t i = 0; i < im.pixels.size(); ++i) dst[i] = table[im.pixels[i]];
  auto labels = Tensor<std::int32_t>::empty({static_cast<std::int64_t>(idx.labels.size())});
  for (std::size_t i = 0; i < idx.labels.size(); ++i) labels.data()[i] = idx.labels[i];
  return InMemoryDataset(std::move(images), std::move(labels));
}

enum class Split { kTrain, kTest };

// MNIST or Fashion-MNIST from `dir` (the `train-*` or `t10k-*` IDX files, gzip or not).
inline InMemoryDataset load_mnist_like(const std::filesystem::path& dir, Split split) {
  return to_dataset(read_idx_dataset(dir, split == Split::kTrain ? "train" : "t10k"));
}

// Fashion-MNIST, by default from where Debian's dataset-fashion-mnist package installs it.
inline InMemoryDataset load_fashion_mnist(
    Split split, const std::filesystem::path& dir = kDebianFashionMnistDir) {
  return load_mnist_like(dir, split);
}

}  // namespace frost::data
