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
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <exception>
#include <iostream>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "frost/core/error.hpp"
#include "frost/core/rng.hpp"
#include "frost/core/tensor.hpp"
#include "frost/data/dataset.hpp"
#include "frost/data/image_folder.hpp"
#include "frost/data/image_transforms.hpp"
#include "frost/data/loader.hpp"
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

class ImageLoader {
 public:
  ImageLoader(ImageFileList files, ImageLoaderOptions options = {}, Transform transform = {})
      : files_(std::move(files)), options_(options), transform_(std::move(transform)) {
    FROST_CHECK(files_.size() > 0, "ImageLoader", "the image list is empty");
    FROST_CHECK(options_.batch_size >= 1, "ImageLoader", "batch_size must be >= 1, got ",
                options_.batch_size);
    FROST_CHECK(options_.num_workers >= 0 && options_.prefetch_batches >= 0, "ImageLoader",
                "num_workers (", options_.num_workers, ") and prefetch_batches (",
                options_.prefetch_batches, ") must be >= 0");
    FROST_CHECK(options_.channels >= 0 && options_.channels <= 4, "ImageLoader",
                "channels must be 0 (as stored) or 1 to 4, got ", options_.channels);
  }
  ImageLoader(const ImageLoader&) = delete;
  ImageLoader& operator=(const ImageLoader&) = delete;
  ~ImageLoader() { stop_workers(); }

  const ImageFileList& files() const { return files_; }
  const ImageLoaderOptions& options() const { return options_; }

  std::int64_t num_batches() const {
    const std::int64_t n = files_.size(), b = options_.batch_size;
    return options_.drop_last ? n / b : (n + b - 1) / b;
  }

  void set_epoch(std::uint64_t epoch) { next_epoch_ = epoch; }
  std::uint64_t next_epoch() const { return next_epoch_; }

  // Sample indices of an epoch, in the order they are batched (DataLoader's shuffle).
  std::vector<std::int64_t> epoch_order(std::uint64_t epoch) const {
    if (options_.shuffle) {
      Generator gen(detail::mix_seed(options_.seed, epoch, detail::kShuffleStream));
      return random_permutation(files_.size(), gen);
    }
    std::vector<std::int64_t> order(static_cast<std::size_t>(files_.size()));
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::int64_t>(i);
    return order;
  }

  // Starts a pass over the next epoch, abandoning any pass in progress.
  void start_epoch() {
    stop_workers();
    epoch_ = next_epoch_++;
    order_ = epoch_order(epoch_);
    cursor_ = 0;
    finished_ = false;
    if (options_.num_workers > 0 && num_batches() > 0) {
      stop_ = false;
      next_to_make_ = 0;
      ready_.clear();
      for (int w = 0; w < options_.num_workers; ++w)
        workers_.emplace_back([this] { worker_loop(); });
    }
  }

  // The next batch of the current pass, or nullopt when the epoch is over. Re-throws an error
  // raised while making this batch (after which the epoch is over).
  std::optional<Batch> next() {
    if (finished_ || cursor_ >= num_batches()) {
      finished_ = true;
      return std::nullopt;
    }
    if (workers_.empty()) {
      try {
        return assemble(order_, epoch_, cursor_++);
      } catch (...) {
        finished_ = true;
        throw;
      }
    }
    Slot slot;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      filled_.wait(lock, [this] { return ready_.count(cursor_) != 0; });
      auto it = ready_.find(cursor_);
      slot = std::move(it->second);
      ready_.erase(it);
      ++cursor_;
    }
    drained_.notify_all();
    if (slot.error) {
      finished_ = true;
      stop_workers();
      std::rethrow_exception(slot.error);
    }
    return std::move(slot.batch);
  }

  // Batch `index` of `epoch`, made from scratch on the calling thread.
  Batch make_batch(std::uint64_t epoch, std::int64_t index) const {
    return assemble(epoch_order(epoch), epoch, index);
  }

  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;

    Iterator() = default;
    Batch& operator*() { return *current_; }
    Batch* operator->() { return &*current_; }
    Iterator& operator++() {
      current_ = loader_->next();
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return !current_.has_value(); }

   private:
    friend class ImageLoader;
    explicit Iterator(ImageLoader* loader) : loader_(loader), current_(loader->next()) {}
    ImageLoader* loader_ = nullptr;
    std::optional<Batch> current_;
  };

  Iterator begin() {
    start_epoch();
    return Iterator(this);
  }
  std::default_sentinel_t end() const { return {}; }

 private:
  struct Slot {
    std::optional<Batch> batch;
    std::exception_ptr error;
  };

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

  Batch assemble(const std::vector<std::int64_t>& order, std::uint64_t epoch,
                 std::int64_t index) const {
    FROST_CHECK(index >= 0 && index < num_batches(), "ImageLoader", "batch ", index,
                " out of range for ", num_batches(), " batches per epoch");
    const std::int64_t begin = index * options_.batch_size;
    const std::int64_t count = std::min(options_.batch_size, files_.size() - begin);
    std::vector<Image> images;
    std::vector<std::int32_t> labels;
    images.reserve(static_cast<std::size_t>(count));
    for (std::int64_t k = 0; k < count; ++k) {
      const std::int64_t sample = order[static_cast<std::size_t>(begin + k)];
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

  std::int64_t window() const {
    return std::max<std::int64_t>(options_.prefetch_batches, options_.num_workers);
  }

  void worker_loop() {
    const std::int64_t batches = num_batches();
    for (;;) {
      std::int64_t index = 0;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        drained_.wait(lock, [&] {
          return stop_ || next_to_make_ >= batches || next_to_make_ < cursor_ + window();
        });
        if (stop_ || next_to_make_ >= batches) return;
        index = next_to_make_++;
      }
      Slot slot;
      try {
        slot.batch = assemble(order_, epoch_, index);
      } catch (...) {
        slot.error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stop_) return;
        ready_.emplace(index, std::move(slot));
      }
      filled_.notify_all();
    }
  }

  void stop_workers() {
    if (workers_.empty()) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    drained_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
    ready_.clear();
  }

  ImageFileList files_;
  ImageLoaderOptions options_;
  Transform transform_;

  // The pass in progress; workers read order_ and epoch_, which change only while none run.
  std::uint64_t next_epoch_ = 0;
  std::uint64_t epoch_ = 0;
  std::vector<std::int64_t> order_;
  std::int64_t cursor_ = 0;  // guarded by mutex_ while workers run
  bool finished_ = true;

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable filled_, drained_;
  std::map<std::int64_t, Slot> ready_;
  std::int64_t next_to_make_ = 0;
  bool stop_ = false;
};

}  // namespace frost::data
