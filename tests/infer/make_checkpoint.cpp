// Test helper: writes a model-only checkpoint of a freshly initialised U-Net (fixed seed), the
// way the trainer's CheckpointDir::save_best does, so nucseg_infer can be run end to end
// without training first. Usage: make_checkpoint <file.pt> [classes]
#include <cstdio>
#include <exception>
#include <string>

#include <torch/torch.h>

#include "nucseg/core/config.hpp"
#include "nucseg/model/unet.hpp"
#include "nucseg/train/checkpoint.hpp"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: make_checkpoint <file.pt> [classes]\n");
    return 2;
  }
  try {
    torch::manual_seed(7);
    nucseg::Config config;
    config.model.classes = argc == 3 ? std::stoi(argv[2]) : 3;
    auto model = nucseg::model::make_model(config.model);
    nucseg::train::TrainState state;
    state.classes = config.model.classes;
    state.step = 1;
    state.config = nucseg::config_to_toml(config, {"model"});
    std::filesystem::path file(argv[1]);
    if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
    nucseg::train::save_checkpoint(file, *model, nullptr, state);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_checkpoint: %s\n", e.what());
    return 1;
  }
}
