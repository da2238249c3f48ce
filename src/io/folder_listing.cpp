#include "nucseg/io/folder_listing.hpp"

namespace nucseg::io {
namespace stdfs = std::filesystem;

std::vector<stdfs::directory_entry> list_folder(const stdfs::path& dir, std::error_code& ec) {
  std::vector<stdfs::directory_entry> out;
  stdfs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) out.push_back(*it);
  if (ec) out.clear();  // half a listing would read as a complete one
  return out;
}

std::string folder_problem(const stdfs::path& dir, const std::string& noun) {
  std::error_code ec;
  const auto status = stdfs::status(dir, ec);
  if (stdfs::is_directory(status)) return {};
  // status() reports ENOENT as not_found with an error code too: only that is "missing".
  if (status.type() == stdfs::file_type::not_found) return noun + " does not exist";
  if (ec) return noun + " cannot be read (" + ec.message() + ")";
  return noun == "folder" ? "not a folder" : noun + " is not a folder";
}

}  // namespace nucseg::io
