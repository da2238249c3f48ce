#include "root_decides.hpp"

#include <exception>

#include "nucseg/core/error.hpp"

namespace nucseg::train {

std::string root_decides(const dist::World& world, const std::function<std::string()>& work) {
  std::string result;
  std::string failed;  // "" or the kind's digit; then message, file and key
  std::string message, file, key;
  std::exception_ptr thrown;
  if (world.is_root()) {
    try {
      result = work();
    } catch (const Error& e) {
      thrown = std::current_exception();
      failed = std::to_string(static_cast<int>(e.kind()));
      message = e.message();
      file = e.context().file;
      key = e.context().key;
    } catch (const std::exception& e) {
      thrown = std::current_exception();
      failed = std::to_string(static_cast<int>(ErrorKind::runtime));
      message = std::string("on rank 0: ") + e.what();
    }
  }
  world.broadcast(failed);
  if (failed.empty()) {
    world.broadcast(result);
    return result;
  }
  world.broadcast(message);
  world.broadcast(file);
  world.broadcast(key);
  if (thrown) std::rethrow_exception(thrown);
  throw Error(static_cast<ErrorKind>(std::stoi(failed)), message, {file, key, -1});
}

std::string resume_checkpoint(const dist::World& world, CheckpointDir& ckpts,
                              const std::function<void(const std::string&)>& load) {
  const std::string path = root_decides(world, [&] {
    const auto latest = ckpts.latest([&](const std::filesystem::path& p) { load(p.string()); });
    return latest ? latest->string() : std::string();
  });
  if (!path.empty() && !world.is_root()) load(path);
  return path;
}

}  // namespace nucseg::train
