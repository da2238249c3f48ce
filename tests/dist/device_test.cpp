// The rank -> device rule shared by train.device and infer.device.
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include "nucseg/core/error.hpp"
#include "nucseg/dist/device.hpp"

namespace dist = nucseg::dist;

TEST(Device, LocalRanksSpreadOverTheVisibleGpus) {
  EXPECT_EQ(dist::gpu_for_local_rank(0, 4), 0);
  EXPECT_EQ(dist::gpu_for_local_rank(3, 4), 3);
  EXPECT_EQ(dist::gpu_for_local_rank(5, 4), 1);
  EXPECT_EQ(dist::gpu_for_local_rank(3, 2), 1);
  // --gpus-per-task=1: every rank sees one GPU and takes it.
  for (int rank = 0; rank < 8; ++rank) EXPECT_EQ(dist::gpu_for_local_rank(rank, 1), 0);
  EXPECT_THROW(dist::gpu_for_local_rank(0, 0), nucseg::Error);
  EXPECT_THROW(dist::gpu_for_local_rank(-1, 2), nucseg::Error);
}

TEST(Device, CpuAndAutoFollowWhatThisLibTorchSees) {
  EXPECT_TRUE(dist::select_device("cpu", 3, "infer.device").is_cpu());
  const bool cuda = torch::cuda::is_available();
  const auto chosen = dist::select_device("auto", 3, "infer.device");
  EXPECT_EQ(chosen.is_cuda(), cuda);
  if (cuda) {
    EXPECT_EQ(chosen.index(), 3 % static_cast<int>(torch::cuda::device_count()));
    EXPECT_TRUE(dist::select_device("cuda", 0, "train.device").is_cuda());
  } else {
    try {
      dist::select_device("cuda", 0, "train.device");
      ADD_FAILURE() << "cuda without a GPU must be refused";
    } catch (const nucseg::Error& e) {
      EXPECT_EQ(e.kind(), nucseg::ErrorKind::config);
      EXPECT_NE(std::string(e.what()).find("train.device"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(dist::select_device("gpu", 0, "infer.device"), nucseg::Error);
  dist::make_current(c10::Device(c10::kCPU));  // a no-op, must not throw
}
