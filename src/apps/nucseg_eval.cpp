// nucseg_eval: Kaggle DSB 2018 score of a nucseg_infer result against a dataset's masks.
// Prints the per-image table and writes the JSON report (eval.output, default beside --pred).
#include "nucseg/cli/tool.hpp"
#include "nucseg/eval/run.hpp"

int main(int argc, char** argv) {
  nucseg::cli::ToolSpec spec;
  spec.name = "nucseg_eval";
  spec.summary = "Score a segmentation.h5 against ground-truth masks (Kaggle DSB 2018 metric).";
  spec.usage_example = "nucseg_eval --truth data/stage1_train --pred out/segmentation.h5";
  spec.sections = {"log", "eval"};
  spec.aliases = {{"--truth", "eval.truth", "Kaggle-layout (or flat) dataset folder with masks"},
                  {"--pred", "eval.pred", "segmentation.h5 written by nucseg_infer, or its folder (infer.output)"},
                  {"--output", "eval.output", "JSON report path (default: eval.json beside --pred)"}};
  return nucseg::cli::run_tool(argc, argv, spec, [](nucseg::cli::ToolContext& context) {
    return nucseg::eval::run_eval(context.config, context.world);
  });
}
