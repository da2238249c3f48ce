// Validation of the model on the val split: loss, confusion matrix (pixel accuracy, per-class
// IoU) and the Kaggle object score of the instances built from the predicted probabilities.
// Whole images are used (no crops): each is reflect-padded at the bottom/right to a multiple
// of 32, predicted, and the prediction cropped back, so every val pixel counts exactly once.
// The images are split over the ranks (position p goes to rank p mod size) and the sums are
// reduced, so the numbers equal those of a single-rank evaluation.
#pragma once

#include <vector>

#include <torch/torch.h>

#include "nucseg/dist/world.hpp"
#include "nucseg/io/normalize.hpp"
#include "nucseg/io/shard.hpp"
#include "nucseg/model/unet.hpp"
#include "nucseg/segment/instances.hpp"
#include "nucseg/train/losses.hpp"
#include "nucseg/train/metrics.hpp"
#include "nucseg/train/preview.hpp"

namespace nucseg::train {

struct ValidationResult {
  double loss = 0;           // pixel-weighted mean of the per-image losses
  ConfusionMatrix confusion{3};
  double object_score = 0;   // mean over images of the Kaggle score (NaN unless 3 classes)
  long images = 0;
  std::vector<PreviewRow> previews;  // rank 0 only: the first `preview_count` val images
};

struct ValidationOptions {
  LossOptions loss;
  segment::SegmentParams segment;
  int preview_count = 0;
  torch::Device device = torch::kCPU;
  io::NormalizeSpec normalize;  // data.normalize*: each whole val image, as inference does
};

// Logits (1 x C x H x W, on the CPU) of one normalised CV_32FC3 image, padded to the network's
// multiple and back.
torch::Tensor predict_logits(model::UNet& model, const cv::Mat& image, torch::Device device);

// Collective: every rank must call it. Leaves the model in training mode.
ValidationResult validate(model::UNet& model, const io::ShardDataset& data, const std::vector<size_t>& val,
                          const ValidationOptions& options, const dist::World& world);

}  // namespace nucseg::train
