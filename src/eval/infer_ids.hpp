// Private to src/eval: the ids nucseg_infer gives the images of a truth folder when it segments
// that folder. An id depends on the other files infer lists beside it: names that collide
// (a.png beside a.tif, abc/ beside ABC/, a stray a.png at the root of a Kaggle folder) all get
// a hash suffix (io::image_ids). The ids of the dataset listing's items alone would miss every
// file the listing leaves out, so this takes the relative paths of infer's own folder listing
// (io::list_input_paths) and passes them, sorted, to the same io::image_ids.
#pragma once

#include <filesystem>
#include <map>
#include <string>

namespace nucseg::eval {

class InferIds final {
 public:
  // `exclude`: infer's output folder, which infer leaves out when it lies inside the input.
  // Throws Error(data) where infer refuses the folder (io::list_input_paths).
  InferIds(const std::filesystem::path& root, const std::filesystem::path& exclude);

  // The id infer gives the file (or unlistable folder) at `path` below the root; "" when infer
  // would not list it.
  std::string of(const std::filesystem::path& path) const;
  // The id of Kaggle item <root>/<name>: its image <name>/images/<name>.<ext> (the first in
  // name order), else the item folder itself (infer lists one without images/ as a failure);
  // "" when infer lists neither.
  std::string of_kaggle_item(const std::string& name) const;

 private:
  std::string relative(const std::filesystem::path& path) const;

  std::filesystem::path root_, images_base_;   // images_base_: a flat layout's images/ (else empty)
  std::map<std::string, std::string> ids_;  // infer's relative path -> id
};

}  // namespace nucseg::eval
