// train.precision as the trainer resolves it for its device and CPU.
#include <gtest/gtest.h>

#include "nucseg/core/error.hpp"
#include "nucseg/train/setup.hpp"

using nucseg::train::resolve_train_bfloat16;

TEST(TrainPrecision, FollowsTheSettingAndTheCpu) {
  const torch::Device cpu(torch::kCPU);
  EXPECT_FALSE(resolve_train_bfloat16("float32", cpu, true));
  EXPECT_TRUE(resolve_train_bfloat16("bfloat16", cpu, false));  // emulated: allowed, the trainer warns
  EXPECT_TRUE(resolve_train_bfloat16("bfloat16", cpu, true));
  EXPECT_TRUE(resolve_train_bfloat16("auto", cpu, true));
  EXPECT_FALSE(resolve_train_bfloat16("auto", cpu, false));
}

TEST(TrainPrecision, OnAGpuOnlyFloat32) {
  const torch::Device gpu(torch::kCUDA, 0);  // only its kind is read: no GPU is needed
  EXPECT_FALSE(resolve_train_bfloat16("auto", gpu, true));
  EXPECT_FALSE(resolve_train_bfloat16("float32", gpu, true));
  try {
    resolve_train_bfloat16("bfloat16", gpu, true);
    FAIL() << "bfloat16 on a GPU was accepted";
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.kind(), nucseg::ErrorKind::config);
    EXPECT_NE(std::string(e.what()).find("train.precision"), std::string::npos) << e.what();
  }
}
