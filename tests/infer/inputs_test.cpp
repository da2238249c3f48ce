#include "nucseg/infer/inputs.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/infer/output.hpp"
#include "nucseg/io/image.hpp"
#include "test_util.hpp"

namespace {

namespace stdfs = std::filesystem;
using nucseg::infer::discover_inputs;
using nucseg::testing::ScratchDir;
using nucseg::testing::touch;

// Every id is one safe component, unique (case-insensitively), and its result file stays
// directly inside <output>/images.
void expect_safe_ids(const nucseg::infer::InputSet& set, const stdfs::path& out) {
  nucseg::infer::ResultStore store(out);
  std::set<std::string> seen;
  for (const auto& item : set.items) {
    SCOPED_TRACE(item.relative);
    EXPECT_EQ(item.id, nucseg::fs::safe_component(item.id));
    EXPECT_NE(item.id, ".");
    EXPECT_NE(item.id, "..");
    EXPECT_EQ(item.id.find('/'), std::string::npos);
    EXPECT_LE(item.id.size(), 200u);
    std::string lower = item.id;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_TRUE(seen.insert(lower).second) << "duplicate id " << item.id;
    auto p = store.result_path(item.id).lexically_normal();
    EXPECT_EQ(p.parent_path(), (out / "images").lexically_normal());
  }
}

TEST(Inputs, FolderTreeWithHostileNamesGivesSafeUniqueIds) {
  ScratchDir dir("inputs-folder");
  auto root = dir.path() / "in";
  touch(root / "a.png");
  touch(root / "sub" / "b.TIF");
  touch(root / "sub" / "deeper" / "c.jpeg");
  touch(root / "sub_b.png");           // sanitises to the same id as sub/b.TIF
  touch(root / "A.png");               // collides with a.png on case-insensitive file systems
  touch(root / "..png");               // a hidden file: skipped
  touch(root / "we ird;$(rm -rf)\n.png");
  touch(root / (std::string(230, 'x') + ".png"));
  touch(root / "notes.txt");           // not an image
  touch(root / ".hidden" / "h.png");   // hidden folder skipped
  touch(root / "d.png.tmp-123");       // our temporaries skipped
  auto set = discover_inputs(root.string());
  EXPECT_EQ(set.kind, "folder");
  std::set<std::string> rel;
  for (const auto& i : set.items) rel.insert(i.relative);
  EXPECT_EQ(rel, (std::set<std::string>{"a.png", "A.png", "sub/b.TIF", "sub/deeper/c.jpeg", "sub_b.png",
                                        "we ird;$(rm -rf)\n.png", std::string(230, 'x') + ".png"}));
  expect_safe_ids(set, dir.path() / "out");
  for (const auto& i : set.items) {
    if (i.relative == "sub/deeper/c.jpeg") {
      EXPECT_EQ(i.id, "sub_deeper_c");
    }
    if (i.relative == "sub/b.TIF") {
      EXPECT_NE(i.id, "sub_b");  // collision: both get a hash suffix
    }
  }
}

TEST(Inputs, DotNamesNeverBecomeDotIds) {
  std::vector<nucseg::infer::InputItem> items(5);
  items[0].relative = "..png";
  items[1].relative = "...png";
  items[2].relative = "../../etc/passwd.png";
  items[3].relative = "./.png";
  items[4].relative = "a/../../b.png";
  nucseg::infer::assign_ids(items);
  for (const auto& item : items) {
    SCOPED_TRACE(item.relative);
    EXPECT_EQ(item.id, nucseg::fs::safe_component(item.id));
    EXPECT_NE(item.id[0], '.');
    EXPECT_EQ(item.id.find('/'), std::string::npos);
  }
}

TEST(Inputs, IdsDoNotDependOnListingOrder) {
  std::vector<nucseg::infer::InputItem> a(3), b;
  a[0].relative = "x/y.png";
  a[1].relative = "x_y.png";
  a[2].relative = "z.png";
  b = {a[2], a[1], a[0]};
  nucseg::infer::assign_ids(a);
  nucseg::infer::assign_ids(b);
  EXPECT_EQ(a[0].id, b[2].id);
  EXPECT_EQ(a[1].id, b[1].id);
  EXPECT_EQ(a[2].id, "z");
}

TEST(Inputs, KaggleLayoutUsesImagesAndIgnoresMasks) {
  ScratchDir dir("inputs-kaggle");
  for (std::string id : {"0a1b", "ff00"}) {
    touch(dir.path() / id / "images" / (id + ".png"));
    touch(dir.path() / id / "masks" / "m1.png");
    touch(dir.path() / id / "masks" / "m2.png");
  }
  auto set = discover_inputs(dir.path().string());
  EXPECT_EQ(set.kind, "kaggle");
  ASSERT_EQ(set.items.size(), 2u);
  EXPECT_EQ(set.items[0].id, "0a1b");
  EXPECT_EQ(set.items[1].id, "ff00");
  EXPECT_EQ(set.items[1].path, (dir.path() / "ff00" / "images" / "ff00.png").string());
}

// A Cellpose training folder: x.png beside x_masks.png. The masks are annotations, not inputs;
// a name with a mask suffix but no image beside it is an ordinary input.
TEST(Inputs, FolderWalkLeavesMasksBesideTheirImagesOut) {
  ScratchDir dir("inputs-paired");
  touch(dir.path() / "a.png");
  touch(dir.path() / "a_masks.png");
  touch(dir.path() / "sub" / "b.tif");
  touch(dir.path() / "sub" / "b_cp_masks.tif");
  touch(dir.path() / "lonely_mask.png");
  auto set = discover_inputs(dir.path().string());
  EXPECT_EQ(set.kind, "folder");
  ASSERT_EQ(set.items.size(), 3u);
  EXPECT_EQ(set.items[0].id, "a");
  EXPECT_EQ(set.items[1].id, "lonely_mask");
  EXPECT_EQ(set.items[2].id, "sub_b");
  EXPECT_EQ(set.masks_skipped, 2u);
  EXPECT_EQ(nucseg::infer::deserialize_inputs(nucseg::infer::serialize(set)).masks_skipped, 2u);
}

// Plain files beside the image folders (manifest.csv, README) are not a listing error, whatever
// order the folder lists them in: the folder is made first in one variant and last in the other.
TEST(Inputs, KaggleLayoutWithPlainFilesAtTheTop) {
  ScratchDir dir("inputs-kaggle-files");
  for (bool folder_first : {true, false}) {
    auto root = dir.path() / (folder_first ? "first" : "last");
    auto make_folder = [&] { touch(root / "0a1b" / "images" / "0a1b.png"); };
    if (folder_first) make_folder();
    for (int i = 0; i < 12; ++i) touch(root / ("file" + std::to_string(i) + ".txt"));
    touch(root / "manifest.csv", "id\n0a1b\n");
    if (!folder_first) make_folder();
    auto set = discover_inputs(root.string());
    EXPECT_EQ(set.kind, "kaggle");
    ASSERT_EQ(set.items.size(), 1u);
    EXPECT_EQ(set.items[0].id, "0a1b");
  }
}

// Rerunning into an output folder inside the input must not make the last run's label exports
// (or anything else there) inputs; an output that is the input itself is refused.
TEST(Inputs, OutputFolderInsideTheInputIsLeftOut) {
  ScratchDir dir("inputs-output-inside");
  const auto root = dir.path() / "plate";
  touch(root / "a.png");
  touch(root / "seg" / "labels" / "a.tif");
  touch(root / "seg" / "images" / "a.h5");
  auto set = discover_inputs(root.string(), (root / "seg").string());
  ASSERT_EQ(set.items.size(), 1u);
  EXPECT_EQ(set.items[0].relative, "a.png");
  EXPECT_TRUE(set.output_skipped);
  EXPECT_TRUE(nucseg::infer::deserialize_inputs(nucseg::infer::serialize(set)).output_skipped);
  // Named another way ("seg/.") it is the same folder.
  set = discover_inputs(root.string(), (root / "seg" / "." ).string());
  EXPECT_EQ(set.items.size(), 1u);
  EXPECT_EQ(discover_inputs(root.string()).items.size(), 2u);  // no output named: a.png and seg/labels/a.tif
  EXPECT_THROW(discover_inputs(root.string(), root.string()), nucseg::Error);
}

// An archive assembled from links: linked folders are walked (each real folder once, so a link
// loop ends), and a link to nothing with an image name is listed, to become a failure.
TEST(Inputs, LinkedFoldersAreFollowedOnceAndDeadLinksListed) {
  ScratchDir dir("inputs-links");
  const auto root = dir.path() / "archive";
  touch(root / "plate1" / "a.png");
  touch(dir.path() / "elsewhere" / "b.png");
  stdfs::create_directory_symlink(dir.path() / "elsewhere", root / "plate2");
  stdfs::create_directory_symlink(root, root / "plate1" / "loop");
  stdfs::create_symlink(dir.path() / "gone.png", root / "dead.png");
  const auto set = discover_inputs(root.string());
  std::set<std::string> rel;
  for (const auto& i : set.items) rel.insert(i.relative);
  EXPECT_EQ(rel, (std::set<std::string>{"dead.png", "plate1/a.png", "plate2/b.png"}));
  EXPECT_EQ(set.broken_links, 1u);
  EXPECT_EQ(set.links_skipped, 1u);  // the loop back to the root
}

// One Kaggle-shaped folder in a tree does not hide the tree's other images; its masks/ stays out.
TEST(Inputs, KaggleFolderBesideLooseImagesKeepsThem) {
  ScratchDir dir("inputs-kaggle-mixed");
  touch(dir.path() / "0a1b" / "images" / "0a1b.png");
  touch(dir.path() / "0a1b" / "masks" / "m1.png");
  touch(dir.path() / "top.png");
  touch(dir.path() / "loose" / "x.png");
  const auto set = discover_inputs(dir.path().string());
  EXPECT_EQ(set.kind, "kaggle");
  ASSERT_EQ(set.items.size(), 3u);
  EXPECT_EQ(set.items[0].id, "0a1b");
  EXPECT_EQ(set.items[1].id, "loose_x");
  EXPECT_EQ(set.items[2].id, "top");
  EXPECT_EQ(set.mask_folders_skipped, 1u);
}

// A Kaggle item with masks/ but no images/ (hostile audit #10): its masks are not segmented as
// images; the item folder is an input that fails, so the missing image is recorded.
TEST(Inputs, KaggleItemWithoutImagesIsAFailureNotItsMasks) {
  ScratchDir dir("inputs-kaggle-no-images");
  touch(dir.path() / "ok" / "images" / "ok.png");
  touch(dir.path() / "ok" / "masks" / "m1.png");
  touch(dir.path() / "hx" / "masks" / "hx_masks_a.png");
  touch(dir.path() / "hx" / "masks" / "b.png");
  const auto set = discover_inputs(dir.path().string());
  EXPECT_EQ(set.kind, "kaggle");
  std::set<std::string> rel;
  for (const auto& i : set.items) rel.insert(i.relative);
  EXPECT_EQ(rel, (std::set<std::string>{"hx", "ok/images/ok.png"}));
  EXPECT_EQ(set.kaggle_items_without_images, 1u);
  EXPECT_EQ(set.mask_folders_skipped, 1u);
  EXPECT_EQ(nucseg::infer::deserialize_inputs(nucseg::infer::serialize(set)).kaggle_items_without_images, 1u);
  for (const auto& i : set.items) {
    if (i.relative != "hx") continue;
    EXPECT_EQ(i.id, "hx");
    try {
      nucseg::io::read_raw_image(i.path);
      ADD_FAILURE() << "an item folder was read as an image";
    } catch (const nucseg::Error& e) {
      EXPECT_NE(std::string(e.what()).find("masks/ but no images/"), std::string::npos) << e.what();
    }
  }
}

// A Kaggle item whose images/ folder is empty (fault sweep): its masks/ are left out as beside
// any images/, but the item had vanished without a word (rc 0, in neither /failures nor
// images.csv). Its folder is an input that fails, saying the images/ folder holds no image.
TEST(Inputs, KaggleItemWithAnEmptyImagesFolderIsAFailure) {
  ScratchDir dir("inputs-kaggle-empty-images");
  touch(dir.path() / "ok" / "images" / "ok.png");
  touch(dir.path() / "ok" / "masks" / "m1.png");
  stdfs::create_directories(dir.path() / "hx" / "images");
  touch(dir.path() / "hx" / "masks" / "m1.png");
  // An image name that is a FIFO (never opened) is no image either.
  stdfs::create_directories(dir.path() / "pipe" / "images");
  ASSERT_EQ(::mkfifo((dir.path() / "pipe" / "images" / "pipe.png").c_str(), 0600), 0) << std::strerror(errno);
  touch(dir.path() / "pipe" / "masks" / "m1.png");
  const auto set = discover_inputs(dir.path().string());
  EXPECT_EQ(set.kind, "kaggle");
  std::set<std::string> rel;
  for (const auto& i : set.items) rel.insert(i.relative);
  EXPECT_EQ(rel, (std::set<std::string>{"hx", "ok/images/ok.png", "pipe"}));
  EXPECT_EQ(set.kaggle_items_without_images, 2u);
  EXPECT_EQ(set.mask_folders_skipped, 3u);
  EXPECT_EQ(set.not_regular.count, 1u);
  for (const auto& i : set.items) {
    if (i.relative != "hx") continue;
    EXPECT_EQ(i.id, "hx");
    EXPECT_EQ(i.path, (dir.path() / "hx").string());
    try {
      nucseg::io::read_raw_image(i.path);
      ADD_FAILURE() << "an item folder was read as an image";
    } catch (const nucseg::Error& e) {
      EXPECT_NE(std::string(e.what()).find("images/ folder holds no image"), std::string::npos) << e.what();
    }
  }
}

// A flat layout's root (images/ beside masks/): the images only, named as nucseg_eval names
// that layout's truth (relative to images/).
TEST(Inputs, FlatLayoutRootSegmentsItsImagesOnly) {
  ScratchDir dir("inputs-flat");
  touch(dir.path() / "images" / "x.png");
  touch(dir.path() / "images" / "sub" / "y.png");
  touch(dir.path() / "masks" / "x.png");
  touch(dir.path() / "masks" / "sub" / "y.png");
  const auto set = discover_inputs(dir.path().string());
  EXPECT_EQ(set.kind, "flat");
  ASSERT_EQ(set.items.size(), 2u);
  EXPECT_EQ(set.items[0].id, "sub_y");
  EXPECT_EQ(set.items[1].id, "x");
  EXPECT_EQ(set.mask_folders_skipped, 1u);
}

// Notepad and PowerShell write lists with a UTF-8 byte-order mark.
TEST(Inputs, ListFileWithAByteOrderMark) {
  ScratchDir dir("inputs-list-bom");
  touch(dir.path() / "a.png");
  touch(dir.path() / "list.txt", "\xEF\xBB\xBF" "a.png\r\n");
  const auto set = discover_inputs((dir.path() / "list.txt").string());
  ASSERT_EQ(set.items.size(), 1u);
  EXPECT_EQ(set.items[0].path, (dir.path() / "a.png").string());
  EXPECT_GT(set.items[0].bytes, 0u);
}

// One file listed four ways is one input (one id, one result).
TEST(Inputs, ListFileNamingOneFileFourWaysGivesOneInput) {
  ScratchDir dir("inputs-list-dup");
  touch(dir.path() / "data" / "a.png");
  touch(dir.path() / "data" / "sub" / "b.png");
  touch(dir.path() / "data" / "list.txt",
        "a.png\nsub/../a.png\n" + (dir.path() / "data" / "a.png").string() + "\n   a.png   \nsub/b.png\n");
  auto set = discover_inputs((dir.path() / "data" / "list.txt").string());
  ASSERT_EQ(set.items.size(), 2u);
  EXPECT_EQ(set.items[0].relative, "a.png");
  EXPECT_EQ(set.items[1].relative, "sub/b.png");
}

TEST(Inputs, ListFileWithCommentsRelativeAndEscapingPaths) {
  ScratchDir dir("inputs-list");
  touch(dir.path() / "data" / "one.png");
  touch(dir.path() / "other" / "two.tiff");
  touch(dir.path() / "lists" / "list.txt",
        "# images to segment\n\n../data/one.png\n  " + (dir.path() / "other" / "two.tiff").string() +
            "  \n../data/missing.png\n");
  auto set = discover_inputs((dir.path() / "lists" / "list.txt").string());
  EXPECT_EQ(set.kind, "list");
  ASSERT_EQ(set.items.size(), 3u);
  // Relative to the common folder, so "../" from the list never reaches the id.
  EXPECT_EQ(set.items[0].relative, "data/missing.png");
  EXPECT_EQ(set.items[0].id, "data_missing");
  EXPECT_EQ(set.items[1].id, "data_one");
  EXPECT_EQ(set.items[2].id, "other_two");
  expect_safe_ids(set, dir.path() / "out");
}

// A folder below the root that cannot be listed (EACCES injected: root reads every folder) is
// an input of its own, so it becomes a failure instead of its images vanishing; the root itself
// failing is a config error.
TEST(Inputs, FolderThatCannotBeListedIsAnInputThatFails) {
  ScratchDir dir("inputs-unlistable");
  auto root = dir.path() / "in";
  touch(root / "plateA" / "A01.png");
  touch(root / "plateB" / "B01.png");
  touch(root / "kaggle" / "hx" / "images" / "hx.png");
  const auto denied = [](const std::set<std::string>& names) {
    return [names](const stdfs::path& folder, std::error_code& ec) {
      std::vector<stdfs::directory_entry> out;
      if (names.count(folder.filename().string())) {
        ec = std::make_error_code(std::errc::permission_denied);
        return out;
      }
      for (const auto& e : stdfs::directory_iterator(folder)) out.push_back(e);
      return out;
    };
  };
  const auto set = discover_inputs(root.string(), {}, denied({"plateB", "hx"}));
  EXPECT_EQ(set.unlistable_folders, 2u);
  std::set<std::string> rel;
  for (const auto& i : set.items) rel.insert(i.relative);
  EXPECT_EQ(rel, (std::set<std::string>{"kaggle/hx", "plateA/A01.png", "plateB"}));
  for (const auto& i : set.items)
    if (i.relative == "plateB") EXPECT_EQ(i.path, (root / "plateB").string());
  EXPECT_EQ(nucseg::infer::deserialize_inputs(nucseg::infer::serialize(set)).unlistable_folders, 2u);
  try {
    discover_inputs(root.string(), {}, denied({"in"}));
    ADD_FAILURE() << "an unlistable root was accepted";
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.context().key, "infer.input");
    EXPECT_NE(std::string(e.what()).find("cannot be read (Permission denied)"), std::string::npos) << e.what();
  }
}

// A mistyped line is a failure of its own: it does not move the folder the other ids are
// relative to (they stay what the list without it gives, so eval and a resume still match).
TEST(Inputs, ListFileWithAMissingPathKeepsTheOtherIds) {
  ScratchDir dir("inputs-list-typo");
  touch(dir.path() / "plate" / "a" / "images" / "a.png");
  touch(dir.path() / "plate" / "b" / "images" / "b.png");
  const auto a = (dir.path() / "plate" / "a" / "images" / "a.png").string();
  const auto b = (dir.path() / "plate" / "b" / "images" / "b.png").string();
  touch(dir.path() / "ok.txt", a + "\n" + b + "\n");
  touch(dir.path() / "typo.txt", a + "\n" + b + "\n/nonexistent-nucseg/typo/gone.png\n");
  const auto ok = discover_inputs((dir.path() / "ok.txt").string());
  const auto typo = discover_inputs((dir.path() / "typo.txt").string());
  ASSERT_EQ(ok.items.size(), 2u);
  ASSERT_EQ(typo.items.size(), 3u);
  std::set<std::string> ok_ids, typo_ids;
  for (const auto& i : ok.items) ok_ids.insert(i.id);
  for (const auto& i : typo.items) typo_ids.insert(i.id);
  EXPECT_EQ(ok_ids, (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(typo_ids, (std::set<std::string>{"a", "b", "nonexistent-nucseg_typo_gone"}));
  expect_safe_ids(typo, dir.path() / "out");
}

// One image given as the input (a PNG is not a list of paths): one item, the file itself, its
// id the file name without the extension, whatever the case of the extension.
TEST(Inputs, OneImageFileIsOneInput) {
  ScratchDir dir("inputs-one-file");
  for (const char* name : {"ihc.png", "Scan 7.TIF"}) {
    const auto file = dir.path() / name;
    touch(file, "discovery does not decode it");
    const auto set = discover_inputs(file.string());
    EXPECT_EQ(set.kind, "file");
    ASSERT_EQ(set.items.size(), 1u) << name;
    EXPECT_EQ(set.items[0].path, stdfs::absolute(file).lexically_normal().string());
    EXPECT_EQ(set.items[0].relative, name);
    EXPECT_EQ(set.items[0].id, std::string(name) == "ihc.png" ? "ihc" : "Scan_7");
    EXPECT_GT(set.items[0].bytes, 0u);
  }
}

TEST(Inputs, EmptyOrMissingInputIsAConfigError) {
  ScratchDir dir("inputs-empty");
  touch(dir.path() / "readme.txt");
  // An image named without an image extension is binary, not a list of paths.
  touch(dir.path() / "scan.bmp", std::string("BM\0\0\x36\x10", 6));
  for (auto input : {dir.path().string(), (dir.path() / "nope").string(), std::string(),
                     (dir.path() / "scan.bmp").string()}) {
    try {
      discover_inputs(input);
      ADD_FAILURE() << "no error for " << input;
    } catch (const nucseg::Error& e) {
      EXPECT_EQ(e.kind(), nucseg::ErrorKind::config);
      EXPECT_EQ(e.exit_code(), 2);
      EXPECT_EQ(e.context().key, "infer.input");
    }
  }
}

// A FIFO named pipe.png and a link to /dev/zero named zero.png are counted and named, never
// opened: opening the FIFO would block this test for ever (nobody writes to it), so the test
// finishing is half the check. As infer.input the FIFO is refused, not read as a list.
TEST(Inputs, EntriesThatAreNotRegularFilesAreCountedNotOpened) {
  ScratchDir dir("inputs-fifo");
  const auto root = dir.path() / "in";
  touch(root / "ok.png");
  ASSERT_EQ(::mkfifo((root / "pipe.png").c_str(), 0600), 0) << std::strerror(errno);
  stdfs::create_directories(root / "sub");
  stdfs::create_symlink("/dev/zero", root / "sub" / "zero.png");
  const auto set = discover_inputs(root.string());
  ASSERT_EQ(set.items.size(), 1u);
  EXPECT_EQ(set.items[0].relative, "ok.png");
  EXPECT_EQ(set.not_regular.count, 2u);
  EXPECT_EQ(set.not_regular.text(), "2 entries that are not regular files: pipe.png, sub/zero.png");
  const auto back = nucseg::infer::deserialize_inputs(nucseg::infer::serialize(set));
  EXPECT_EQ(back.not_regular.names, set.not_regular.names);
  try {
    discover_inputs((root / "pipe.png").string());
    ADD_FAILURE() << "a FIFO was accepted as infer.input";
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.context().key, "infer.input");
    EXPECT_NE(std::string(e.what()).find("neither a folder nor a regular file"), std::string::npos) << e.what();
  }
}

TEST(Inputs, FilesInFormatsNotReadAreNamedNotPassedOver) {
  ScratchDir dir("inputs-unread");
  const auto root = dir.path() / "in";
  touch(root / "ok.png");
  touch(root / "scan.BMP");
  touch(root / "plate" / "well.czi");
  touch(root / "plate" / "notes.txt");  // not an image: not named
  touch(root / "a.gif");
  touch(root / "b.nd2");
  touch(root / "cells_seg.npy");                            // a Cellpose annotation: not named
  touch(root / "stack.bmp" / "inside.png");                 // a folder named like one: walked
  stdfs::create_symlink(root / "gone.czi", root / "y.czi");  // a link to nothing: not a file to convert
  const auto set = discover_inputs(root.string());
  ASSERT_EQ(set.items.size(), 2u);
  EXPECT_EQ(set.items[0].relative, "ok.png");
  EXPECT_EQ(set.items[1].relative, "stack.bmp/inside.png");
  EXPECT_EQ(set.unread_formats.count, 4u);
  // Names are kept for the first three met; a folder's own files come before its subfolders'.
  const std::set<std::string> named(set.unread_formats.names.begin(), set.unread_formats.names.end());
  EXPECT_EQ(named, (std::set<std::string>{"scan.BMP", "a.gif", "b.nd2"}));
  EXPECT_NE(set.unread_formats.names_text().find(", ... (1 more)"), std::string::npos) << set.unread_formats.names_text();
  const auto back = nucseg::infer::deserialize_inputs(nucseg::infer::serialize(set));
  EXPECT_EQ(back.unread_formats.count, 4u);
  EXPECT_EQ(back.unread_formats.names, set.unread_formats.names);
  EXPECT_EQ(back.items.size(), 2u);
  try {  // one such file as the input: refused, not read as a list of paths
    discover_inputs((root / "plate" / "well.czi").string());
    ADD_FAILURE() << "a .czi file was accepted as infer.input";
  } catch (const nucseg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("format nucseg does not read"), std::string::npos) << e.what();
  }
  stdfs::remove(root / "ok.png");  // nothing readable left: the error names what is there
  stdfs::remove_all(root / "stack.bmp");
  try {
    discover_inputs(root.string());
    ADD_FAILURE() << "a folder of .bmp/.czi files was accepted";
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.context().key, "infer.input");
    EXPECT_NE(std::string(e.what()).find("4 file(s) in formats nucseg does not read"), std::string::npos) << e.what();
  }
}

TEST(Inputs, SerialisationRoundTripsOddBytes) {
  nucseg::infer::InputSet set;
  set.root = "/r:oot";
  set.kind = "folder";
  set.items.push_back({"id1", "/p/a\n:b.png", "a\n:b.png", 12});
  set.items.push_back({"id2", "", "12:3", 0});
  auto back = nucseg::infer::deserialize_inputs(nucseg::infer::serialize(set));
  EXPECT_EQ(back.root, set.root);
  ASSERT_EQ(back.items.size(), 2u);
  EXPECT_EQ(back.items[0].path, set.items[0].path);
  EXPECT_EQ(back.items[0].bytes, 12u);
  EXPECT_EQ(back.items[1].relative, "12:3");
}

}  // namespace
