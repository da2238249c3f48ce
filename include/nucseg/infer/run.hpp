// nucseg_infer's library entry: the real stages (image decoding, the U-Net in inference form,
// instance segmentation, measurements) plugged into the inference driver (driver.hpp).
// Kept free of torch includes so the tool and tests compile without the torch headers.
#pragma once

#include <filesystem>
#include <string>

#include "nucseg/core/config.hpp"
#include "nucseg/dist/world.hpp"

namespace nucseg::infer {

// infer.model may name a checkpoint file or a training run directory: in a run directory
// best.pt wins, else the newest readable ckpt-step-*.pt (also looked for under <dir>/checkpoints).
// Throws Error(config, infer.model) when nothing usable is there.
std::filesystem::path resolve_model_file(const std::string& model);

// The resolved settings that change what a result is, one "section.key = value" per line:
// [infer] without the keys of where and how fast (model, input, output, overwrite, threads,
// export_labels, export_rois, export_rle, max_failed_fraction), all of [segment], and
// data.channels / data.normalize*; with device cpu and precision bfloat16 (as resolved) also
// "network.bfloat16 = 'encoder and decoder'", the CPU's bfloat16 form since 2026-11-29.
// Recorded on every per-image result; a resumed run redoes results made with other settings.
std::string result_settings(const Config& config);

// Collective over `world`: discovers the inputs (rank 0, broadcast), loads the model on every
// rank, runs the driver and returns the exit code: 0, 3 (some images failed: see the failures
// table), 75 (stopped by a signal; rerun to resume). An empty or missing input is Error(config)
// on every rank (exit 2).
int run_infer(const Config& config, const dist::World& world);

}  // namespace nucseg::infer
