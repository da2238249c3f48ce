// Test helper: writes a model-only checkpoint of a freshly initialised U-Net (fixed seed), the
// way the trainer's CheckpointDir::save_best does, so nucseg_infer can be run end to end
// without training first. Usage: make_checkpoint <file.pt> [classes] [calibration batches]
// Calibration runs that many forward passes on random images in training mode so BatchNorm's
// running statistics describe real activations: with the initial statistics (mean 0, var 1)
// deep activations degenerate and the network runs up to 3x slower than a trained one
// (measured), which would make a speed benchmark unfair to nucseg.
//
// make_checkpoint --set-diameter <in.pt> <px> <out.pt> copies a checkpoint (model and run
// state) with CheckpointState::nucleus_diameter set, for tests of infer.diameter on a network
// trained by a trainer that does not record the diameter itself.
#include <cstdio>
#include <exception>
#include <string>

#include <torch/torch.h>

#include "nucseg/core/config.hpp"
#include "nucseg/model/unet.hpp"
#include "nucseg/model/checkpoint.hpp"

namespace {

int set_diameter(const std::string& in, double diameter, const std::string& out) {
  nucseg::Config config;
  auto state = nucseg::model::read_checkpoint_state(in);
  if (state.classes > 0) config.model.classes = static_cast<int>(state.classes);
  auto model = nucseg::model::make_model(config.model);
  state = nucseg::model::load_checkpoint(in, *model, nullptr);
  state.nucleus_diameter = diameter;
  nucseg::model::save_checkpoint(out, *model, nullptr, state);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 5 && std::string(argv[1]) == "--set-diameter") return set_diameter(argv[2], std::stod(argv[3]), argv[4]);
    if (argc < 2 || argc > 4) {
      std::fprintf(stderr,
                   "usage: make_checkpoint <file.pt> [classes] [calibration batches]\n"
                   "       make_checkpoint --set-diameter <in.pt> <px> <out.pt>\n");
      return 2;
    }
    torch::manual_seed(7);
    nucseg::Config config;
    config.model.classes = argc >= 3 ? std::stoi(argv[2]) : 3;
    auto model = nucseg::model::make_model(config.model);
    const int calibration = argc == 4 ? std::stoi(argv[3]) : 0;
    if (calibration > 0) {
      for (auto& m : model->modules(false))
        if (auto* bn = m->as<torch::nn::BatchNorm2d>()) bn->options.momentum(0.5);
      model->train();
      torch::NoGradGuard no_grad;
      for (int i = 0; i < calibration; ++i) model->forward(torch::rand({4, 3, 128, 128}));
      model->eval();
    }
    nucseg::model::CheckpointState state;
    state.classes = config.model.classes;
    state.step = 1;
    state.config = nucseg::config_to_toml(config, {"model"});
    std::filesystem::path file(argv[1]);
    if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
    nucseg::model::save_checkpoint(file, *model, nullptr, state);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_checkpoint: %s\n", e.what());
    return 1;
  }
}
