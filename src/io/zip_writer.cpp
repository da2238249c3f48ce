#include "nucseg/io/zip_writer.hpp"

#include <array>
#include <limits>

#include "nucseg/core/error.hpp"

namespace nucseg::io {
namespace {

const std::array<uint32_t, 256>& crc_table() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  return table;
}

void put16(std::string& out, uint64_t v) {
  for (int i = 0; i < 2; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}
void put32(std::string& out, uint64_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}
void put64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

constexpr uint16_t kVersion = 20;        // 2.0: stored entries, folders
constexpr uint16_t kVersionZip64 = 45;   // 4.5: ZIP64 end records
constexpr uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01
constexpr uint64_t k32 = std::numeric_limits<uint32_t>::max();

bool is_ascii(const std::string& s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

}  // namespace

uint32_t crc32(const void* data, size_t size, uint32_t crc) {
  const auto& table = crc_table();
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (size_t i = 0; i < size; ++i) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

void ZipWriter::add(const std::string& name, const std::string& bytes) {
  if (name.empty() || name.size() > 0xffff) throw_runtime("zip: bad entry name '" + name + "'");
  const uint64_t offset = data_.size();
  if (offset + bytes.size() + 30 + name.size() > k32) throw_runtime("zip: the archive would exceed 4 GiB", name);
  const uint32_t crc = crc32(bytes.data(), bytes.size());
  const uint16_t flags = is_ascii(name) ? 0 : 0x0800;
  // Local file header (APPNOTE 4.3.7): sizes known up front, so no data descriptor.
  put32(data_, 0x04034b50);
  put16(data_, kVersion);
  put16(data_, flags);
  put16(data_, 0);  // stored
  put16(data_, 0);  // time 00:00
  put16(data_, kDosDate);
  put32(data_, crc);
  put32(data_, bytes.size());
  put32(data_, bytes.size());
  put16(data_, name.size());
  put16(data_, 0);
  data_ += name;
  data_ += bytes;
  // Central directory header (4.3.12).
  put32(directory_, 0x02014b50);
  put16(directory_, kVersion);
  put16(directory_, kVersion);
  put16(directory_, flags);
  put16(directory_, 0);
  put16(directory_, 0);
  put16(directory_, kDosDate);
  put32(directory_, crc);
  put32(directory_, bytes.size());
  put32(directory_, bytes.size());
  put16(directory_, name.size());
  put16(directory_, 0);  // extra
  put16(directory_, 0);  // comment
  put16(directory_, 0);  // disk
  put16(directory_, 0);  // internal attributes
  put32(directory_, 0);  // external attributes
  put32(directory_, offset);
  directory_ += name;
  ++entries_;
}

std::string ZipWriter::finish() {
  std::string out = std::move(data_);
  const uint64_t directory_offset = out.size(), directory_size = directory_.size();
  if (directory_offset + directory_size > k32) throw_runtime("zip: the archive would exceed 4 GiB");
  out += directory_;
  const bool zip64 = entries_ > 0xfffe;
  if (zip64) {
    const uint64_t record_offset = out.size();
    put32(out, 0x06064b50);  // ZIP64 end of central directory record (4.3.14)
    put64(out, 44);          // size of the rest of the record
    put16(out, kVersionZip64);
    put16(out, kVersionZip64);
    put32(out, 0);
    put32(out, 0);
    put64(out, entries_);
    put64(out, entries_);
    put64(out, directory_size);
    put64(out, directory_offset);
    put32(out, 0x07064b50);  // ZIP64 end of central directory locator (4.3.15)
    put32(out, 0);
    put64(out, record_offset);
    put32(out, 1);
  }
  put32(out, 0x06054b50);  // end of central directory record (4.3.16)
  put16(out, 0);
  put16(out, 0);
  put16(out, zip64 ? 0xffff : entries_);
  put16(out, zip64 ? 0xffff : entries_);
  put32(out, directory_size);
  put32(out, directory_offset);
  put16(out, 0);
  data_.clear();
  directory_.clear();
  entries_ = 0;
  return out;
}

}  // namespace nucseg::io
