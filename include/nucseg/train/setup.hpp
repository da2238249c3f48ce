// What a training run checks and prepares before its first step: the shards and their
// splits, the crop, the device, the threads. Every problem is reported here, before any
// training time is spent, as Error(config) naming the key or Error(data) naming the file.
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

#include "nucseg/core/config.hpp"
#include "nucseg/io/shard.hpp"

namespace nucseg::train {

struct TrainData {
  io::ShardDataset dataset;
  std::vector<size_t> train;  // dataset indices of the train split
  std::vector<size_t> val;
};

// Opens data.shards and checks both splits, data.crop against the images and data.channels
// against the mapping the shards were packed with.
TrainData open_train_data(const Config& config);

// train.device: auto -> CUDA when this LibTorch has a GPU; cuda without one is a config error.
// A GPU rank takes GPU (local rank mod visible GPUs) (dist/device.hpp, the rule inference
// shares) and makes it the calling thread's current device.
torch::Device select_device(const std::string& device, int local_rank);

}  // namespace nucseg::train
