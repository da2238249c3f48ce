#include <gtest/gtest.h>

#include <filesystem>

#include "nucseg/core/error.hpp"
#include "nucseg/io/hdf5.hpp"

using nucseg::h5::File;

TEST(Hdf5, RoundTripDatasetsStringsAndAttributes) {
  auto path = (std::filesystem::temp_directory_path() / "nucseg_hdf5_test.h5").string();
  {
    File f(path, File::Mode::create_truncate);
    f.set_attr("format", std::string("nucseg-test"));
    f.set_attr("version", int64_t{3});
    f.set_attr("ratio", 0.25);
    auto g = f.create_group("images");
    std::vector<uint16_t> pixels(6 * 5);
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint16_t>(i * 1000);
    g.write("a", pixels, {6, 5}, {{2, 5}, 4, true});
    g.set_attr_on("a", "source", std::string("x/y.png"));
    g.write_strings("ids", {"one", "two", ""});
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
}

TEST(Hdf5, MissingFileAndDatasetAreDataErrorsNamingThem) {
  try {
    File f("/nonexistent/x.h5", File::Mode::read);
    FAIL();
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.kind(), nucseg::ErrorKind::data);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x.h5"), std::string::npos);
  }
  auto path = (std::filesystem::temp_directory_path() / "nucseg_hdf5_missing.h5").string();
  File f(path, File::Mode::create_truncate);
  try {
    f.read<float>("absent");
    FAIL();
  } catch (const nucseg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("absent"), std::string::npos);
  }
}
