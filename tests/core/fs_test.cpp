#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <unistd.h>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"

namespace stdfs = std::filesystem;

TEST(Fs, SafeComponentNeverEscapesTheFolder) {
  for (const std::string bad : {"..", ".", "../../etc/passwd", "a/b\\c", "", "/abs", "x\ny", ".hidden"}) {
    auto s = nucseg::fs::safe_component(bad);
    EXPECT_EQ(s.find('/'), std::string::npos) << bad;
    EXPECT_NE(s, "..");
    EXPECT_NE(s, ".");
    EXPECT_FALSE(s.empty());
    EXPECT_NE(s[0], '.') << bad;
  }
  EXPECT_EQ(nucseg::fs::safe_component("img_01-a.png"), "img_01-a.png");
}

TEST(Fs, AtomicWriteLeavesNoTemporary) {
  auto dir = stdfs::temp_directory_path() / ("nucseg_fs_test_" + std::to_string(::getpid()));
  stdfs::remove_all(dir);
  nucseg::fs::create_directories(dir);
  nucseg::fs::write_file_atomic(dir / "a.txt", "hello");
  EXPECT_EQ(nucseg::fs::read_file(dir / "a.txt"), "hello");
  nucseg::fs::write_file_atomic(dir / "a.txt", "again");
  EXPECT_EQ(nucseg::fs::read_file(dir / "a.txt"), "again");
  int files = 0;
  for (auto& e : stdfs::directory_iterator(dir)) {
    ++files;
    EXPECT_FALSE(nucseg::fs::is_temporary_name(e.path()));
  }
  EXPECT_EQ(files, 1);
  stdfs::remove_all(dir);
}

TEST(Fs, ReadingAMissingFileIsADataError) {
  try {
    nucseg::fs::read_file("/nonexistent/nucseg/file");
    FAIL();
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.kind(), nucseg::ErrorKind::data);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/nucseg/file"), std::string::npos);
  }
}

// The published FNV-1a 64 test vectors (the standard offset basis 14695981039346656037).
TEST(Fs, Fnv1aIsTheStandardOne) {
  auto hex = [](const std::string& s) { return nucseg::fs::fnv1a_hex(s.data(), s.size()); };
  EXPECT_EQ(hex(""), "cbf29ce484222325");
  EXPECT_EQ(hex("a"), "af63dc4c8601ec8c");
  EXPECT_EQ(hex("foobar"), "85944171f73967e8");
  auto dir = std::filesystem::temp_directory_path() / ("nucseg-fnv-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  nucseg::fs::write_file_atomic(dir / "f", "foobar");
  EXPECT_EQ(nucseg::fs::file_checksum(dir / "f"), "85944171f73967e8");
  std::filesystem::remove_all(dir);
}

TEST(Fs, ChecksumDependsOnEveryByte) {
  std::string a = "abcdef", b = "abcdeg";
  EXPECT_NE(nucseg::fs::fnv1a_hex(a.data(), a.size()), nucseg::fs::fnv1a_hex(b.data(), b.size()));
  EXPECT_EQ(nucseg::fs::fnv1a_hex(a.data(), a.size()).size(), 16u);
}

TEST(Fs, OnlyTheToolsOwnTemporariesAreTemporary) {
  using nucseg::fs::is_temporary_name;
  EXPECT_TRUE(is_temporary_name(nucseg::fs::temporary_sibling("/x/shard-r000-00000.h5")));
  EXPECT_TRUE(is_temporary_name("/x/img01.tmp-4242"));      // the synth writer's folder
  EXPECT_TRUE(is_temporary_name("/x/img01.tmp-old-4242"));  // its swap of the previous folder
  EXPECT_FALSE(is_temporary_name("/x/scan.tmp-1.png"));     // an input that merely contains .tmp-
  EXPECT_FALSE(is_temporary_name("/x/a.tmp-b.tif"));
  EXPECT_FALSE(is_temporary_name("/x/a.tmp-"));
  EXPECT_FALSE(is_temporary_name("/x/.tmp-12"));
  EXPECT_FALSE(is_temporary_name("/x/plain.png"));
}

// Size and modification time, as pack and infer compare them to notice a source edited in place.
TEST(Fs, StatFileGivesSizeAndModificationTime) {
  const auto file = stdfs::temp_directory_path() / ("nucseg-stat-" + std::to_string(::getpid()));
  nucseg::fs::write_file_atomic(file, "12345");
  const auto when = stdfs::file_time_type::clock::now() - std::chrono::hours(30);
  stdfs::last_write_time(file, when);
  nucseg::fs::FileStat st;
  ASSERT_TRUE(nucseg::fs::stat_file(file, &st));
  EXPECT_EQ(st.bytes, 5);
  nucseg::fs::FileStat again;
  nucseg::fs::write_file_atomic(file, "123456");
  ASSERT_TRUE(nucseg::fs::stat_file(file, &again));
  EXPECT_EQ(again.bytes, 6);
  EXPECT_NE(again.mtime_ns, st.mtime_ns);  // rewritten now, not 30 hours ago
  stdfs::remove(file);
  std::string reason;
  nucseg::fs::FileStat missing;
  EXPECT_FALSE(nucseg::fs::stat_file(file, &missing, &reason));
  EXPECT_EQ(missing.bytes, -1);
  EXPECT_NE(reason.find("No such file"), std::string::npos) << reason;
}

TEST(Fs, ByteOrderMarkIsDroppedOnlyAtTheStart) {
  EXPECT_EQ(nucseg::fs::without_utf8_bom("\xEF\xBB\xBF" "a.png"), "a.png");
  EXPECT_EQ(nucseg::fs::without_utf8_bom("a.png"), "a.png");
  EXPECT_EQ(nucseg::fs::without_utf8_bom("x\xEF\xBB\xBF"), "x\xEF\xBB\xBF");
  EXPECT_EQ(nucseg::fs::without_utf8_bom(""), "");
}
