// frost-classify: classifies image files with an INT8 model file (frost-train --save-int8, or
// engine::save), printing each image's top classes by name with their probabilities and the time
// per image.
//
//   frost-classify MODEL PATH... [--top 5] [--threads 1] [--quiet]
//
// PATH is an image (PNG, JPEG, BMP, TGA through stb_image) or a folder, searched recursively for
// them in sorted order. Each image is decoded to the model's channel count (grey for 1, RGB for
// 3), resized to its H x W (bilinear, torchvision's resize), scaled to [0, 1] and normalised
// with the mean and std stored in the model file (as frost-train trained it), then run at batch
// 1. When an image's folder is named after one of the model's classes (an image folder's test/
// split), its label is known and the top-1 accuracy is printed at the end. --quiet prints only
// that summary.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <frost/core/parallel.hpp>
#include <frost/core/rng.hpp>
#include <frost/data/image_folder.hpp>
#include <frost/data/image_transforms.hpp>
#include <frost/data/transforms.hpp>
#include <frost/engine/serialize.hpp>
#include <frost/io/image.hpp>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  fs::path model;
  std::vector<fs::path> paths;
  int top = 5;
  int threads = 1;
  bool quiet = false;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::cerr << "frost-classify: " << message
            << "\nusage: frost-classify MODEL IMAGE|FOLDER... [--top K] [--threads N] [--quiet]\n";
  std::exit(2);
}

Args parse_args(int argc, char** argv) {
  Args a;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    const auto number = [&]() {
      if (i + 1 >= argc) usage_error(std::string(flag) + " needs a value");
      std::istringstream in(argv[++i]);
      int v = 0;
      in >> v;
      if (in.fail() || !in.eof()) usage_error(std::string(flag) + " expects an integer");
      return v;
    };
    if (flag == "--top")
      a.top = number();
    else if (flag == "--threads")
      a.threads = number();
    else if (flag == "--quiet")
      a.quiet = true;
    else if (flag == "--help" || flag == "-h")
      usage_error("classifies images with an INT8 model (see examples/frost_classify/main.cpp)");
    else if (flag.starts_with("--"))
      usage_error("unknown flag '" + std::string(flag) + "'");
    else
      positional.emplace_back(flag);
  }
  if (positional.size() < 2) usage_error("needs a model file and at least one image or folder");
  if (a.top < 1 || a.threads < 1) usage_error("--top and --threads must be positive");
  a.model = positional[0];
  a.paths.assign(positional.begin() + 1, positional.end());
  return a;
}

// The image files named on the command line, folders expanded (recursively, sorted).
std::vector<fs::path> image_files(const std::vector<fs::path>& paths) {
  std::vector<fs::path> files;
  for (const fs::path& p : paths) {
    if (fs::is_directory(p)) {
      std::vector<fs::path> found;
      for (const auto& entry : fs::recursive_directory_iterator(p))
        if (entry.is_regular_file() &&
            frost::data::detail::has_extension(entry.path(), frost::data::kDefaultImageExtensions))
          found.push_back(entry.path());
      if (found.empty())
        throw frost::Error("frost-classify: folder '" + p.string() + "' holds no image files (" +
                           "png, jpg, jpeg, bmp, tga)");
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::exists(p)) {
      files.push_back(p);
    } else {
      throw frost::Error("frost-classify: '" + p.string() + "' does not exist");
    }
  }
  return files;
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int run(const Args& args) {
  frost::set_num_threads(args.threads);
  const frost::engine::Int8Model model = frost::engine::load(args.model);
  const std::vector<std::int64_t>& shape = model.input_shape;
  if (shape.size() != 3)
    throw frost::Error("frost-classify: '" + args.model.string() + "' takes input " +
                       frost::shape_str(shape) + ", not an image [C, H, W]");
  const std::int64_t channels = shape[0], height = shape[1], width = shape[2];
  if (channels != 1 && channels != 3)
    throw frost::Error("frost-classify: '" + args.model.string() + "' takes " +
                       std::to_string(channels) + " input channels; images give 1 or 3");
  std::vector<frost::data::Transform> steps = {frost::data::resize(height, width)};
  if (!model.input_mean.empty())
    steps.push_back(frost::data::normalize(model.input_mean, model.input_std));
  const frost::data::Transform preprocess = frost::data::compose(std::move(steps));
  const std::vector<fs::path> files = image_files(args.paths);
  std::printf("%s: %s input %lldx%lldx%lld, %zu classes%s; %zu image(s), %d thread(s)\n",
              args.model.string().c_str(),
              std::string(frost::kernels::isa_name(model.packed_isa())).c_str(),
              static_cast<long long>(channels), static_cast<long long>(height),
              static_cast<long long>(width), model.class_names.size(),
              model.input_mean.empty() ? ", no stored normalisation" : "", files.size(),
              args.threads);

  std::vector<double> forward_ms, total_ms;
  std::int64_t labelled = 0, correct = 0;
  frost::Generator unused(0);  // resize and normalize draw nothing
  for (const fs::path& file : files) {
    const auto t0 = Clock::now();
    frost::data::Image image =
        frost::data::to_image(frost::io::read_image(file, static_cast<int>(channels)));
    preprocess(image, unused);
    const frost::Tensor<float> x =
        frost::data::to_tensor(image).reshape({1, channels, height, width});
    const auto t1 = Clock::now();
    const frost::Tensor<float> logits = model.forward(x);
    forward_ms.push_back(ms_since(t1));
    total_ms.push_back(ms_since(t0));

    // Softmax in double: the top probabilities of a confident model underflow nothing.
    const std::int64_t classes = logits.numel();
    const float* z = logits.data();
    const double zmax = *std::max_element(z, z + classes);
    std::vector<double> p(static_cast<std::size_t>(classes));
    double sum = 0;
    for (std::int64_t k = 0; k < classes; ++k) sum += p[k] = std::exp(z[k] - zmax);
    std::vector<std::int64_t> order(static_cast<std::size_t>(classes));
    std::iota(order.begin(), order.end(), 0);
    const auto top = std::min<std::int64_t>(args.top, classes);
    std::partial_sort(
        order.begin(), order.begin() + top, order.end(),
        [&](std::int64_t a, std::int64_t b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
    const auto name = [&](std::int64_t k) {
      return k < static_cast<std::int64_t>(model.class_names.size())
                 ? model.class_names[static_cast<std::size_t>(k)]
                 : "class " + std::to_string(k);
    };
    const std::string folder = file.parent_path().filename().string();
    const auto label = std::find(model.class_names.begin(), model.class_names.end(), folder);
    if (label != model.class_names.end()) {
      ++labelled;
      correct += order[0] == label - model.class_names.begin();
    }
    if (args.quiet) continue;
    std::printf("%s (%.3f ms):", file.string().c_str(), forward_ms.back());
    for (std::int64_t r = 0; r < top; ++r)
      std::printf("%s %s %.2f%%", r ? "," : "", name(order[r]).c_str(), 100.0 * p[order[r]] / sum);
    std::printf("\n");
  }
  const double mean_forward =
      std::accumulate(forward_ms.begin(), forward_ms.end(), 0.0) / forward_ms.size();
  std::printf(
      "%zu image(s): INT8 forward median %.3f ms, mean %.3f ms per image; with decoding "
      "and resizing median %.3f ms\n",
      files.size(), median(forward_ms), mean_forward, median(total_ms));
  if (labelled > 0)
    std::printf("top-1 accuracy %.2f%% (%lld of %lld images in folders named after a class)\n",
                100.0 * static_cast<double>(correct) / static_cast<double>(labelled),
                static_cast<long long>(correct), static_cast<long long>(labelled));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);
  try {
    return run(args);
  } catch (const std::exception& e) {  // frost::Error names the op and the file
    std::cerr << "frost-classify: " << e.what() << "\n";
    return 1;
  }
}
