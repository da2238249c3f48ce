#include "nucseg/infer/output.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "nucseg/core/fs.hpp"
#include "nucseg/io/hdf5.hpp"
#include "nucseg/io/image.hpp"
#include "test_util.hpp"

namespace {

namespace stdfs = std::filesystem;
using namespace nucseg::infer;
using nucseg::testing::ScratchDir;
using nucseg::testing::touch;

// A result with `n` square objects; labels start at `first_label`.
ImageResult make_result(const std::string& id, int n, int first_label = 1) {
  ImageResult r;
  r.id = id;
  r.source_path = "/nowhere/" + id + ".png";
  r.relative = id + ".png";
  r.labels = cv::Mat::zeros(64, 96, CV_32SC1);
  r.class_map = cv::Mat::zeros(64, 96, CV_8UC1);
  for (int i = 0; i < n; ++i) {
    cv::Rect box(4 + 14 * i, 10, 10, 10);
    r.labels(box).setTo(first_label + i);
    r.class_map(box).setTo(1);
    r.objects.image_id.push_back(id);
    r.objects.label.push_back(first_label + i);
    for_each_object_column(r.objects, [&](const char* name, auto& column) {
      if (std::string(name) != "label") column.push_back(100.0 + i);
    });
  }
  r.probabilities.assign(3, cv::Mat(64, 96, CV_32F, cv::Scalar(0.5)));
  return r;
}

// An input whose source file exists under `folder` (its bytes stand for an image: only its
// identity is compared), named <id><extension>.
InputItem source_item(const stdfs::path& folder, const std::string& id, const std::string& extension = ".png") {
  const auto path = folder / (id + extension);
  touch(path, "pixels of " + id);
  return {id, path.string(), id + extension, 1};
}

// make_result as the driver makes it from `item`: the source's path and identity recorded.
ImageResult result_of(const InputItem& item, int n, int first_label = 1) {
  ImageResult r = make_result(item.id, n, first_label);
  r.source_path = item.path;
  r.relative = item.relative;
  r.source = source_identity(item.path);
  return r;
}

TEST(Output, PerImageResultIsAtomicAndTyped) {
  ScratchDir dir("output-image");
  ResultStore store(dir.path());
  const auto a_item = source_item(dir.path() / "in", "a");
  EXPECT_FALSE(store.has_result(a_item));
  store.write(result_of(a_item, 3), true);
  store.write(make_result("big", 2, 70000), false);
  EXPECT_TRUE(store.has_result(a_item));
  for (const auto& e : stdfs::directory_iterator(dir.path() / "images")) EXPECT_FALSE(nucseg::fs::is_temporary_name(e.path()));

  nucseg::h5::File a(store.result_path("a").string(), nucseg::h5::File::Mode::read);
  EXPECT_EQ(a.stored_type("labels"), nucseg::h5::Type::u16);
  EXPECT_EQ(a.attr_int("n_objects"), 3);
  EXPECT_EQ(a.shape("probabilities"), (std::vector<hsize_t>{3, 64, 96}));
  auto q = a.read<uint8_t>("probabilities");
  EXPECT_EQ(q[0], 128);  // 0.5 * 255 rounded
  auto labels = a.read<uint16_t>("labels");
  EXPECT_EQ(labels[10 * 96 + 4], 1);
  nucseg::h5::File big(store.result_path("big").string(), nucseg::h5::File::Mode::read);
  EXPECT_EQ(big.stored_type("labels"), nucseg::h5::Type::u32);  // does not fit uint16
  EXPECT_FALSE(big.exists("probabilities"));
  EXPECT_EQ(big.read<uint32_t>("labels")[10 * 96 + 18], 70001u);
}

TEST(Output, LabelExportIs16BitPng) {
  ScratchDir dir("output-export");
  ResultStore store(dir.path());
  auto path = store.export_labels(make_result("e", 2), "png");
  EXPECT_EQ(path.extension(), ".png");
  cv::Mat back = cv::imread(path.string(), cv::IMREAD_UNCHANGED);
  ASSERT_FALSE(back.empty());
  EXPECT_EQ(back.type(), CV_16UC1);
  EXPECT_EQ(back.at<uint16_t>(10, 18), 2);
}

// Labels past 65535 are never float: an unsigned 32-bit TIFF, also when PNG was asked for.
TEST(Output, LabelExportAbove65535IsAnUnsigned32BitTiff) {
  ScratchDir dir("output-export-big");
  ResultStore store(dir.path());
  ImageResult big = make_result("big", 2, 70000);
  big.pixel_size = {0.5, "infer.pixel_size"};
  for (const char* format : {"png", "tiff"}) {
    auto path = store.export_labels(big, format);
    EXPECT_EQ(path.extension(), ".tiff") << format;
    auto raw = nucseg::io::read_raw_image(path, nucseg::io::PixelRange::labels);
    ASSERT_EQ(raw.pixels.type(), CV_32SC1);
    EXPECT_EQ(raw.pixels.at<int32_t>(10, 18), 70001);
    EXPECT_EQ(cv::countNonZero(raw.pixels != big.labels), 0);
    EXPECT_DOUBLE_EQ(raw.pixel_size.um, 0.5);
  }
  auto small = store.export_labels(make_result("small", 2), "tiff");
  EXPECT_EQ(nucseg::io::read_raw_image(small, nucseg::io::PixelRange::labels).pixels.type(), CV_16UC1);
}

TEST(Output, RoiSetHasOneEntryPerObject) {
  ScratchDir dir("output-rois");
  ResultStore store(dir.path());
  auto path = store.export_rois(make_result("r", 3));
  EXPECT_EQ(path, dir.path() / "rois" / "r.zip");
  const std::string zip = nucseg::fs::read_file(path);
  for (const char* name : {"0001.roi", "0002.roi", "0003.roi"}) EXPECT_NE(zip.find(name), std::string::npos) << name;
  EXPECT_EQ(zip.find("0004.roi"), std::string::npos);
}

// A rerun asked for exports writes those missing for results already on disk, once.
TEST(Output, ExportsMissingForAStoredResult) {
  ScratchDir dir("output-export-missing");
  ResultStore store(dir.path());
  ImageResult r = make_result("s", 2, 70000);
  r.pixel_size = {0.5, "PNG pHYs"};
  store.write(r, false);
  EXPECT_TRUE(store.export_missing("s", "png", true));
  auto raw = nucseg::io::read_raw_image(dir.path() / "labels" / "s.tiff", nucseg::io::PixelRange::labels);
  EXPECT_EQ(cv::countNonZero(raw.pixels != r.labels), 0);
  EXPECT_DOUBLE_EQ(raw.pixel_size.um, 0.5);
  EXPECT_TRUE(stdfs::exists(dir.path() / "rois" / "s.zip"));
  EXPECT_FALSE(store.export_missing("s", "png", true));  // a PNG past 65535 labels is the TIFF
  EXPECT_FALSE(store.export_missing("s", "", false));
}

// _um columns exist once an image has a pixel size, NaN for images without; the CSVs carry
// the same rows and are renamed into place with segmentation.h5.
TEST(Output, PhysicalColumnsAndCsvTables) {
  ScratchDir dir("output-physical");
  ResultStore store(dir.path());
  InputSet inputs;
  for (std::string id : {"unknown", "known"}) inputs.items.push_back(source_item(dir.path() / "d", id, ".tif"));
  inputs.items.push_back({"failed", "/d/failed.tif", "failed.tif", 1});
  ImageResult unknown = result_of(inputs.items[0], 1), known = result_of(inputs.items[1], 2);
  known.pixel_size = {0.5, "OME-XML PhysicalSizeX"};
  store.write(unknown, false);
  store.write(known, false);
  nucseg::fs::write_file_atomic(dir.path() / "objects.csv", "left over from an earlier run\n");
  assemble_segmentation(dir.path(), inputs, {{"failed", "/d/failed.tif", "bad, \"very\" bad"}}, Provenance{});

  nucseg::h5::File seg((dir.path() / "segmentation.h5").string(), nucseg::h5::File::Mode::read);
  EXPECT_EQ(seg.read<double>("index/pixel_size_um"), (std::vector<double>{0.0, 0.5}));
  EXPECT_EQ(seg.read_strings("index/pixel_size_source"), (std::vector<std::string>{"none", "OME-XML PhysicalSizeX"}));
  const auto area = seg.read<double>("objects/area"), area_um2 = seg.read<double>("objects/area_um2");
  const auto perimeter_um = seg.read<double>("objects/perimeter_um");
  ASSERT_EQ(area_um2.size(), 3u);
  EXPECT_TRUE(std::isnan(area_um2[0]));
  EXPECT_DOUBLE_EQ(area_um2[1], area[1] * 0.25);
  EXPECT_DOUBLE_EQ(perimeter_um[2], seg.read<double>("objects/perimeter")[2] * 0.5);

  const std::string objects = nucseg::fs::read_file(dir.path() / "objects.csv");
  EXPECT_EQ(objects.rfind("image_id,source_path,label,area,", 0), 0u) << objects;
  EXPECT_NE(objects.find(",perimeter_um\n"), std::string::npos);
  EXPECT_NE(objects.find("\nknown," + inputs.items[1].path + ",2,101,"), std::string::npos) << objects;
  const std::string images = nucseg::fs::read_file(dir.path() / "images.csv");
  EXPECT_NE(images.find("\nfailed,/d/failed.tif,failed.tif,failed,\"bad, \"\"very\"\" bad\",,"), std::string::npos) << images;
  EXPECT_NE(images.find("\nunknown," + inputs.items[0].path + ",unknown.tif,ok,,64,96,1,100,100,100,100,100,,none,1,0,,\n"),
            std::string::npos)
      << images;
  for (const auto& e : stdfs::directory_iterator(dir.path())) EXPECT_FALSE(nucseg::fs::is_temporary_name(e.path()));
}

TEST(Output, AssembledFileIsReadableByH5pyAndTheSummaryScript) {
  ScratchDir dir("output-assemble");
  auto out = dir.path() / "run";
  ResultStore store(out, {"abc", "infer.tile = 512\n"});
  InputSet inputs;
  inputs.root = "/data";
  inputs.kind = "folder";
  for (std::string id : {"img1", "img2"}) inputs.items.push_back(source_item(dir.path() / "data", id));
  for (std::string id : {"broken", "notyet"}) inputs.items.push_back({id, "/data/" + id + ".png", id + ".png", 1});
  store.write(result_of(inputs.items[0], 3), false);
  store.write(result_of(inputs.items[1], 2), true);
  std::vector<Failure> failures = {{"broken", "/data/broken.png", "cannot decode: \"bad\"\nheader"}};
  Provenance prov;
  prov.checkpoint = "/m/model.pt";
  prov.checkpoint_hash = "abc";
  prov.settings = "infer.tile = 512\n";
  prov.config_toml = "[infer]\ntile = 512\n";
  prov.training_config = "[train]\nepochs = 3\n";
  prov.input_root = "/data";
  auto summary = assemble_segmentation(out, inputs, failures, prov);
  EXPECT_EQ(summary.images, 2);
  EXPECT_EQ(summary.objects, 5);
  EXPECT_EQ(summary.failures, 1);
  EXPECT_EQ(summary.missing, 1);

  nucseg::h5::File seg((out / "segmentation.h5").string(), nucseg::h5::File::Mode::read);
  EXPECT_EQ(seg.attr_string("checkpoint_hash"), "abc");
  EXPECT_EQ(seg.attr_string("training_config"), "[train]\nepochs = 3\n");
  EXPECT_EQ(seg.read_strings("objects/image_id"),
            (std::vector<std::string>{"img1", "img1", "img1", "img2", "img2"}));
  EXPECT_EQ(seg.read<int32_t>("objects/label"), (std::vector<int32_t>{1, 2, 3, 1, 2}));
  EXPECT_EQ(seg.read_strings("failures/reason")[0], failures[0].reason);

  // h5py from another working directory: external links resolve next to segmentation.h5,
  // the objects table loads in one line, and the summary script draws its PNGs.
  auto source = std::getenv("NUCSEG_SOURCE_DIR");
  ASSERT_NE(source, nullptr);
  auto report = dir.path() / "report";
  std::string check = "cd / && /usr/bin/python3 -c \"import h5py, pandas as pd; f = h5py.File('" +
                      (out / "segmentation.h5").string() +
                      "', 'r'); d = pd.DataFrame({k: f['objects'][k][:] for k in f['objects']}); "
                      "assert len(d) == 5 and f['images/img2/labels'].shape == (64, 96), d; "
                      "assert f['images/img2/probabilities'].shape == (3, 64, 96)\"";
  EXPECT_EQ(std::system(check.c_str()), 0);
  std::string cmd = "cd / && /usr/bin/python3 " + std::string(source) + "/tools/summarize_segmentation.py " +
                    (out / "segmentation.h5").string() + " --out " + report.string() + " > " +
                    (dir.path() / "summary.txt").string() + " 2>&1";
  int rc = std::system(cmd.c_str());
  std::string printed = nucseg::fs::read_file(dir.path() / "summary.txt");
  ASSERT_EQ(rc, 0) << printed;
  EXPECT_NE(printed.find("\"images\": 2, \"objects\": 5, \"failures\": 1"), std::string::npos) << printed;
  EXPECT_TRUE(stdfs::exists(report / "size_histogram.png"));
  EXPECT_TRUE(stdfs::exists(report / "objects_per_image.csv"));
  cv::Mat overlay = cv::imread((report / "overlay_img1.png").string());
  EXPECT_FALSE(overlay.empty());
}

// The resume's test of "done": a file cut short or damaged is unreadable, one made by another
// model or other settings is stale, and only a whole file with this run's stamp is done.
TEST(Output, CheckTellsDoneUnreadableAndStale) {
  ScratchDir dir("output-check");
  const ResultStamp stamp{"1111", "infer.tile = 512\nsegment.min_area = 12\n"};
  ResultStore store(dir.path(), stamp);
  const auto a = source_item(dir.path() / "in", "a"), b = source_item(dir.path() / "in", "b");
  EXPECT_EQ(store.check(a).state, ResultState::missing);
  store.write(result_of(a, 3), true);
  store.write(result_of(b, 2), false);
  EXPECT_EQ(store.check(a).state, ResultState::done);
  EXPECT_EQ(store.check(a, false).state, ResultState::done);

  ResultStore other_model(dir.path(), {"2222", stamp.settings});
  auto c = other_model.check(a);
  EXPECT_EQ(c.state, ResultState::stale);
  EXPECT_NE(c.reason.find("another model"), std::string::npos) << c.reason;
  ResultStore other_settings(dir.path(), {stamp.checkpoint_hash, "infer.tile = 256\nsegment.min_area = 12\n"});
  c = other_settings.check(a);
  EXPECT_EQ(c.state, ResultState::stale);
  EXPECT_NE(c.reason.find("infer.tile = 512 (now infer.tile = 256)"), std::string::npos) << c.reason;

  // Cut to half its size under its final name (what a full disk did before 0.2).
  auto path = store.result_path("b");
  stdfs::resize_file(path, stdfs::file_size(path) / 2);
  c = store.check(b);
  EXPECT_EQ(c.state, ResultState::unreadable);
  EXPECT_NE(c.reason.find(path.string()), std::string::npos) << c.reason;
  // A result file of another image under this id's name is not this image's result.
  stdfs::copy_file(store.result_path("a"), path, stdfs::copy_options::overwrite_existing);
  EXPECT_EQ(store.check(b).state, ResultState::unreadable);
}

// Same id is not same image: a result counts only for the source file it was made from, as it
// was then. Another file under the same name (another plate), an edit in place (new size, or
// only a new modification time), a source gone or not recorded (older versions): stale.
TEST(Output, CheckTellsAnotherOrChangedSourceStale) {
  ScratchDir dir("output-check-source");
  ResultStore store(dir.path(), {"1111", "s"});
  const auto plate_a = source_item(dir.path() / "plateA", "well0"), plate_b = source_item(dir.path() / "plateB", "well0");
  store.write(result_of(plate_a, 2), false);
  EXPECT_EQ(store.check(plate_a).state, ResultState::done);
  // The same file by another spelling of its path (what a relative input gives) is the same source.
  InputItem spelled = plate_a;
  spelled.path = (dir.path() / "plateB" / ".." / "plateA" / "well0.png").string();
  EXPECT_EQ(store.check(spelled).state, ResultState::done);

  auto c = store.check(plate_b);
  EXPECT_EQ(c.state, ResultState::stale);
  EXPECT_NE(c.reason.find("was made from another file (" + stdfs::canonical(plate_a.path).string() + ", now " +
                          stdfs::canonical(plate_b.path).string() + ")"),
            std::string::npos)
      << c.reason;

  // Edited in place with another size.
  const auto when = stdfs::last_write_time(plate_a.path);
  touch(plate_a.path, "other pixels of well0, longer");
  c = store.check(plate_a);
  EXPECT_EQ(c.state, ResultState::stale);
  EXPECT_NE(c.reason.find("changed (size 15 bytes, now 29"), std::string::npos) << c.reason;
  // The same size again, only the modification time differs (an edit that kept the size).
  touch(plate_a.path, "pixels of wellX");
  stdfs::last_write_time(plate_a.path, when + std::chrono::seconds(1));
  c = store.check(plate_a, false);
  EXPECT_EQ(c.state, ResultState::stale);
  EXPECT_EQ(c.reason.find("size"), std::string::npos) << c.reason;
  EXPECT_NE(c.reason.find("changed (modified "), std::string::npos) << c.reason;
  // Back to the recorded identity: done again (only the identity is compared, not the pixels).
  stdfs::last_write_time(plate_a.path, when);
  EXPECT_EQ(store.check(plate_a).state, ResultState::done);

  stdfs::remove(plate_a.path);
  c = store.check(plate_a);
  EXPECT_EQ(c.state, ResultState::stale);
  EXPECT_NE(c.reason.find("has no source to compare with"), std::string::npos) << c.reason;

  // A result of a version that recorded no source: redone once.
  store.write(result_of(plate_b, 2), false);
  ASSERT_EQ(store.check(plate_b).state, ResultState::done);
  {
    nucseg::h5::File old(store.result_path("well0").string(), nucseg::h5::File::Mode::read_write);
    for (const char* name : {"source_canonical_path", "source_bytes", "source_mtime_ns"}) ASSERT_GE(H5Adelete(old.id(), name), 0);
  }
  c = store.check(plate_b);
  EXPECT_EQ(c.state, ResultState::stale);
  EXPECT_NE(c.reason.find("records no source file"), std::string::npos) << c.reason;
}

// A rerun into the same folder with another plate under the same file names: segmentation.h5
// lists none of the first plate's results under the second plate's names.
TEST(Output, AssemblyLeavesOutResultsOfAnotherSource) {
  ScratchDir dir("output-assemble-source");
  ResultStore store(dir.path(), {"m", "s"});
  const auto plate_a = source_item(dir.path() / "plateA", "well0"), plate_b = source_item(dir.path() / "plateB", "well0");
  const auto same = source_item(dir.path() / "plateB", "well1");
  store.write(result_of(plate_a, 2), false);
  store.write(result_of(same, 1), false);
  InputSet inputs;
  inputs.items = {plate_b, same};
  Provenance prov;
  prov.checkpoint_hash = "m";
  prov.settings = "s";
  auto summary = assemble_segmentation(dir.path(), inputs, {}, prov);
  EXPECT_EQ(summary.images, 1);
  EXPECT_EQ(summary.missing, 1);
  nucseg::h5::File seg((dir.path() / "segmentation.h5").string(), nucseg::h5::File::Mode::read);
  EXPECT_EQ(seg.read_strings("index/image_id"), (std::vector<std::string>{"well1"}));
  EXPECT_EQ(seg.read_strings("index/source_path"), (std::vector<std::string>{same.path}));
  const std::string images = nucseg::fs::read_file(dir.path() / "images.csv");
  EXPECT_NE(images.find("\nwell0," + plate_b.path + ",well0.png,missing,"), std::string::npos) << images;
  EXPECT_NE(images.find("was made from another file"), std::string::npos) << images;
}

// segmentation.h5 never mixes models: a result made by another checkpoint is left out.
TEST(Output, AssemblyLeavesOutResultsOfAnotherModel) {
  ScratchDir dir("output-assemble-stale");
  ResultStore old_model(dir.path(), {"old", "s"});
  ResultStore new_model(dir.path(), {"new", "s"});
  InputSet inputs;
  for (std::string id : {"x", "y"}) inputs.items.push_back(source_item(dir.path() / "data", id));
  old_model.write(result_of(inputs.items[0], 2), false);
  new_model.write(result_of(inputs.items[1], 1), false);
  Provenance prov;
  prov.checkpoint_hash = "new";
  prov.settings = "s";
  auto summary = assemble_segmentation(dir.path(), inputs, {}, prov);
  EXPECT_EQ(summary.images, 1);
  EXPECT_EQ(summary.missing, 1);
  nucseg::h5::File seg((dir.path() / "segmentation.h5").string(), nucseg::h5::File::Mode::read);
  EXPECT_EQ(seg.read_strings("index/image_id"), (std::vector<std::string>{"y"}));
  EXPECT_EQ(seg.read_strings("objects/image_id"), (std::vector<std::string>{"y"}));
}

TEST(Output, FailuresSerialisationRoundTrips) {
  std::vector<Failure> f = {{"a", "/x:y", "bad\n3:zz"}, {"", "", ""}};
  auto back = deserialize_failures(serialize_failures(f));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].reason, "bad\n3:zz");
  EXPECT_EQ(back[1].path, "");
}

// Images with different channel counts share one objects table: per-channel columns exist for
// the most channels any image has, NaN where an image has fewer; the index records each
// image's scale and effective bit depth, the root the normalisation and channels that ran.
TEST(Output, ChannelColumnsScaleAndInputAttributesAreAssembled) {
  ScratchDir dir("output-channels");
  auto out = dir.path() / "run";
  ResultStore store(out);
  InputSet inputs;
  for (std::string id : {"gray", "none", "three"}) inputs.items.push_back(source_item(dir.path() / "d", id, ".tif"));
  ImageResult gray = result_of(inputs.items[0], 2), none = result_of(inputs.items[1], 0), three = result_of(inputs.items[2], 1);
  gray.objects.channel_mean = {{10, 11}};
  gray.objects.channel_integrated = {{1000, 1100}};
  gray.effective_bits = 12;
  three.objects.channel_mean = {{1}, {2}, {3}};
  three.objects.channel_integrated = {{100}, {200}, {300}};
  three.scale = 0.5;
  for (const auto* r : {&gray, &none, &three}) store.write(*r, false);
  Provenance prov;
  prov.normalize = "percentile 1 99.8";
  prov.channels = "[1]";
  assemble_segmentation(out, inputs, {}, prov);

  nucseg::h5::File seg((out / "segmentation.h5").string(), nucseg::h5::File::Mode::read);
  EXPECT_EQ(seg.attr_string("normalize"), "percentile 1 99.8");
  EXPECT_EQ(seg.attr_string("channels"), "[1]");
  EXPECT_EQ(seg.read<double>("index/scale"), (std::vector<double>{1.0, 1.0, 0.5}));
  EXPECT_EQ(seg.read<int64_t>("index/effective_bit_depth"), (std::vector<int64_t>{12, 0, 0}));
  EXPECT_EQ(seg.read<double>("objects/mean_intensity_c0"), (std::vector<double>{10, 11, 1}));
  EXPECT_EQ(seg.read<double>("objects/integrated_intensity_c2").size(), 3u);
  for (const char* name : {"objects/mean_intensity_c1", "objects/integrated_intensity_c2"}) {
    const auto v = seg.read<double>(name);
    ASSERT_EQ(v.size(), 3u) << name;
    EXPECT_TRUE(std::isnan(v[0]) && std::isnan(v[1])) << name << ": the gray image has one channel";
  }
  EXPECT_EQ(seg.read<double>("objects/integrated_intensity_c2")[2], 300.0);
  EXPECT_FALSE(seg.exists("objects/mean_intensity_c3"));
  nucseg::h5::File per_image(store.result_path("three").string(), nucseg::h5::File::Mode::read);
  EXPECT_EQ(per_image.read<double>("objects/mean_intensity_c1"), std::vector<double>{2});
  EXPECT_DOUBLE_EQ(per_image.attr_double("scale"), 0.5);
}

}  // namespace
