#include "nucseg/io/folder_listing.hpp"

#include "nucseg/core/fields.hpp"
#include "nucseg/core/fs.hpp"

namespace nucseg::io {
namespace stdfs = std::filesystem;

SkippedName skipped_name(const stdfs::path& p) {
  const auto name = p.filename().string();
  if (name.empty() || name[0] == '.' || name == "__MACOSX") return SkippedName::hidden;
  if (fs::is_temporary_name(p)) return SkippedName::temporary;
  return SkippedName::none;
}

std::vector<stdfs::directory_entry> list_folder(const stdfs::path& dir, std::error_code& ec) {
  std::vector<stdfs::directory_entry> out;
  stdfs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) out.push_back(*it);
  if (ec) out.clear();  // half a listing would read as a complete one
  return out;
}

std::string cannot_read(const std::string& noun, const std::error_code& ec) {
  return noun + " cannot be read (" + ec.message() + ")";
}

std::string folder_problem(const stdfs::path& dir, const std::string& noun) {
  std::error_code ec;
  const auto status = stdfs::status(dir, ec);
  if (stdfs::is_directory(status)) return {};
  // status() reports ENOENT as not_found with an error code too: only that is "missing".
  if (status.type() == stdfs::file_type::not_found) return noun + " does not exist";
  if (ec) return cannot_read(noun, ec);
  return noun == "folder" ? "not a folder" : noun + " is not a folder";
}

void NotRegularFiles::add(const std::string& name) {
  ++count;
  if (names.size() < kNamed) names.push_back(name);
}

std::string NotRegularFiles::text() const {
  if (count == 0) return {};
  return std::to_string(count) +
         (count == 1 ? " entry that is not a regular file: " : " entries that are not regular files: ") + names_text();
}

std::string NotRegularFiles::names_text() const {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  if (count > names.size()) out += ", ... (" + std::to_string(count - names.size()) + " more)";
  return out;
}

void NotRegularFiles::put(std::string& out) const {
  put_field(out, std::to_string(count));
  put_field(out, std::to_string(names.size()));
  for (const auto& name : names) put_field(out, name);
}

NotRegularFiles NotRegularFiles::take(const std::string& in, size_t& pos, const char* what) {
  NotRegularFiles out;
  out.count = take_count(in, pos, what);
  const auto named = take_count(in, pos, what);
  for (size_t i = 0; i < named; ++i) out.names.push_back(take_field(in, pos, what));
  return out;
}

}  // namespace nucseg::io
