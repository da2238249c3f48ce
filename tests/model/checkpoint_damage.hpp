// Damage inside a checkpoint file, for the tests of how loading, resuming and training meet it:
// torch stores tensors uncompressed and checks no CRC, so one changed value in a tensor's
// bytes is what a flipped disk block or a bad copy looks like to the reader.
#pragma once

#include <cstring>
#include <filesystem>
#include <string>

#include <torch/torch.h>

#include "nucseg/core/fs.hpp"

namespace nucseg::testing {

// Overwrites the third float of the stored copy of `t` (found by its first 32 bytes) with
// `value`; false when the bytes are not found.
inline bool overwrite_in_file(const std::filesystem::path& file, const torch::Tensor& t, float value) {
  auto c = t.detach().to(torch::kCPU).contiguous();
  std::string bytes = fs::read_file(file);
  const auto at = bytes.find(std::string(static_cast<const char*>(c.data_ptr()), 32));
  if (at == std::string::npos) return false;
  std::memcpy(&bytes[at + 8], &value, sizeof value);
  fs::write_file_atomic(file, bytes);
  return true;
}

}  // namespace nucseg::testing
