// Decodes the event file with a reader written from the format (TFRecord framing, protobuf
// wire format) and a bit-by-bit CRC32C independent of the writer's table; and in Python
// (tests/train/tensorboard_events.py; needs python3-opencv: fails, does not skip, without it).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <vector>

#include <sstream>

#include <unistd.h>

#include "../segment/test_util.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/train/preview.hpp"
#include "nucseg/train/tensorboard.hpp"

namespace stdfs = std::filesystem;

namespace {

uint32_t slow_crc32c(const std::string& s) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char ch : s) {
    crc ^= ch;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}
uint32_t mask(uint32_t c) { return ((c >> 15) | (c << 17)) + 0xa282ead8u; }

struct Reader {
  const std::string& s;
  size_t pos = 0;
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      auto b = static_cast<unsigned char>(s.at(pos++));
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
  }
  template <class T>
  T fixed() {
    T v;
    std::memcpy(&v, s.data() + pos, sizeof v);
    pos += sizeof v;
    return v;
  }
  std::string bytes() {
    auto n = varint();
    auto out = s.substr(pos, n);
    pos += n;
    return out;
  }
  bool done() const { return pos >= s.size(); }
};

struct Event {
  double wall_time = 0;
  int64_t step = -1;
  std::string file_version;
  std::string tag;
  float value = 0;
};

Event parse_event(const std::string& data) {
  Event e;
  Reader r{data};
  while (!r.done()) {
    auto key = r.varint();
    int field = static_cast<int>(key >> 3), wire = static_cast<int>(key & 7);
    if (field == 1 && wire == 1) e.wall_time = r.fixed<double>();
    else if (field == 2 && wire == 0) e.step = static_cast<int64_t>(r.varint());
    else if (field == 3 && wire == 2) e.file_version = r.bytes();
    else if (field == 5 && wire == 2) {
      auto summary = r.bytes();
      Reader sr{summary};
      EXPECT_EQ(sr.varint(), (1u << 3) | 2u);
      auto value = sr.bytes();
      Reader vr{value};
      while (!vr.done()) {
        auto k = vr.varint();
        if (k == ((1u << 3) | 2u)) e.tag = vr.bytes();
        else if (k == ((2u << 3) | 5u)) e.value = vr.fixed<float>();
        else ADD_FAILURE() << "unexpected Summary.Value field " << k;
      }
    } else {
      ADD_FAILURE() << "unexpected Event field " << field;
      break;
    }
  }
  return e;
}

std::vector<Event> read_events(const stdfs::path& file) {
  std::string s = nucseg::fs::read_file(file);
  std::vector<Event> out;
  Reader r{s};
  while (!r.done()) {
    std::string header = s.substr(r.pos, 8);
    auto length = r.fixed<uint64_t>();
    EXPECT_EQ(r.fixed<uint32_t>(), mask(slow_crc32c(header)));
    std::string data = s.substr(r.pos, length);
    r.pos += length;
    EXPECT_EQ(r.fixed<uint32_t>(), mask(slow_crc32c(data)));
    out.push_back(parse_event(data));
  }
  return out;
}

}  // namespace

TEST(TensorBoard, Crc32cMatchesTheStandardCheckValue) {
  EXPECT_EQ(nucseg::train::crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(slow_crc32c("123456789"), 0xE3069283u);
}

TEST(TensorBoard, EventFileDecodesToTheScalarsWritten) {
  auto dir = stdfs::temp_directory_path() / ("nucseg_tb_test_" + std::to_string(::getpid()));
  stdfs::remove_all(dir);
  stdfs::path file;
  {
    nucseg::train::EventWriter w(dir);
    file = w.path();
    w.add_scalar("train/loss", 10, 0.75f, 1000.5);
    w.add_scalar("val/object_score", 10, 0.25f, 1001.0);
    w.add_scalar("train/loss", 300000000000LL, -2.5f, 1002.0);  // a step needing a long varint
    w.flush();
  }
  EXPECT_EQ(file.filename().string().rfind("events.out.tfevents.", 0), 0u);
  auto events = read_events(file);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].file_version, "brain.Event:2");
  EXPECT_GT(events[0].wall_time, 1e9);
  EXPECT_EQ(events[1].tag, "train/loss");
  EXPECT_EQ(events[1].step, 10);
  EXPECT_FLOAT_EQ(events[1].value, 0.75f);
  EXPECT_DOUBLE_EQ(events[1].wall_time, 1000.5);
  EXPECT_EQ(events[2].tag, "val/object_score");
  EXPECT_FLOAT_EQ(events[2].value, 0.25f);
  EXPECT_EQ(events[3].step, 300000000000LL);
  EXPECT_FLOAT_EQ(events[3].value, -2.5f);
  stdfs::remove_all(dir);
}

TEST(TensorBoard, CorruptedRecordFailsTheChecksum) {
  auto record = nucseg::train::frame_record(nucseg::train::encode_scalar_event(1.0, 1, "a", 1.0f));
  std::string data = record.substr(12, record.size() - 16);
  uint32_t stored;
  std::memcpy(&stored, record.data() + record.size() - 4, 4);
  EXPECT_EQ(stored, mask(slow_crc32c(data)));
  data[data.size() - 1] ^= 1;
  EXPECT_NE(stored, mask(slow_crc32c(data)));
}

// Scalars and a preview image read back by tests/train/tensorboard_events.py, a parser written
// from the formats in Python (CRCs, protobuf fields, the PNG decoded by OpenCV).
TEST(TensorBoard, PythonReaderSeesScalarsAndPreviewImage) {
  const auto dir = stdfs::temp_directory_path() / ("nucseg_tb_py_" + std::to_string(::getpid()));
  stdfs::remove_all(dir);
  std::vector<nucseg::train::PreviewRow> rows(2);
  for (auto& r : rows) {
    r.image = cv::Mat(40, 52, CV_32FC3, cv::Scalar(0.2, 0.5, 0.9));
    r.truth = cv::Mat::zeros(40, 52, CV_8UC1);
    r.predicted = cv::Mat::ones(40, 52, CV_8UC1);
    r.truth(cv::Rect(5, 5, 10, 10)).setTo(2);
  }
  const auto png = nucseg::train::encode_preview(rows);
  std::string events;
  {
    nucseg::train::EventWriter writer(dir);
    for (int step = 1; step <= 3; ++step) {
      writer.add_scalar("step/loss", step, 1.0f / static_cast<float>(step));
      writer.add_scalar("step/lr", step, 0.001f * static_cast<float>(step));
    }
    writer.add_image("val/preview", 3, png.height, png.width, 3, png.bytes);
    writer.flush();
    events = writer.path().string();
  }
  nucseg::train::write_preview(dir / "epoch-001.png", rows);
  const std::string out = nucseg::test::run_command(nucseg::test::python3() + " " + nucseg::test::source_dir() +
                                                    "/tests/train/tensorboard_events.py " + events + " " +
                                                    (dir / "epoch-001.png").string());
  stdfs::remove_all(dir);
  std::vector<std::vector<std::string>> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::istringstream fields(line);
    for (std::string cell; std::getline(fields, cell, '\t');) cells.push_back(cell);
    lines.push_back(cells);
  }
  ASSERT_EQ(lines.size(), 7u) << out;
  for (int step = 1; step <= 3; ++step) {
    const auto& loss = lines[static_cast<size_t>(2 * step - 2)];
    const auto& lr = lines[static_cast<size_t>(2 * step - 1)];
    ASSERT_EQ(loss.size(), 4u);
    ASSERT_EQ(lr.size(), 4u);
    EXPECT_EQ(loss[0] + loss[1] + loss[2], "scalarstep/loss" + std::to_string(step));
    EXPECT_EQ(lr[0] + lr[1] + lr[2], "scalarstep/lr" + std::to_string(step));
    EXPECT_EQ(static_cast<float>(std::stod(loss[3])), 1.0f / static_cast<float>(step));  // float32 exactly
    EXPECT_EQ(static_cast<float>(std::stod(lr[3])), 0.001f * static_cast<float>(step));
  }
  EXPECT_EQ(png.height, 80);   // two rows of 40
  EXPECT_EQ(png.width, 156);   // three panels of 52
  // Tag, step, the size recorded, RGB, the size decoded, the pixels of the PNG file.
  EXPECT_EQ(lines[6], (std::vector<std::string>{"image", "val/preview", "3", "80", "156", "3", "80x156x3", "1"}));
}
