// submission.csv from segmentation.h5 (submission.hpp).
#include "nucseg/infer/submission.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/io/hdf5.hpp"
#include "nucseg/segment/kaggle_rle.hpp"

namespace nucseg::infer {
namespace {

namespace stdfs = std::filesystem;

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

cv::Mat read_labels(const h5::File& file, const std::string& id) {
  auto group = file.open_group("images").open_group(id);  // an external link to images/<id>.h5
  auto dims = group.shape("labels");
  if (dims.size() != 2) throw_data(file.file_name(), "images/" + id + "/labels is not a 2-D dataset");
  cv::Mat labels(static_cast<int>(dims[0]), static_cast<int>(dims[1]), CV_32SC1);
  group.read("labels", h5::Type::i32, labels.ptr());
  return labels;
}

}  // namespace

SubmissionSummary write_submission(const stdfs::path& output_dir) {
  const auto segmentation = output_dir / "segmentation.h5";
  h5::File file(segmentation.string(), h5::File::Mode::read);
  const auto ids = file.open_group("index").read_strings("image_id");
  const auto final_path = output_dir / "submission.csv";
  const auto tmp = fs::temporary_sibling(final_path);
  SubmissionSummary summary;
  try {
    {
      std::ofstream out(tmp, std::ios::binary);
      out << "ImageId,EncodedPixels\n";
      for (const auto& id : ids) {
        const auto objects = segment::encode_rle(read_labels(file, id));
        const std::string field = csv_field(id);
        for (const auto& object : objects) out << field << ',' << object.second << '\n';
        if (objects.empty()) out << field << ",\n";
        summary.rows += objects.empty() ? 1 : static_cast<long>(objects.size());
        ++summary.images;
      }
      out.flush();
      if (!out) throw_runtime(std::string("cannot write: ") + std::strerror(errno), tmp.string());
    }
    fs::commit_rename(tmp, final_path);
  } catch (...) {
    std::error_code ec;
    stdfs::remove(tmp, ec);
    throw;
  }
  return summary;
}

}  // namespace nucseg::infer
