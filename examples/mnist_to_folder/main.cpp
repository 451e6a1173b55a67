// Writes Fashion-MNIST (or MNIST) IDX files out as a PNG image folder, the layout
// frost::data::scan_image_folder, torchvision's ImageFolder and timm read:
//
//   mnist_to_folder [--data /usr/share/datasets/fashion-mnist] [--out fashion-mnist-png]
//                   [--limit N] [--threads N]
//
//   <out>/train/0_T-shirt_top/00000.png ... <out>/test/9_Ankle_boot/09999.png
//
// Class folders start with the label digit, so their sorted order is the label order. Each PNG
// is the 28 x 28 grey image as stored; the file name is the sample's index in its IDX file.
// --limit keeps the first N samples of each split (for quick experiments). At the end each
// split is scanned back, which checks the counts and writes the folder's index file, and every
// 997th image is decoded and compared with the IDX bytes.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <frost/core/error.hpp>
#include <frost/core/parallel.hpp>
#include <frost/data/idx.hpp>
#include <frost/data/image_folder.hpp>
#include <frost/io/image.hpp>

namespace {

const char* const kFashionClasses[10] = {"0_T-shirt_top", "1_Trouser",   "2_Pullover", "3_Dress",
                                         "4_Coat",        "5_Sandal",    "6_Shirt",    "7_Sneaker",
                                         "8_Bag",         "9_Ankle_boot"};

struct Args {
  std::filesystem::path data = frost::data::kDebianFashionMnistDir;
  std::filesystem::path out = "fashion-mnist-png";
  std::int64_t limit = -1;
  int threads = 0;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const auto value = [&]() -> std::string {
      FROST_CHECK(i + 1 < argc, "mnist_to_folder", flag, " needs a value");
      return argv[++i];
    };
    if (flag == "--data") {
      a.data = value();
    } else if (flag == "--out") {
      a.out = value();
    } else if (flag == "--limit") {
      a.limit = std::stoll(value());
    } else if (flag == "--threads") {
      a.threads = std::stoi(value());
    } else {
      FROST_CHECK(false, "mnist_to_folder", "unknown flag '", flag,
                  "'; usage: mnist_to_folder [--data DIR] [--out DIR] [--limit N] [--threads N]");
    }
  }
  return a;
}

std::int64_t write_split(const Args& args, const std::string& idx_split, const std::string& name) {
  const frost::data::IdxDataset ds = frost::data::read_idx_dataset(args.data, idx_split);
  const std::int64_t count =
      args.limit >= 0 ? std::min(args.limit, ds.images.count) : ds.images.count;
  const std::filesystem::path root = args.out / name;
  for (const char* cls : kFashionClasses) std::filesystem::create_directories(root / cls);
  const std::int64_t rows = ds.images.rows, cols = ds.images.cols;
  frost::parallel_for(0, count, 256, [&](std::int64_t lo, std::int64_t hi) {
    char file[32];
    for (std::int64_t i = lo; i < hi; ++i) {
      auto img = frost::Tensor<std::uint8_t>::empty({rows, cols, 1});
      std::copy_n(ds.images.pixels.data() + i * rows * cols, rows * cols, img.data());
      std::snprintf(file, sizeof file, "%05lld.png", static_cast<long long>(i));
      frost::io::write_png(root / kFashionClasses[ds.labels[static_cast<std::size_t>(i)]] / file,
                           img);
    }
  });
  // Spot check: every 997th image decodes back to exactly the IDX bytes.
  for (std::int64_t i = 0; i < count; i += 997) {
    char file[32];
    std::snprintf(file, sizeof file, "%05lld.png", static_cast<long long>(i));
    const auto path = root / kFashionClasses[ds.labels[static_cast<std::size_t>(i)]] / file;
    const auto back = frost::io::read_image(path, 1);
    FROST_CHECK(
        back.numel() == rows * cols && std::equal(back.data(), back.data() + rows * cols,
                                                  ds.images.pixels.data() + i * rows * cols),
        "mnist_to_folder", "'", path.string(), "' does not decode to sample ", i);
  }
  return count;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args args = parse(argc, argv);
    if (args.threads > 0) frost::set_num_threads(args.threads);
    for (const auto& [idx_split, name] :
         {std::pair<std::string, std::string>{"train", "train"}, {"t10k", "test"}}) {
      const std::int64_t written = write_split(args, idx_split, name);
      const auto listed = frost::data::scan_image_folder(args.out / name);
      FROST_CHECK(listed.size() == written, "mnist_to_folder", "wrote ", written, " images but '",
                  (args.out / name).string(), "' lists ", listed.size(),
                  " (was the folder not empty?)");
      std::cout << (args.out / name).string() << ": " << written << " PNG images in "
                << listed.classes.size() << " classes\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "mnist_to_folder: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
