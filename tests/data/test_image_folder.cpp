// Image folders, list files and the split, on folders generated in a temp dir.

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <frost/data/image_folder.hpp>
#include <frost/io/image.hpp>

#include "../io/temp_files.hpp"

using Catch::Matchers::Contains;
using frost::data::ImageFileList;
using frost::data::scan_image_folder;

namespace {

void write_grey_png(const std::filesystem::path& path, std::uint8_t value) {
  std::filesystem::create_directories(path.parent_path());
  frost::io::write_png(path, frost::Tensor<std::uint8_t>::full({2, 2, 1}, value));
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

std::vector<std::string> relative_paths(const ImageFileList& list,
                                        const std::filesystem::path& root) {
  std::vector<std::string> out;
  for (const auto& s : list.samples) {
    out.push_back(std::filesystem::relative(s.path, root).generic_string() + ":" +
                  std::to_string(s.label));
  }
  return out;
}

}  // namespace

TEST_CASE("image folder: sorted classes, recursive listing, extension filter", "[data][image]") {
  frost_test::TempDir dir;
  const auto root = dir.path();
  write_grey_png(root / "zebra" / "b.png", 1);
  write_grey_png(root / "zebra" / "a.PNG", 2);  // extensions compare case-insensitively
  write_grey_png(root / "ant" / "nested" / "deep.png", 3);
  write_grey_png(root / "ant" / "x.png", 4);
  write_text(root / "ant" / "readme.txt", "not an image");
  write_grey_png(root / "Bee" / "one.png", 5);  // upper case sorts before lower case, as sorted()
  std::filesystem::create_directories(root / ".hidden");

  frost::data::ImageFolderOptions no_index;
  no_index.use_index = false;
  const ImageFileList list = scan_image_folder(root, no_index);
  CHECK(list.classes == std::vector<std::string>{"Bee", "ant", "zebra"});
  CHECK(relative_paths(list, root) ==
        std::vector<std::string>{"Bee/one.png:0", "ant/nested/deep.png:1", "ant/x.png:1",
                                 "zebra/a.PNG:2", "zebra/b.png:2"});
  CHECK(!std::filesystem::exists(root / ".frost-index"));
}

TEST_CASE("image folder index is written, reused and refreshed on change", "[data][image]") {
  frost_test::TempDir dir;
  const auto root = dir.path();
  write_grey_png(root / "a" / "1.png", 1);
  write_grey_png(root / "b" / "2.png", 2);
  const ImageFileList first = scan_image_folder(root);
  REQUIRE(std::filesystem::exists(root / ".frost-index"));
  CHECK(relative_paths(first, root) == std::vector<std::string>{"a/1.png:0", "b/2.png:1"});

  // A forged but fresh index is believed: proof that the listing came from the index.
  {
    std::ifstream in(root / ".frost-index");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto at = text.find("file 1 b/2.png");
    REQUIRE(at != std::string::npos);
    text.replace(at, 14, "file 1 b/9.png");
    std::ofstream(root / ".frost-index") << text;
  }
  CHECK(relative_paths(scan_image_folder(root), root) ==
        std::vector<std::string>{"a/1.png:0", "b/9.png:1"});

  // Adding a file changes its directory's time: the index is rebuilt from the disk.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  write_grey_png(root / "b" / "3.png", 3);
  CHECK(relative_paths(scan_image_folder(root), root) ==
        std::vector<std::string>{"a/1.png:0", "b/2.png:1", "b/3.png:1"});
  // A new class folder is seen as well.
  write_grey_png(root / "c" / "4.png", 4);
  const auto with_c = scan_image_folder(root);
  CHECK(with_c.classes == std::vector<std::string>{"a", "b", "c"});
  CHECK(with_c.size() == 4);

  // A damaged index is rebuilt; an index that cannot be written is skipped silently.
  std::ofstream(root / ".frost-index") << "frost-image-index 1\nfile 7 zzz.png\n";
  CHECK(scan_image_folder(root).size() == 4);
  frost::data::ImageFolderOptions unwritable;
  unwritable.index_path = root / "no-such-dir" / "index";
  CHECK(scan_image_folder(root, unwritable).size() == 4);
  CHECK(!std::filesystem::exists(root / "no-such-dir"));
}

TEST_CASE("image folder errors: missing root, no classes, empty class", "[data][image]") {
  frost_test::TempDir dir;
  CHECK_THROWS_WITH(scan_image_folder(dir / "nope"), Contains("not a directory"));
  std::filesystem::create_directories(dir / "empty");
  CHECK_THROWS_WITH(scan_image_folder(dir / "empty"), Contains("no class sub-folders"));
  write_grey_png(dir / "root" / "cat" / "1.png", 1);
  write_text(dir / "root" / "dog" / "notes.txt", "no images here");
  CHECK_THROWS_WITH(scan_image_folder(dir / "root"),
                    Contains("class 'dog'") && Contains("has no images"));
}

TEST_CASE("list file: paths relative to the list, labels last, comments skipped", "[data][image]") {
  frost_test::TempDir dir;
  write_text(dir / "lists" / "train.txt",
             "# path label\nimgs/a b.png 3\n\n/abs/c.jpg\t0\r\nd.png 12  \n");
  const ImageFileList list = frost::data::read_image_list(dir / "lists" / "train.txt");
  REQUIRE(list.size() == 3);
  CHECK(list.samples[0].path == dir / "lists" / "imgs/a b.png");
  CHECK(list.samples[0].label == 3);
  CHECK(list.samples[1].path == "/abs/c.jpg");
  CHECK(list.samples[1].label == 0);
  CHECK(list.samples[2].path == dir / "lists" / "d.png");
  CHECK(list.samples[2].label == 12);

  write_text(dir / "bad.txt", "a.png cat\n");
  CHECK_THROWS_WITH(frost::data::read_image_list(dir / "bad.txt"),
                    Contains("bad.txt' line 1") && Contains("label 'cat'"));
  write_text(dir / "nolabel.txt", "a.png\n");
  CHECK_THROWS_WITH(frost::data::read_image_list(dir / "nolabel.txt"), Contains("line 1"));
}

TEST_CASE("train/validation split is per class, seeded and complete", "[data][image]") {
  ImageFileList list;
  list.classes = {"a", "b"};
  for (int i = 0; i < 30; ++i) list.samples.push_back({std::to_string(i) + ".png", i < 20 ? 0 : 1});
  const auto [train, val] = frost::data::split_train_validation(list, 0.25, 7);
  // round(20 * 0.25) = 5 of class a, round(10 * 0.25) = 3 (2.5 rounds away from zero) of b.
  REQUIRE(val.size() == 8);
  REQUIRE(train.size() == 22);
  int val_a = 0;
  std::set<std::string> seen;
  for (const auto& s : val.samples) val_a += s.label == 0, seen.insert(s.path.string());
  for (const auto& s : train.samples) seen.insert(s.path.string());
  CHECK(val_a == 5);
  CHECK(seen.size() == 30);
  CHECK(train.classes == list.classes);
  const auto again = frost::data::split_train_validation(list, 0.25, 7);
  const auto other = frost::data::split_train_validation(list, 0.25, 8);
  std::vector<std::string> v1, v2, v3;
  for (const auto& s : val.samples) v1.push_back(s.path.string());
  for (const auto& s : again.second.samples) v2.push_back(s.path.string());
  for (const auto& s : other.second.samples) v3.push_back(s.path.string());
  CHECK(v1 == v2);
  CHECK(v1 != v3);
  CHECK_THROWS_AS(frost::data::split_train_validation(list, 1.5, 0), frost::Error);
}
