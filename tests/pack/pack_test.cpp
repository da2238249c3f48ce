#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <map>

#include "../io/test_util.hpp"
#include "../dist/single_rank_world.hpp"
#include "nucseg/core/error.hpp"
#include "nucseg/core/lock.hpp"
#include "nucseg/core/logging.hpp"
#include "test_util.hpp"

namespace t = nucseg::testing;
using nucseg::Config;

namespace {

const nucseg::dist::World& world() { return nucseg::testing::single_rank_world(); }

Config pack_config(const std::filesystem::path& in, const std::filesystem::path& out) {
  Config c;
  c.pack.input = in.string();
  c.pack.output = out.string();
  c.pack.shard_max_images = 2;
  c.pack.val_fraction = 0.5;
  c.pack.seed = 3;
  return c;
}

ino_t inode(const std::filesystem::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_ino;
}

// The nuclei the shards in `out` hold for image `id` (-1 when it is not packed).
int packed_nuclei(const std::filesystem::path& out, const std::string& id) {
  auto d = nucseg::io::ShardDataset::open(out);
  for (size_t i = 0; i < d.size(); ++i)
    if (d.entry(i).id == id) return d.entry(i).nuclei;
  return -1;
}

}  // namespace

TEST(Pack, PacksKaggleFolderRejectsBadInputsAndResumes) {
  auto dir = t::fresh_dir("pack");
  auto in = dir / "in", out = dir / "out";
  t::write_kaggle(in, 7);
  t::write_bytes(in / "img05" / "images" / "img05.png", "");                              // zero-byte
  t::write_png(in / "img06" / "masks" / "zz.png", cv::Mat(3, 3, CV_8UC1, cv::Scalar(1)));  // wrong size
  auto config = pack_config(in, out);
  config.pack.max_rejected_fraction = 0.5;
  ASSERT_EQ(nucseg::pack::run_pack(config, world()), 0);

  auto d = nucseg::io::ShardDataset::open(out);
  ASSERT_EQ(d.size(), 5u);
  EXPECT_EQ(d.entry(0).id, "img00");
  ASSERT_EQ(d.rejected().size(), 2u);
  EXPECT_EQ(d.rejected()[0].path, (in / "img05" / "images" / "img05.png").string());
  EXPECT_EQ(d.rejected()[0].reason, "zero-byte image file");
  EXPECT_EQ(d.rejected()[1].path, (in / "img06" / "masks" / "zz.png").string());
  EXPECT_FALSE(d.indices("val").empty());
  EXPECT_FALSE(d.indices("train").empty());
  t::expect_matches_sources(d, in, config.pack.border_width, config.pack.seed, config.pack.val_fraction);

  // Rerun: complete shards are kept as they are (same inode); overwrite rewrites them.
  auto first = out / nucseg::pack::shard_file_name(0, 0);
  auto before = inode(first);
  ASSERT_NE(before, 0u);
  ASSERT_EQ(nucseg::pack::run_pack(config, world()), 0);
  EXPECT_EQ(inode(first), before);
  EXPECT_EQ(nucseg::io::ShardDataset::open(out).size(), 5u);
  config.pack.overwrite = true;
  ASSERT_EQ(nucseg::pack::run_pack(config, world()), 0);
  EXPECT_NE(inode(first), before);

  // A shard damaged after it was written (a label pixel changed, then read by a resume) is
  // rewritten from the sources, not blessed with a checksum of the damaged file.
  {
    auto before_damage = inode(first);
    auto dataset = nucseg::io::ShardDataset::open(out);
    nucseg::h5::File f(first.string(), nucseg::h5::File::Mode::read_write);
    auto g = f.open_group("images/000000");
    auto labels = g.read<int32_t>("labels");
    labels[labels.size() / 2] += 1;
    nucseg::h5::Handle set(H5Dopen2(g.id(), "labels", H5P_DEFAULT));
    ASSERT_GE(H5Dwrite(set.get(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels.data()), 0);
    set = nucseg::h5::Handle();
    g = nucseg::h5::Group();
    f.close();
    ASSERT_EQ(nucseg::pack::run_pack(config, world()), 0);
    EXPECT_NE(inode(first), before_damage);
    t::expect_matches_sources(nucseg::io::ShardDataset::open(out), in, config.pack.border_width, config.pack.seed,
                              config.pack.val_fraction);
  }

  // A changed plan (another shard size) rewrites, and stale shards of the old plan go away.
  config.pack.overwrite = false;
  config.pack.shard_max_images = 100;
  ASSERT_EQ(nucseg::pack::run_pack(config, world()), 0);
  size_t shards = 0;
  for (auto& e : std::filesystem::directory_iterator(out)) shards += e.path().filename().string().rfind("shard-", 0) == 0;
  EXPECT_EQ(shards, 1u);
  EXPECT_EQ(nucseg::io::ShardDataset::open(out).size(), 5u);

  // Another run holds the output folder: refused (exit 2) before anything is touched.
  {
    nucseg::FolderLock other(out, "nucseg_pack", "pack.output");
    try {
      nucseg::pack::run_pack(config, world());
      ADD_FAILURE() << "a second pack run into a locked folder started";
    } catch (const nucseg::Error& e) {
      EXPECT_EQ(e.exit_code(), nucseg::exit_codes::usage);
      EXPECT_NE(std::string(e.what()).find("is in use by nucseg_pack"), std::string::npos) << e.what();
    }
  }

  // Too many rejected: the job finishes (index written) but exits 3.
  config.pack.max_rejected_fraction = 0.2;
  EXPECT_EQ(nucseg::pack::run_pack(config, world()), nucseg::exit_codes::partial);
  EXPECT_EQ(nucseg::io::ShardDataset::open(out).rejected().size(), 2u);
  std::filesystem::remove_all(dir);
}

// Shards written into the dataset folder are not an input when the run resumes; an empty masks
// folder is an image without nuclei (a background tile), packed, not rejected.
TEST(Pack, OutputInsideTheInputAndAnEmptyMasksFolder) {
  auto dir = t::fresh_dir("pack-inside");
  auto in = dir / "in";
  t::write_kaggle(in, 3);
  std::filesystem::remove_all(in / "img02" / "masks");
  std::filesystem::create_directories(in / "img02" / "masks");
  auto config = pack_config(in, in / "shards");
  ASSERT_EQ(nucseg::pack::run_pack(config, world()), 0);
  ASSERT_EQ(nucseg::pack::run_pack(config, world()), 0);  // the rerun lists in/ again, shards/ inside it
  auto d = nucseg::io::ShardDataset::open(in / "shards");
  ASSERT_EQ(d.size(), 3u);
  EXPECT_TRUE(d.rejected().empty());
  for (size_t i = 0; i < d.size(); ++i)
    EXPECT_EQ(d.entry(i).nuclei == 0, d.entry(i).id == "img02") << d.entry(i).id;
  std::filesystem::remove_all(dir);
}

// Shards written among the <id>/ folders would be listed as inputs on the next run: refused
// before any work, naming both keys (a folder inside the input is fine, above).
TEST(Pack, OutputThatIsTheInputIsRefused) {
  auto dir = t::fresh_dir("pack-output-is-input");
  auto in = dir / "in";
  t::write_kaggle(in, 2);
  for (const auto& out : {in, in / "img00" / ".."}) {
    try {
      nucseg::pack::run_pack(pack_config(in, out), world());
      ADD_FAILURE() << "pack.output = pack.input accepted: " << out;
    } catch (const nucseg::Error& e) {
      EXPECT_EQ(e.exit_code(), nucseg::exit_codes::usage);
      EXPECT_EQ(e.context().key, "pack.output");
      EXPECT_NE(std::string(e.what()).find("pack.input"), std::string::npos) << e.what();
    }
  }
  EXPECT_FALSE(std::filesystem::exists(in / "index.h5"));
  std::filesystem::remove_all(dir);
}

// pack.layout = flat on a Kaggle root, or a pack.images_dir that is not there: the error names
// the missing folder and its key, not the dataset root that exists (exit 2, before any work).
TEST(Pack, FlatLayoutErrorsNameTheMissingFolderAndKey) {
  auto dir = t::fresh_dir("pack-flat-missing");
  t::write_kaggle(dir / "kaggle", 2);
  t::write_flat(dir / "flat", 2);
  struct Case {
    std::string input, images_dir, key, folder;
  };
  for (const Case& c : {Case{"kaggle", "images", "pack.images_dir", "kaggle/images"},
                        Case{"flat", "imgs", "pack.images_dir", "flat/imgs"}}) {
    auto config = pack_config(dir / c.input, dir / "out");
    config.pack.layout = "flat";
    config.pack.images_dir = c.images_dir;
    try {
      nucseg::pack::run_pack(config, world());
      ADD_FAILURE() << "no error for " << c.folder;
    } catch (const nucseg::Error& e) {
      EXPECT_EQ(e.exit_code(), nucseg::exit_codes::usage);
      EXPECT_EQ(e.context().key, c.key);
      EXPECT_NE(std::string(e.what()).find((dir / c.folder).string() + " (pack.images_dir under pack.input) does not exist"),
                std::string::npos) << e.what();
    }
  }
  std::filesystem::remove_all(dir);
}

// A shard that holds a rejected input covers more work items than it holds images (img00 ok,
// img01 rejected, img02 ok with 2 images per shard): an edit to its last item still rewrites it.
TEST(Pack, EditBeyondARejectedInputRewritesItsShard) {
  auto dir = t::fresh_dir("pack-edited-rejected");
  auto in = dir / "in", out = dir / "out";
  t::write_kaggle(in, 3);
  t::write_bytes(in / "img01" / "images" / "img01.png", "");  // zero-byte: rejected
  auto config = pack_config(in, out);
  config.pack.max_rejected_fraction = 0.5;
  ASSERT_EQ(nucseg::pack::run_pack(config, world()), 0);
  const auto nuclei_of = [&](const std::string& id) { return packed_nuclei(out, id); };
  const int nuclei = nuclei_of("img02");
  ASSERT_GT(nuclei, 1);
  std::vector<std::filesystem::path> masks;
  for (const auto& e : std::filesystem::directory_iterator(in / "img02" / "masks")) masks.push_back(e.path());
  std::sort(masks.begin(), masks.end());
  const cv::Mat empty = cv::Mat::zeros(cv::imread(masks.front().string(), cv::IMREAD_UNCHANGED).size(), CV_8UC1);
  t::write_png(masks.front(), empty);  // same name, one nucleus fewer
  ASSERT_EQ(nucseg::pack::run_pack(config, world()), 0);
  EXPECT_EQ(nuclei_of("img02"), nuclei - 1);
  std::filesystem::remove_all(dir);
}

// Sources edited in place keep their names: an emptied mask and a re-exported image rewrite the
// shards that hold them (with the new labels and pixels), and only those.
TEST(Pack, SourcesEditedInPlaceRewriteTheirShards) {
  auto dir = t::fresh_dir("pack-edited");
  auto in = dir / "in", out = dir / "out";
  t::write_kaggle(in, 6);
  const auto config = pack_config(in, out);  // 2 images per shard: img00-01, img02-03, img04-05
  ASSERT_EQ(nucseg::pack::run_pack(config, world()), 0);
  std::vector<ino_t> before;
  for (int k = 0; k < 3; ++k) before.push_back(inode(out / nucseg::pack::shard_file_name(0, k)));
  const auto nuclei_of = [&](const std::string& id) { return packed_nuclei(out, id); };
  const int nuclei = nuclei_of("img02");
  ASSERT_GT(nuclei, 1);

  t::write_png(in / "img02" / "masks" / "m100.png", cv::Mat(40, 48, CV_8UC1, cv::Scalar(0)));
  const auto image = in / "img04" / "images" / "img04.png";
  t::write_png(image, cv::Scalar::all(255) - cv::imread(image.string(), cv::IMREAD_UNCHANGED));
  ASSERT_EQ(nucseg::pack::run_pack(config, world()), 0);
  EXPECT_EQ(inode(out / nucseg::pack::shard_file_name(0, 0)), before[0]) << "a shard of unchanged sources is resumed";
  EXPECT_NE(inode(out / nucseg::pack::shard_file_name(0, 1)), before[1]) << "the emptied mask's shard was resumed";
  EXPECT_NE(inode(out / nucseg::pack::shard_file_name(0, 2)), before[2]) << "the re-exported image's shard was resumed";
  EXPECT_EQ(nuclei_of("img02"), nuclei - 1);
  t::expect_matches_sources(nucseg::io::ShardDataset::open(out), in, config.pack.border_width, config.pack.seed,
                            config.pack.val_fraction);
  std::filesystem::remove_all(dir);
}

TEST(Pack, FlatLayoutDryRunAndMissingRoot) {
  auto dir = t::fresh_dir("pack_flat");
  t::write_flat(dir / "in", 3);
  auto config = pack_config(dir / "in", dir / "out");
  config.pack.dry_run = true;
  ASSERT_EQ(nucseg::pack::run_pack(config, world()), 0);
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));
  config.pack.dry_run = false;
  ASSERT_EQ(nucseg::pack::run_pack(config, world()), 0);
  auto d = nucseg::io::ShardDataset::open(dir / "out");
  EXPECT_EQ(d.size(), 3u);
  t::expect_matches_sources(d, dir / "in", config.pack.border_width, config.pack.seed, config.pack.val_fraction);

  config.pack.input = (dir / "nowhere").string();
  try {
    nucseg::pack::run_pack(config, world());
    FAIL() << "missing input root accepted";
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.exit_code(), nucseg::exit_codes::usage);
    EXPECT_EQ(e.context().key, "pack.input");
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

// The index records each image's effective bit depth and median nucleus diameter, the median
// over the training images, and the channel mapping pack applied (data.channels).
TEST(Pack, IndexRecordsBitDepthDiameterAndChannels) {
  auto dir = t::fresh_dir("pack_sizes");
  auto in = dir / "in";
  // Per image: the nucleus radii, the image's largest value and container.
  struct Spec {
    const char* id;
    std::vector<int> radii;
    int max_value;
    int type;
  };
  const std::vector<Spec> specs = {{"a8", {5, 7}, 200, CV_8UC3}, {"b12", {4}, 4095, CV_16UC1}, {"c16", {9, 9, 3}, 40000, CV_16UC3}};
  std::map<std::string, double> expected;  // median equivalent diameter, from the mask pixels
  for (const auto& spec : specs) {
    cv::Mat image(64, 64, spec.type, cv::Scalar::all(spec.max_value));  // background at the largest value
    std::vector<double> diameters;
    for (size_t k = 0; k < spec.radii.size(); ++k) {
      cv::Mat mask = cv::Mat::zeros(64, 64, CV_8UC1);
      cv::circle(mask, cv::Point(12 + 20 * static_cast<int>(k), 20 + 10 * static_cast<int>(k)), spec.radii[k], 255, cv::FILLED);
      image.setTo(cv::Scalar::all(spec.max_value / 2), mask);
      diameters.push_back(std::sqrt(4.0 * cv::countNonZero(mask) / M_PI));
      t::write_png(in / spec.id / "masks" / ("m" + std::to_string(k) + ".png"), mask);
    }
    t::write_png(in / spec.id / "images" / (std::string(spec.id) + ".png"), image);
    std::sort(diameters.begin(), diameters.end());
    const size_t n = diameters.size();
    expected[spec.id] = n % 2 ? diameters[n / 2] : (diameters[n / 2 - 1] + diameters[n / 2]) / 2;
  }
  auto config = pack_config(in, dir / "out");
  config.pack.val_fraction = 0.0;  // all train: the median covers every image
  config.data.channels.kind = nucseg::ChannelSpec::Kind::gray;
  ASSERT_EQ(nucseg::pack::run_pack(config, world()), 0);
  auto d = nucseg::io::ShardDataset::open(dir / "out");
  ASSERT_EQ(d.size(), 3u);
  const std::map<std::string, int> bits = {{"a8", 8}, {"b12", 12}, {"c16", 16}};
  std::vector<double> medians;
  for (size_t i = 0; i < d.size(); ++i) {
    const auto& e = d.entry(i);
    EXPECT_EQ(e.effective_bits, bits.at(e.id)) << e.id;
    EXPECT_NEAR(e.nucleus_diameter, expected.at(e.id), 1e-9) << e.id;
    medians.push_back(e.nucleus_diameter);
    auto r = d.read(i);
    cv::Mat red, green, blue;
    cv::extractChannel(r.image, red, 0);
    cv::extractChannel(r.image, green, 1);
    cv::extractChannel(r.image, blue, 2);
    EXPECT_TRUE(t::same_bytes(red, green) && t::same_bytes(red, blue)) << "not gray: " << e.id;
  }
  std::sort(medians.begin(), medians.end());
  EXPECT_NEAR(d.nucleus_diameter_median(), medians[1], 1e-9);
  EXPECT_GT(d.nucleus_diameter_median(), 8.0);  // radius 4..9 disks
  EXPECT_EQ(d.channels(), "\"gray\"");
  std::filesystem::remove_all(dir);
}

TEST(Pack, SplitIsStablePerIdAndNearTheFraction) {
  int val = 0;
  for (int i = 0; i < 2000; ++i) {
    auto id = "image-" + std::to_string(i);
    auto split = nucseg::pack::split_for(id, 42, 0.2);
    EXPECT_EQ(split, nucseg::pack::split_for(id, 42, 0.2));
    val += split == "val";
  }
  EXPECT_GT(val, 330);
  EXPECT_LT(val, 470);
  EXPECT_EQ(nucseg::pack::split_for("x", 1, 0.0), "train");
  EXPECT_EQ(nucseg::pack::split_for("x", 1, 1.0), "val");
}
