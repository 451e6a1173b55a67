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

#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <exception>
#include <iterator>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "frost/core/error.hpp"
#include "frost/core/rng.hpp"
#include "frost/core/tensor.hpp"
#include "frost/data/dataset.hpp"
#include "frost/data/transforms.hpp"

namespace frost::data {

struct Batch {
  Tensor<float> images;         // [B, C, H, W] (H, W after the transforms)
  Tensor<std::int32_t> labels;  // [B]
  std::int64_t size() const { return labels.size(0); }
};

struct DataLoaderOptions {
  std::int64_t batch_size = 64;
  bool shuffle = true;
  bool drop_last = false;  // drop the final batch when it is smaller than batch_size
  std::uint64_t seed = 0;
  int prefetch_batches = 2;  // batches made ahead on a background thread; 0 = on the caller
};

namespace detail {

// Independent seeds from a tuple of integers (splitmix64 finaliser, chained).
inline std::uint64_t mix_seed(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  std::uint64_t h = a;
  for (const std::uint64_t v : {b, c}) {
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    h ^= h >> 31;
  }
  return h;
}

inline constexpr std::uint64_t kShuffleStream = ~std::uint64_t{0};

}  // namespace detail

class DataLoader {
 public:
  DataLoader(InMemoryDataset dataset, DataLoaderOptions options = {}, Transform transform = {})
      : dataset_(std::move(dataset)), options_(options), transform_(std::move(transform)) {
    FROST_CHECK(options_.batch_size >= 1, "DataLoader", "batch_size must be >= 1, got ",
                options_.batch_size);
    FROST_CHECK(options_.prefetch_batches >= 0, "DataLoader", "prefetch_batches must be >= 0, got ",
                options_.prefetch_batches);
  }
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;
  ~DataLoader() { stop_worker(); }

  const InMemoryDataset& dataset() const { return dataset_; }
  const DataLoaderOptions& options() const { return options_; }

  // Batches per epoch.
  std::int64_t num_batches() const {
    const std::int64_t n = dataset_.size(), b = options_.batch_size;
    return options_.drop_last ? n / b : (n + b - 1) / b;
  }

  // The epoch the next pass (begin() or start_epoch()) will use.
  void set_epoch(std::uint64_t epoch) { next_epoch_ = epoch; }
  std::uint64_t next_epoch() const { return next_epoch_; }

  // Sample indices of an epoch, in the order they are batched.
  std::vector<std::int64_t> epoch_order(std::uint64_t epoch) const {
    if (options_.shuffle) {
      Generator gen(detail::mix_seed(options_.seed, epoch, detail::kShuffleStream));
      return random_permutation(dataset_.size(), gen);
    }
    std::vector<std::int64_t> order(static_cast<std::size_t>(dataset_.size()));
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::int64_t>(i);
    return order;
  }

  // Starts a pass over the next epoch, abandoning any pass in progress.
  void start_epoch() {
    stop_worker();
    epoch_ = next_epoch_++;
    order_ = epoch_order(epoch_);
    cursor_ = 0;
    finished_ = false;
    if (options_.prefetch_batches > 0 && num_batches() > 0) {
      stop_ = false;
      queue_.clear();
      worker_ = std::thread([this] { worker_loop(); });
    }
  }

  // The next batch of the current pass, or nullopt when the epoch is over. Re-throws an
  // exception raised while making this batch (after which the epoch is over).
  std::optional<Batch> next() {
    if (finished_ || cursor_ >= num_batches()) {
      finished_ = true;
      return std::nullopt;
    }
    if (!worker_.joinable()) {
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
      filled_.wait(lock, [this] { return !queue_.empty(); });
      slot = std::move(queue_.front());
      queue_.pop_front();
    }
    drained_.notify_one();
    ++cursor_;
    if (slot.error) {
      finished_ = true;
      stop_worker();
      std::rethrow_exception(slot.error);
    }
    return std::move(slot.batch);
  }

  // Batch `index` of `epoch`, made from scratch on the calling thread: the same tensors a pass
  // over that epoch yields at that position.
  Batch make_batch(std::uint64_t epoch, std::int64_t index) const {
    return assemble(epoch_order(epoch), epoch, index);
  }

  // Range-for support: begin() starts the next epoch.
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
    friend class DataLoader;
    explicit Iterator(DataLoader* loader) : loader_(loader), current_(loader->next()) {}
    DataLoader* loader_ = nullptr;
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

  Batch assemble(const std::vector<std::int64_t>& order, std::uint64_t epoch,
                 std::int64_t index) const {
    FROST_CHECK(index >= 0 && index < num_batches(), "DataLoader", "batch ", index,
                " out of range for ", num_batches(), " batches per epoch");
    const std::int64_t begin = index * options_.batch_size;
    const std::int64_t count = std::min(options_.batch_size, dataset_.size() - begin);
    const std::int64_t c = dataset_.channels(), h = dataset_.height(), w = dataset_.width();
    Batch batch;
    batch.labels = Tensor<std::int32_t>::empty({count});
    for (std::int64_t k = 0; k < count; ++k) {
      batch.labels.data()[k] = dataset_.label(order[static_cast<std::size_t>(begin + k)]);
    }
    if (!transform_) {
      batch.images = Tensor<float>::empty({count, c, h, w});
      const std::int64_t numel = dataset_.image_numel();
      for (std::int64_t k = 0; k < count; ++k) {
        std::memcpy(batch.images.data() + k * numel,
                    dataset_.image_data(order[static_cast<std::size_t>(begin + k)]),
                    static_cast<std::size_t>(numel) * sizeof(float));
      }
      return batch;
    }
    Generator gen(detail::mix_seed(options_.seed, epoch, static_cast<std::uint64_t>(index)));
    Image img;
    for (std::int64_t k = 0; k < count; ++k) {
      const std::int64_t sample = order[static_cast<std::size_t>(begin + k)];
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

  void worker_loop() {
    const std::int64_t batches = num_batches();
    for (std::int64_t index = 0; index < batches; ++index) {
      Slot slot;
      try {
        slot.batch = assemble(order_, epoch_, index);
      } catch (...) {
        slot.error = std::current_exception();
      }
      const bool failed = slot.error != nullptr;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        drained_.wait(lock, [this] {
          return stop_ || queue_.size() < static_cast<std::size_t>(options_.prefetch_batches);
        });
        if (stop_) return;
        queue_.push_back(std::move(slot));
      }
      filled_.notify_one();
      if (failed) return;
    }
  }

  void stop_worker() {
    if (!worker_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    drained_.notify_all();
    worker_.join();
    queue_.clear();
  }

  InMemoryDataset dataset_;
  DataLoaderOptions options_;
  Transform transform_;

  // The pass in progress. The worker reads order_ and epoch_, which change only while it is
  // stopped.
  std::uint64_t next_epoch_ = 0;
  std::uint64_t epoch_ = 0;
  std::vector<std::int64_t> order_;
  std::int64_t cursor_ = 0;
  bool finished_ = true;

  std::thread worker_;
  std::mutex mutex_;
  std::condition_variable filled_, drained_;
  std::deque<Slot> queue_;
  bool stop_ = false;
};

}  // namespace frost::data
