#pragma once
// Whole-file reads and all-or-nothing writes. Every failure is a frost::Error that names the
// operation and the path; std::filesystem errors are caught and re-worded so no
// std::filesystem_error escapes to the user.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <system_error>
#include <vector>

#include "frost/core/error.hpp"

namespace frost::io {

// Reads the whole file at `path`. `op` names the caller in error messages ("read_idx", ...).
inline std::vector<std::uint8_t> read_file(const std::filesystem::path& path,
                                           const char* op = "read_file") {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  FROST_CHECK(std::filesystem::exists(status), op, "'", path.string(), "': file not found");
  FROST_CHECK(!std::filesystem::is_directory(status), op, "'", path.string(),
              "': is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  FROST_CHECK(in.is_open(), op, "'", path.string(), "': cannot open for reading");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  FROST_CHECK(size >= 0, op, "'", path.string(), "': cannot determine the file size");
  in.seekg(0, std::ios::beg);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  if (size > 0) in.read(reinterpret_cast<char*>(bytes.data()), size);
  FROST_CHECK(in.good() && in.gcount() == size, op, "'", path.string(), "': read failed after ",
              in.gcount(), " of ", size, " bytes");
  return bytes;
}

// Writes a file so that readers see either the old content or the complete new one: `write`
// fills a temporary file in the same directory (same file system, so the rename is atomic),
// which replaces `path` only after it was flushed and closed without error. On any failure,
// including an exception thrown by `write`, the temporary file is removed and `path` is left
// untouched. There is no fsync: this protects against a failing process or a full disk, not
// against a power cut between the write and the file system's own flush.
inline void write_file_atomically(const std::filesystem::path& path, const char* op,
                                  const std::function<void(std::ostream&)>& write) {
  static std::atomic<std::uint64_t> counter{0};
  const auto stamp =
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  std::filesystem::path tmp = path;
  tmp += frost::detail::concat_message(".tmp-", stamp, "-", counter.fetch_add(1));

  const auto remove_tmp = [&] {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
  };
  try {
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      FROST_CHECK(out.is_open(), op, "'", path.string(), "': cannot create temporary file '",
                  tmp.string(), "'");
      write(out);
      out.flush();
      FROST_CHECK(out.good(), op, "'", path.string(), "': write failed (disk full?)");
      out.close();
      FROST_CHECK(!out.fail(), op, "'", path.string(), "': closing the file failed");
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    FROST_CHECK(!ec, op, "'", path.string(), "': cannot replace the file: ", ec.message());
  } catch (...) {
    remove_tmp();
    throw;
  }
}

}  // namespace frost::io
