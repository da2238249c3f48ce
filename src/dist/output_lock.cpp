#include "nucseg/dist/output_lock.hpp"

#include "nucseg/core/error.hpp"

namespace nucseg::dist {

FolderLock lock_output_folder(const World& world, const std::filesystem::path& folder, const std::string& tool,
                              const std::string& key) {
  FolderLock lock;
  std::string outcome = "ok";
  if (world.is_root()) {
    try {
      lock = FolderLock(folder, tool, key);
    } catch (const Error& e) {
      outcome = (e.kind() == ErrorKind::config ? "c" : "r") + e.message();
    }
  }
  world.broadcast(outcome);
  if (outcome == "ok") return lock;
  if (outcome[0] == 'c') throw_config(key, outcome.substr(1));
  throw_runtime(outcome.substr(1), folder.string());
}

}  // namespace nucseg::dist
