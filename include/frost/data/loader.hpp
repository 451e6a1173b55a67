#pragma once
// DataLoader: mini-batches from an InMemoryDataset, optionally shuffled and augmented, made by a
// background thread while the training loop runs.
//
//   frost::data::DataLoader loader(train_set, {.batch_size = 128, .seed = 1},
//                                  frost::data::compose({random_crop(28, 2), normalize(...)}));
//   for (int epoch = 0; epoch < 3; ++epoch)
//     for (const frost::data::Batch& batch : loader) train_step(batch.images, batch.labels);
//
// Every pass over the loader is a new epoch (0, 1, 2, ...; set_epoch overrides). The sample
// order of epoch e depends only on (seed, e), and batch b's augmentations use a generator
// seeded from (seed, e, b): the batches are bit-identical with or without prefetching and
// whatever the thread timing. The prefetch thread assembles batches on its own, without the
// shared thread pool, so the training loop's parallel ops never wait for it; a queue of
// `prefetch_batches` bounds its memory. An exception thrown while making a batch (a transform
// error, say) is re-thrown by the consumer when it reaches that batch; destroying the loader
// or starting a new pass mid-epoch stops the thread cleanly. The transform runs on the
// prefetch thread, so it must not share unsynchronised state with the training loop.

#include <cstdint>
#include <cstring>
#include <span>
#include <utility>
#include <vector>

#include "frost/core/error.hpp"
#include "frost/core/rng.hpp"
#include "frost/core/tensor.hpp"
#include "frost/data/dataset.hpp"
#include "frost/data/loader_base.hpp"
#include "frost/data/transforms.hpp"

namespace frost::data {

struct DataLoaderOptions {
  std::int64_t batch_size = 64;
  bool shuffle = true;
  bool drop_last = false;  // drop the final batch when it is smaller than batch_size
  std::uint64_t seed = 0;
  int prefetch_batches = 2;  // batches made ahead on a background thread; 0 = on the caller
};

// Epochs, passes, next(), make_batch() and range-for come from detail::LoaderBase.
class DataLoader : public detail::LoaderBase {
 public:
  // The prefetch thread may have a batch in the making besides the `prefetch_batches` queued.
  DataLoader(InMemoryDataset dataset, DataLoaderOptions options = {}, Transform transform = {})
      : LoaderBase(plan("DataLoader", dataset.size(), options, options.prefetch_batches > 0 ? 1 : 0,
                        std::int64_t{options.prefetch_batches} + 1)),
        dataset_(std::move(dataset)),
        options_(options),
        transform_(std::move(transform)) {
    FROST_CHECK(options_.batch_size >= 1, "DataLoader", "batch_size must be >= 1, got ",
                options_.batch_size);
    FROST_CHECK(options_.prefetch_batches >= 0, "DataLoader", "prefetch_batches must be >= 0, got ",
                options_.prefetch_batches);
  }
  ~DataLoader() override { stop_threads(); }

  const InMemoryDataset& dataset() const { return dataset_; }
  const DataLoaderOptions& options() const { return options_; }

 private:
  Batch assemble(std::span<const std::int64_t> samples, std::uint64_t epoch,
                 std::int64_t index) const override {
    const auto count = static_cast<std::int64_t>(samples.size());
    const std::int64_t c = dataset_.channels(), h = dataset_.height(), w = dataset_.width();
    Batch batch;
    batch.labels = Tensor<std::int32_t>::empty({count});
    for (std::int64_t k = 0; k < count; ++k) {
      batch.labels.data()[k] = dataset_.label(samples[static_cast<std::size_t>(k)]);
    }
    if (!transform_) {
      batch.images = Tensor<float>::empty({count, c, h, w});
      const std::int64_t numel = dataset_.image_numel();
      for (std::int64_t k = 0; k < count; ++k) {
        std::memcpy(batch.images.data() + k * numel,
                    dataset_.image_data(samples[static_cast<std::size_t>(k)]),
                    static_cast<std::size_t>(numel) * sizeof(float));
      }
      return batch;
    }
    Generator gen(detail::mix_seed(options_.seed, epoch, static_cast<std::uint64_t>(index)));
    Image img;
    for (std::int64_t k = 0; k < count; ++k) {
      const std::int64_t sample = samples[static_cast<std::size_t>(k)];
      const float* src = dataset_.image_data(sample);
      img.channels = c, img.height = h, img.width = w;
      img.pixels.assign(src, src + dataset_.image_numel());
      transform_(img, gen);
      FROST_CHECK(
          static_cast<std::int64_t>(img.pixels.size()) == img.channels * img.height * img.width,
          "DataLoader", "the transform returned ", img.pixels.size(), " pixels for a ",
          img.channels, "x", img.height, "x", img.width, " image");
      if (k == 0) {
        batch.images = Tensor<float>::empty({count, img.channels, img.height, img.width});
      }
      const Shape sample_shape = {img.channels, img.height, img.width};
      FROST_CHECK(batch.images.size(1) == img.channels && batch.images.size(2) == img.height &&
                      batch.images.size(3) == img.width,
                  "DataLoader", "the transform made sample ", sample, " ", shape_str(sample_shape),
                  " but the batch's first sample ",
                  shape_str({batch.images.size(1), batch.images.size(2), batch.images.size(3)}));
      std::memcpy(batch.images.data() + k * static_cast<std::int64_t>(img.pixels.size()),
                  img.pixels.data(), img.pixels.size() * sizeof(float));
    }
    return batch;
  }

  InMemoryDataset dataset_;
  DataLoaderOptions options_;
  Transform transform_;
};

}  // namespace frost::data
