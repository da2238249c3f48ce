// nucseg_synth: generates the demo dataset (Kaggle DSB 2018 stage1 layout) on any number of
// MPI ranks. All the work is in nucseg::synth (include/nucseg/synth/).
#include "nucseg/cli/tool.hpp"
#include "nucseg/synth/writer.hpp"

int main(int argc, char** argv) {
  nucseg::cli::ToolSpec spec;
  spec.name = "nucseg_synth";
  spec.summary = "Generate synthetic nuclei images with exact masks in the Kaggle DSB 2018 stage1 layout.";
  spec.usage_example = "mpirun -np 2 nucseg_synth --config configs/synth.toml --set synth.count=100";
  spec.sections = {"log", "synth"};
  spec.aliases = {{"--output", "synth.output", "output folder (synth.output)"},
                  {"--count", "synth.count", "number of images (synth.count)"}};
  return nucseg::cli::run_tool(argc, argv, spec,
                               [](nucseg::cli::ToolContext& ctx) { return nucseg::synth::run_synth(ctx.config, ctx.world); });
}
