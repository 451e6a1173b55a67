// The guide's code blocks as tests (docs/guide.md cannot rot):
//
//   extract_guide cpp GUIDE.md OUT.cpp   the ```cpp blocks, in order, as the body of one Catch2
//                                        test (#include lines go to file scope; #line directives
//                                        make compiler errors point at the guide's own lines)
//   extract_guide sh GUIDE.md BUILD_DIR SCRATCH
//                                        runs every ```sh block with bash -euo pipefail in
//                                        SCRATCH (emptied first), "build/release/" in a command
//                                        meaning BUILD_DIR; fails on the first block that fails
//
// A guide's blocks read like one program: later blocks use what earlier ones defined.

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Block {
  std::string language;
  int first_line = 0;  // 1-based line of the block's first code line
  std::vector<std::string> lines;
};

std::vector<Block> read_blocks(const char* path) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "extract_guide: cannot read '" << path << "'\n";
    std::exit(1);
  }
  std::vector<Block> blocks;
  std::string line;
  bool inside = false;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.starts_with("```")) {
      if (inside) {
        inside = false;
      } else {
        inside = true;
        blocks.push_back({line.substr(3), number + 1, {}});
      }
      continue;
    }
    if (inside) blocks.back().lines.push_back(line);
  }
  if (inside) {
    std::cerr << "extract_guide: '" << path << "' ends inside a code block\n";
    std::exit(1);
  }
  return blocks;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

int write_cpp(const char* guide, const char* out_path) {
  std::ostringstream includes, body;
  for (const Block& b : read_blocks(guide)) {
    if (b.language != "cpp") continue;
    body << "#line " << b.first_line << " \"" << guide << "\"\n";
    for (const std::string& l : b.lines) {
      if (l.starts_with("#include")) {
        includes << l << "\n";
        body << "\n";  // keeps the line numbers
      } else {
        body << l << "\n";
      }
    }
  }
  std::ofstream out(out_path);
  out << "// Generated from " << guide << " by tests/docs/extract_guide.cpp: do not edit.\n"
      << includes.str() << "#include <catch2/catch.hpp>\n\n"
      << "TEST_CASE(\"docs/guide.md: every C++ block, in order\", \"[docs]\") {\n"
      << body.str() << "}\n";
  return out ? 0 : 1;
}

int run_sh(const char* guide, const std::string& build_dir, const std::filesystem::path& scratch) {
  // A fresh directory each run, so that a block never finds the files of the previous run.
  std::filesystem::remove_all(scratch);
  std::filesystem::create_directories(scratch);
  std::filesystem::current_path(scratch);
  int index = 0;
  for (const Block& b : read_blocks(guide)) {
    if (b.language != "sh") continue;
    ++index;
    std::string script = "set -euo pipefail\n";
    for (const std::string& l : b.lines)
      script += replace_all(l, "build/release/", build_dir + "/") + "\n";
    std::cout << "--- sh block " << index << " (" << guide << ":" << b.first_line << ")\n"
              << script << std::flush;
    const std::string file = "guide_block_" + std::to_string(index) + ".sh";
    std::ofstream(file) << script;
    const int rc = std::system(("bash " + file).c_str());
    if (rc != 0) {
      std::cerr << "extract_guide: sh block " << index << " at " << guide << ":" << b.first_line
                << " failed (status " << rc << ")\n";
      return 1;
    }
  }
  if (index == 0) {
    std::cerr << "extract_guide: '" << guide << "' has no sh blocks\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "cpp") return write_cpp(argv[2], argv[3]);
  if (argc == 5 && std::string(argv[1]) == "sh") return run_sh(argv[2], argv[3], argv[4]);
  std::cerr << "usage: extract_guide cpp GUIDE.md OUT.cpp | extract_guide sh GUIDE.md BUILD_DIR "
               "SCRATCH\n";
  return 2;
}
