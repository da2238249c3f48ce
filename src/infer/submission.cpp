// submission.csv from segmentation.h5 (submission.hpp).
#include "nucseg/infer/submission.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/io/hdf5.hpp"
#include "nucseg/io/segmentation_h5.hpp"
#include "nucseg/segment/kaggle_rle.hpp"
#include "tables_csv.hpp"

namespace nucseg::infer {

namespace stdfs = std::filesystem;

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
        const auto objects = segment::encode_rle(io::read_segmentation_labels(file, id));
        const std::string field = detail::csv_field(id);
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
