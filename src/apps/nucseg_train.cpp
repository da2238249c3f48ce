// nucseg_train: train the nuclei U-Net on packed shards, on one rank or data-parallel over MPI.
#include "nucseg/cli/tool.hpp"
#include "nucseg/train/trainer.hpp"

int main(int argc, char** argv) {
  nucseg::cli::ToolSpec spec;
  spec.name = "nucseg_train";
  spec.summary =
      "Train the MobileNetV2 U-Net (background / interior / border) on nucseg_pack shards; resumes from the "
      "run directory's latest checkpoint; exit 75 after a stop signal means: checkpointed, requeue me.";
  spec.usage_example = "mpirun -np 4 nucseg_train --config configs/train.toml --set data.shards=demo/shards";
  spec.sections = {"log", "data", "model", "train", "segment"};
  spec.aliases = {{"--shards", "data.shards", "shard folder written by nucseg_pack"},
                  {"--output", "train.output", "run directory"},
                  {"--max-steps", "train.max_steps", "stop after this many steps"}};
  return nucseg::cli::run_tool(argc, argv, spec, [](nucseg::cli::ToolContext& context) {
    return nucseg::train::run_train(context.config, context.world, context.resolved_config);
  });
}
