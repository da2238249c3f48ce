// Rendering of scores: the JSON report nucseg_eval writes and the table it prints.
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>

#include "nucseg/eval/evaluate.hpp"

namespace nucseg::eval {
namespace {

std::string num(double v) {
  if (!std::isfinite(v)) return "null";  // JSON has no NaN/inf
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.12g", v);
  return buf;
}

template <typename T>
std::string array(const std::array<T, segment::kThresholds>& a) {
  std::string out = "[";
  for (size_t k = 0; k < a.size(); ++k) out += (k ? ", " : "") + num(static_cast<double>(a[k]));
  return out + "]";
}

std::string causes(const segment::MissCauses& c) {
  return "{\"merged\": " + std::to_string(c.merged) + ", \"split\": " + std::to_string(c.split) +
         ", \"missed\": " + std::to_string(c.missed) + ", \"outline\": " + std::to_string(c.outline) + "}";
}

std::string image_json(const std::string& id, const ImageScore& s) {
  std::ostringstream o;
  o << "{\"id\": " << json_string(id) << ", \"score\": " << num(s.score) << ", \"n_true\": " << s.n_true
    << ", \"n_pred\": " << s.n_pred << ", \"ap50\": " << num(s.ap50) << ", \"precision50\": " << num(s.precision50)
    << ", \"recall50\": " << num(s.recall50) << ", \"f1_50\": " << num(s.f1_50)
    << ", \"pixel_accuracy\": " << num(s.pixel_accuracy) << ", \"fg_iou\": " << num(s.fg_iou)
    << ", \"fg_dice\": " << num(s.fg_dice) << ", \"tp\": " << array(s.tp) << ", \"fp\": " << array(s.fp)
    << ", \"fn\": " << array(s.fn) << ", \"fn50_causes\": " << causes(s.fn50_causes) << "}";
  return o.str();
}

}  // namespace

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;  // UTF-8 bytes pass through unchanged
        }
    }
  }
  return out + "\"";
}

std::string to_json(const DatasetScore& d, const std::vector<std::pair<std::string, ImageScore>>& per_image) {
  std::ostringstream o;
  std::array<double, segment::kThresholds> thr{};
  for (int k = 0; k < segment::kThresholds; ++k) thr[static_cast<size_t>(k)] = segment::threshold(k);
  o << "{\n  \"metric\": \"kaggle-dsb2018\",\n  \"thresholds\": " << array(thr) << ",\n  \"dataset\": {"
    << "\"n_images\": " << d.n_images << ", \"score\": " << num(d.score) << ", \"score_at\": " << array(d.score_at)
    << ", \"ap50\": " << num(d.ap50) << ", \"precision50\": " << num(d.precision50) << ", \"recall50\": " << num(d.recall50)
    << ", \"f1_50\": " << num(d.f1_50) << ", \"tp50\": " << d.tp50 << ", \"fp50\": " << d.fp50 << ", \"fn50\": " << d.fn50
    << ", \"n_true\": " << d.n_true << ", \"n_pred\": " << d.n_pred << ", \"pixel_accuracy\": " << num(d.pixel_accuracy)
    << ", \"fg_iou\": " << num(d.fg_iou) << ", \"fg_dice\": " << num(d.fg_dice)
    << ", \"fn50_causes\": " << causes(d.fn50_causes)
    << "},\n  \"images\": [";
  for (size_t i = 0; i < per_image.size(); ++i)
    o << (i ? ",\n    " : "\n    ") << image_json(per_image[i].first, per_image[i].second);
  o << (per_image.empty() ? "]\n}\n" : "\n  ]\n}\n");
  return o.str();
}

std::string format_table(const EvalResult& r) {
  std::ostringstream o;
  char line[256];
  std::snprintf(line, sizeof line, "%-32s %6s %6s %7s %7s %7s %7s %7s %7s\n", "image", "true", "pred", "score",
                "AP50", "prec50", "rec50", "F1_50", "fgIoU");
  o << line;
  for (const auto& [id, s] : r.images) {
    const std::string shown = id.size() > 32 ? id.substr(0, 29) + "..." : id;
    std::snprintf(line, sizeof line, "%-32s %6d %6d %7.4f %7.4f %7.4f %7.4f %7.4f %7.4f\n", shown.c_str(), s.n_true,
                  s.n_pred, s.score, s.ap50, s.precision50, s.recall50, s.f1_50, s.fg_iou);
    o << line;
  }
  const auto& d = r.dataset;
  std::snprintf(line, sizeof line, "%-32s %6ld %6ld %7.4f %7.4f %7.4f %7.4f %7.4f %7.4f\n", "ALL (mean / pooled@0.5)",
                d.n_true, d.n_pred, d.score, d.ap50, d.precision50, d.recall50, d.f1_50, d.fg_iou);
  o << line;
  std::snprintf(line, sizeof line, "Kaggle DSB 2018 score %.4f over %d images; pixel accuracy %.4f, fg IoU %.4f, Dice %.4f\n",
                d.score, d.n_images, d.pixel_accuracy, d.fg_iou, d.fg_dice);
  o << line;
  std::snprintf(line, sizeof line,
                "true objects not matched at IoU 0.5: %ld = %ld merged with a neighbour + %ld split + %ld missed + %ld "
                "outline off\n", d.fn50, d.fn50_causes.merged, d.fn50_causes.split, d.fn50_causes.missed,
                d.fn50_causes.outline);
  o << line;
  return o.str();
}

}  // namespace nucseg::eval
