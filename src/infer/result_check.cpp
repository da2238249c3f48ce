// Reading a per-image result back: the check before a result is renamed into place, and the
// resume's test of whether an image is done.
#include <algorithm>

#include "nucseg/core/error.hpp"
#include "nucseg/infer/output.hpp"
#include "nucseg/io/hdf5.hpp"

namespace nucseg::infer {
namespace {

namespace stdfs = std::filesystem;

std::vector<hsize_t> plane(int64_t h, int64_t w) { return {static_cast<hsize_t>(h), static_cast<hsize_t>(w)}; }

// Reads a whole dataset as its stored type: a damaged chunk or filter fails here.
void read_whole(const h5::Group& g, const std::string& name) {
  auto dims = g.shape(name);
  size_t n = 1;
  for (auto d : dims) n *= d;
  auto type = g.stored_type(name);
  std::vector<unsigned char> buffer(n * h5::type_size(type));
  if (n > 0) g.read(name, type, buffer.data());
}

// "tile = 256 (now 512)": the first recorded setting line that differs from this run's.
std::string first_difference(const std::string& recorded, const std::string& now) {
  auto lines = [](const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      out.push_back(text.substr(start, end - start));
      start = end == std::string::npos ? text.size() : end + 1;
    }
    return out;
  };
  auto a = lines(recorded), b = lines(now);
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    std::string x = i < a.size() ? a[i] : "(nothing)", y = i < b.size() ? b[i] : "(nothing)";
    if (x != y) return x + " (now " + y + ")";
  }
  return "?";
}

}  // namespace

ResultStamp verify_result_file(const stdfs::path& file, const std::string& id, bool read_data) {
  h5::File f(file.string(), h5::File::Mode::read);
  const std::string where = file.string();
  if (f.attr_string("image_id") != id) throw_data(where, "result of another image ('" + f.attr_string("image_id") + "')");
  const int64_t h = f.attr_int("height"), w = f.attr_int("width"), n = f.attr_int("n_objects");
  if (f.shape("labels") != plane(h, w) || f.shape("class_map") != plane(h, w))
    throw_data(where, "labels or class_map differ from the recorded size");
  if (f.exists("probabilities") && (f.shape("probabilities").size() != 3 || f.shape("probabilities")[1] != static_cast<hsize_t>(h) ||
                                    f.shape("probabilities")[2] != static_cast<hsize_t>(w)))
    throw_data(where, "probabilities differ from the recorded size");
  auto objects = f.open_group("objects");
  for (const auto& name : objects.children())
    if (objects.shape(name) != std::vector<hsize_t>{static_cast<hsize_t>(n)})
      throw_data(where, "object column " + name + " does not have n_objects rows");
  if (read_data) {
    for (const char* name : {"labels", "class_map", "probabilities"})
      if (f.exists(name)) read_whole(f, name);
    for (const auto& name : objects.children()) {
      if (name == "image_id") objects.read_strings(name);
      else read_whole(objects, name);
    }
  }
  ResultStamp stamp;
  // Files of nucseg 0.1 carry no stamp: they read as made by an unknown model (stale).
  if (f.has_attr("checkpoint_hash")) stamp.checkpoint_hash = f.attr_string("checkpoint_hash");
  if (f.has_attr("settings")) stamp.settings = f.attr_string("settings");
  return stamp;
}

ResultCheck ResultStore::check(const std::string& id, bool read_data) const {
  const auto path = result_path(id);
  std::error_code ec;
  if (!stdfs::exists(path, ec)) return {ResultState::missing, {}};
  ResultStamp found;
  try {
    found = verify_result_file(path, id, read_data);
  } catch (const Error& e) {
    return {ResultState::unreadable, path.string() + " is unreadable: " + e.message()};
  }
  if (found.checkpoint_hash != stamp_.checkpoint_hash)
    return {ResultState::stale, path.string() + " was made with another model (checkpoint hash '" + found.checkpoint_hash +
                                    "', this run's is '" + stamp_.checkpoint_hash + "')"};
  if (found.settings != stamp_.settings)
    return {ResultState::stale, path.string() + " was made with other settings: " +
                                    (found.settings.empty() ? std::string("none recorded") : first_difference(found.settings, stamp_.settings))};
  return {ResultState::done, {}};
}

}  // namespace nucseg::infer
