#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <vector>

#include "nucseg/core/config.hpp"
#include "nucseg/core/error.hpp"

using nucseg::Config;
using nucseg::Error;
using nucseg::load_config;

namespace {

std::string error_of(const std::vector<std::string>& files, const std::vector<std::string>& sets) {
  try {
    load_config(files, sets);
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    return e.what();
  }
  ADD_FAILURE() << "no error was raised";
  return {};
}

// Files named with the pid (two checkouts may run their suites at once), removed at exit.
std::string write_toml(const std::string& name, const std::string& text) {
  struct Written {
    std::vector<std::filesystem::path> paths;
    ~Written() {
      std::error_code ec;
      for (const auto& p : paths) std::filesystem::remove(p, ec);
    }
  };
  static Written written;
  auto path = std::filesystem::temp_directory_path() / (std::to_string(::getpid()) + "_" + name);
  std::ofstream(path) << text;
  written.paths.push_back(path);
  return path.string();
}

}  // namespace

TEST(Config, DefaultsFollowTheSeed) {
  Config c = load_config({}, {});
  EXPECT_EQ(c.pack.val_fraction, 0.2);
  EXPECT_EQ(c.train.lr, 1e-3);
  EXPECT_EQ(c.train.epochs, 20);
  EXPECT_EQ(c.model.classes, 3);
}

TEST(Config, SetOverridesTypedValues) {
  Config c = load_config({}, {"train.epochs=5", "pack.input=/data/stage1", "train.lr=0.01",
                              "data.flip=false", "train.class_weights=[1, 2, 5]", "model.freeze_encoder=true"});
  EXPECT_EQ(c.train.epochs, 5);
  EXPECT_EQ(c.pack.input, "/data/stage1");
  EXPECT_DOUBLE_EQ(c.train.lr, 0.01);
  EXPECT_FALSE(c.data.flip);
  EXPECT_EQ(c.train.class_weights, (std::vector<double>{1, 2, 5}));
  EXPECT_EQ(c.model.freeze_encoder, nucseg::TriState::yes);
}

TEST(Config, FileThenOverridesInOrder) {
  auto path = write_toml("nucseg_cfg_order.toml", "[train]\nepochs = 7\nbatch_size = 4\n");
  Config c = load_config({path}, {"train.batch_size=8"});
  EXPECT_EQ(c.train.epochs, 7);
  EXPECT_EQ(c.train.batch_size, 8);
}

TEST(Config, UnknownKeyNamesItAndSuggestsTheClosest) {
  auto msg = error_of({}, {"train.epoch=3"});
  EXPECT_NE(msg.find("train.epoch"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'train.epochs'"), std::string::npos) << msg;
  auto path = write_toml("nucseg_cfg_unknown.toml", "[pack]\nval_fractoin = 0.3\n");
  msg = error_of({path}, {});
  EXPECT_NE(msg.find("pack.val_fractoin"), std::string::npos) << msg;
  EXPECT_NE(msg.find("pack.val_fraction"), std::string::npos) << msg;
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
}

TEST(Config, WrongTypeNamesKeyAndValue) {
  auto msg = error_of({}, {"train.epochs=\"many\""});
  EXPECT_NE(msg.find("train.epochs"), std::string::npos) << msg;
  EXPECT_NE(msg.find("integer"), std::string::npos) << msg;
  EXPECT_NE(msg.find("many"), std::string::npos) << msg;
}

TEST(Config, OutOfRangeNamesAllowedValues) {
  auto msg = error_of({}, {"pack.val_fraction=1.5"});
  EXPECT_NE(msg.find("pack.val_fraction"), std::string::npos) << msg;
  EXPECT_NE(msg.find("1.5"), std::string::npos) << msg;
  EXPECT_NE(msg.find("0 .. 1"), std::string::npos) << msg;
  msg = error_of({}, {"data.crop=100"});
  EXPECT_NE(msg.find("multiple of 32"), std::string::npos) << msg;
  msg = error_of({}, {"synth.style=watercolour"});
  EXPECT_NE(msg.find("fluorescence"), std::string::npos) << msg;
}

TEST(Config, CrossKeyChecks) {
  auto msg = error_of({}, {"infer.tile=128", "infer.overlap=64"});
  EXPECT_NE(msg.find("infer.overlap"), std::string::npos) << msg;
  msg = error_of({}, {"train.class_weights=[1, 2]"});
  EXPECT_NE(msg.find("model.classes"), std::string::npos) << msg;
}

// The training targets and the segment step have exactly background, interior, border: any
// other class count is refused when the configuration is read, before a tool starts work.
TEST(Config, ModelClassesIsThree) {
  EXPECT_EQ(load_config({}, {"model.classes=3"}).model.classes, 3);
  for (const char* bad : {"model.classes=2", "model.classes=4"}) {
    auto msg = error_of({}, {bad});
    EXPECT_NE(msg.find("model.classes"), std::string::npos) << msg;
    EXPECT_NE(msg.find("allowed: 3)"), std::string::npos) << msg;
  }
}

// A missing file or a folder is said to be one (exit 2), not read as an empty configuration
// or reported as a parse error at line 0; a file that is not regular (a pipe) is still read.
TEST(Config, MissingFileOrFolderIsNamed) {
  const auto missing = (std::filesystem::temp_directory_path() / (std::to_string(::getpid()) + "_no_such.toml")).string();
  auto msg = error_of({missing}, {});
  EXPECT_NE(msg.find("configuration file does not exist"), std::string::npos) << msg;
  EXPECT_NE(msg.find(missing), std::string::npos) << msg;
  EXPECT_EQ(msg.find("line 0"), std::string::npos) << msg;
  const auto folder = std::filesystem::temp_directory_path() / (std::to_string(::getpid()) + "_configs");
  std::filesystem::create_directories(folder);
  std::ofstream(folder / "infer.toml") << "[infer]\ntile = 256\n";
  msg = error_of({folder.string()}, {});
  EXPECT_NE(msg.find("is a folder, not a TOML file"), std::string::npos) << msg;
  EXPECT_NE(msg.find(folder.string()), std::string::npos) << msg;
  std::filesystem::remove_all(folder);
  const Config from_pipe = load_config({"/dev/null"}, {});
  EXPECT_EQ(from_pipe.infer.tile, 512);
}

TEST(Config, OlderInferSpellingsOfSegmentKeysStillRead) {
  auto path = write_toml("nucseg_cfg_alias.toml", "[infer]\nmin_area = 30\nseeds = \"interior\"\n");
  Config c = load_config({path}, {"infer.seed_threshold=0.7", "infer.seed_distance=9"});
  EXPECT_EQ(c.segment.min_area, 30);
  EXPECT_EQ(c.segment.seeds, "interior");
  EXPECT_DOUBLE_EQ(c.segment.seed_threshold, 0.7);
  EXPECT_EQ(c.segment.seed_distance, 9);
  // Written back under the new spelling only.
  const auto toml = nucseg::config_to_toml(c, {"infer", "segment"});
  EXPECT_NE(toml.find("[segment]\nmin_area = 30"), std::string::npos) << toml;
  const auto infer_section = toml.substr(0, toml.find("[segment]"));
  EXPECT_EQ(infer_section.find("min_area"), std::string::npos) << toml;
  // A bad value names the key as the user spelled it.
  auto msg = error_of({}, {"infer.min_area=-1"});
  EXPECT_NE(msg.find("infer.min_area"), std::string::npos) << msg;
}

TEST(Config, SyntaxErrorNamesFileAndLine) {
  auto path = write_toml("nucseg_cfg_syntax.toml", "[train]\nepochs = = 3\n");
  auto msg = error_of({path}, {});
  EXPECT_NE(msg.find("line 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
}

TEST(Config, PrintedConfigReadsBackIdentically) {
  Config c = load_config({}, {"train.epochs=3", "pack.input=a b/c", "train.class_weights=[1, 4, 9]",
                              "model.freeze_encoder=false"});
  auto path = write_toml("nucseg_cfg_roundtrip.toml", nucseg::config_to_toml(c));
  Config back = load_config({path}, {});
  EXPECT_EQ(nucseg::config_to_toml(back), nucseg::config_to_toml(c));
  EXPECT_EQ(back.pack.input, "a b/c");
  EXPECT_EQ(back.model.freeze_encoder, nucseg::TriState::no);
}

TEST(Config, EveryKeyIsDocumented) {
  for (const auto& k : nucseg::config_keys()) {
    EXPECT_FALSE(k.doc.empty()) << k.key;
    EXPECT_NE(k.key.find('.'), std::string::npos) << k.key;
  }
}

// docs/config.md's default column is each key's KeyInfo::default_value: set to that text, every
// key must leave the configuration as the code's defaults are (infer.diameter once documented
// "0" while its default was "auto").
TEST(Config, EveryDocumentedDefaultIsTheDefault) {
  const std::string defaults = nucseg::config_to_toml(load_config({}, {}));
  for (const auto& k : nucseg::config_keys()) {
    const auto dot = k.key.find('.');
    const std::string text = "[" + k.key.substr(0, dot) + "]\n" + k.key.substr(dot + 1) + " = " + k.default_value + "\n";
    Config c;
    try {
      c = load_config({write_toml("nucseg_cfg_default.toml", text)}, {});
    } catch (const std::exception& e) {
      ADD_FAILURE() << k.key << ": documented default " << k.default_value << " does not load: " << e.what();
      continue;
    }
    EXPECT_EQ(nucseg::config_to_toml(c), defaults) << k.key << " documented as " << k.default_value;
  }
}

TEST(Config, ChannelChoicesAreStringsOrIndexLists) {
  using Kind = nucseg::ChannelSpec::Kind;
  Config c = load_config({}, {});
  EXPECT_EQ(c.data.channels.kind, Kind::rgb);
  EXPECT_EQ(c.infer.channels.kind, Kind::unset);  // the checkpoint's
  c = load_config({}, {"data.channels=gray", "infer.channels=[1]"});
  EXPECT_EQ(c.data.channels.kind, Kind::gray);
  EXPECT_EQ(c.infer.channels, (nucseg::ChannelSpec{Kind::indices, {1}}));
  auto path = write_toml("nucseg_cfg_channels.toml", "[data]\nchannels = [2, 0, 1]\n");
  c = load_config({path}, {});
  EXPECT_EQ(c.data.channels.indices, (std::vector<int>{2, 0, 1}));
  Config back = load_config({write_toml("nucseg_cfg_channels_rt.toml", nucseg::config_to_toml(c))}, {});
  EXPECT_EQ(back.data.channels, c.data.channels);

  auto msg = error_of({}, {"data.channels=[1, 2]"});
  EXPECT_NE(msg.find("data.channels"), std::string::npos) << msg;
  EXPECT_NE(msg.find("give 1 index"), std::string::npos) << msg;
  msg = error_of({}, {"data.channels=[-1]"});
  EXPECT_NE(msg.find("not a channel index"), std::string::npos) << msg;
  msg = error_of({}, {"data.channels=\"\""});  // only infer.channels may defer to the checkpoint
  EXPECT_NE(msg.find("data.channels"), std::string::npos) << msg;
  msg = error_of({}, {"infer.channels=red"});
  EXPECT_NE(msg.find("infer.channels"), std::string::npos) << msg;

  EXPECT_EQ(nucseg::to_toml(nucseg::ChannelSpec{Kind::indices, {4, 0, 2}}), "[4, 0, 2]");
  EXPECT_EQ(nucseg::parse_channel_spec("[4, 0, 2]", "k"), (nucseg::ChannelSpec{Kind::indices, {4, 0, 2}}));
  EXPECT_EQ(nucseg::parse_channel_spec("gray", "k").kind, Kind::gray);
  EXPECT_EQ(nucseg::parse_channel_spec("\"\"", "k", true).kind, Kind::unset);
  EXPECT_THROW(nucseg::parse_channel_spec("\"\"", "k"), nucseg::Error);
}

TEST(Config, NormalisationAndMaskKindKeys) {
  Config c = load_config({}, {});
  EXPECT_EQ(c.data.normalize, "percentile");
  EXPECT_DOUBLE_EQ(c.data.normalize_low, 1.0);
  EXPECT_DOUBLE_EQ(c.data.normalize_high, 99.8);
  EXPECT_EQ(c.infer.normalize, "");
  EXPECT_EQ(c.pack.mask_kind, "auto");
  auto msg = error_of({}, {"data.normalize_low=99.9"});
  EXPECT_NE(msg.find("data.normalize_high"), std::string::npos) << msg;
  msg = error_of({}, {"data.normalize=fixed", "data.normalize_min=5000", "data.normalize_max=4095"});
  EXPECT_NE(msg.find("data.normalize_max"), std::string::npos) << msg;
  msg = error_of({}, {"infer.normalize=fixed", "data.normalize_max=0"});  // infer's kind is checked too
  EXPECT_NE(msg.find("data.normalize_max"), std::string::npos) << msg;
  msg = error_of({}, {"pack.mask_kind=instances"});
  EXPECT_NE(msg.find("pack.mask_kind"), std::string::npos) << msg;
}

TEST(Config, DiameterIsANumberOrAutoAndTtaAMode) {
  Config c = load_config({}, {});
  EXPECT_EQ(c.infer.diameter, (nucseg::DiameterSpec{true, 0.0}));  // "auto" by default
  EXPECT_EQ(c.infer.tta, "off");
  c = load_config({}, {"infer.diameter=17.5", "infer.tta=dihedral"});
  EXPECT_EQ(c.infer.diameter, (nucseg::DiameterSpec{false, 17.5}));
  EXPECT_EQ(c.infer.tta, "dihedral");
  c = load_config({}, {"infer.diameter=auto"});  // unquoted on the command line
  EXPECT_TRUE(c.infer.diameter.automatic);
  auto path = write_toml("nucseg_cfg_diameter.toml", "[infer]\ndiameter = \"auto\"\n");
  EXPECT_TRUE(load_config({path}, {}).infer.diameter.automatic);
  Config back = load_config({write_toml("nucseg_cfg_diameter_rt.toml", nucseg::config_to_toml(c))}, {});
  EXPECT_EQ(back.infer.diameter, c.infer.diameter);
  EXPECT_EQ(load_config({}, {"model.freeze_encoder=auto"}).model.freeze_encoder, nucseg::TriState::automatic);
  for (const char* bad : {"infer.diameter=0.5", "infer.diameter=-3", "infer.diameter=big", "infer.diameter=true"}) {
    auto msg = error_of({}, {bad});
    EXPECT_NE(msg.find("infer.diameter"), std::string::npos) << msg;
  }
  auto msg = error_of({}, {"infer.tta=on"});
  EXPECT_NE(msg.find("infer.tta"), std::string::npos) << msg;
}

// A checkpoint's recorded configuration: declared keys applied, keys of other versions
// skipped, and which keys it held reported; a bad value names the key and the file.
TEST(Config, RecordedConfigurationIsReadLeniently) {
  const auto r = nucseg::parse_recorded_config(
      "[data]\nnormalize = \"range\"\nchannels = [1]\n[train]\nepochs = 4\nno_longer_a_key = 1\n[gone]\nx = 2\n"
      "[infer]\nseed_distance = 6\n",
      "run/best.pt");
  EXPECT_EQ(r.config.data.normalize, "range");
  EXPECT_EQ(r.config.data.channels.indices, (std::vector<int>{1}));
  EXPECT_EQ(r.config.train.epochs, 4);
  EXPECT_EQ(r.config.segment.seed_distance, 6);  // an older spelling
  EXPECT_TRUE(r.has("data.normalize"));
  EXPECT_TRUE(r.has("segment.seed_distance"));
  EXPECT_FALSE(r.has("data.normalize_low"));
  EXPECT_EQ(r.keys.size(), 4u);
  EXPECT_TRUE(nucseg::parse_recorded_config("", "x").keys.empty());
  try {
    nucseg::parse_recorded_config("[train]\nepochs = -1\n", "run/best.pt");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.context().key, "train.epochs");
    EXPECT_EQ(e.context().file, "run/best.pt");
  }
  EXPECT_THROW(nucseg::parse_recorded_config("[train\n", "run/best.pt"), Error);
}

// A duration given as a plain number of seconds keeps every digit (printed with 6 significant
// digits before, 1234567 was refused as "1.23457e+06" and 123456.7 became 123457).
TEST(Config, NumericTimeLimitKeepsEveryDigit) {
  EXPECT_EQ(load_config({}, {"train.time_limit=1234567"}).train.time_limit, "1234567");
  EXPECT_EQ(load_config({}, {"train.time_limit=123456.7"}).train.time_limit, "123456.7");
  EXPECT_EQ(load_config({}, {"train.time_limit=\"10m\""}).train.time_limit, "10m");
}
