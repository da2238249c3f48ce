// A trained nucseg network as a TorchScript module, for Python (torch.jit.load) and LibTorch
// users without nucseg. The module is the inference form: eval mode, BatchNorm folded into the
// convolutions, float32. (The namespace is nucseg::exporter: "export" is a C++ keyword.)
//
// forward(x): x is N x 3 x H x W float32, already normalised the way the training run did
// (the attributes below), H and W multiples of 32; returns the logits N x (classes +
// distance_head + 2 flow_head) x H x W, what nucseg's UNet::forward returns (softmax over the
// first `classes` channels gives the class probabilities; sigmoid of the next, with a distance
// head, its map; 2 sigmoid - 1 of the last two, with a flow head, the (dy, dx) flow).
// A wrong input shape raises "nucseg: input must be ...".
//
// Attributes (read in Python as module.<name>):
//   nucseg_version (str), classes (int; 3 = background, interior, border), distance_head (int,
//   0 or 1), flow_head (int, 0 or 1), input_multiple
//   (int, 32), channels (str: rgb, gray, [i] or [i, j, k] as data.channels), normalize (str:
//   percentile, range or fixed as data.normalize), normalize_low / normalize_high (float,
//   percentiles), normalize_min / normalize_max (float, raw values), nucleus_diameter (float,
//   px; 0 = unknown), checkpoint_step (int), model_hash (str, the checkpoint's).
// Parameters are named after the Keras layers (Conv1_weight, block_3_expand_bias, up1_weight,
// last_bias, ...); module.code shows the forward as TorchScript source.
#pragma once

#include <filesystem>
#include <string>

namespace nucseg::exporter {

// What an export recorded besides the weights (the module's attributes).
struct ExportInfo {
  int classes = 3;
  bool distance_head = false;  // one more output channel after the classes (model.distance_head)
  bool flow_head = false;      // two more after those (model.flow_head)
  std::string channels = "rgb";
  std::string normalize = "range";
  double normalize_low = 1.0, normalize_high = 99.8;
  double normalize_min = 0.0, normalize_max = 255.0;
  double nucleus_diameter = 0.0;
  long checkpoint_step = 0;
  std::string model_hash;
};

// Loads `checkpoint` (a file) and writes the TorchScript module to `output` atomically.
// Throws Error(data) naming the checkpoint when it cannot be read.
ExportInfo export_torchscript(const std::filesystem::path& checkpoint, const std::filesystem::path& output);

}  // namespace nucseg::exporter
