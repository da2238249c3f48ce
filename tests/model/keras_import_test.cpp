// Writes small files in Keras's exact MobileNetV2 no_top layout (legacy HDF5: layer_names,
// weight_names, nested datasets, HWIO kernels) with a distinct known value per element, imports
// them, and checks every encoder parameter and statistic; then the error cases.
#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

#include <map>

#include "nucseg/core/error.hpp"
#include "nucseg/io/hdf5.hpp"
#include "nucseg/model/keras_h5.hpp"
#include "nucseg/model/unet.hpp"

using namespace nucseg;
using namespace nucseg::model;
namespace fs = std::filesystem;

namespace {

struct KerasWeight {
  std::string layer, name;  // e.g. "block_1_expand", "kernel:0"
  std::vector<hsize_t> shape;
  int id;
};

// Keras's layer sequence of MobileNetV2(alpha=1.0, include_top=False), weightless layers included.
struct KerasLayout {
  std::vector<std::string> layers;
  std::vector<KerasWeight> weights;
  void layer(const std::string& l) { layers.push_back(l); }
  void conv(const std::string& l, std::vector<hsize_t> s, const char* kind = "kernel:0") {
    layers.push_back(l);
    weights.push_back({l, kind, std::move(s), static_cast<int>(weights.size()) + 1});
  }
  void bn(const std::string& l, hsize_t c) {
    layers.push_back(l);
    for (const char* n : {"gamma:0", "beta:0", "moving_mean:0", "moving_variance:0"})
      weights.push_back({l, n, {c}, static_cast<int>(weights.size()) + 1});
  }
};

KerasLayout mobilenet_v2_layout() {
  KerasLayout k;
  k.layer("input_1");
  k.conv("Conv1", {3, 3, 3, 32});
  k.bn("bn_Conv1", 32);
  k.layer("Conv1_relu");
  const int c[] = {16, 24, 24, 32, 32, 32, 64, 64, 64, 64, 96, 96, 96, 160, 160, 160, 320};
  const int s[] = {1, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1};
  hsize_t in = 32;
  for (int id = 0; id <= 16; ++id) {
    const std::string p = id == 0 ? "expanded_conv_" : "block_" + std::to_string(id) + "_";
    hsize_t h = in;
    if (id > 0) {
      h = in * 6;
      k.conv(p + "expand", {1, 1, in, h});
      k.bn(p + "expand_BN", h);
      k.layer(p + "expand_relu");
    }
    if (s[id] == 2) k.layer(p + "pad");
    k.conv(p + "depthwise", {3, 3, h, 1}, "depthwise_kernel:0");
    k.bn(p + "depthwise_BN", h);
    k.layer(p + "depthwise_relu");
    k.conv(p + "project", {1, 1, h, static_cast<hsize_t>(c[id])});
    k.bn(p + "project_BN", static_cast<hsize_t>(c[id]));
    if (s[id] == 1 && in == static_cast<hsize_t>(c[id])) k.layer(p + "add");
    in = static_cast<hsize_t>(c[id]);
  }
  k.conv("Conv_1", {1, 1, 320, 1280});
  k.bn("Conv_1_bn", 1280);
  k.layer("out_relu");
  return k;
}

// Element i of weight `id`: distinct per weight, exact in float32.
float value_of(int id, size_t i) { return static_cast<float>(id * 4096 + static_cast<int>(i % 4096)); }

struct Tamper {
  std::string drop;                 // "layer/name" left out
  std::string extra_layer;          // weight added to this layer as "bias:0"
  std::string bad_shape;            // "layer/name" written with a wrong shape
};

void write_file(const fs::path& path, const KerasLayout& k, const Tamper& t = {}) {
  h5::File f(path.string(), h5::File::Mode::create_truncate);
  keras_h5::write_names(f, "layer_names", k.layers);
  f.set_attr("backend", std::string("tensorflow"));
  f.set_attr("keras_version", std::string("2.2.0"));
  std::map<std::string, std::vector<const KerasWeight*>> by_layer;
  for (const auto& w : k.weights) by_layer[w.layer].push_back(&w);
  for (const auto& layer : k.layers) {
    h5::Group g = f.create_group(layer);
    std::vector<std::string> names;
    h5::Group inner;
    if (by_layer.count(layer) || layer == t.extra_layer) inner = g.create_group(layer);
    for (const KerasWeight* w : by_layer[layer]) {
      const std::string full = layer + "/" + w->name;
      if (full == t.drop) continue;
      auto shape = w->shape;
      if (full == t.bad_shape) shape.back() += 1;
      size_t n = 1;
      for (auto d : shape) n *= d;
      std::vector<float> v(n);
      for (size_t i = 0; i < n; ++i) v[i] = value_of(w->id, i);
      inner.write(w->name, v, shape, h5::WriteOptions{{}, 0, false});
      names.push_back(full);
    }
    if (layer == t.extra_layer) {
      inner.write("bias:0", std::vector<float>(4, 1.0f), {4}, h5::WriteOptions{{}, 0, false});
      names.push_back(layer + "/bias:0");
    }
    keras_h5::write_names(g, "weight_names", names);
  }
  f.close();
}

class KerasImport : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("nucseg_keras_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string expect_data_error(const Tamper& t) {
    const auto path = dir_ / "bad.h5";
    write_file(path, mobilenet_v2_layout(), t);
    UNet net;
    try {
      net->load_keras_encoder(path.string());
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::data);
      return e.what();
    }
    ADD_FAILURE() << "no error";
    return {};
  }
  fs::path dir_;
};

}  // namespace

TEST_F(KerasImport, EveryEncoderWeightReceivesItsValuesInTorchLayout) {
  const auto layout = mobilenet_v2_layout();
  const auto path = dir_ / "mobilenet_v2_no_top.h5";
  write_file(path, layout);
  UNet net;
  net->load_keras_encoder(path.string());

  auto params = net->encoder->named_parameters();
  auto buffers = net->encoder->named_buffers();
  const std::map<std::string, std::string> field = {{"kernel:0", "weight"},       {"depthwise_kernel:0", "weight"},
                                                    {"gamma:0", "weight"},        {"beta:0", "bias"},
                                                    {"moving_mean:0", "running_mean"}, {"moving_variance:0", "running_var"}};
  size_t checked = 0;
  for (const auto& w : layout.weights) {
    if (w.layer == "Conv_1" || w.layer == "Conv_1_bn" || w.layer == "block_16_project_BN") continue;
    const std::string key = w.layer + "." + field.at(w.name);
    torch::Tensor t = params.contains(key) ? params[key] : buffers[key];
    ASSERT_TRUE(t.defined()) << key;
    t = t.contiguous();
    const float* p = t.data_ptr<float>();
    if (w.shape.size() == 4) {
      // torch element (a, b, y, x) <- Keras (y, x, in, out): conv (o, i, y, x) = K[y][x][i][o];
      // depthwise (c, 0, y, x) = K[y][x][c][0].
      const bool dw = w.name == "depthwise_kernel:0";
      const int64_t A = t.size(0), Bn = t.size(1), H = t.size(2), W = t.size(3);
      for (int64_t a = 0; a < A; ++a)
        for (int64_t b = 0; b < Bn; ++b)
          for (int64_t y = 0; y < H; ++y)
            for (int64_t x = 0; x < W; ++x) {
              const size_t k = dw ? ((y * W + x) * A + a) : (((y * W + x) * Bn + b) * A + a);
              ASSERT_EQ(p[((a * Bn + b) * H + y) * W + x], value_of(w.id, k)) << key;
            }
    } else {
      for (int64_t i = 0; i < t.numel(); ++i) ASSERT_EQ(p[i], value_of(w.id, static_cast<size_t>(i))) << key;
    }
    ++checked;
  }
  // Full coverage: every encoder parameter and statistic was among those checked.
  size_t targets = params.size();
  for (auto& b : buffers)
    if (b.key().find("num_batches_tracked") == std::string::npos) ++targets;
  EXPECT_EQ(checked, targets);
}

TEST_F(KerasImport, MakeModelLoadsAndFreezesByDefault) {
  const auto path = dir_ / "weights.h5";
  write_file(path, mobilenet_v2_layout());
  ModelConfig cfg;
  cfg.encoder_weights = path.string();
  auto net = make_model(cfg);
  EXPECT_TRUE(net->encoder_frozen());
  EXPECT_EQ(net->encoder->named_parameters()["Conv1.weight"].index({0, 0, 0, 0}).item<float>(), value_of(1, 0));
  cfg.freeze_encoder = TriState::no;
  EXPECT_FALSE(make_model(cfg)->encoder_frozen());
}

TEST_F(KerasImport, MissingWeightIsNamed) {
  auto msg = expect_data_error({"block_5_depthwise_BN/moving_variance:0", "", ""});
  EXPECT_NE(msg.find("block_5_depthwise_BN/moving_variance:0"), std::string::npos) << msg;
}

TEST_F(KerasImport, UnexpectedWeightIsNamed) {
  auto msg = expect_data_error({"", "block_2_expand", ""});
  EXPECT_NE(msg.find("block_2_expand/bias:0"), std::string::npos) << msg;
}

TEST_F(KerasImport, WronglyShapedWeightIsNamedAndNothingIsLoaded) {
  const auto path = dir_ / "bad.h5";
  write_file(path, mobilenet_v2_layout(), {"", "", "block_3_project/kernel:0"});
  UNet net;
  auto before = net->encoder->named_parameters()["Conv1.weight"].clone();
  try {
    net->load_keras_encoder(path.string());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("block_3_project/kernel:0"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(torch::equal(before, net->encoder->named_parameters()["Conv1.weight"]));
}

TEST_F(KerasImport, NotAKerasFile) {
  const auto path = dir_ / "plain.h5";
  {
    h5::File f(path.string(), h5::File::Mode::create_truncate);
    f.close();
  }
  UNet net;
  EXPECT_THROW(net->load_keras_encoder(path.string()), Error);
  EXPECT_THROW(net->load_keras_encoder((dir_ / "absent.h5").string()), Error);
}
