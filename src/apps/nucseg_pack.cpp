// nucseg_pack: a dataset folder (Kaggle stage1 or flat images/masks) -> HDF5 shards + index.h5.
#include "nucseg/cli/tool.hpp"
#include "nucseg/pack/pack.hpp"

int main(int argc, char** argv) {
  nucseg::cli::ToolSpec spec;
  spec.name = "nucseg_pack";
  spec.summary = "Decode a nuclei dataset into HDF5 shards (images, instance labels, 3-class targets) over MPI ranks.";
  spec.usage_example = "mpirun -np 4 nucseg_pack --config configs/pack.toml --set pack.input=data/stage1_train";
  spec.sections = {"log", "pack"};
  spec.aliases = {{"--input", "pack.input", "dataset root"}, {"--output", "pack.output", "shard folder"}};
  return nucseg::cli::run_tool(argc, argv, spec, [](nucseg::cli::ToolContext& context) {
    return nucseg::pack::run_pack(context.config, context.world);
  });
}
