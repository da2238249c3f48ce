// TFRecord + protobuf encoding of TensorBoard scalar and image events (format in tensorboard.hpp).
#include "nucseg/train/tensorboard.hpp"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"

namespace nucseg::train {
namespace {

std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;  // Castagnoli, reflected
    t[i] = c;
  }
  return t;
}

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void put_tag(std::string& out, int field, int wire_type) { put_varint(out, (static_cast<uint64_t>(field) << 3) | wire_type); }
template <class T>
void put_fixed(std::string& out, T value) {  // little-endian, as protobuf and TFRecord want
  unsigned char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(reinterpret_cast<const char*>(bytes), sizeof(T));
}
void put_bytes(std::string& out, int field, const std::string& bytes) {
  put_tag(out, field, 2);
  put_varint(out, bytes.size());
  out += bytes;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

uint32_t crc32c(const void* data, size_t size) {
  static const auto table = make_table();
  uint32_t c = 0xFFFFFFFFu;
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(const void* data, size_t size) {
  uint32_t c = crc32c(data, size);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

std::string encode_file_version_event(double wall_time) {
  std::string e;
  put_tag(e, 1, 1);
  put_fixed(e, wall_time);
  put_bytes(e, 3, "brain.Event:2");
  return e;
}

namespace {

// An Event holding a Summary of one Value (`value`: its encoded fields).
std::string encode_value_event(double wall_time, int64_t step, const std::string& value) {
  std::string summary;
  put_bytes(summary, 1, value);
  std::string e;
  put_tag(e, 1, 1);
  put_fixed(e, wall_time);
  put_tag(e, 2, 0);
  put_varint(e, static_cast<uint64_t>(step));
  put_bytes(e, 5, summary);
  return e;
}

}  // namespace

std::string encode_scalar_event(double wall_time, int64_t step, const std::string& tag, float value) {
  std::string v;
  put_bytes(v, 1, tag);
  put_tag(v, 2, 5);
  put_fixed(v, value);
  return encode_value_event(wall_time, step, v);
}

std::string encode_image_event(double wall_time, int64_t step, const std::string& tag, int height, int width,
                               int colorspace, const std::string& png) {
  std::string image;
  put_tag(image, 1, 0);
  put_varint(image, static_cast<uint64_t>(height));
  put_tag(image, 2, 0);
  put_varint(image, static_cast<uint64_t>(width));
  put_tag(image, 3, 0);
  put_varint(image, static_cast<uint64_t>(colorspace));
  put_bytes(image, 4, png);
  std::string v;
  put_bytes(v, 1, tag);
  put_bytes(v, 4, image);
  return encode_value_event(wall_time, step, v);
}

std::string frame_record(const std::string& data) {
  std::string out;
  uint64_t length = data.size();
  put_fixed(out, length);
  put_fixed(out, masked_crc32c(out.data(), sizeof length));
  out += data;
  put_fixed(out, masked_crc32c(data.data(), data.size()));
  return out;
}

EventWriter::EventWriter(const std::filesystem::path& dir) {
  fs::create_directories(dir);
  char host[256] = "localhost";
  if (::gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "localhost");
  double wall = now_seconds();
  auto name = "events.out.tfevents." + std::to_string(static_cast<long long>(wall)) + "." + fs::safe_component(host);
  path_ = dir / name;
  file_ = std::fopen(path_.c_str(), "ab");
  if (!file_) throw_runtime(std::string("cannot open event file: ") + std::strerror(errno), path_.string());
  write_record(encode_file_version_event(wall));
  flush();
}

EventWriter::~EventWriter() {
  if (file_) std::fclose(file_);
}

void EventWriter::write_record(const std::string& data) {
  auto record = frame_record(data);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size())
    throw_runtime(std::string("cannot write event file: ") + std::strerror(errno), path_.string());
}

void EventWriter::add_scalar(const std::string& tag, int64_t step, float value) {
  add_scalar(tag, step, value, now_seconds());
}

void EventWriter::add_scalar(const std::string& tag, int64_t step, float value, double wall_time) {
  write_record(encode_scalar_event(wall_time, step, tag, value));
}

void EventWriter::add_image(const std::string& tag, int64_t step, int height, int width, int colorspace,
                            const std::string& png) {
  write_record(encode_image_event(now_seconds(), step, tag, height, width, colorspace, png));
}

void EventWriter::flush_to_os() {
  if (std::fflush(file_) != 0)
    throw_runtime(std::string("cannot write event file: ") + std::strerror(errno), path_.string());
}

void EventWriter::flush() {
  if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0)
    throw_runtime(std::string("cannot flush event file: ") + std::strerror(errno), path_.string());
}

}  // namespace nucseg::train
