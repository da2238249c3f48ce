// A ZIP archive of stored (uncompressed) entries, built in memory: what ImageJ's ROI Manager,
// Python's zipfile and unzip read. Entry times are fixed (1980-01-01 00:00), so the same entries
// give the same bytes. More than 65535 entries get the ZIP64 end records (APPNOTE 4.3.14/15);
// an archive past 4 GiB is refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace nucseg::io {

// CRC-32 of ZIP, PNG and gzip (polynomial 0xEDB88320, reflected): crc32("123456789") == 0xCBF43926.
uint32_t crc32(const void* data, size_t size, uint32_t crc = 0);

class ZipWriter final {
 public:
  // `name`: a relative path with '/' separators (stored as UTF-8, flag bit 11 set when not ASCII).
  void add(const std::string& name, const std::string& bytes);
  // The archive: entries, central directory, end records. The writer is empty afterwards.
  std::string finish();
  size_t entries() const { return entries_; }

 private:
  std::string data_;       // local headers and entry bytes
  std::string directory_;  // central directory headers
  size_t entries_ = 0;
};

}  // namespace nucseg::io
