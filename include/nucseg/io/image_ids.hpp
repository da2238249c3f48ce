// The id each input image's results are stored under, from its path relative to the input
// root. nucseg_infer names its results with these ids and nucseg_eval finds a truth image's
// prediction with them, so both must use this one function.
#pragma once

#include <string>
#include <vector>

namespace nucseg::io {

// "<id>/images/<id>.png" -> "<id>" (Kaggle layout); otherwise the relative path without its
// extension ("a/b.tif" -> "a/b"). Not yet safe as a file name.
std::string image_id_base(const std::string& relative);

// One id per relative path, in the same order: image_id_base made a single safe file-name
// component (fs::safe_component; at most 160 characters, longer ones are cut and get a hash
// suffix); names that collide after sanitising (case-insensitively, as on case-insensitive file
// systems) all get "-<hash of the relative path>", so an id does not depend on listing order.
std::vector<std::string> image_ids(const std::vector<std::string>& relatives);

}  // namespace nucseg::io
