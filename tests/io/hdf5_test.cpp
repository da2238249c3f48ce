#include <gtest/gtest.h>

#include <sys/resource.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <unistd.h>

#include "nucseg/core/error.hpp"
#include "nucseg/io/hdf5.hpp"

using nucseg::h5::File;

TEST(Hdf5, RoundTripDatasetsStringsAndAttributes) {
  auto path = (std::filesystem::temp_directory_path() / ("nucseg_hdf5_test_" + std::to_string(::getpid()) + ".h5")).string();
  {
    File f(path, File::Mode::create_truncate);
    f.set_attr("format", std::string("nucseg-test"));
    f.set_attr("version", int64_t{3});
    f.set_attr("ratio", 0.25);
    {
      auto g = f.create_group("images");
      std::vector<uint16_t> pixels(6 * 5);
      for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint16_t>(i * 1000);
      g.write("a", pixels, {6, 5}, {{2, 5}, 4, true});
      g.set_attr_on("a", "source", std::string("x/y.png"));
      g.write_strings("ids", {"one", "two", ""});
    }
    f.close();
  }
  File f(path, File::Mode::read);
  EXPECT_EQ(f.attr_string("format"), "nucseg-test");
  EXPECT_EQ(f.attr_int("version"), 3);
  EXPECT_DOUBLE_EQ(f.attr_double("ratio"), 0.25);
  auto g = f.open_group("images");
  EXPECT_EQ(g.shape("a"), (std::vector<hsize_t>{6, 5}));
  EXPECT_EQ(g.stored_type("a"), nucseg::h5::Type::u16);
  auto back = g.read<uint16_t>("a");
  ASSERT_EQ(back.size(), 30u);
  EXPECT_EQ(back[29], 29000);
  auto as_float = g.read<float>("a");
  EXPECT_FLOAT_EQ(as_float[7], 7000.f);
  EXPECT_EQ(g.attr_string_on("a", "source"), "x/y.png");
  EXPECT_EQ(g.read_strings("ids"), (std::vector<std::string>{"one", "two", ""}));
  EXPECT_TRUE(f.exists("images/a"));
  EXPECT_FALSE(f.exists("images/b"));
  EXPECT_FALSE(f.exists("nothing/here"));
  EXPECT_EQ(g.children(), (std::vector<std::string>{"a", "ids"}));
  g = nucseg::h5::Group();
  f.close();
  std::filesystem::remove(path);
}

TEST(Hdf5, MissingFileAndDatasetAreDataErrorsNamingThem) {
  try {
    File f("/nonexistent/x.h5", File::Mode::read);
    FAIL();
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.kind(), nucseg::ErrorKind::data);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x.h5"), std::string::npos);
  }
  auto path = (std::filesystem::temp_directory_path() / ("nucseg_hdf5_missing_" + std::to_string(::getpid()) + ".h5")).string();
  File f(path, File::Mode::create_truncate);
  try {
    f.read<float>("absent");
    FAIL();
  } catch (const nucseg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("absent"), std::string::npos);
  }
  f.close();
  std::filesystem::remove(path);
}

// close() with a group still open would only drop the file handle: HDF5 writes the file when
// the group closes, after the caller renamed it. It must refuse instead.
TEST(Hdf5, CloseRefusesWhileAGroupIsOpen) {
  auto path = (std::filesystem::temp_directory_path() / ("nucseg_hdf5_open_group_" + std::to_string(::getpid()) + ".h5")).string();
  File f(path, File::Mode::create_truncate);
  auto g = f.create_group("objects");
  g.write_strings("ids", {"a"});
  EXPECT_EQ(f.open_objects(), 1);
  try {
    f.close();
    FAIL() << "close() accepted an open group";
  } catch (const nucseg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("still open"), std::string::npos) << e.what();
  }
  g = nucseg::h5::Group();
  f.close();
  File back(path, File::Mode::read);
  EXPECT_EQ(back.read_strings("objects/ids"), (std::vector<std::string>{"a"}));
  std::filesystem::remove(path);
}

// A write the file system refuses (here RLIMIT_FSIZE: EFBIG, as a full disk gives ENOSPC) is
// an Error that carries the system's reason, and the process goes on (and exits) cleanly.
TEST(Hdf5, RefusedWriteNamesTheSystemReason) {
  auto path = (std::filesystem::temp_directory_path() / ("nucseg_hdf5_refused_" + std::to_string(::getpid()) + ".h5")).string();
  struct rlimit old {};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old;
  small.rlim_cur = 64 * 1024;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string message;
  try {
    File f(path, File::Mode::create_truncate);
    std::vector<uint8_t> big(1 << 20, 7);
    f.write("big", big, {big.size()}, {{}, 0, false});
    f.close();
  } catch (const nucseg::Error& e) {
    message = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_NE(message.find(std::strerror(EFBIG)), std::string::npos) << "message: " << message;
  std::filesystem::remove(path);
}
