// Run-length CSV ground truth (truth_rle.hpp).
#include "truth_rle.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/io/image.hpp"
#include "nucseg/segment/kaggle_rle.hpp"

namespace nucseg::eval {
namespace {

int column_of(const std::vector<std::string>& header, const std::string& name) {
  auto it = std::find(header.begin(), header.end(), name);
  return it == header.end() ? -1 : static_cast<int>(it - header.begin());
}

int parse_side(const std::string& text, const std::string& where) {
  size_t used = 0;
  long v = 0;
  try {
    v = std::stol(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || v < 1 || v > 1000000) throw_data(where, "image side '" + text + "' is not a positive integer");
  return static_cast<int>(v);
}

}  // namespace

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      fields.back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      fields.emplace_back();
    } else if (c != '\r' || quoted) {
      fields.back() += c;
    }
  }
  return fields;
}

std::vector<RleTruthImage> read_rle_truth(const std::filesystem::path& csv, std::vector<std::string>& ignored) {
  std::ifstream in(csv);
  if (!in) throw_data(csv.string(), "cannot open the run-length truth file");
  std::string line;
  std::getline(in, line);
  line = fs::without_utf8_bom(line);
  const auto header = split_csv_line(line);
  const int id_col = column_of(header, "ImageId"), rle_col = column_of(header, "EncodedPixels");
  const int h_col = column_of(header, "Height"), w_col = column_of(header, "Width"), usage_col = column_of(header, "Usage");
  if (id_col < 0 || rle_col < 0 || (h_col < 0) != (w_col < 0))
    throw_data(csv.string(), "expected the header ImageId,EncodedPixels[,Height,Width[,Usage]], got '" + line + "'");
  const int needed = std::max({id_col, rle_col, h_col, w_col, usage_col}) + 1;

  std::vector<RleTruthImage> images;
  std::map<std::string, size_t> index;
  std::map<std::string, bool> skipped;
  for (long number = 2; std::getline(in, line); ++number) {
    if (line.empty() || line == "\r") continue;
    const auto fields = split_csv_line(line);
    const std::string where = csv.string() + ":" + std::to_string(number);
    if (static_cast<int>(fields.size()) < needed) throw_data(where, "expected " + std::to_string(needed) + " fields");
    const std::string& id = fields[static_cast<size_t>(id_col)];
    if (usage_col >= 0 && fields[static_cast<size_t>(usage_col)] == "Ignored") {
      if (!skipped[id]) ignored.push_back(id);
      skipped[id] = true;
      continue;
    }
    auto [it, added] = index.emplace(id, images.size());
    if (added) images.push_back({id, 0, 0, {}});
    RleTruthImage& image = images[it->second];
    if (h_col >= 0) {
      const int h = parse_side(fields[static_cast<size_t>(h_col)], where), w = parse_side(fields[static_cast<size_t>(w_col)], where);
      if (!added && (h != image.height || w != image.width)) throw_data(where, "image " + id + " has rows with different sizes");
      if (added) io::check_declared_size(w, h, 1, where + " (image " + id + ")");  // 57 bytes of CSV can claim 10^12 pixels
      image.height = h;
      image.width = w;
    }
    const std::string& rle = fields[static_cast<size_t>(rle_col)];
    if (rle.find_first_not_of(' ') != std::string::npos) image.masks.push_back(rle);
  }
  return images;
}

cv::Mat decode_truth(const RleTruthImage& image, cv::Size size, const std::string& file) {
  cv::Mat labels = cv::Mat::zeros(size, CV_32SC1);
  int32_t label = 0;
  for (const auto& rle : image.masks) segment::decode_rle(rle, ++label, labels, file + " (image " + image.id + ")");
  return labels;
}

cv::Size one_row_size(const RleTruthImage& image) {
  int64_t last = 1;
  for (const auto& rle : image.masks) {
    // Malformed text stops the scan here; decode_rle reports it.
    std::istringstream in(rle);
    int64_t start = 0, length = 0;
    while (in >> start >> length) {
      if (start < 1 || length < 1 || start > (int64_t{1} << 40) || length > (int64_t{1} << 40)) break;  // decode_rle says why
      last = std::max(last, start + length - 1);
    }
  }
  if (last > io::kMaxImagePixels) throw_data(image.id, "run-length pixel index " + std::to_string(last) + " is beyond the largest image nucseg reads");
  return {static_cast<int>(last), 1};
}

}  // namespace nucseg::eval
