// nucseg_infer: images (a folder tree, a Kaggle-layout folder or a list file) -> nuclei instances,
// class maps and per-object measurements in <infer.output>/segmentation.h5, over MPI ranks.
// Exit codes: 0 all images done, 3 some images failed (listed in /failures), 75 stopped by a
// signal (rerun to resume), 2 configuration errors (an empty input included).
#include "nucseg/cli/tool.hpp"
#include "nucseg/infer/run.hpp"

int main(int argc, char** argv) {
  nucseg::cli::ToolSpec spec;
  spec.name = "nucseg_infer";
  spec.summary = "Segment nuclei in a whole image archive with a trained checkpoint, over MPI ranks, into HDF5.";
  spec.usage_example = "mpirun -np 4 nucseg_infer --config configs/infer.toml --set infer.model=runs/train";
  spec.sections = {"log", "model", "infer", "segment"};
  spec.aliases = {{"--model", "infer.model", "checkpoint file or training run directory"},
                  {"--input", "infer.input", "image folder, Kaggle-layout folder or list file"},
                  {"--output", "infer.output", "output folder"}};
  return nucseg::cli::run_tool(argc, argv, spec, [](nucseg::cli::ToolContext& context) {
    return nucseg::infer::run_infer(context.config, context.world);
  });
}
