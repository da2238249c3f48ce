// Which device a rank computes on, shared by training (train.device) and inference
// (infer.device), so both place the ranks of a node on its GPUs alike.
//
// The rule: a rank computes on GPU (local rank mod visible GPUs). With every GPU of a node
// visible to every rank, consecutive ranks of the node spread over its GPUs (4 ranks, 2 GPUs:
// 0 1 0 1); under Slurm's --gpus-per-task=1 or --gpu-bind=single:1 each rank sees one GPU and
// takes it (index 0 for every rank). More ranks than GPUs share them.
#pragma once

#include <c10/core/Device.h>

#include <string>

namespace nucseg::dist {

// The rule above: index of the GPU for `local_rank` among `visible_gpus` (> 0).
int gpu_for_local_rank(int local_rank, int visible_gpus);

// `requested`: "auto" (a GPU when this LibTorch sees one, else the CPU), "cpu" or "cuda" (a GPU,
// or Error(config) naming `key` when there is none). A GPU is chosen by gpu_for_local_rank.
c10::Device select_device(const std::string& requested, int local_rank, const std::string& key);

// Makes `device` the calling thread's current device (CUDA: cudaSetDevice), so allocations,
// streams and kernels that name no device index go there. A no-op for the CPU. Per thread:
// a thread of one's own (a communication thread, a reader) that uses the GPU calls it too.
void make_current(c10::Device device);

// True when the Open MPI in use says at run time that it reads and writes CUDA device memory
// (MPIX_Query_cuda_support); false for an MPI that cannot tell.
bool mpi_cuda_aware();

}  // namespace nucseg::dist
