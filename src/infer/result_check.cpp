// Reading a per-image result back: the check before a result is renamed into place, and the
// resume's test of whether an image is done.

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
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

// "2026-11-29 10:04:05.123456789 UTC": modification times as a reader of the log compares them.
std::string utc_nanoseconds(int64_t ns) {
  const std::time_t seconds = static_cast<std::time_t>(ns / 1000000000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char date[32], out[64];
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
  std::snprintf(out, sizeof out, "%s.%09lld UTC", date, static_cast<long long>(ns % 1000000000));
  return out;
}

// Why `recorded` is not the source `now` (equal identities: ""). A size or time is compared
// only for the same file: another path says enough.
std::string source_difference(const SourceIdentity& recorded, const SourceIdentity& now) {
  if (recorded.path != now.path) return "was made from another file (" + recorded.path + ", now " + now.path + ")";
  std::string changed;
  if (recorded.bytes != now.bytes)
    changed += "size " + std::to_string(recorded.bytes) + " bytes, now " + std::to_string(now.bytes);
  if (recorded.mtime_ns != now.mtime_ns)
    changed += (changed.empty() ? "" : "; ") + std::string("modified ") + utc_nanoseconds(recorded.mtime_ns) + ", now " +
               utc_nanoseconds(now.mtime_ns);
  return changed.empty() ? "" : "was made before its source " + now.path + " changed (" + changed + ")";
}

}  // namespace

SourceIdentity source_identity(const std::string& path) {
  fs::FileStat st;
  std::string reason;
  if (!fs::stat_file(path, &st, &reason)) throw_data(path, "cannot stat the source: " + reason);
  std::error_code ec;
  const auto canonical = stdfs::canonical(path, ec);
  if (ec) throw_data(path, "cannot resolve the source's path: " + ec.message());
  SourceIdentity id;
  id.path = canonical.string();
  id.bytes = st.bytes;
  id.mtime_ns = st.mtime_ns;
  return id;
}

ResultOrigin verify_result_file(const stdfs::path& file, const std::string& id, bool read_data) {
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
  ResultOrigin origin;
  // Files of nucseg 0.1 carry no stamp: they read as made by an unknown model (stale).
  if (f.has_attr("checkpoint_hash")) origin.stamp.checkpoint_hash = f.attr_string("checkpoint_hash");
  if (f.has_attr("settings")) origin.stamp.settings = f.attr_string("settings");
  // Files written before the source was recorded read as of an unknown source: stale, so a
  // resume redoes each of them once rather than trust a result that may be of another file.
  if (f.has_attr("source_canonical_path") && f.has_attr("source_bytes") && f.has_attr("source_mtime_ns")) {
    origin.source.path = f.attr_string("source_canonical_path");
    origin.source.bytes = f.attr_int("source_bytes");
    origin.source.mtime_ns = f.attr_int("source_mtime_ns");
  }
  return origin;
}

ResultCheck ResultStore::check(const InputItem& item, bool read_data) const {
  const auto path = result_path(item.id);
  std::error_code ec;
  if (!stdfs::exists(path, ec)) return {ResultState::missing, {}};
  // Attributes and shapes first: a result of another source, model or settings is redone
  // without reading its arrays; only one that could count as done is read whole (read_data).
  ResultOrigin origin;
  try {
    origin = verify_result_file(path, item.id, false);
  } catch (const Error& e) {
    return {ResultState::unreadable, path.string() + " is unreadable: " + e.message()};
  }
  // Same id is not same image: another input folder (another plate with the same file names)
  // or an image replaced in place must not inherit this result.
  if (origin.source.bytes < 0)
    return {ResultState::stale, path.string() + " records no source file (results of older versions do not): redone once"};
  SourceIdentity now;
  try {
    now = source_identity(item.path);
  } catch (const Error& e) {
    return {ResultState::stale, path.string() + " has no source to compare with (" + item.path + ": " + e.message() + ")"};
  }
  if (auto why = source_difference(origin.source, now); !why.empty()) return {ResultState::stale, path.string() + " " + why};
  const ResultStamp& found = origin.stamp;
  if (found.checkpoint_hash != stamp_.checkpoint_hash)
    return {ResultState::stale, path.string() + " was made with another model (checkpoint hash '" + found.checkpoint_hash +
                                    "', this run's is '" + stamp_.checkpoint_hash + "')"};
  if (found.settings != stamp_.settings)
    return {ResultState::stale, path.string() + " was made with other settings: " +
                                    (found.settings.empty() ? std::string("none recorded") : first_difference(found.settings, stamp_.settings))};
  if (read_data) {
    try {
      verify_result_file(path, item.id, true);
    } catch (const Error& e) {
      return {ResultState::unreadable, path.string() + " is unreadable: " + e.message()};
    }
  }
  return {ResultState::done, {}};
}

}  // namespace nucseg::infer
