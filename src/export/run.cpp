// run_export: [export] settings -> the exported model file.
#include "nucseg/export/run.hpp"

#include "nucseg/core/error.hpp"
#include "nucseg/core/logging.hpp"
#include "nucseg/export/torchscript.hpp"
#include "nucseg/model/find_checkpoint.hpp"

namespace nucseg::exporter {

int run_export(const Config& config, const dist::World& world) {
  const auto& ec = config.model_export;
  if (ec.output.empty()) throw_config("export.output", "no output file given (--output)");
  const auto checkpoint = model::find_checkpoint(ec.model, "export.model");  // every rank: exit 2 everywhere
  if (!world.is_root()) return exit_codes::ok;
  const auto info = export_torchscript(checkpoint, ec.output);
  log::job().info("export: {} -> {} (TorchScript; {} classes, channels {}, normalize {}, step {}, model {})",
                  checkpoint.string(), ec.output, info.classes, info.channels, info.normalize, info.checkpoint_step,
                  info.model_hash);
  return exit_codes::ok;
}

}  // namespace nucseg::exporter
