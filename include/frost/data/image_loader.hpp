#pragma once
// ImageLoader: mini-batches decoded from image files and augmented on N worker threads, in the
// order and with the augmentations a single thread would give.
//
//   auto files = frost::data::scan_image_folder("photos/train");
//   frost::data::ImageLoader loader(files, {.batch_size = 64, .seed = 1, .num_workers = 2},
//       frost::data::compose({frost::data::random_resized_crop(224),
//                             frost::data::random_horizontal_flip(),
//                             frost::data::normalize({0.485f, 0.456f, 0.406f},
//                                                    {0.229f, 0.224f, 0.225f})}));
//   for (const frost::data::Batch& batch : loader) train_step(batch.images, batch.labels);
//
// Determinism: the sample order of epoch e depends only on (seed, e), as in DataLoader, and
// sample i's transform gets a generator seeded from (seed, e, i), not a share of one stream,
// so a batch does not depend on which worker made it or when: the same seed gives bit-identical
// batches for any num_workers, including 0 (everything on the caller).
//
// Workers claim whole batches in order and may run up to prefetch_batches ahead of the
// consumer; finished batches are handed out strictly in order. They use their own threads, not
// the shared pool, so the training loop's parallel ops never wait for them. Decoding errors are
// a frost::Error naming the file, re-thrown by next() when the consumer reaches that batch, or,
// with skip_bad_files, a warning on stderr and a batch one sample shorter (the same samples are
// skipped whatever the worker count; a batch whose every file is bad has shape [0, 0, 0, 0]).

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "frost/core/error.hpp"
#include "frost/core/rng.hpp"
#include "frost/core/tensor.hpp"
#include "frost/data/image_folder.hpp"
#include "frost/data/image_transforms.hpp"
#include "frost/data/loader_base.hpp"
#include "frost/data/transforms.hpp"
#include "frost/io/image.hpp"

namespace frost::data {

struct ImageLoaderOptions {
  std::int64_t batch_size = 64;
  bool shuffle = true;
  bool drop_last = false;  // drop the final batch when it is smaller than batch_size
  std::uint64_t seed = 0;
  int num_workers = 2;          // decoding threads; 0 = decode on the caller, no threads
  int prefetch_batches = 4;     // batches made or being made ahead of the consumer (>= num_workers)
  int channels = 3;             // decode to 1 (grey) or 3 (RGB) channels; 0 = as stored
  bool skip_bad_files = false;  // warn and drop unreadable images instead of throwing
};

namespace detail {

inline constexpr std::uint64_t kSampleAugmentStream = 0xa5a5a5a5a5a5a5a5ULL;

// Seed of sample `index`'s augmentations in `epoch`.
inline std::uint64_t sample_seed(std::uint64_t seed, std::uint64_t epoch, std::int64_t index) {
  return mix_seed(mix_seed(seed, epoch, kSampleAugmentStream), static_cast<std::uint64_t>(index),
                  0);
}

inline void warn_skipped(const std::string& what) {
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  std::cerr << "frost: warning: ImageLoader skips a sample: " << what << '\n';
}

}  // namespace detail

// Epochs, passes, next(), make_batch() and range-for come from detail::LoaderBase.
class ImageLoader : public detail::LoaderBase {
 public:
  ImageLoader(ImageFileList files, ImageLoaderOptions options = {}, Transform transform = {})
      : LoaderBase(plan("ImageLoader", files.size(), options, options.num_workers,
                        std::max<std::int64_t>(options.prefetch_batches, options.num_workers))),
        files_(std::move(files)),
        options_(options),
        transform_(std::move(transform)) {
    FROST_CHECK(files_.size() > 0, "ImageLoader", "the image list is empty");
    FROST_CHECK(options_.batch_size >= 1, "ImageLoader", "batch_size must be >= 1, got ",
                options_.batch_size);
    FROST_CHECK(options_.num_workers >= 0 && options_.prefetch_batches >= 0, "ImageLoader",
                "num_workers (", options_.num_workers, ") and prefetch_batches (",
                options_.prefetch_batches, ") must be >= 0");
    FROST_CHECK(options_.channels >= 0 && options_.channels <= 4, "ImageLoader",
                "channels must be 0 (as stored) or 1 to 4, got ", options_.channels);
  }
  ~ImageLoader() override { stop_threads(); }

  const ImageFileList& files() const { return files_; }
  const ImageLoaderOptions& options() const { return options_; }

 private:
  // Decodes and transforms one sample; nullopt when it is skipped as unreadable.
  std::optional<Image> load_sample(std::int64_t sample, std::uint64_t epoch) const {
    const ImageSample& s = files_.samples[static_cast<std::size_t>(sample)];
    Image img;
    try {
      img = to_image(io::read_image(s.path, options_.channels));
    } catch (const Error& e) {
      if (!options_.skip_bad_files) throw;
      detail::warn_skipped(e.what());
      return std::nullopt;
    }
    if (transform_) {
      Generator gen(detail::sample_seed(options_.seed, epoch, sample));
      transform_(img, gen);
      FROST_CHECK(
          static_cast<std::int64_t>(img.pixels.size()) == img.channels * img.height * img.width,
          "ImageLoader", "the transform returned ", img.pixels.size(), " pixels for a ",
          img.channels, "x", img.height, "x", img.width, " image from '", s.path.string(), "'");
    }
    return img;
  }

  Batch assemble(std::span<const std::int64_t> samples, std::uint64_t epoch,
                 std::int64_t /*index*/) const override {
    std::vector<Image> images;
    std::vector<std::int32_t> labels;
    images.reserve(samples.size());
    for (const std::int64_t sample : samples) {
      std::optional<Image> img = load_sample(sample, epoch);
      if (!img) continue;
      if (!images.empty()) {
        const Image& first = images.front();
        FROST_CHECK(img->channels == first.channels && img->height == first.height &&
                        img->width == first.width,
                    "ImageLoader", "'",
                    files_.samples[static_cast<std::size_t>(sample)].path.string(), "' gives a ",
                    img->channels, "x", img->height, "x", img->width,
                    " sample but the batch's first is ", first.channels, "x", first.height, "x",
                    first.width, "; set channels and add a resize or crop to the transform");
      }
      images.push_back(std::move(*img));
      labels.push_back(files_.samples[static_cast<std::size_t>(sample)].label);
    }
    Batch batch;
    const auto n = static_cast<std::int64_t>(images.size());
    batch.labels = Tensor<std::int32_t>::from_vector(labels, {n});
    if (images.empty()) {
      batch.images = Tensor<float>::empty({0, 0, 0, 0});
      return batch;
    }
    const Image& first = images.front();
    batch.images = Tensor<float>::empty({n, first.channels, first.height, first.width});
    const std::size_t numel = first.pixels.size();
    for (std::int64_t k = 0; k < n; ++k) {
      std::memcpy(batch.images.data() + k * static_cast<std::int64_t>(numel),
                  images[static_cast<std::size_t>(k)].pixels.data(), numel * sizeof(float));
    }
    return batch;
  }

  ImageFileList files_;
  ImageLoaderOptions options_;
  Transform transform_;
};

}  // namespace frost::data
