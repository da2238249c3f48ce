// Every configuration key nucseg knows: type, default, allowed values, meaning.
// Adding a key: add the struct member in config.hpp, one line here, one row in docs/config.md
// (tests/core/config_docs_test checks that docs and this table agree).
#include "config_schema.hpp"

#include <limits>

#include "config_key_types.hpp"
#include "nucseg/core/error.hpp"

namespace nucseg::detail {
namespace {

constexpr long kIntMax = std::numeric_limits<int>::max();

std::vector<Field> build() {
  using C = Config;
  return {
      // [log]
      string_key("log.level", &C::log, &LogConfig::level, {"trace", "debug", "info", "warn", "error", "off"},
                 "Verbosity of the log (rank 0 speaks for the job; --log-level overrides)."),
      string_key("log.dir", &C::log, &LogConfig::dir, {},
                 "Folder for per-rank log files rank-R.log (R = rank); empty: console only."),
      float_key("log.progress_seconds", &C::log, &LogConfig::progress_seconds, 0.0, 3600.0,
                "Seconds between progress lines (count, rate, ETA) on long loops."),

      // [synth]
      string_key("synth.output", &C::synth, &SynthConfig::output, {},
                 "Folder that receives the generated Kaggle-layout dataset."),
      int_key("synth.count", &C::synth, &SynthConfig::count, 1, 1000000, "Number of images to generate."),
      int_key("synth.seed", &C::synth, &SynthConfig::seed, 0, kIntMax, "Random seed; the same seed gives the same images."),
      string_key("synth.style", &C::synth, &SynthConfig::style,
                 {"fluorescence", "brightfield", "histology", "ihc", "phase", "mixed"},
                 "Imaging style of the generated images; mixed draws one per image."),
      int_key("synth.min_side", &C::synth, &SynthConfig::min_side, 64, 8192, "Smallest image side in pixels."),
      int_key("synth.max_side", &C::synth, &SynthConfig::max_side, 64, 8192, "Largest image side in pixels."),
      float_key("synth.min_radius", &C::synth, &SynthConfig::min_radius, 2.0, 200.0, "Smallest mean nucleus radius in pixels."),
      float_key("synth.max_radius", &C::synth, &SynthConfig::max_radius, 2.0, 200.0, "Largest mean nucleus radius in pixels."),
      float_key("synth.density", &C::synth, &SynthConfig::density, 0.05, 5.0,
                "Scale of the number of nuclei per image (1: typical Kaggle coverage)."),
      float_key("synth.cluster_fraction", &C::synth, &SynthConfig::cluster_fraction, 0.0, 1.0,
                "Share of nuclei placed in clusters of touching nuclei."),
      int_key("synth.big_image", &C::synth, &SynthConfig::big_image, 0, 32768,
              "Side of one extra large image (for tiling tests); 0: none."),
      bool_key("synth.overwrite", &C::synth, &SynthConfig::overwrite, "Regenerate images that already exist."),

      // [pack]
      string_key("pack.input", &C::pack, &PackConfig::input, {},
                 "Dataset root (Kaggle stage1 layout, flat images/ + masks/, or images beside their <stem>_masks)."),
      string_key("pack.output", &C::pack, &PackConfig::output, {}, "Folder that receives the HDF5 shards and index.h5."),
      string_key("pack.layout", &C::pack, &PackConfig::layout, {"auto", "kaggle", "flat", "paired"},
                 "Dataset layout: kaggle (<id>/images, <id>/masks), flat (images/ + masks/; a mask named <stem> or "
                 "<stem>_masks, _mask, _labels, _label, in that precedence), paired (<stem>.png beside <stem>_masks.png in one "
                 "folder, as Cellpose trains; the same suffixes), auto-detect."),
      string_key("pack.images_dir", &C::pack, &PackConfig::images_dir, {}, "Flat layout: the images folder under pack.input."),
      string_key("pack.masks_dir", &C::pack, &PackConfig::masks_dir, {}, "Flat layout: the masks folder under pack.input."),
      string_key("pack.mask_kind", &C::pack, &PackConfig::mask_kind, {"auto", "labels", "binary"},
                 "Flat and paired layout masks: labels = an instance label image (each non-zero value one nucleus, 8/16/32-bit); "
                 "binary = nuclei are the 8-connected components of the non-zero pixels (of those above half "
                 "the maximum in JPEG masks and masks with smoothed outlines); auto = labels when a mask holds "
                 "more than two distinct values, else binary (JPEG masks and smoothed binary masks always binary; "
                 "docs/data.md)."),
      float_key("pack.val_fraction", &C::pack, &PackConfig::val_fraction, 0.0, 1.0,
                "Share of images held out for validation (decided per image id by a seeded hash)."),
      int_key("pack.seed", &C::pack, &PackConfig::seed, 0, kIntMax, "Seed of the train/val split hash."),
      int_key("pack.shard_max_images", &C::pack, &PackConfig::shard_max_images, 1, 1000000, "Most images per shard."),
      float_key("pack.shard_max_mb", &C::pack, &PackConfig::shard_max_mb, 1.0, 1e6, "Most uncompressed megabytes per shard."),
      int_key("pack.border_width", &C::pack, &PackConfig::border_width, 1, 16,
              "Width in pixels of the nucleus-border class in the stored 3-class targets."),
      int_key("pack.compression", &C::pack, &PackConfig::compression, 0, 9, "gzip level of the shard datasets (0: none)."),
      float_key("pack.max_rejected_fraction", &C::pack, &PackConfig::max_rejected_fraction, 0.0, 1.0,
                "Exit non-zero when more than this share of the images is rejected."),
      bool_key("pack.overwrite", &C::pack, &PackConfig::overwrite, "Rewrite shards that are already complete."),
      bool_key("pack.dry_run", &C::pack, &PackConfig::dry_run,
               "Decode and validate every input (images, masks, targets) and report; write no shards."),

      // [data]
      string_key("data.shards", &C::data, &DataConfig::shards, {}, "Shard folder written by nucseg_pack (holds index.h5)."),
      int_key("data.crop", &C::data, &DataConfig::crop, 32, 1024, "Side of the square training crops.", 32),
      int_key("data.samples_per_image", &C::data, &DataConfig::samples_per_image, 1, 1000,
              "Random crops drawn from each training image per epoch."),
      bool_key("data.flip", &C::data, &DataConfig::flip, "Random horizontal and vertical flips."),
      bool_key("data.rotate90", &C::data, &DataConfig::rotate90, "Random rotations by multiples of 90 degrees."),
      float_key("data.scale_jitter", &C::data, &DataConfig::scale_jitter, 0.0, 3.0,
                "Random zoom, log-uniform in 1/(1+s) .. 1+s (0.75: x0.57 .. x1.75; magnification robustness); 0: off."),
      float_key("data.distort", &C::data, &DataConfig::distort, 0.0, 0.2,
                "Grid distortion: largest control-point shift (every ~32 px) as a fraction of the crop side; 0: off."),
      float_key("data.gray", &C::data, &DataConfig::gray, 0.0, 1.0,
                "Probability that a colour crop becomes its luminance (replicated)."),
      float_key("data.hue_jitter", &C::data, &DataConfig::hue_jitter, 0.0, 0.5,
                "Colour crops: hue rotated by up to +-h x 180 deg and saturation scaled by up to e^(+-2h); 0: off."),
      float_key("data.channel_jitter", &C::data, &DataConfig::channel_jitter, 0.0, 1.0,
                "Colour crops: per-channel gain e^(+-c) and offset +-c/2 (stain and white-balance variation); 0: off."),
      float_key("data.channel_shuffle", &C::data, &DataConfig::channel_shuffle, 0.0, 1.0,
                "Probability that a colour crop's channels are put in a random other order (BGR saved as RGB, "
                "stains of other hues)."),
      float_key("data.invert", &C::data, &DataConfig::invert, 0.0, 1.0,
                "Probability that a gray crop is inverted (1 - x: bright-on-dark <-> dark-on-bright)."),
      float_key("data.gamma", &C::data, &DataConfig::gamma, 0.0, 2.0,
                "Random gamma x^g with g in e^(+-gamma) (0.25: 0.78 .. 1.28); 0: off."),
      float_key("data.contrast_jitter", &C::data, &DataConfig::contrast_jitter, 0.0, 1.0,
                "Largest random contrast change around the crop mean, as a fraction (0.2: x0.8 .. x1.2)."),
      float_key("data.intensity_jitter", &C::data, &DataConfig::intensity_jitter, 0.0, 1.0,
                "Largest random brightness shift, in normalised units (1 = the normalised range)."),
      float_key("data.blur", &C::data, &DataConfig::blur, 0.0, 1.0, "Probability of a Gaussian blur of the crop."),
      float_key("data.blur_sigma", &C::data, &DataConfig::blur_sigma, 0.3, 10.0,
                "Largest blur sigma in pixels (drawn uniformly from 0.3 up)."),
      float_key("data.noise", &C::data, &DataConfig::noise, 0.0, 0.5,
                "Poisson-Gaussian noise on normalised intensities: sd sqrt(a^2 + b^2 x), a and b uniform in "
                "0 .. noise per crop; 0: off."),
      int_key("data.workers", &C::data, &DataConfig::workers, 1, 64, "Background threads preparing batches."),
      int_key("data.prefetch", &C::data, &DataConfig::prefetch, 1, 256, "Batches prepared ahead of the trainer."),
      channels_key("data.channels", &C::data, &DataConfig::channels, false,
                   "Source channels fed to the network's three inputs: rgb = colour as stored (gray replicated, "
                   "alpha dropped), gray = luminance replicated, [i] = channel i replicated (e.g. [1] for a nuclear "
                   "stain in channel 1), [i, j, k] = one channel per input; see docs/data.md."),
      string_key("data.normalize", &C::data, &DataConfig::normalize, {"percentile", "range", "fixed"},
                 "Intensity normalisation to the network's 0..1 input, per image and channel: percentile = "
                 "normalize_low/high percentiles to 0/1; range = 0..2^bits-1 of the image's bit depth; fixed = "
                 "normalize_min/max to 0/1."),
      float_key("data.normalize_low", &C::data, &DataConfig::normalize_low, 0.0, 100.0,
                "normalize = percentile: the percentile mapped to 0."),
      float_key("data.normalize_high", &C::data, &DataConfig::normalize_high, 0.0, 100.0,
                "normalize = percentile: the percentile mapped to 1 (larger than normalize_low)."),
      float_key("data.normalize_min", &C::data, &DataConfig::normalize_min, 0.0, 65535.0,
                "normalize = fixed: the raw value mapped to 0."),
      float_key("data.normalize_max", &C::data, &DataConfig::normalize_max, 0.0, 65535.0,
                "normalize = fixed: the raw value mapped to 1 (larger than normalize_min)."),

      // [model]
      int_key("model.classes", &C::model, &ModelConfig::classes, 3, 3,
              "Output classes per pixel: background, interior, border. Only 3: the training targets nucseg_pack "
              "writes and the segment step nucseg_infer runs have exactly these three classes."),
      bool_key("model.distance_head", &C::model, &ModelConfig::distance_head,
               "One more output channel: each nucleus' distance to its own boundary, normalised to 1 at its "
               "centre (trained with train.distance_weight); segment.seeds = predicted seeds nuclei from it. "
               "Off by default: in the demo's 10-minute budget it did not score higher (docs/benchmarks.md)."),
      bool_key("model.flow_head", &C::model, &ModelConfig::flow_head,
               "Two more output channels (after the distance head's): per pixel the unit vector to its nucleus' "
               "centre (Cellpose-style flows, trained with train.flow_weight); segment.seeds = flows follows them "
               "to separate touching nuclei."),
      int_key("model.full_res", &C::model, &ModelConfig::full_res, 0, 256,
              "Channels of a stage at the input's resolution before the outputs (upsampling, the input image "
              "concatenated, a 3x3 convolution); 0: the seed's last layer, one transposed convolution from "
              "half-resolution features to the outputs."),
      float_key("model.decoder_width", &C::model, &ModelConfig::decoder_width, 0.125, 2.0,
                "The decoder's filters (the seed's 512, 256, 128, 64) times this, rounded, at least 8: fewer "
                "floating-point operations per step at < 1."),
      string_key("model.encoder_weights", &C::model, &ModelConfig::encoder_weights, {},
                 "Keras MobileNetV2 ImageNet weights (.h5, no_top); empty: random initialisation."),
      tristate_key("model.freeze_encoder", &C::model, &ModelConfig::freeze_encoder,
                   "Freeze the encoder (auto: frozen when encoder_weights is set, as in the seed)."),

      // [train]
      string_key("train.output", &C::train, &TrainConfig::output, {},
                 "Run directory: config, metrics.csv, TensorBoard events, previews, checkpoints."),
      int_key("train.epochs", &C::train, &TrainConfig::epochs, 1, 100000, "Number of epochs."),
      int_key("train.max_steps", &C::train, &TrainConfig::max_steps, 0, 1000000000L,
              "Stop after this many optimizer steps; 0: no limit."),
      duration_key("train.time_limit", &TrainConfig::time_limit,
                   "Wall-clock budget of the run's training: stop (checkpoint, final validation, best.pt, exit 0) "
                   "before a step would exceed it; the cosine schedule then follows the budget. \"\": none."),
      int_key("train.batch_size", &C::train, &TrainConfig::batch_size, 1, 4096, "Images per optimizer step on each rank."),
      float_key("train.lr", &C::train, &TrainConfig::lr, 1e-8, 10.0, "Adam learning rate."),
      string_key("train.lr_schedule", &C::train, &TrainConfig::lr_schedule, {"constant", "cosine", "step"},
                 "Learning-rate schedule over the run."),
      int_key("train.lr_step_epochs", &C::train, &TrainConfig::lr_step_epochs, 1, 100000,
              "Step schedule: epochs between decays."),
      float_key("train.lr_step_gamma", &C::train, &TrainConfig::lr_step_gamma, 0.0, 1.0,
                "Step schedule: factor applied at each decay."),
      int_key("train.warmup_steps", &C::train, &TrainConfig::warmup_steps, 0, 10000000,
              "Linear learning-rate warm-up steps."),
      bool_key("train.lr_scale_with_ranks", &C::train, &TrainConfig::lr_scale_with_ranks,
               "Scale the learning rate linearly with the number of ranks (use with warm-up)."),
      float_key("train.weight_decay", &C::train, &TrainConfig::weight_decay, 0.0, 1.0, "Adam L2 weight decay."),
      float_list_key("train.class_weights", &C::train, &TrainConfig::class_weights, 0.0, 1000.0,
                     "Cross-entropy weight per class; empty: unweighted."),
      float_key("train.dice_weight", &C::train, &TrainConfig::dice_weight, 0.0, 100.0,
                "Weight of a soft Dice term added to the cross-entropy; 0: off."),
      float_key("train.distance_weight", &C::train, &TrainConfig::distance_weight, 0.0, 100.0,
                "model.distance_head: weight of the distance output's loss (binary cross-entropy against each "
                "nucleus' normalised distance to its boundary, 0 on the background)."),
      float_key("train.flow_weight", &C::train, &TrainConfig::flow_weight, 0.0, 100.0,
                "model.flow_head: weight of the flow outputs' loss (mean squared error of the predicted unit vectors "
                "against those to each nucleus' centre, 0 on the background)."),
      int_key("train.threads", &C::train, &TrainConfig::threads, 0, 1024,
              "Intra-op threads per rank; 0: the cores of the node divided by the ranks on it."),
      string_key("train.device", &C::train, &TrainConfig::device, {"auto", "cpu", "cuda"},
                 "Compute device; auto picks CUDA when this LibTorch has it."),
      string_key("train.precision", &C::train, &TrainConfig::precision, {"float32", "bfloat16", "auto"},
                 "Arithmetic of training on a CPU. bfloat16: the decoder's transposed convolutions multiply "
                 "bfloat16 copies of their operands (their forward and both gradients; master weights, "
                 "BatchNorm, the encoder, the logits layer and the optimizer stay float32), 1.15-1.25x faster "
                 "training steps on CPUs with AVX512-BF16 or AMX (elsewhere emulated or on fallback kernels, "
                 "slower than float32); auto: "
                 "bfloat16 where rank 0's CPU has it, else float32. With train.device on a GPU only float32 "
                 "(and auto, meaning float32) is accepted."),
      int_key("train.seed", &C::train, &TrainConfig::seed, 0, kIntMax, "Seed of initialisation, data order and augmentation."),
      bool_key("train.deterministic", &C::train, &TrainConfig::deterministic,
               "Deterministic algorithms only (bit-reproducible runs, slower)."),
      int_key("train.checkpoint_every", &C::train, &TrainConfig::checkpoint_every, 0, 1000000000L,
              "Steps between checkpoints; 0: only at the end of each epoch."),
      int_key("train.keep_checkpoints", &C::train, &TrainConfig::keep_checkpoints, 1, 1000,
              "Most recent checkpoints kept (the best one is kept besides)."),
      int_key("train.val_every", &C::train, &TrainConfig::val_every, 1, 100000, "Epochs between validations."),
      int_key("train.preview_count", &C::train, &TrainConfig::preview_count, 0, 64,
              "Validation images drawn in previews/epoch-NNN.png; 0: no previews."),
      float_key("train.bucket_mb", &C::train, &TrainConfig::bucket_mb, 0.0, 1024.0,
                "Size of the fused gradient buckets all-reduced during backward (MiB); 0: auto = 4 on a GPU "
                "(overlapped with backward), one bucket of every gradient on a CPU (reduced once backward "
                "ends: an overlapped reduction competes with the backward for the cores; 10-19% faster steps "
                "measured, docs/benchmarks.md)."),
      bool_key("train.sync_batchnorm", &C::train, &TrainConfig::sync_batchnorm,
               "Average BatchNorm statistics over ranks (default: per rank)."),
      float_key("train.bn_momentum", &C::train, &TrainConfig::bn_momentum, 0.0, 1.0,
                "BatchNorm running-statistics momentum (PyTorch convention); 0 keeps Keras's 0.001/0.01, which "
                "need thousands of steps to settle (raise it for short runs)."),

      // [infer]
      string_key("infer.model", &C::infer, &InferConfig::model, {}, "Checkpoint file or training run directory (uses its best checkpoint)."),
      string_key("infer.input", &C::infer, &InferConfig::input, {},
                 "Folder tree of images, a Kaggle-layout folder, a text file listing image paths, or one image."),
      string_key("infer.output", &C::infer, &InferConfig::output, {}, "Output folder (segmentation.h5 and part files)."),
      int_key("infer.tile", &C::infer, &InferConfig::tile, 64, 4096,
              "Largest tile area, as the side of a square: tiles hold at most tile x tile pixels; per image the "
              "tiler picks the sides (multiples of 32) that cover it with the least total area.",
              32),
      int_key("infer.overlap", &C::infer, &InferConfig::overlap, 0, 1024, "Overlap between neighbouring tiles in pixels."),
      int_key("infer.batch", &C::infer, &InferConfig::batch, 1, 256, "Tiles per forward pass."),
      bool_key("infer.overwrite", &C::infer, &InferConfig::overwrite, "Redo images that already have results."),
      bool_key("infer.save_probabilities", &C::infer, &InferConfig::save_probabilities,
               "Also store class probabilities (uint8, x255) per image, then a distance head's map and a flow head's two "
               "planes ((1 + dy) / 2, (1 + dx) / 2) when the network has them."),
      string_key("infer.export_labels", &C::infer, &InferConfig::export_labels, {"", "png", "tiff"},
                 "Also write each label image under <output>/labels/: unsigned 16-bit PNG or TIFF, or a 32-bit "
                 "unsigned TIFF when a label exceeds 65535 (also when png was asked: PNG has no 32-bit gray)."),
      bool_key("infer.export_rois", &C::infer, &InferConfig::export_rois,
               "Also write each image's nuclei as ImageJ polygon ROIs (along pixel edges) in "
               "<output>/rois/<id>.zip, for Fiji's ROI Manager; each ROI is named by its label."),
      bool_key("infer.export_rle", &C::infer, &InferConfig::export_rle,
               "Also write <output>/submission.csv in the Kaggle DSB 2018 layout (ImageId,EncodedPixels: one "
               "run-length row per nucleus; an image without nuclei gets one row with empty EncodedPixels)."),
      int_key("infer.threads", &C::infer, &InferConfig::threads, 0, 1024,
              "Intra-op threads per rank; 0: the cores of the node divided by the ranks on it."),
      string_key("infer.device", &C::infer, &InferConfig::device, {"auto", "cpu", "cuda"},
                 "Where the network runs; auto picks CUDA when this LibTorch has it. A rank takes GPU (local "
                 "rank mod visible GPUs), as training does; every rank must resolve to the same kind."),
      bool_key("infer.fold_batchnorm", &C::infer, &InferConfig::fold_batchnorm,
               "Fold BatchNorm into the preceding convolutions for inference."),
      string_key("infer.precision", &C::infer, &InferConfig::precision, {"auto", "float32", "bfloat16", "float16"},
                 "Arithmetic of the network. On a CPU, bfloat16 runs the folded encoder and decoder in it "
                 "(logits float32), ~1.6x faster than float32 on CPUs with AVX512-BF16 or AMX (elsewhere "
                 "emulated or on fallback kernels, slower), and needs fold_batchnorm; auto: bfloat16 where the CPU has it and BatchNorm is folded, else "
                 "float32; float16 is refused. On a GPU (infer.device), bfloat16 and float16 run the whole "
                 "network under CUDA autocast (instances equal to float32's on an H200); auto: float32."),
      channels_key("infer.channels", &C::infer, &InferConfig::channels, true,
                   "Source channels fed to the network, as data.channels; \"\": the checkpoint's choice."),
      string_key("infer.normalize", &C::infer, &InferConfig::normalize, {"", "percentile", "range", "fixed"},
                 "Intensity normalisation, as data.normalize with its data.normalize_* values; \"\": the checkpoint's."),
      diameter_key("infer.diameter", &C::infer, &InferConfig::diameter, 10000.0,
                   "Typical nucleus diameter of the input images in pixels: each image is resized by "
                   "(training diameter / this) before the network, and results come back at its own size; "
                   "auto = measured per image by a first pass, then a second pass at a candidate scale, kept when "
                   "its labels fit the network's flow better (flow head) or the network is more confident there "
                   "(docs/inference.md); "
                   "0: no rescaling. A number needs a checkpoint that records its diameter; auto without one "
                   "leaves images at their scale."),
      float_key("infer.pixel_size", &C::infer, &InferConfig::pixel_size, 0.0, 1000.0,
                "Micrometres per pixel of every input image, for the _um/_um2 columns of the objects table; "
                "0: read per image from the file (OME-XML, ImageJ or TIFF resolution, PNG pHYs), unknown "
                "where it says nothing. A value here wins over the files."),
      string_key("infer.tta", &C::infer, &InferConfig::tta, {"off", "flips", "dihedral"},
                 "Test-time augmentation: average the class probabilities over transformed copies of each "
                 "tile: flips = the 4 mirror images, dihedral = the 8 flips and 90-degree rotations (x4 / x8 "
                 "network time)."),
      float_key("infer.max_failed_fraction", &C::infer, &InferConfig::max_failed_fraction, 0.0, 1.0,
                "Exit 3 only when more than this share of the images failed (0: any failure); failures are "
                "recorded in /failures either way."),
      bool_key("infer.deterministic", &C::infer, &InferConfig::deterministic,
               "Bit-reproducible results whatever the rank count, infer.threads and tile sharing: the network "
               "runs on one thread per rank, in float32 (infer.precision = auto means float32; bfloat16 is refused). "
               "Same results also need the same CPU type and build (docs/inference.md)."),

      // [segment]: read by nucseg_infer and by nucseg_train's validation
      int_key("segment.min_area", &C::segment, &SegmentConfig::min_area, 0, 1000000,
              "Objects smaller than this many pixels are removed."),
      float_key("segment.seed_threshold", &C::segment, &SegmentConfig::seed_threshold, 0.0, 1.0,
                "Interior probability above which a pixel counts as confident interior; its distance map "
                "helps place the seeds."),
      string_key("segment.seeds", &C::segment, &SegmentConfig::seeds, {"distance", "interior", "predicted", "flows"},
                 "How nuclei are seeded: flows = every foreground pixel follows the network's flow outputs "
                 "and pixels whose paths end together form a nucleus (needs model.flow_head); predicted = components of the network's distance output above "
                 "center_threshold, grown down its slopes (needs model.distance_head); distance = peaks of the "
                 "foreground + confident-interior distance maps (robust to gaps in the predicted border); "
                 "interior = one seed per confident-interior component, split along the predicted border."),
      int_key("segment.seed_distance", &C::segment, &SegmentConfig::seed_distance, 1, 1024,
              "seeds = distance: distance-map peaks closer than this many pixels merge into one seed (a confident-interior "
              "component of its own may still get one: segment.core_seed_area); about the radius of the smallest nuclei."),
      int_key("segment.core_seed_area", &C::segment, &SegmentConfig::core_seed_area, 0, 1000000,
              "seeds = distance: a 4-connected component of confident interior with at least this many pixels and "
              "no distance peak gets a seed at its deepest point (a nucleus partly hidden behind another, which the "
              "network cut off but the foreground's distance map runs across); 0: off. 30 raised the three tuning sets by "
              "+0.005 to +0.009 with the demo network (docs/benchmarks.md, fifteenth pass). Scaled with infer.diameter "
              "as min_area."),
      int_key("segment.interior_reach", &C::segment, &SegmentConfig::interior_reach, 0, 1024,
              "Foreground pixels farther than this many pixels from the confident interior are not nucleus, in "
              "foreground components that hold confident interior (a component without any, such as a small nucleus "
              "predicted as border only, stays whole); 0: off. On a real IHC section the network calls the whole "
              "DAB-stained sheet between nuclei border, and without the limit the nuclei sprawl into it; 6 moved the "
              "generated sets by -0.012..+0.012 (docs/benchmarks.md, fifteenth pass). Measured along the foreground; "
              "scaled with infer.diameter as seed_distance."),
      float_key("segment.min_solidity", &C::segment, &SegmentConfig::min_solidity, 0.0, 1.0,
                "Objects whose solidity (area / convex area, as objects.csv) is below this are removed: ragged "
                "fragments such as brightfield cytoplasm read as nucleus, and many merged pairs. 0 (default) keeps "
                "every object: 0.85 gained 0.01-0.02 on generated brightfield sets but removed a quarter of the "
                "objects, many of them real irregular nuclei, on a real IHC section (docs/benchmarks.md)."),
      float_key("segment.min_confidence", &C::segment, &SegmentConfig::min_confidence, 0.0, 1.0,
                "Objects whose mean foreground probability (1 - P(background), averaged over the object's "
                "pixels) is below this are removed: fragments the network barely calls foreground, such as "
                "ripples in wide empty background on images unlike its training set. 0.75 was chosen on the "
                "tuning sets (+0.01 to +0.05 there, docs/benchmarks.md); 0 keeps every object. Applies to "
                "probabilities only (not to nucseg_eval's classical baseline)."),
      float_key("segment.center_threshold", &C::segment, &SegmentConfig::center_threshold, 0.01, 0.99,
                "seeds = predicted: a nucleus' seed is where the predicted normalised distance to its boundary "
                "exceeds this (1 at the centre, 0 at the outline)."),

      // [eval]
      string_key("eval.truth", &C::eval, &EvalConfig::truth, {},
                 "Ground truth: a dataset folder with masks (Kaggle layout, flat, or paired), or a Kaggle DSB 2018 "
                 "run-length CSV (stage1_train_labels.csv, or the stage 1 solution with Height, Width, Usage)."),
      string_key("eval.pred", &C::eval, &EvalConfig::pred, {},
                 "Predictions: a segmentation.h5 written by nucseg_infer, or the folder (infer.output) that holds one."),
      string_key("eval.output", &C::eval, &EvalConfig::output, {}, "JSON report path; empty: eval.json beside eval.pred."),

      // [export]
      string_key("export.model", &C::model_export, &ExportConfig::model, {},
                 "Checkpoint file or training run directory (uses its best checkpoint), as infer.model."),
      string_key("export.format", &C::model_export, &ExportConfig::format, {"torchscript"},
                 "Format of the exported model: torchscript = a TorchScript module for torch.jit.load (docs/export.md)."),
      string_key("export.output", &C::model_export, &ExportConfig::output, {}, "File that receives the exported model."),
  };
}

}  // namespace

std::string channel_spec_toml(const ChannelSpec& spec) {
  switch (spec.kind) {
    case ChannelSpec::Kind::unset: return "\"\"";
    case ChannelSpec::Kind::rgb: return "\"rgb\"";
    case ChannelSpec::Kind::gray: return "\"gray\"";
    case ChannelSpec::Kind::indices: break;
  }
  std::string out = "[";
  for (size_t i = 0; i < spec.indices.size(); ++i) out += (i ? ", " : "") + std::to_string(spec.indices[i]);
  return out + "]";
}

ChannelSpec channel_spec_from_node(const toml::node& n, const std::string& key, bool allow_unset) {
  const std::string allowed = std::string(allow_unset ? "\"\", " : "") + "\"rgb\", \"gray\" or a list of 1 or 3 indices";
  if (auto s = n.value_exact<std::string>()) {
    if (*s == "rgb") return {ChannelSpec::Kind::rgb, {}};
    if (*s == "gray") return {ChannelSpec::Kind::gray, {}};
    if (s->empty() && allow_unset) return {ChannelSpec::Kind::unset, {}};
    throw_config(key, "value \"" + *s + "\" is not allowed (allowed: " + allowed + ")");
  }
  const auto* arr = n.as_array();
  if (!arr) throw_config(key, "expected " + allowed + ", got " + describe(n));
  if (arr->size() != 1 && arr->size() != 3)
    throw_config(key, "a list of " + std::to_string(arr->size()) +
                          " channels; give 1 index (replicated to the network's three inputs) or 3 (one per input)");
  ChannelSpec spec{ChannelSpec::Kind::indices, {}};
  for (const auto& item : *arr) {
    auto v = item.value_exact<int64_t>();
    if (!v || *v < 0 || *v > kMaxChannelIndex)
      throw_config(key, "list item " + describe(item) + " is not a channel index (0 .. " +
                            std::to_string(kMaxChannelIndex) + ")");
    spec.indices.push_back(static_cast<int>(*v));
  }
  return spec;
}

const std::vector<Field>& fields() {
  static const std::vector<Field> table = build();
  return table;
}

const std::vector<KeyAlias>& aliases() {
  // Until 0.2 the instance keys lived in [infer] (training read them from there too).
  static const std::vector<KeyAlias> table = {
      {"infer.min_area", "segment.min_area"},
      {"infer.seed_threshold", "segment.seed_threshold"},
      {"infer.seeds", "segment.seeds"},
      {"infer.seed_distance", "segment.seed_distance"},
  };
  return table;
}

}  // namespace nucseg::detail
