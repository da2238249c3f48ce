// TensorBoard scalar events without TensorFlow: TFRecord framing around hand-encoded Event
// protobufs. Record: uint64 length, masked CRC32C(length), data, masked CRC32C(data).
// Event: wall_time=1 (double), step=2 (int64), file_version=3 (string, first record only),
// summary=5 { value=1 { tag=1 (string), simple_value=2 (float) } }.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

namespace nucseg::train {

uint32_t crc32c(const void* data, size_t size);
uint32_t masked_crc32c(const void* data, size_t size);

// The encoded Event messages (exposed for tests).
std::string encode_file_version_event(double wall_time);
std::string encode_scalar_event(double wall_time, int64_t step, const std::string& tag, float value);
std::string frame_record(const std::string& data);

// Appends records to <dir>/events.out.tfevents.<unix seconds>.<host>. An event file is a log
// that TensorBoard reads while it grows (a torn last record is ignored by readers), so it is
// appended and flushed rather than renamed into place.
class EventWriter final {
 public:
  explicit EventWriter(const std::filesystem::path& dir);
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  void add_scalar(const std::string& tag, int64_t step, float value);
  void add_scalar(const std::string& tag, int64_t step, float value, double wall_time);
  void flush();  // to the OS and the disk
  const std::filesystem::path& path() const { return path_; }

 private:
  void write_record(const std::string& data);
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

}  // namespace nucseg::train
