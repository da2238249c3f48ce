// Validation over whole val images, split over ranks and reduced (see validation.hpp).
#include "nucseg/train/validation.hpp"

#include <cmath>
#include <limits>

#include <opencv2/imgproc.hpp>

#include "nucseg/data/batch.hpp"
#include "nucseg/dist/collectives.hpp"
#include "nucseg/model/model_info.hpp"
#include "nucseg/segment/kaggle_score.hpp"

namespace nucseg::train {
namespace {

struct Prediction {
  torch::Tensor logits;  // 1 x outputs x H x W (the classes, then a distance head's channel)
  cv::Mat classes;       // CV_8UC1 argmax over the classes
};

Prediction predict(model::UNet& model, const cv::Mat& image, torch::Device device) {
  Prediction p;
  p.logits = predict_logits(model, image, device);
  auto argmax = class_logits(p.logits, model->options().classes).argmax(1)[0].to(torch::kUInt8).contiguous();
  p.classes = cv::Mat(image.rows, image.cols, CV_8UC1, argmax.data_ptr<uint8_t>()).clone();
  return p;
}

}  // namespace

torch::Tensor predict_logits(model::UNet& model, const cv::Mat& image, torch::Device device) {
  const int m = model::input_multiple;
  const int h = image.rows, w = image.cols;
  const int ph = (h + m - 1) / m * m, pw = (w + m - 1) / m * m;
  cv::Mat padded = image;
  // REFLECT_101 folds repeatedly, so even images far smaller than 32 pixels pad correctly.
  if (ph != h || pw != w) cv::copyMakeBorder(image, padded, 0, ph - h, 0, pw - w, cv::BORDER_REFLECT_101);
  auto x = data::image_to_tensor(padded).unsqueeze(0).to(device);
  torch::NoGradGuard no_grad;
  auto logits = model->forward(x);
  return logits.index({torch::indexing::Slice(), torch::indexing::Slice(), torch::indexing::Slice(0, h),
                       torch::indexing::Slice(0, w)})
      .to(torch::kCPU)
      .contiguous();
}

ValidationResult validate(model::UNet& model, const io::ShardDataset& data, const std::vector<size_t>& val,
                          const ValidationOptions& options, const dist::World& world) {
  model->eval();
  const int classes = static_cast<int>(model->options().classes);
  const bool scored = classes == 3;  // instances need background / interior / border
  ValidationResult result;
  result.confusion = ConfusionMatrix(classes);
  double loss_sum = 0, pixels = 0, score_sum = 0, images = 0;
  std::vector<PreviewRow> previews(world.is_root() ? std::min<size_t>(options.preview_count, val.size()) : 0);

  for (size_t pos = static_cast<size_t>(world.rank()); pos < val.size(); pos += static_cast<size_t>(world.size())) {
    auto record = data.read(val[pos]);
    const cv::Mat image = io::normalize_image(record.image, options.normalize);
    auto pred = predict(model, image, options.device);
    cv::Mat truth_classes = record.classes;
    auto target = torch::from_blob(truth_classes.data, {1, truth_classes.rows, truth_classes.cols}, torch::kUInt8)
                      .to(torch::kInt64);
    const double n = static_cast<double>(truth_classes.total());
    // The class part of the loss only (the distance and flow heads' terms need the instance
    // targets that training derives per crop): with a head, val loss and train loss are not the same sum.
    loss_sum += segmentation_loss(class_logits(pred.logits, classes), target, options.loss).item<double>() * n;
    pixels += n;
    auto flat_pred = torch::from_blob(pred.classes.data, {static_cast<int64_t>(n)}, torch::kUInt8).to(torch::kInt64);
    result.confusion.add(target.data_ptr<int64_t>(), flat_pred.data_ptr<int64_t>(), static_cast<size_t>(n));
    if (scored) {
      auto probs = torch::softmax(class_logits(pred.logits, classes), 1)[0].contiguous();
      std::vector<cv::Mat> planes;
      for (int k = 0; k < 3; ++k)
        planes.push_back(cv::Mat(record.image.rows, record.image.cols, CV_32FC1, probs[k].data_ptr<float>()).clone());
      // The distance and flow heads' outputs, as 0..1 maps, only for a seeding that reads them
      // (predicted, flows); distance and interior seeding read the classes alone.
      const bool reads_extras =
          options.segment.seeds == segment::SeedMode::predicted || options.segment.seeds == segment::SeedMode::flows;
      for (int64_t k = classes; reads_extras && k < pred.logits.size(1); ++k) {
        auto d = torch::sigmoid(pred.logits[0][k]).contiguous();
        planes.push_back(cv::Mat(record.image.rows, record.image.cols, CV_32FC1, d.data_ptr<float>()).clone());
      }
      auto labels = segment::instances_from_probabilities(planes, options.segment);
      score_sum += segment::score_image(record.labels, labels).score;
    }
    images += 1;
    if (pos < previews.size()) previews[pos] = PreviewRow{image, record.classes, pred.classes};
  }
  // Rank 0 draws the first images of the split; those another rank scored it predicts again.
  for (size_t pos = 0; pos < previews.size(); ++pos) {
    if (!previews[pos].image.empty()) continue;
    auto record = data.read(val[pos]);
    const cv::Mat image = io::normalize_image(record.image, options.normalize);
    previews[pos] = PreviewRow{image, record.classes, predict(model, image, options.device).classes};
  }

  std::vector<double> sums = {loss_sum, pixels, score_sum, images};
  sums.insert(sums.end(), result.confusion.counts().begin(), result.confusion.counts().end());
  dist::sum_in_place(world, sums);
  result.loss = sums[1] > 0 ? sums[0] / sums[1] : std::numeric_limits<double>::quiet_NaN();
  result.object_score = scored && sums[3] > 0 ? sums[2] / sums[3] : std::numeric_limits<double>::quiet_NaN();
  result.images = static_cast<long>(sums[3]);
  result.confusion = ConfusionMatrix(classes);
  result.confusion.add_counts(std::vector<double>(sums.begin() + 4, sums.end()));
  result.previews = std::move(previews);
  model->train();
  return result;
}

}  // namespace nucseg::train
