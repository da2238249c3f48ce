// The network stage of nucseg_infer: precision rules, and the host-buffer (staged) path that a
// GPU uses, run on the CPU against the direct one.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "nucseg/core/error.hpp"
#include "nucseg/infer/network.hpp"
#include "nucseg/infer/run.hpp"
#include "nucseg/model/unet.hpp"

namespace infer = nucseg::infer;

namespace {

std::string resolve(const std::string& requested, const std::string& kind, bool fold = true, bool det = false,
                    bool native = true) {
  return infer::resolve_precision(requested, kind, fold, det, native);
}

void expect_config_error(const std::function<void()>& f) {
  try {
    f();
    ADD_FAILURE() << "expected Error(config) naming infer.precision";
  } catch (const nucseg::Error& e) {
    EXPECT_EQ(e.kind(), nucseg::ErrorKind::config);
    EXPECT_NE(std::string(e.what()).find("infer.precision"), std::string::npos) << e.what();
  }
}

// A random U-Net in inference form on the CPU.
std::shared_ptr<nucseg::model::UNetImpl> folded_net() {
  torch::manual_seed(5);
  nucseg::ModelConfig mc;
  auto net = nucseg::model::make_model(mc);
  infer::NetworkOptions options;
  infer::place_network(*net, options);
  return net.ptr();
}

std::vector<float> random_tiles(int n, int h, int w, uint64_t seed) {
  auto t = torch::rand({n, 3, h, w}, at::detail::createCPUGenerator(seed)).contiguous();
  return std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
}

}  // namespace

TEST(Network, PrecisionFollowsTheDevice) {
  EXPECT_EQ(resolve("auto", "cpu"), "bfloat16");
  EXPECT_EQ(resolve("auto", "cpu", true, false, false), "float32") << "no native bfloat16";
  EXPECT_EQ(resolve("auto", "cpu", false), "float32") << "bfloat16 needs folding on a CPU";
  EXPECT_EQ(resolve("auto", "cpu", true, true), "float32") << "deterministic";
  EXPECT_EQ(resolve("auto", "cuda"), "float32");
  EXPECT_EQ(resolve("float16", "cuda"), "float16");
  EXPECT_EQ(resolve("bfloat16", "cuda", false), "bfloat16") << "autocast needs no folding";
  EXPECT_EQ(resolve("float32", "cpu", true, true), "float32");
  expect_config_error([] { resolve("float16", "cpu"); });
  expect_config_error([] { resolve("bfloat16", "cpu", false); });
  expect_config_error([] { resolve("bfloat16", "cuda", true, true); });
  expect_config_error([] { resolve("float16", "cuda", true, true); });
}

// infer.precision = bfloat16 on a CPU: the folded encoder and decoder both in bfloat16, and the
// result settings say so (results of the earlier decoder-only form are redone on resume).
TEST(Network, Bfloat16OnACpuCastsEncoderAndDecoder) {
  torch::manual_seed(6);
  auto net = nucseg::model::make_model(nucseg::ModelConfig{});
  infer::NetworkOptions options;
  options.precision = "bfloat16";
  infer::place_network(*net, options);
  EXPECT_TRUE(net->folded());
  EXPECT_TRUE(net->encoder_bfloat16());
  EXPECT_TRUE(net->decoder_bfloat16());
  auto plain = nucseg::model::make_model(nucseg::ModelConfig{});
  infer::place_network(*plain, infer::NetworkOptions{});
  EXPECT_FALSE(plain->encoder_bfloat16());
  EXPECT_FALSE(plain->decoder_bfloat16());

  nucseg::Config c;
  c.infer.device = "cpu";
  c.infer.precision = "bfloat16";
  const std::string marker = "network.bfloat16 = 'encoder and decoder'";
  EXPECT_NE(infer::result_settings(c).find(marker), std::string::npos) << infer::result_settings(c);
  c.infer.precision = "float32";
  EXPECT_EQ(infer::result_settings(c).find(marker), std::string::npos);
}

// segment.min_solidity, segment.core_seed_area and segment.interior_reach came after results existed: off (0) they are
// not in the settings, so those results are not redone on resume; on, they are.
TEST(Network, ResultSettingsNameLaterKeysOnlyWhenOn) {
  nucseg::Config c;
  EXPECT_EQ(infer::result_settings(c).find("min_solidity"), std::string::npos) << infer::result_settings(c);
  EXPECT_NE(infer::result_settings(c).find("segment.min_area = 12"), std::string::npos);
  c.segment.min_solidity = 0.5;
  EXPECT_NE(infer::result_settings(c).find("segment.min_solidity = 0.5\n"), std::string::npos)
      << infer::result_settings(c);
  EXPECT_NE(infer::result_settings(c).find("segment.core_seed_area = 30\n"), std::string::npos)
      << infer::result_settings(c);  // the default is on
  c.segment.core_seed_area = 0;
  EXPECT_EQ(infer::result_settings(c).find("core_seed_area"), std::string::npos) << infer::result_settings(c);
  EXPECT_NE(infer::result_settings(c).find("segment.interior_reach = 6\n"), std::string::npos);
  c.segment.interior_reach = 0;
  EXPECT_EQ(infer::result_settings(c).find("interior_reach"), std::string::npos) << infer::result_settings(c);
}

TEST(Network, StagedHostBuffersGiveTheDirectLogits) {
  auto net = folded_net();
  infer::NetworkOptions direct_options, staged_options;
  staged_options.staged = true;
  auto direct = infer::network_tile_model(net, 3, direct_options);
  auto staged = infer::network_tile_model(net, 3, staged_options);
  // A batch of 2, then 1 (the buffers are reused, larger than needed), then 2 of another size.
  for (const auto& [n, h, w] : std::vector<std::tuple<int, int, int>>{{2, 64, 96}, {1, 64, 96}, {2, 32, 64}}) {
    const auto tiles = random_tiles(n, h, w, static_cast<uint64_t>(n * 1000 + h + w));
    std::vector<float> a, b;
    direct(tiles, n, h, w, a);
    staged(tiles, n, h, w, b);
    ASSERT_EQ(a.size(), static_cast<size_t>(n) * 3 * h * w);
    EXPECT_EQ(a, b) << n << " x " << h << " x " << w;
    // And both are the network's own logits.
    torch::NoGradGuard no_grad;
    auto x = torch::from_blob(const_cast<float*>(tiles.data()), {n, 3, h, w}, torch::kFloat32);
    auto y = net->forward(x).contiguous();
    EXPECT_TRUE(torch::equal(torch::from_blob(b.data(), {n, 3, h, w}, torch::kFloat32), y));
  }
  std::vector<float> out;
  const auto tiles = random_tiles(1, 64, 64, 1);
  EXPECT_THROW(infer::network_tile_model(net, 4, staged_options)(tiles, 1, 64, 64, out), nucseg::Error)
      << "a class count other than the network's is refused";
}
