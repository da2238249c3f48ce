// Typed configuration of every nucseg tool. One TOML file (plus --set overrides) is parsed
// once into these structs; every key is declared with its type, default, allowed values and
// documentation in src/core/config_schema.cpp, and docs/config.md lists each one.
#pragma once

#include <string>
#include <vector>

namespace nucseg {

enum class TriState { automatic, yes, no };

// Which source channels feed the network's three inputs (data.channels, infer.channels); see
// io/channels.hpp for what each choice does with 1..N-channel images.
struct ChannelSpec {
  enum class Kind {
    unset,    // infer.channels = "": use the checkpoint's choice
    rgb,      // colour as stored (gray replicated, alpha dropped)
    gray,     // luminance replicated to the three inputs
    indices,  // source channel indices: one (replicated) or three (one per input)
  };
  Kind kind = Kind::rgb;
  std::vector<int> indices;  // Kind::indices only; 0-based source channel numbers

  bool operator==(const ChannelSpec& o) const { return kind == o.kind && indices == o.indices; }
};

// infer.diameter: the typical nucleus diameter of the input images, in their own pixels.
struct DiameterSpec {
  bool automatic = true;   // "auto" (the default): measured per image by a first pass at native scale
  double pixels = 0.0;     // when not automatic; 0: no rescaling

  bool operator==(const DiameterSpec& o) const { return automatic == o.automatic && pixels == o.pixels; }
};

struct LogConfig {
  std::string level = "info";     // trace, debug, info, warn, error, off
  std::string dir;                // per-rank log files <dir>/rank-<r>.log; empty: none
  double progress_seconds = 10.0; // interval between progress lines
};

struct SynthConfig {
  std::string output = "demo/data";
  int count = 24;
  int seed = 1;
  std::string style = "mixed";  // fluorescence, brightfield, histology, ihc, phase, mixed
  int min_side = 256;
  int max_side = 512;
  double min_radius = 3.5;
  double max_radius = 20.0;
  double density = 1.0;           // nuclei coverage scale (1 = typical Kaggle image)
  double cluster_fraction = 0.5;  // share of nuclei placed in touching clusters
  int big_image = 0;              // side of one extra large image; 0 = none
  bool overwrite = false;
};

struct PackConfig {
  std::string input;
  std::string output;
  std::string layout = "auto";  // auto, kaggle, flat, paired
  std::string images_dir = "images";
  std::string masks_dir = "masks";
  std::string mask_kind = "auto";  // auto, labels, binary (flat layout masks)
  double val_fraction = 0.2;
  int seed = 42;
  int shard_max_images = 256;
  double shard_max_mb = 256.0;
  int border_width = 2;
  int compression = 4;
  double max_rejected_fraction = 0.1;
  bool overwrite = false;
  bool dry_run = false;  // decode and validate every input, write nothing
};

struct DataConfig {
  std::string shards;
  int crop = 256;
  int samples_per_image = 1;
  bool flip = true;
  bool rotate90 = true;
  double intensity_jitter = 0.1;
  double contrast_jitter = 0.2;
  double scale_jitter = 0.75;   // zoom log-uniform in [1/(1+s), 1+s]
  double distort = 0.03;        // grid distortion strength (fraction of the crop side)
  double gray = 0.2;            // probability
  double hue_jitter = 0.05;
  double channel_jitter = 0.1;
  double channel_shuffle = 0.3;  // probability (colour images)
  double invert = 0.2;          // probability (gray images)
  double gamma = 0.25;
  double blur = 0.2;            // probability
  double blur_sigma = 1.5;
  double noise = 0.03;
  int workers = 1;
  int prefetch = 4;
  ChannelSpec channels;                 // rgb, gray or source channel indices
  std::string normalize = "percentile"; // percentile, range, fixed
  double normalize_low = 1.0;           // percentile: mapped to 0
  double normalize_high = 99.8;         // percentile: mapped to 1
  double normalize_min = 0.0;           // fixed: mapped to 0
  double normalize_max = 255.0;         // fixed: mapped to 1
};

struct ModelConfig {
  int classes = 3;
  bool distance_head = false;  // one more output: each nucleus' normalised distance to its boundary
  bool flow_head = false;      // two more outputs (after the distance's): unit vectors to each nucleus' centre
  int full_res = 0;            // channels of a full-resolution stage before the outputs (0: the seed's last layer)
  double decoder_width = 1.0;  // the decoder's filters x this (1: the seed's 512-256-128-64)
  std::string encoder_weights;
  TriState freeze_encoder = TriState::automatic;
};

struct TrainConfig {
  std::string output = "runs/train";
  int epochs = 20;
  long max_steps = 0;
  std::string time_limit;             // wall-clock budget ("10m", "1h30m", "01:50:00"); "": none
  int batch_size = 16;
  double lr = 1e-3;
  std::string lr_schedule = "constant";  // constant, cosine, step
  int lr_step_epochs = 10;
  double lr_step_gamma = 0.1;
  int warmup_steps = 0;
  bool lr_scale_with_ranks = false;
  double weight_decay = 0.0;
  std::vector<double> class_weights;  // empty: unweighted
  double dice_weight = 0.0;
  double distance_weight = 1.0;       // model.distance_head: weight of its loss term
  double flow_weight = 5.0;           // model.flow_head: weight of its loss term
  int threads = 0;                    // 0: the cores available to this rank
  std::string device = "auto";        // auto, cpu, cuda
  std::string precision = "float32";  // float32, bfloat16 (the decoder's products), auto
  int seed = 1;
  bool deterministic = false;
  long checkpoint_every = 0;          // steps; 0: only at epoch ends
  int keep_checkpoints = 3;
  int val_every = 1;
  int preview_count = 4;
  double bucket_mb = 0.0;  // 0: auto (train_bucket_mb)
  bool sync_batchnorm = false;
  double bn_momentum = 0.0;           // 0: the model's Keras momenta
};

struct InferConfig {
  std::string model;
  std::string input;
  std::string output;
  int tile = 512;
  int overlap = 64;
  int batch = 4;
  bool overwrite = false;
  bool save_probabilities = false;
  std::string export_labels;  // "", png, tiff
  bool export_rois = false;   // ImageJ ROI zip per image
  bool export_rle = false;    // <output>/submission.csv, Kaggle DSB run-length encoding
  int threads = 0;
  std::string device = "auto";     // auto, cpu, cuda (dist/device.hpp's rank -> GPU rule)
  bool fold_batchnorm = true;
  std::string precision = "auto";  // auto, float32, bfloat16 (CPU: the decoder's), float16 (GPU only)
  ChannelSpec channels{ChannelSpec::Kind::unset, {}};  // unset: the checkpoint's
  std::string normalize;  // "": the checkpoint's; percentile, range, fixed (data.normalize_* values)
  DiameterSpec diameter;  // rescale to the training set's nucleus diameter; 0: no rescaling
  double pixel_size = 0.0;  // micrometres per pixel; 0: from each file's metadata, else unknown
  std::string tta = "off";  // test-time augmentation: off, flips (4 transforms), dihedral (8)
  double max_failed_fraction = 0.0;  // exit 3 only when more than this share of the images failed
  bool deterministic = false;  // bit-reproducible whatever the ranks and threads (run.cpp)
};

// Instances from class probabilities: read by inference and by training's validation alike.
struct SegmentConfig {
  int min_area = 12;
  double seed_threshold = 0.5;
  std::string seeds = "distance";  // distance, interior, predicted, flows
  int seed_distance = 4;
  double center_threshold = 0.5;  // seeds = predicted: level of the predicted distance map
  double min_solidity = 0.0;      // objects with a smaller area / convex area are removed (0: none)
  double min_confidence = 0.75;   // objects with a lower mean foreground probability are removed (0: none)
  int core_seed_area = 30;        // seeds = distance: an interior component this large without a peak
                                  // gets a seed (0: none)
  int interior_reach = 6;         // foreground farther than this from confident interior is dropped (0: none)
};

struct EvalConfig {
  std::string truth;
  std::string pred;
  std::string output;  // JSON report path; empty: <pred dir>/eval.json
};

// nucseg_export: a checkpoint as a model for other frameworks.
struct ExportConfig {
  std::string model;                   // checkpoint file or training run directory
  std::string format = "torchscript";  // torchscript
  std::string output;                  // file to write
};

struct Config {
  LogConfig log;
  SynthConfig synth;
  PackConfig pack;
  DataConfig data;
  ModelConfig model;
  TrainConfig train;
  InferConfig infer;
  SegmentConfig segment;
  EvalConfig eval;
  ExportConfig model_export;  // [export] ("export" is a C++ keyword)
};

// One declared key, as documented.
struct KeyInfo {
  std::string key;            // "section.name"
  std::string type;           // bool, int, float, string, float list, bool|"auto"
  std::string default_value;  // TOML text of the default
  std::string allowed;        // human description of the allowed values
  std::string doc;            // one-line meaning
};

const std::vector<KeyInfo>& config_keys();

// An older spelling of a key, still read (into `key`) for one version and never written.
struct KeyAlias {
  std::string alias;  // "infer.min_area"
  std::string key;    // "segment.min_area"
};

const std::vector<KeyAlias>& config_key_aliases();

// Defaults, then each file in order, then each "section.key=value" override.
// Throws Error(config) naming the key for unknown keys, wrong types and bad values.
Config load_config(const std::vector<std::string>& files, const std::vector<std::string>& overrides);

// A configuration recorded by an earlier run (the TOML a checkpoint stores): the declared keys
// it holds applied over the defaults. Keys this version does not know (renamed or removed
// since) are skipped, not errors, so an old checkpoint stays readable; `keys` says which keys
// the text held, so a caller can tell a recorded value from a default.
struct RecordedConfig {
  Config config;
  std::vector<std::string> keys;  // declared keys present in the text, e.g. "data.normalize"
  bool has(const std::string& key) const;
};
// Throws Error(config) naming `where` when the text is not TOML or a known key has a bad value.
RecordedConfig parse_recorded_config(const std::string& toml_text, const std::string& where);

// The resolved configuration as TOML; restricted to `sections` when not empty.
std::string config_to_toml(const Config& config, const std::vector<std::string>& sections = {});

// A channel choice as TOML text ("rgb", "gray", "" when unset, [1, 0, 2]) and back; the text
// form is how a checkpoint or shard index records it. parse_channel_spec throws Error(config)
// naming `key` for anything else ("" only when `allow_unset`).
std::string to_toml(const ChannelSpec& spec);
ChannelSpec parse_channel_spec(const std::string& text, const std::string& key, bool allow_unset = false);

// Closest declared key to `key` (for "did you mean"), empty when nothing is close.
std::string closest_key(const std::string& key);

}  // namespace nucseg
