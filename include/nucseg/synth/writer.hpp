// Writing synthetic samples in the Kaggle DSB 2018 stage1 layout and the nucseg_synth job.
#pragma once

#include <filesystem>

#include "nucseg/core/config.hpp"
#include "nucseg/dist/world.hpp"
#include "nucseg/synth/generator.hpp"

namespace nucseg::synth {

// Writes <root>/<id>/images/<id>.png (RGBA) and <root>/<id>/masks/<k>.png (one binary 0/255
// PNG per nucleus k = 1..N). The folder is written under a temporary name and renamed when
// complete, so an <id> folder that exists is always complete. An existing folder is replaced.
void write_kaggle_sample(const std::filesystem::path& root, const SynthSample& sample);

// The large tiling image: <root>/<id>/images/<id>.png plus <root>/<id>/labels.png (16-bit
// instance labels; one mask PNG per nucleus would cost hours at 8192x8192). Atomic as above.
void write_big_sample(const std::filesystem::path& root, const SynthSample& sample);

// True when <root>/<id> holds a complete sample (the image file exists).
bool sample_complete(const std::filesystem::path& root, const std::string& id);

// Folder of the big image: a sibling of synth.output named <output>_big, so that the Kaggle
// dataset root holds only labelled Kaggle-layout samples.
std::filesystem::path big_image_root(const SynthConfig& config);

// The nucseg_synth job: ranks split the images (index % size == rank), complete images are
// skipped unless synth.overwrite, the big image (synth.big_image > 0) is made by the last rank.
// Returns an exit code (0, or 75 when stopped by a signal before finishing).
int run_synth(const Config& config, const dist::World& world);

}  // namespace nucseg::synth
