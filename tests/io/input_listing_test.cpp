// io::list_input_paths, the folder listing nucseg_infer and nucseg_eval share (its full
// behaviour is tested through infer::discover_inputs in tests/infer/inputs_test.cpp).
#include "nucseg/io/input_listing.hpp"

#include <gtest/gtest.h>

#include <map>

#include "nucseg/core/error.hpp"
#include "test_util.hpp"

namespace {

namespace stdfs = std::filesystem;
using nucseg::testing::fresh_dir;
using nucseg::testing::write_bytes;

std::map<std::string, stdfs::path> by_relative(const nucseg::io::InputListing& listing) {
  std::map<std::string, stdfs::path> out;
  for (const auto& input : listing.inputs) out[input.relative] = input.path;
  return out;
}

// A flat layout's images are named relative to images/, its masks/ and the output folder are
// left out, and a file beside images/ keeps its name relative to the root.
TEST(InputListing, FlatLayoutNamesImagesRelativeToImages) {
  const auto root = fresh_dir("input_listing_flat");
  write_bytes(root / "images" / "sub" / "a.png", "x");
  write_bytes(root / "masks" / "sub" / "a.png", "x");
  write_bytes(root / "out" / "labels" / "a.png", "x");
  write_bytes(root / "stray.tif", "x");
  const auto listing = nucseg::io::list_input_paths(root, root / "out");
  EXPECT_TRUE(listing.flat);
  const auto inputs = by_relative(listing);
  ASSERT_EQ(inputs.size(), 2u);
  EXPECT_EQ(inputs.at("sub/a.png"), root / "images" / "sub" / "a.png");
  EXPECT_EQ(inputs.at("stray.tif"), root / "stray.tif");
  EXPECT_EQ(listing.stats.mask_folders, 1u);
  EXPECT_TRUE(listing.stats.output_skipped);
}

// The io layer knows no configuration key: a root it cannot list is a data error naming it
// (infer turns it into one of infer.input).
TEST(InputListing, RootThatCannotBeListedIsADataError) {
  const auto root = fresh_dir("input_listing_denied");
  const auto denied = [](const stdfs::path&, std::error_code& ec) {
    ec = std::make_error_code(std::errc::permission_denied);
    return std::vector<stdfs::directory_entry>{};
  };
  try {
    nucseg::io::list_input_paths(root, {}, denied);
    ADD_FAILURE() << "an unlistable root was listed";
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.kind(), nucseg::ErrorKind::data);
    EXPECT_NE(e.message().find("cannot be read (Permission denied)"), std::string::npos) << e.message();
  }
}

}  // namespace

// A Kaggle folder unpacked from a macOS zip: __MACOSX mirrors every <id>/images and <id>/masks
// with "._" resource forks only. Left out as hidden, not listed as items without an image
// (which would make every one of them a failure).
TEST(InputListing, MacosxMirrorOfAKaggleFolderIsLeftOut) {
  const auto root = fresh_dir("input_listing_macosx");
  for (const char* id : {"a", "b"}) {
    write_bytes(root / id / "images" / (std::string(id) + ".png"), "x");
    write_bytes(root / id / "masks" / "m1.png", "x");
    write_bytes(root / "__MACOSX" / id / "images" / ("._" + std::string(id) + ".png"), "x");
    write_bytes(root / "__MACOSX" / id / "masks" / "._m1.png", "x");
  }
  const auto listing = nucseg::io::list_input_paths(root);
  const auto inputs = by_relative(listing);
  ASSERT_EQ(inputs.size(), 2u);
  EXPECT_EQ(inputs.count("a/images/a.png") + inputs.count("a"), 1u) << "a listed once";
  EXPECT_EQ(listing.stats.items_without_image, 0u);
  EXPECT_EQ(listing.stats.hidden, 1u);  // the __MACOSX folder
  stdfs::remove_all(root);
}
