// TensorBoard events without TensorFlow: TFRecord framing around hand-encoded Event protobufs.
// Record: uint64 length, masked CRC32C(length), data, masked CRC32C(data).
// Event: wall_time=1 (double), step=2 (int64), file_version=3 (string, first record only),
// summary=5 { value=1 { tag=1 (string), simple_value=2 (float) | image=4 { height=1,
// width=2, colorspace=3 (int32), encoded_image_string=4 (bytes, PNG) } } }.
// The tags a training run writes are listed in docs/training.md.
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
// An image summary; `colorspace` is the channel count as TensorBoard reads it (1 gray, 3 RGB,
// 4 RGBA); `png` the encoded image, `height` x `width` its size.
std::string encode_image_event(double wall_time, int64_t step, const std::string& tag, int height, int width,
                               int colorspace, const std::string& png);
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
  void add_image(const std::string& tag, int64_t step, int height, int width, int colorspace, const std::string& png);
  void flush();          // to the OS and the disk
  void flush_to_os();    // to the OS only: a reader sees the records (no fsync, cheap every step)
  const std::filesystem::path& path() const { return path_; }

 private:
  void write_record(const std::string& data);
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

}  // namespace nucseg::train
