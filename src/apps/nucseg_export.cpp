// nucseg_export: a trained checkpoint as a TorchScript module for Python's torch.jit.load
// (docs/export.md).
#include "nucseg/cli/tool.hpp"
#include "nucseg/export/run.hpp"

int main(int argc, char** argv) {
  nucseg::cli::ToolSpec spec;
  spec.name = "nucseg_export";
  spec.summary = "Export a trained model (checkpoint or run directory) as a TorchScript module.";
  spec.usage_example = "nucseg_export --model runs/a --format torchscript --output model.pt";
  spec.sections = {"log", "export"};
  spec.aliases = {{"--model", "export.model", "checkpoint file or training run directory (its best.pt)"},
                  {"--format", "export.format", "torchscript"},
                  {"--output", "export.output", "file to write (e.g. model.pt)"}};
  return nucseg::cli::run_tool(argc, argv, spec, [](nucseg::cli::ToolContext& context) {
    return nucseg::exporter::run_export(context.config, context.world);
  });
}
