#pragma once
// An in-memory image classification dataset: float images [N, C, H, W] and int32 labels [N],
// the layout the DataLoader batches from. Fashion-MNIST (60000 + 10000 grey 28x28 images)
// takes 220 MB as float, so keeping it in memory is the fast and simple choice.

#include <cstdint>
#include <filesystem>
#include <string>

#include "frost/core/error.hpp"
#include "frost/core/tensor.hpp"
#include "frost/data/idx.hpp"

namespace frost::data {

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

 private:
  Tensor<float> images_;
  Tensor<std::int32_t> labels_;
};

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
