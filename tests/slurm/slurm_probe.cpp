// A minimal nucseg tool for the Slurm tests: runs in the real tool frame (cli::run_tool), checks
// the launch (run_tool calls World::check_slurm_launch() for every tool) and prints "rank R of N" on every rank, so the
// tests can count ranks and see a mis-launch stopped with exit code 2 and its message.
#include <iostream>

#include "nucseg/cli/tool.hpp"
#include "nucseg/core/error.hpp"

int main(int argc, char** argv) {
  nucseg::cli::ToolSpec spec;
  spec.name = "nucseg_slurm_probe";
  spec.summary = "Checks an MPI launch under Slurm and prints each rank (a test program).";
  spec.usage_example = "srun --mpi=pmix -n 2 nucseg_slurm_probe";
  spec.sections = {"log"};
  return nucseg::cli::run_tool(argc, argv, spec, [](nucseg::cli::ToolContext& ctx) {
    std::cout << "rank " << ctx.world.rank() << " of " << ctx.world.size() << std::endl;
    return nucseg::exit_codes::ok;
  });
}
