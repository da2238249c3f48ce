// train.precision as the trainer resolves it for its device and CPU.
#include <gtest/gtest.h>

#include "nucseg/core/error.hpp"
#include "nucseg/dist/grad_sync.hpp"
#include "nucseg/model/unet.hpp"
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

// train.bucket_mb = 0 (auto): every gradient of the real network in one bucket on a CPU (an
// overlapped reduction would share the cores with the backward), 4 MiB buckets on a GPU; a
// value given is kept; a negative one names the key.
TEST(TrainBuckets, AutoIsOneBucketOnACpuAndFourMibOnAGpu) {
  using nucseg::train::train_bucket_mb;
  const torch::Device cpu(torch::kCPU), gpu(torch::kCUDA, 0);
  auto net = nucseg::model::make_model(nucseg::ModelConfig{});
  const auto params = net->parameters();
  auto buckets = [&](double mb) {
    const auto plan = nucseg::dist::plan_gradient_buckets(params, mb);
    int last = -1;
    for (const auto& e : plan) last = std::max(last, e.bucket);
    return last + 1;
  };
  EXPECT_EQ(buckets(train_bucket_mb(0.0, cpu)), 1);
  EXPECT_DOUBLE_EQ(train_bucket_mb(0.0, gpu), 4.0);
  EXPECT_GT(buckets(train_bucket_mb(0.0, gpu)), 4) << "27 MB of gradients in 4 MiB buckets";
  EXPECT_DOUBLE_EQ(train_bucket_mb(8.0, cpu), 8.0);
  try {
    train_bucket_mb(-1.0, cpu);
    FAIL() << "a negative bucket size was accepted";
  } catch (const nucseg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("train.bucket_mb"), std::string::npos) << e.what();
  }
}

// model.classes other than the targets' 3 is refused before the shards are opened (exit 2
// naming the key), not by libtorch mid-training or with a network inference refuses.
TEST(TrainData, ModelClassesMustMatchTheTargetsThreeClasses) {
  for (int classes : {2, 4}) {
    nucseg::Config config;
    config.model.classes = classes;
    config.data.shards = "/no/such/shards";  // never opened: the class check comes first
    try {
      nucseg::train::open_train_data(config);
      FAIL() << classes << " classes were accepted";
    } catch (const nucseg::Error& e) {
      EXPECT_EQ(e.exit_code(), 2);
      EXPECT_EQ(e.context().key, "model.classes");
      EXPECT_NE(e.message().find("3 classes"), std::string::npos) << e.what();
    }
  }
}

// nucseg_train with no arguments: the message says what is missing and how to give it, in
// words for a new user (hostile audit #10), not "is empty".
TEST(TrainData, NoShardsSaysWhatIsMissingAndWhereToLook) {
  nucseg::Config config;  // data.shards left at its default, ""
  try {
    nucseg::train::open_train_data(config);
    FAIL() << "training without data.shards was accepted";
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_EQ(e.context().key, "data.shards");
    const std::string text = e.message();
    EXPECT_EQ(text.find("is empty"), std::string::npos) << text;
    EXPECT_NE(text.find("no training data given"), std::string::npos) << text;
    EXPECT_NE(text.find("--shards"), std::string::npos) << text;
    EXPECT_NE(text.find("--help"), std::string::npos) << text;
  }
}
