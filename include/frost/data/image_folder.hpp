#pragma once
// Lists of labelled image files: an image folder (one sub-folder per class, the layout of
// ImageNet, torchvision's ImageFolder and timm), a list file of "path label" lines, and a seeded
// train/validation split. Only paths are listed here; decoding happens in the loader
// (data/image_loader.hpp), so a million-image folder costs a directory walk, not a decode.
//
//   auto train = frost::data::scan_image_folder("photos/train");  // classes sorted by name
//   auto [fit, val] = frost::data::split_train_validation(train, 0.1, /*seed=*/1);
//
// Walking a large tree on every start is slow on network file systems, so scan_image_folder
// caches the listing in an index file (by default `.frost-index` in the root). The index
// records the modification time of every directory it walked; adding, removing or renaming a
// file changes its directory's time, so a stale index is detected without listing files and
// is rebuilt. A root that cannot be written is simply not cached.

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "frost/core/error.hpp"
#include "frost/core/rng.hpp"
#include "frost/data/dataset.hpp"
#include "frost/io/file.hpp"

namespace frost::data {

struct ImageSample {
  std::filesystem::path path;
  std::int32_t label = 0;
};

// Labelled image paths. classes[label] names the class (empty for a list file without names).
struct ImageFileList {
  std::vector<std::string> classes;
  std::vector<ImageSample> samples;
  std::int64_t size() const { return static_cast<std::int64_t>(samples.size()); }
};

inline const std::vector<std::string> kDefaultImageExtensions = {".png", ".jpg", ".jpeg", ".bmp",
                                                                 ".tga"};

struct ImageFolderOptions {
  std::vector<std::string> extensions = kDefaultImageExtensions;  // compared case-insensitively
  bool use_index = true;                                          // read and write the cached index
  std::filesystem::path index_path;                               // empty: <root>/.frost-index
};

namespace detail {

inline std::string ascii_lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

inline bool has_extension(const std::filesystem::path& p, const std::vector<std::string>& exts) {
  const std::string ext = ascii_lower(p.extension().string());
  return std::any_of(exts.begin(), exts.end(),
                     [&](const std::string& e) { return ascii_lower(e) == ext; });
}

inline std::int64_t mtime_ns(const std::filesystem::path& dir) {
  std::error_code ec;
  const auto t = std::filesystem::last_write_time(dir, ec);
  if (ec) return -1;
  return static_cast<std::int64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

// Sorted names of the sub-directories of `root` (hidden ones skipped, as torchvision does not
// but every user expects: a .git or .ipynb_checkpoints folder is not a class).
inline std::vector<std::string> class_folders(const std::filesystem::path& root) {
  std::error_code ec;
  FROST_CHECK(std::filesystem::is_directory(root, ec), "scan_image_folder", "'", root.string(),
              "': not a directory");
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.empty() && name[0] != '.' && entry.is_directory(ec)) names.push_back(name);
  }
  FROST_CHECK(!ec, "scan_image_folder", "'", root.string(), "': cannot list: ", ec.message());
  std::sort(names.begin(), names.end());
  FROST_CHECK(!names.empty(), "scan_image_folder", "'", root.string(),
              "': no class sub-folders (expected <root>/<class>/<image>)");
  return names;
}

// The index: a header line, then "dir <mtime_ns> <relative dir>" for every directory walked
// and "file <label> <relative path>" for every image, the path last so it may hold spaces.
inline constexpr const char* kIndexHeader = "frost-image-index 1";

struct FolderIndex {
  std::vector<std::pair<std::int64_t, std::string>> dirs;  // (mtime, path relative to root)
  ImageFileList list;                                      // paths relative to root
};

inline bool index_is_fresh(const FolderIndex& index, const std::filesystem::path& root,
                           const std::vector<std::string>& classes) {
  if (index.list.classes != classes) return false;
  for (const auto& [mtime, rel] : index.dirs) {
    if (mtime_ns(root / rel) != mtime) return false;
  }
  return true;
}

inline bool read_index(const std::filesystem::path& path, FolderIndex& index) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line) || line != kIndexHeader) return false;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string kind;
    std::int64_t number = 0;
    if (!(fields >> kind >> number) || fields.get() != ' ') return false;
    std::string rest;
    std::getline(fields, rest);
    if (kind == "class") {
      index.list.classes.push_back(rest);
    } else if (kind == "dir") {
      index.dirs.emplace_back(number, rest);
    } else if (kind == "file") {
      if (number < 0 || number >= static_cast<std::int64_t>(index.list.classes.size()))
        return false;
      index.list.samples.push_back({rest, static_cast<std::int32_t>(number)});
    } else {
      return false;
    }
  }
  return true;
}

inline void write_index(const std::filesystem::path& path, const FolderIndex& index) {
  io::write_file_atomically(path, "scan_image_folder", [&](std::ostream& out) {
    out << kIndexHeader << '\n';
    for (std::size_t c = 0; c < index.list.classes.size(); ++c) {
      out << "class " << c << ' ' << index.list.classes[c] << '\n';
    }
    for (const auto& [mtime, rel] : index.dirs) out << "dir " << mtime << ' ' << rel << '\n';
    for (const auto& s : index.list.samples) {
      out << "file " << s.label << ' ' << s.path.generic_string() << '\n';
    }
  });
}

inline FolderIndex walk_folder(const std::filesystem::path& root,
                               const std::vector<std::string>& classes,
                               const std::vector<std::string>& extensions) {
  FolderIndex index;
  index.list.classes = classes;
  for (std::size_t label = 0; label < classes.size(); ++label) {
    const std::filesystem::path class_dir = root / classes[label];
    index.dirs.emplace_back(mtime_ns(class_dir), classes[label]);
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    const auto options = std::filesystem::directory_options::follow_directory_symlink;
    for (auto it = std::filesystem::recursive_directory_iterator(class_dir, options, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      const auto rel = std::filesystem::relative(it->path(), root, ec);
      if (it->is_directory(ec)) {
        index.dirs.emplace_back(mtime_ns(it->path()), rel.generic_string());
      } else if (has_extension(it->path(), extensions)) {
        files.push_back(rel);
      }
    }
    FROST_CHECK(!ec, "scan_image_folder", "'", class_dir.string(),
                "': cannot list: ", ec.message());
    FROST_CHECK(!files.empty(), "scan_image_folder", "class '", classes[label], "' ('",
                class_dir.string(), "') has no images with the extensions searched for");
    std::sort(files.begin(), files.end());
    for (auto& f : files)
      index.list.samples.push_back({std::move(f), static_cast<std::int32_t>(label)});
  }
  return index;
}

}  // namespace detail

// Lists <root>/<class>/**/<image> with labels 0..K-1 in sorted class-name order and files
// sorted by path within each class. Errors: root missing or without class folders, a class
// folder without images.
inline ImageFileList scan_image_folder(const std::filesystem::path& root,
                                       const ImageFolderOptions& options = {}) {
  const std::vector<std::string> classes = detail::class_folders(root);
  const std::filesystem::path index_path =
      options.index_path.empty() ? root / ".frost-index" : options.index_path;
  detail::FolderIndex index;
  // The index does not record the extensions it was built with, so only the default set uses it.
  const bool cacheable = options.use_index && options.extensions == kDefaultImageExtensions;
  if (!(cacheable && detail::read_index(index_path, index) &&
        detail::index_is_fresh(index, root, classes))) {
    index = detail::walk_folder(root, classes, options.extensions);
    if (cacheable) {
      try {
        detail::write_index(index_path, index);
      } catch (const Error&) {
        // A read-only dataset is fine; it is just walked every time.
      }
    }
  }
  for (auto& s : index.list.samples) s.path = root / s.path;
  return std::move(index.list);
}

// Reads "path label" lines (label a non-negative integer, the last field, so paths may hold
// spaces; blank lines and lines starting with '#' are skipped). Relative paths are relative to
// the list file's directory. classes is left empty.
inline ImageFileList read_image_list(const std::filesystem::path& list_path) {
  const std::vector<std::uint8_t> bytes = io::read_file(list_path, "read_image_list");
  std::istringstream in(std::string(bytes.begin(), bytes.end()));
  ImageFileList list;
  std::string line;
  for (std::int64_t line_no = 1; std::getline(in, line); ++line_no) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    const auto last = line.find_last_not_of(" \t");
    const auto split = line.find_last_of(" \t", last);
    FROST_CHECK(split != std::string::npos && split > first, "read_image_list", "'",
                list_path.string(), "' line ", line_no, ": expected 'path label', got '", line,
                "'");
    const std::string label_text = line.substr(split + 1, last - split);
    std::size_t used = 0;
    long long label = -1;
    try {
      label = std::stoll(label_text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    FROST_CHECK(used == label_text.size() && label >= 0 && label <= INT32_MAX, "read_image_list",
                "'", list_path.string(), "' line ", line_no, ": label '", label_text,
                "' is not a non-negative integer");
    std::filesystem::path path =
        line.substr(first, line.find_last_not_of(" \t", split) - first + 1);
    if (path.is_relative()) path = list_path.parent_path() / path;
    list.samples.push_back({std::move(path), static_cast<std::int32_t>(label)});
  }
  FROST_CHECK(!list.samples.empty(), "read_image_list", "'", list_path.string(),
              "': no 'path label' lines");
  return list;
}

// Splits per class: of each class's n samples, round(n * validation_fraction) go to validation,
// chosen by a permutation seeded from `seed`, so both parts keep the class balance. Both parts
// keep the input order and the class names.
inline std::pair<ImageFileList, ImageFileList> split_train_validation(const ImageFileList& list,
                                                                      double validation_fraction,
                                                                      std::uint64_t seed) {
  FROST_CHECK(validation_fraction >= 0 && validation_fraction <= 1, "split_train_validation",
              "validation_fraction ", validation_fraction, " is outside [0, 1]");
  std::map<std::int32_t, std::vector<std::size_t>> by_class;
  for (std::size_t i = 0; i < list.samples.size(); ++i)
    by_class[list.samples[i].label].push_back(i);
  std::vector<bool> to_validation(list.samples.size(), false);
  Generator gen(seed);
  for (const auto& [label, members] : by_class) {
    const auto n = static_cast<std::int64_t>(members.size());
    const auto take =
        static_cast<std::int64_t>(std::llround(static_cast<double>(n) * validation_fraction));
    const std::vector<std::int64_t> perm = random_permutation(n, gen);
    for (std::int64_t k = 0; k < take; ++k) {
      to_validation[members[static_cast<std::size_t>(perm[static_cast<std::size_t>(k)])]] = true;
    }
  }
  std::pair<ImageFileList, ImageFileList> parts;
  parts.first.classes = parts.second.classes = list.classes;
  for (std::size_t i = 0; i < list.samples.size(); ++i) {
    (to_validation[i] ? parts.second : parts.first).samples.push_back(list.samples[i]);
  }
  return parts;
}

}  // namespace frost::data
