#include "nucseg/dist/device.hpp"

#include <mpi.h>
#if __has_include(<mpi-ext.h>)
#include <mpi-ext.h>  // Open MPI's extensions: MPIX_Query_cuda_support
#endif

#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <torch/cuda.h>

#include "nucseg/core/error.hpp"

namespace nucseg::dist {

int gpu_for_local_rank(int local_rank, int visible_gpus) {
  if (visible_gpus < 1) throw_runtime("gpu_for_local_rank: no GPU visible");
  if (local_rank < 0) throw_runtime("gpu_for_local_rank: negative local rank");
  return local_rank % visible_gpus;
}

c10::Device select_device(const std::string& requested, int local_rank, const std::string& key) {
  if (requested != "auto" && requested != "cpu" && requested != "cuda")
    throw_config(key, "is \"" + requested + "\"; allowed: auto, cpu, cuda");
  if (requested == "cpu") return c10::Device(c10::kCPU);
  const int gpus = torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
  if (gpus == 0) {
    if (requested == "cuda")
      throw_config(key, "\"cuda\" requested but this LibTorch build sees no CUDA device (a CPU-only LibTorch, no "
                        "GPU in this allocation, or CUDA_VISIBLE_DEVICES empty)");
    return c10::Device(c10::kCPU);
  }
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(gpu_for_local_rank(local_rank, gpus)));
}

void make_current(c10::Device device) {
  if (device.is_cpu()) return;
  // Device-generic: the CUDA implementation is registered when LibTorch has CUDA.
  c10::impl::getDeviceGuardImpl(device.type())->setDevice(device);
}

bool mpi_cuda_aware() {
#if defined(MPIX_CUDA_AWARE_SUPPORT)
  // The macro says what the headers were built with; the query what the library does at run time.
  return MPIX_Query_cuda_support() == 1;
#else
  return false;
#endif
}

}  // namespace nucseg::dist
