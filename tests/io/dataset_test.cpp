#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <set>

#include "test_util.hpp"
#include "nucseg/core/error.hpp"
#include "nucseg/io/dataset.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/io/image.hpp"

using namespace nucseg::io;
namespace t = nucseg::testing;

namespace {
std::string data_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.kind(), nucseg::ErrorKind::data);
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return {};
}
}  // namespace

TEST(Dataset, KaggleLayoutGivesOneLabelPerMask) {
  auto root = t::fresh_dir("kaggle");
  auto ids = t::write_kaggle(root, 3);
  EXPECT_EQ(detect_layout(root), DatasetLayout::kaggle);
  auto items = list_dataset(root, DatasetLayout::kaggle);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[1].id, "img01");
  EXPECT_EQ(items[1].image, root / "img01" / "images" / "img01.png");
  ASSERT_GT(items[1].masks.size(), 3u);
  EXPECT_TRUE(std::is_sorted(items[1].masks.begin(), items[1].masks.end()));
  auto image = read_image(items[1].image);
  auto labels = read_instance_labels(items[1], image.rgb.size());
  EXPECT_EQ(labels.type(), CV_32SC1);
  double max_label = 0;
  cv::minMaxLoc(labels, nullptr, &max_label);
  EXPECT_EQ(static_cast<size_t>(max_label), items[1].masks.size());
  // Label k covers exactly the pixels of the k-th mask file.
  cv::Mat second = cv::imread(items[1].masks[1].string(), cv::IMREAD_GRAYSCALE);
  EXPECT_EQ(cv::countNonZero(labels == 2), cv::countNonZero(second));
  EXPECT_EQ(cv::countNonZero((labels == 2) != (second != 0)), 0);
  std::filesystem::remove_all(root);
}

TEST(Dataset, FlatLayoutUsesConnectedComponents) {
  auto root = t::fresh_dir("flat");
  t::write_flat(root, 2);
  cv::Mat two(10, 12, CV_8UC1, cv::Scalar(0));
  two(cv::Rect(1, 1, 3, 3)).setTo(255);
  two(cv::Rect(6, 5, 4, 4)).setTo(255);
  t::write_png(root / "images" / "known.png", cv::Mat(10, 12, CV_8UC3, cv::Scalar(1, 2, 3)));
  t::write_png(root / "masks" / "known.png", two);
  EXPECT_EQ(detect_layout(root), DatasetLayout::flat);
  auto items = list_dataset(root, DatasetLayout::flat);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[2].id, "known");
  ASSERT_EQ(items[2].masks.size(), 1u);
  auto labels = read_instance_labels(items[2], {12, 10});
  EXPECT_EQ(labels.at<int32_t>(2, 2), 1);
  EXPECT_EQ(labels.at<int32_t>(6, 7), 2);
  EXPECT_EQ(cv::countNonZero(labels == 1), 9);
  EXPECT_EQ(cv::countNonZero(labels == 2), 16);
  EXPECT_EQ(cv::countNonZero(labels), 25);
  std::filesystem::remove_all(root);
}

// Cellpose trains from one folder: img.tif beside img_masks.tif (a 16-bit label image). Other
// tools write _mask, _labels or _label; a flat masks/ folder may use them too. Cellpose's saved
// predictions (_cp_masks) are not truth.
TEST(Dataset, PairedLayoutAndSuffixedMasksFindTheirImages) {
  auto root = t::fresh_dir("paired");
  cv::Mat labels(10, 12, CV_16UC1, cv::Scalar(0));
  labels(cv::Rect(1, 1, 3, 3)).setTo(7);
  labels(cv::Rect(4, 1, 3, 3)).setTo(9);  // touching nucleus 7: a label image keeps them apart
  const cv::Mat image(10, 12, CV_8UC3, cv::Scalar(1, 2, 3));
  t::write_png(root / "a.png", image);
  t::write_png(root / "a_masks.png", labels);
  t::write_png(root / "b_cells.png", image);
  t::write_png(root / "b_cells_label.png", labels);
  t::write_png(root / "c.png", image);  // no mask: reported
  t::write_png(root / "orphan_masks.png", labels);  // no image "orphan": an image of its own, without a mask
  t::write_bytes(root / "a_seg.npy", "not an image");  // Cellpose's GUI file: skipped, counted
  t::write_png(root / "a_cp_masks.png", labels);        // Cellpose's prediction: skipped, counted
  EXPECT_EQ(detect_layout(root), DatasetLayout::paired);
  std::vector<ListingProblem> problems;
  ListingStats stats;
  auto items = list_dataset(root, DatasetLayout::paired, "images", "masks", &problems, &stats);
  EXPECT_EQ(stats.others, 2u);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].id, "a");
  EXPECT_EQ(items[0].image, root / "a.png");
  ASSERT_EQ(items[0].masks.size(), 1u);
  EXPECT_EQ(items[0].masks[0], root / "a_masks.png");
  EXPECT_EQ(items[1].id, "b_cells");
  EXPECT_EQ(items[1].masks[0], root / "b_cells_label.png");
  auto read = read_instance_labels(items[0], {12, 10});
  EXPECT_EQ(cv::countNonZero(read == read.at<int32_t>(2, 2)), 9);
  EXPECT_NE(read.at<int32_t>(2, 2), read.at<int32_t>(2, 5));  // touching, still two
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].path, root / "c.png");
  EXPECT_NE(problems[0].reason.find("_masks"), std::string::npos) << problems[0].reason;
  EXPECT_EQ(problems[0].reason.find("/masks"), std::string::npos) << problems[0].reason;  // no masks/ folder here
  EXPECT_EQ(problems[0].reason.find("_cp_masks"), std::string::npos) << problems[0].reason;
  EXPECT_EQ(problems[1].path, root / "orphan_masks.png");
  EXPECT_EQ(parse_layout("paired"), DatasetLayout::paired);
  // A microscope's upper-case name: D.TIF beside d's mask is recognised, so is a title-case
  // E.Png (a Windows export), a lone mask name is not.
  t::write_png(root / "D.TIF", image);
  t::write_png(root / "E.Png", image);
  EXPECT_TRUE(is_paired_mask(root / "D_masks.png"));
  EXPECT_TRUE(is_paired_mask(root / "E_masks.png"));
  EXPECT_TRUE(is_paired_mask(root / "a_masks.png"));
  EXPECT_FALSE(is_paired_mask(root / "orphan_masks.png"));
  EXPECT_FALSE(is_paired_mask(root / "a.png"));
  std::filesystem::remove(root / "D.TIF");
  std::filesystem::remove(root / "E.Png");

  // Flat: a mask named with a suffix; an exact name wins over a suffixed one, _masks over _mask.
  auto flat = t::fresh_dir("flat_suffix");
  t::write_png(flat / "images" / "x.png", image);
  t::write_png(flat / "masks" / "x_labels.png", labels);
  t::write_png(flat / "images" / "y.png", image);
  t::write_png(flat / "masks" / "y.png", labels);
  t::write_png(flat / "masks" / "y_mask.png", labels);
  t::write_png(flat / "images" / "z.png", image);
  t::write_png(flat / "masks" / "z_mask.png", labels);
  t::write_png(flat / "masks" / "z_masks.png", labels);
  t::write_png(flat / "images" / "p.png", image);
  t::write_png(flat / "masks" / "p_cp_masks.png", labels);  // a prediction is no annotation
  std::vector<ListingProblem> flat_problems;
  auto flat_items = list_dataset(flat, detect_layout(flat), "images", "masks", &flat_problems);
  ASSERT_EQ(flat_items.size(), 3u);
  EXPECT_EQ(flat_items[0].layout, DatasetLayout::flat);
  EXPECT_EQ(flat_items[0].masks[0], flat / "masks" / "x_labels.png");
  EXPECT_EQ(flat_items[1].masks[0], flat / "masks" / "y.png");
  EXPECT_EQ(flat_items[2].masks[0], flat / "masks" / "z_masks.png");
  ASSERT_EQ(flat_problems.size(), 1u);
  EXPECT_EQ(flat_problems[0].path, flat / "images" / "p.png");
  int rank = -1;
  EXPECT_EQ(mask_suffix_stem("img_masks", &rank), "img");
  EXPECT_EQ(rank, 1);
  EXPECT_EQ(mask_suffix_stem("img_cp_masks"), "");
  EXPECT_EQ(mask_suffix_stem("_masks"), "");
  EXPECT_EQ(mask_suffix_stem("masks"), "");
  std::filesystem::remove_all(root);
  std::filesystem::remove_all(flat);
}

TEST(Dataset, ImagesOnlyWalksRecursivelyWithSafeUniqueIds) {
  auto root = t::fresh_dir("images_only");
  cv::Mat px(4, 4, CV_8UC3, cv::Scalar(9, 9, 9));
  t::write_png(root / "a" / "b.png", px);
  t::write_png(root / "a_b.png", px);
  t::write_png(root / "c.tif", px);
  t::write_png(root / "c.png", px);
  t::write_bytes(root / "notes.txt", "x");
  t::write_png(root / ".hidden" / "x.png", px);
  EXPECT_EQ(detect_layout(root), DatasetLayout::images_only);
  auto items = list_dataset(root, DatasetLayout::images_only);
  ASSERT_EQ(items.size(), 4u);
  std::set<std::string> ids;
  for (const auto& item : items) {
    ids.insert(item.id);
    EXPECT_EQ(item.id, nucseg::fs::safe_component(item.id));
    EXPECT_TRUE(item.masks.empty());
  }
  EXPECT_EQ(ids.size(), 4u);
  EXPECT_TRUE(ids.count("a_b"));
  EXPECT_TRUE(std::is_sorted(items.begin(), items.end(), [](auto& x, auto& y) { return x.id < y.id; }));
  EXPECT_THROW(read_instance_labels(items[0], {4, 4}), nucseg::Error);
  std::filesystem::remove_all(root);
}

TEST(Dataset, BadMasksAndFoldersAreNamed) {
  auto root = t::fresh_dir("kaggle_bad");
  t::write_kaggle(root, 4);
  // img00: a mask of another size; img01: an empty masks folder; img02: a corrupt mask;
  // img03: "images" is a file, not a folder.
  t::write_png(root / "img00" / "masks" / "zz.png", cv::Mat(8, 8, CV_8UC1, cv::Scalar(255)));
  std::filesystem::remove_all(root / "img01" / "masks");
  std::filesystem::create_directories(root / "img01" / "masks");
  t::write_bytes(root / "img02" / "masks" / "m100.png", "\x89PNG\r\n\x1a\nbroken");
  std::filesystem::remove_all(root / "img03" / "images");
  t::write_bytes(root / "img03" / "images", "not a folder");

  std::vector<ListingProblem> problems;
  auto items = list_dataset(root, DatasetLayout::kaggle, "images", "masks", &problems);
  ASSERT_EQ(items.size(), 3u);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, root / "img03" / "images");
  EXPECT_EQ(problems[0].reason, "not a folder");
  EXPECT_THROW(list_dataset(root, DatasetLayout::kaggle), nucseg::Error);  // without a sink: throws

  cv::Size size(48, 40);
  auto msg = data_error([&] { read_instance_labels(items[0], size); });
  EXPECT_NE(msg.find("zz.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("differs from image size 48x40"), std::string::npos) << msg;
  // An existing, empty masks folder: an image without nuclei (a background tile), counted.
  EXPECT_EQ(cv::countNonZero(read_instance_labels(items[1], size)), 0);
  ListingStats stats;
  list_dataset(root, DatasetLayout::kaggle, "images", "masks", &problems, &stats);
  EXPECT_EQ(stats.empty_mask_folders, 1u);
  // Masks in a format nucseg does not read are not an empty annotation: that image is reported.
  t::write_bytes(root / "img01" / "masks" / "m1.bmp", "BM");
  std::vector<ListingProblem> bmp_problems;
  auto bmp_items = list_dataset(root, DatasetLayout::kaggle, "images", "masks", &bmp_problems);
  EXPECT_EQ(bmp_items.size(), 2u);
  ASSERT_EQ(bmp_problems.size(), 2u);
  EXPECT_EQ(bmp_problems[0].path, root / "img01" / "masks");
  msg = data_error([&] { read_instance_labels(items[2], size); });
  EXPECT_NE(msg.find("m100.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated PNG"), std::string::npos) << msg;
  EXPECT_THROW(detect_layout(root / "nowhere"), nucseg::Error);
  std::filesystem::remove_all(root);
}

// A folder that cannot be examined is not said to be missing: the reason is the system's
// (EACCES for a chmod-000 Kaggle item; ENAMETOOLONG here, which root cannot read past either).
TEST(Dataset, FolderThatCannotBeExaminedIsNotCalledMissing) {
  auto root = t::fresh_dir("flat_unreadable");
  t::write_flat(root, 1);
  const std::string too_long(300, 'x');
  auto msg = data_error([&] { list_dataset(root, DatasetLayout::flat, too_long, "masks"); });
  EXPECT_EQ(msg.find("does not exist"), std::string::npos) << msg;
  EXPECT_NE(msg.find("folder cannot be read (File name too long)"), std::string::npos) << msg;
  msg = data_error([&] { list_dataset(root, DatasetLayout::flat, "imgs", "masks"); });
  EXPECT_NE(msg.find("folder does not exist"), std::string::npos) << msg;
  msg = data_error([&] { list_dataset(root / too_long, DatasetLayout::flat); });
  EXPECT_NE(msg.find("dataset root cannot be read (File name too long)"), std::string::npos) << msg;
  std::filesystem::remove_all(root);
}

// A folder the system will not list (EACCES injected: root reads every folder) is a listing
// problem, named with the reason, never an empty folder whose images vanish: a Kaggle item's
// images/ and a subfolder of the images_only walk alike.
TEST(Dataset, FolderThatCannotBeListedIsAProblem) {
  auto root = t::fresh_dir("unlistable");
  t::write_kaggle(root, 2);
  const cv::Mat px(4, 4, CV_8UC3, cv::Scalar(9, 9, 9));
  t::write_png(root / "plateB" / "B01.png", px);
  const auto denied = [](const std::string& name) {
    return [name](const std::filesystem::path& dir, std::error_code& ec) {
      if (dir.filename() == name) {
        ec = std::make_error_code(std::errc::permission_denied);
        return std::vector<std::filesystem::directory_entry>{};
      }
      return list_folder(dir, ec);
    };
  };
  std::vector<ListingProblem> problems;
  auto items = list_dataset(root, DatasetLayout::kaggle, "images", "masks", &problems, nullptr, {}, denied("images"));
  EXPECT_TRUE(items.empty());
  ASSERT_EQ(problems.size(), 3u);  // img00, img01 and plateB (which has no images/ at all)
  EXPECT_EQ(problems[0].path, root / "img00" / "images");
  EXPECT_EQ(problems[0].reason, "folder cannot be read (Permission denied)");

  const auto tree = root / "plateB";
  t::write_png(tree / "plateA" / "A01.png", px);
  problems.clear();
  items = list_dataset(tree, DatasetLayout::images_only, "images", "masks", &problems, nullptr, {}, denied("plateA"));
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].id, "B01");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, tree / "plateA");
  EXPECT_EQ(problems[0].reason, "folder cannot be read (Permission denied)");
  auto msg = data_error([&] { list_dataset(tree, DatasetLayout::images_only, "images", "masks", nullptr, nullptr, {},
                                           denied("plateA")); });
  EXPECT_NE(msg.find("plateA"), std::string::npos) << msg;
  std::filesystem::remove_all(root);
}

TEST(Dataset, HiddenFilesAndOwnTemporariesAreSkippedAndCounted) {
  auto root = t::fresh_dir("skipped");
  cv::Mat px(4, 4, CV_8UC3, cv::Scalar(9, 9, 9));
  cv::Mat mask(4, 4, CV_8UC1, cv::Scalar(255));
  for (const char* stem : {"scan.tmp-1", "plain"}) {  // ".tmp-" inside an input's name: read
    t::write_png(root / "images" / (std::string(stem) + ".png"), px);
    t::write_png(root / "masks" / (std::string(stem) + ".png"), mask);
  }
  t::write_png(root / "images" / ".DS_Store.png", px);
  t::write_png(root / "masks" / ".thumb.png", mask);
  t::write_bytes(root / "images" / "plain.png.tmp-777", "partial");  // a tool's temporary
  ListingStats stats;
  auto items = list_dataset(root, DatasetLayout::flat, "images", "masks", nullptr, &stats);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[1].id, "scan.tmp-1");
  EXPECT_EQ(stats.hidden, 2u);
  EXPECT_EQ(stats.temporary, 1u);
  std::filesystem::remove_all(root);
}

// A merged download: a flat images/ + masks/ pair with Kaggle <id>/images items beside it.
// The flat layout is read; each Kaggle item is named as not read, never dropped in silence.
// macOS's __MACOSX folder (resource forks of a zip) is skipped like a hidden one.
TEST(Dataset, KaggleItemsBesideAFlatLayoutAreNamedAndMacosxSkipped) {
  auto root = t::fresh_dir("mixed");
  t::write_flat(root, 2);
  t::write_kaggle(root, 1);
  t::write_png(root / "__MACOSX" / "images" / "._img.png", cv::Mat(4, 4, CV_8UC3, cv::Scalar(1, 1, 1)));
  ASSERT_EQ(detect_layout(root), DatasetLayout::flat);
  std::vector<ListingProblem> problems;
  ListingStats stats;
  auto items = list_dataset(root, DatasetLayout::flat, "images", "masks", &problems, &stats);
  EXPECT_EQ(items.size(), 2u);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, root / "img00");
  EXPECT_NE(problems[0].reason.find("Kaggle-layout item beside the flat images/ + masks/"), std::string::npos);
  // Without a problem list the first one is an error naming it.
  auto what = data_error([&] { list_dataset(root, DatasetLayout::flat); });
  EXPECT_NE(what.find("img00"), std::string::npos) << what;
  // A Kaggle root with a __MACOSX folder: skipped and counted, not a broken item.
  auto kroot = t::fresh_dir("macosx");
  t::write_kaggle(kroot, 2);
  t::write_png(kroot / "__MACOSX" / "img00" / "images" / "._img00.png", cv::Mat(4, 4, CV_8UC3, cv::Scalar(1, 1, 1)));
  problems.clear();
  stats = {};
  items = list_dataset(kroot, DatasetLayout::kaggle, "images", "masks", &problems, &stats);
  EXPECT_EQ(items.size(), 2u);
  EXPECT_TRUE(problems.empty()) << problems.front().path << ": " << problems.front().reason;
  EXPECT_EQ(stats.hidden, 1u);
  std::filesystem::remove_all(root);
  std::filesystem::remove_all(kroot);
}

// Files without an image extension beside the data (Windows' Thumbs.db in a masks folder, a
// README among the images) are counted, not read: they neither reject an image nor read as
// one without a mask. A tool's output folder inside a Kaggle or images-only root is left out.
TEST(Dataset, StrayFilesAreCountedAndTheOutputFolderLeftOut) {
  auto root = t::fresh_dir("stray");
  t::write_kaggle(root, 2);
  t::write_bytes(root / "img00" / "masks" / "Thumbs.db", "windows");
  t::write_bytes(root / "img01" / "images" / "README.txt", "notes");
  t::write_bytes(root / "shards" / "index.h5", "an output, not an input");
  ListingStats stats;
  std::vector<ListingProblem> problems;
  auto items = list_dataset(root, DatasetLayout::kaggle, "images", "masks", &problems, &stats, root / "shards");
  EXPECT_EQ(items.size(), 2u);
  EXPECT_TRUE(problems.empty()) << problems.front().path << ": " << problems.front().reason;
  EXPECT_EQ(stats.others, 2u);
  EXPECT_TRUE(stats.output_skipped);
  // Without the exclusion the shards folder is an input without images/, reported.
  problems.clear();
  list_dataset(root, DatasetLayout::kaggle, "images", "masks", &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, root / "shards" / "images");
  ListingStats images_stats;
  t::write_png(root / "out" / "labels" / "img00.png", cv::Mat(4, 4, CV_8UC1, cv::Scalar(1)));
  auto images = list_dataset(root, DatasetLayout::images_only, "images", "masks", nullptr, &images_stats, root / "out");
  for (const auto& item : images) EXPECT_EQ(item.image.string().find("/out/"), std::string::npos) << item.image;
  EXPECT_TRUE(images_stats.output_skipped);

  auto flat = t::fresh_dir("stray_flat");
  cv::Mat px(4, 4, CV_8UC3, cv::Scalar(9, 9, 9));
  t::write_png(flat / "images" / "a.png", px);
  t::write_png(flat / "masks" / "a.png", cv::Mat(4, 4, CV_8UC1, cv::Scalar(255)));
  t::write_bytes(flat / "images" / "README.txt", "notes");
  ListingStats flat_stats;
  std::vector<ListingProblem> flat_problems;
  EXPECT_EQ(list_dataset(flat, DatasetLayout::flat, "images", "masks", &flat_problems, &flat_stats).size(), 1u);
  EXPECT_TRUE(flat_problems.empty());
  EXPECT_EQ(flat_stats.others, 1u);
  std::filesystem::remove_all(root);
  std::filesystem::remove_all(flat);
}

// Kaggle's <id>/images holds one image, <id>.png; other images there are left out, but counted
// so pack and eval can say so (hostile audit #8).
TEST(Dataset, ExtraImagesInAKaggleImagesFolderAreCounted) {
  auto root = t::fresh_dir("kaggle-extra-images");
  t::write_kaggle(root, 2);
  const cv::Mat gray(8, 8, CV_8UC1, cv::Scalar(7));
  t::write_png(root / "img00" / "images" / "other.png", gray);
  t::write_png(root / "img00" / "images" / "third.png", gray);
  ListingStats stats;
  std::vector<ListingProblem> problems;
  const auto items = list_dataset(root, DatasetLayout::kaggle, "images", "masks", &problems, &stats);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].image, root / "img00" / "images" / "img00.png");
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(stats.extra_images, 2u);
  std::filesystem::remove_all(root);
}

// A Kaggle item whose image is in a format nucseg does not read (a .bmp export) is a problem that
// names the file and what to do, not an "empty" images folder; an empty one stays "empty".
TEST(Dataset, KaggleImageInAnUnreadFormatIsNamed) {
  auto root = t::fresh_dir("kaggle-unread-format");
  t::write_kaggle(root, 3);
  std::filesystem::rename(root / "img01" / "images" / "img01.png", root / "img01" / "images" / "img01.bmp");
  std::filesystem::remove(root / "img02" / "images" / "img02.png");
  std::vector<ListingProblem> problems;
  const auto items = list_dataset(root, DatasetLayout::kaggle, "images", "masks", &problems, nullptr);
  ASSERT_EQ(items.size(), 1u);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].path, root / "img01" / "images");
  EXPECT_NE(problems[0].reason.find("img01.bmp is in a format it does not read"), std::string::npos) << problems[0].reason;
  EXPECT_EQ(problems[1].reason, "images folder is empty");
  std::filesystem::remove_all(root);
}

// Image-named entries that are not regular files (a FIFO, a link to /dev/zero) are counted and
// named, never opened: opening the FIFO would block this test for ever (nobody writes to it).
// Beside an item's named image such an entry is only counted; as a mask, or where it may be the
// item's image, the item is a problem: its truth or image cannot be read.
TEST(Dataset, EntriesThatAreNotRegularFilesAreCountedNotOpened) {
  auto root = t::fresh_dir("not-regular");
  t::write_kaggle(root, 4);
  ASSERT_EQ(::mkfifo((root / "img00" / "images" / "pipe.png").c_str(), 0600), 0) << std::strerror(errno);
  ASSERT_EQ(::mkfifo((root / "img01" / "masks" / "m999.png").c_str(), 0600), 0) << std::strerror(errno);
  std::filesystem::create_symlink("/dev/zero", root / "img02" / "masks" / "zero.png");
  // img03's own image is a FIFO: its one regular image must not be taken for it.
  std::filesystem::rename(root / "img03" / "images" / "img03.png", root / "img03" / "images" / "other.png");
  ASSERT_EQ(::mkfifo((root / "img03" / "images" / "img03.png").c_str(), 0600), 0) << std::strerror(errno);
  ListingStats stats;
  std::vector<ListingProblem> problems;
  const auto items = list_dataset(root, DatasetLayout::kaggle, "images", "masks", &problems, &stats);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].id, "img00");
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0].path, root / "img01" / "masks");
  EXPECT_NE(problems[0].reason.find("not regular files"), std::string::npos) << problems[0].reason;
  EXPECT_EQ(problems[1].path, root / "img02" / "masks");
  EXPECT_EQ(problems[2].path, root / "img03" / "images");
  EXPECT_NE(problems[2].reason.find("not regular files"), std::string::npos) << problems[2].reason;
  EXPECT_EQ(stats.not_regular.count, 4u);
  EXPECT_EQ(stats.not_regular.text(), "4 entries that are not regular files: img00/images/pipe.png, "
                                      "img01/masks/m999.png, img02/masks/zero.png, ... (1 more)");
  read_instance_labels(items[0], read_image(items[0].image).rgb.size());

  ListingStats walk;
  list_dataset(root / "img01", DatasetLayout::images_only, "images", "masks", nullptr, &walk);
  EXPECT_EQ(walk.not_regular.count, 1u);
  // Read directly (a list file naming it), the FIFO is refused by its type, not opened.
  auto msg = data_error([&] { read_raw_image(root / "img00" / "images" / "pipe.png"); });
  EXPECT_NE(msg.find("not a regular file"), std::string::npos) << msg;
  std::filesystem::remove_all(root);
}

TEST(Dataset, NotRegularFilesNameTheFirstFewAndSurviveTheBroadcast) {
  NotRegularFiles entries;
  EXPECT_EQ(entries.text(), "");
  entries.add("a.png");
  EXPECT_EQ(entries.text(), "1 entry that is not a regular file: a.png");
  for (const char* name : {"b.png", "c.png", "d.png", "e.png"}) entries.add(name);
  EXPECT_EQ(entries.text(), "5 entries that are not regular files: a.png, b.png, c.png, ... (2 more)");
  std::string text;
  entries.put(text);
  size_t pos = 0;
  const auto back = NotRegularFiles::take(text, pos, "test");
  EXPECT_EQ(back.text(), entries.text());
  EXPECT_EQ(pos, text.size());
}
