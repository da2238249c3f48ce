#include "nucseg/io/image_ids.hpp"

#include <cctype>
#include <filesystem>
#include <map>

#include "nucseg/core/fs.hpp"

namespace nucseg::io {
namespace {

constexpr size_t kMaxIdLength = 160;  // well under NAME_MAX (255) once ".h5" or a suffix is added

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The legacy basis keeps every id as nucseg 0.1 gave it (core/fs.hpp).
std::string hash8(const std::string& text) { return fs::fnv1a_hex(text.data(), text.size(), fs::kLegacyFnvBasis).substr(0, 8); }

}  // namespace

std::string image_id_base(const std::string& relative) {
  std::filesystem::path rel(relative);
  std::vector<std::string> parts;
  for (const auto& c : rel) parts.push_back(c.string());
  auto stem = rel.stem().string();
  if (parts.size() >= 3 && parts[parts.size() - 2] == "images" && parts[parts.size() - 3] == stem) {
    parts.resize(parts.size() - 2);
  } else if (!parts.empty()) {
    parts.back() = stem;
  }
  std::string joined;
  for (const auto& p : parts) joined += (joined.empty() ? "" : "/") + p;
  return joined;
}

std::vector<std::string> image_ids(const std::vector<std::string>& relatives) {
  std::vector<std::string> base(relatives.size());
  std::map<std::string, int> uses;  // lower-cased: case-insensitive file systems would collide too
  for (size_t i = 0; i < relatives.size(); ++i) {
    base[i] = fs::safe_component(image_id_base(relatives[i]));
    if (base[i].size() > kMaxIdLength) base[i] = base[i].substr(0, kMaxIdLength) + "-" + hash8(relatives[i]);
    ++uses[lower(base[i])];
  }
  std::vector<std::string> ids(relatives.size());
  std::map<std::string, int> taken;
  for (size_t i = 0; i < relatives.size(); ++i) {
    std::string id = base[i];
    if (uses[lower(id)] > 1) id += "-" + hash8(relatives[i]);
    // A hash collision on top of a name collision: number them in (sorted) listing order.
    std::string unique = id;
    for (int n = 2; taken.count(lower(unique)); ++n) unique = id + "-" + std::to_string(n);
    taken[lower(unique)] = 1;
    ids[i] = unique;
  }
  return ids;
}

}  // namespace nucseg::io
