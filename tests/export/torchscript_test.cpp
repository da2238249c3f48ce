// nucseg_export on a run directory, then Python's torch runs the module: its output must equal
// nucseg's inference form (BatchNorm folded, float32) on the same tile, and its attributes
// must say how the run normalised its images.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <fstream>
#include <map>
#include <sstream>

#include <opencv2/imgcodecs.hpp>

#include "../infer/test_util.hpp"
#include "../segment/test_util.hpp"
#include "nucseg/model/checkpoint.hpp"
#include "nucseg/model/unet.hpp"

namespace {

namespace stdfs = std::filesystem;
using nucseg::testing::ScratchDir;

// BatchNorm statistics and affine parameters far from the initial (0, 1, 1, 0), so that
// folding them into the convolutions is exercised.
void randomise_batchnorm(nucseg::model::UNet& net) {
  torch::NoGradGuard no_grad;
  for (auto& m : net->modules(false)) {
    auto* bn = m->as<torch::nn::BatchNorm2d>();
    if (!bn) continue;
    bn->running_mean.normal_(0.0, 0.2);
    bn->running_var.uniform_(0.5, 2.0);
    bn->weight.uniform_(0.5, 1.5);
    bn->bias.normal_(0.0, 0.2);
  }
}

void write_floats(const stdfs::path& file, const torch::Tensor& t) {
  auto c = t.contiguous();
  std::ofstream(file, std::ios::binary).write(reinterpret_cast<const char*>(c.data_ptr<float>()),
                                              static_cast<std::streamsize>(c.numel() * sizeof(float)));
}

std::map<std::string, std::string> parse_lines(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto tab = line.find('\t');
    if (tab != std::string::npos) out[line.substr(0, tab)] = line.substr(tab + 1);
  }
  return out;
}

// full_res: model.full_res of the exported network (0: the seed's last layer).
void expect_python_output_equals_nucsegs(int full_res) {
  ScratchDir dir("export-torchscript-" + std::to_string(full_res));
  torch::manual_seed(11);
  nucseg::Config config;
  config.model.full_res = full_res;
  config.data.normalize = "percentile";
  config.data.normalize_low = 2.0;
  config.data.normalize_high = 99.5;
  config.data.channels = {nucseg::ChannelSpec::Kind::indices, {1}};
  auto net = nucseg::model::make_model(config.model);
  randomise_batchnorm(net);
  nucseg::model::CheckpointState state;
  state.classes = 3;
  state.step = 42;
  state.full_res = full_res;
  state.nucleus_diameter = 17.5;
  state.config = nucseg::config_to_toml(config, {"data", "model"});
  const stdfs::path run = dir.path() / "run";
  stdfs::create_directories(run / "checkpoints");
  nucseg::model::save_checkpoint(run / "checkpoints" / "best.pt", *net, nullptr, state);

  const stdfs::path exported = dir.path() / "model.pt";
  nucseg::test::run_command(std::string(NUCSEG_EXPORT_EXE) + " --model " + run.string() +
                            " --format torchscript --output " + exported.string());

  // nucseg's own output, as nucseg_infer computes it (float32 decoder).
  auto reference = nucseg::model::make_model(config.model);
  nucseg::model::load_checkpoint(run / "checkpoints" / "best.pt", *reference, nullptr);
  reference->eval();
  nucseg::model::fold_batchnorm(reference);
  const int64_t n = 2, h = 64, w = 96;
  const auto x = torch::rand({n, 3, h, w});
  torch::Tensor y;
  {
    torch::NoGradGuard no_grad;
    y = reference->forward(x);
  }
  write_floats(dir.path() / "x.f32", x);
  write_floats(dir.path() / "y.f32", y);

  const auto out = parse_lines(nucseg::test::run_command(
      nucseg::test::python3() + " " + nucseg::test::source_dir() + "/tests/export/torchscript_check.py " +
      exported.string() + " " + (dir.path() / "x.f32").string() + " " + std::to_string(n) + " " + std::to_string(h) +
      " " + std::to_string(w) + " " + (dir.path() / "y.f32").string()));
  EXPECT_EQ(out.at("shape"), "2x3x64x96");
  EXPECT_EQ(out.at("classes"), "3");
  EXPECT_EQ(out.at("channels"), "[1]");
  EXPECT_EQ(out.at("normalize"), "percentile");
  EXPECT_DOUBLE_EQ(std::stod(out.at("normalize_low")), 2.0);
  EXPECT_DOUBLE_EQ(std::stod(out.at("normalize_high")), 99.5);
  EXPECT_DOUBLE_EQ(std::stod(out.at("nucleus_diameter")), 17.5);
  EXPECT_EQ(out.at("checkpoint_step"), "42");
  EXPECT_EQ(out.at("input_multiple"), "32");
  EXPECT_EQ(out.at("model_hash"), nucseg::model::model_tensors_hash(*net));
  EXPECT_EQ(out.at("shape_error"), "RuntimeError: AssertionError: nucseg: input must be N x 3 x H x W (normalised "
                                   "float32), H and W multiples of 32");
  // Every weight of the folded network (the BatchNorms gone into the biases) is there.
  int64_t folded = 0;
  for (const auto& p : reference->parameters()) folded += p.numel();
  for (auto& m : reference->modules(false))
    if (auto* bn = m->as<torch::nn::BatchNorm2d>()) folded -= bn->weight.numel();  // gamma is in the weights
  EXPECT_EQ(out.at("parameters"), std::to_string(folded));
  const double diff = std::stod(out.at("max_abs_diff")), scale = std::stod(out.at("max_abs_ref"));
  std::cout << "max |python - nucseg| = " << diff << ", max |nucseg| = " << scale << "\n";
  EXPECT_GT(scale, 0.1);  // a real signal, not a network of zeros
  // Same float32 weights (folded the same way), different convolution algorithms (nucseg's
  // oneDNN adjoint transposed convolution vs torch's im2col one) summing up to ~10^4 products in
  // another order: measured 7e-7 at a scale of 1.3 (5e-7 relative). A wrong export (an unfolded
  // BatchNorm, a missing pad, a wrong tap) moves the logits by 1e-2 or more.
  EXPECT_LE(diff, 1e-5 * scale);
}

}  // namespace

TEST(ExportTorchScript, PythonOutputEqualsNucsegs) { expect_python_output_equals_nucsegs(0); }

// model.full_res: the stage at the input's resolution reads the input image at the end.
TEST(ExportTorchScript, PythonOutputEqualsNucsegsWithFullResolutionStage) { expect_python_output_equals_nucsegs(16); }

namespace {

// The Python block of docs/export.md (the one after "<!-- python example -->").
std::string doc_example() {
  std::ifstream in(nucseg::test::source_dir() + "/docs/export.md");
  std::string line, code;
  bool marker = false, inside = false;
  while (std::getline(in, line)) {
    if (line == "<!-- python example -->") marker = true;
    else if (marker && !inside && line == "```python") inside = true;
    else if (inside && line == "```") return code;
    else if (inside) code += line + "\n";
  }
  throw std::runtime_error("docs/export.md: no python example block");
}

TEST(ExportTorchScript, DocExampleRuns) {
  ScratchDir dir("export-doc-example");
  torch::manual_seed(5);
  nucseg::Config config;
  auto net = nucseg::model::make_model(config.model);
  nucseg::model::CheckpointState state;
  state.classes = 3;
  state.config = nucseg::config_to_toml(config, {"data", "model"});
  nucseg::model::save_checkpoint(dir.path() / "best.pt", *net, nullptr, state);
  nucseg::test::run_command(std::string(NUCSEG_EXPORT_EXE) + " --model " + (dir.path() / "best.pt").string() +
                            " --output " + (dir.path() / "model.pt").string());
  cv::Mat image(70, 100, CV_8UC3);  // sides not multiples of 32: the example pads
  cv::randu(image, cv::Scalar::all(0), cv::Scalar::all(255));
  ASSERT_TRUE(cv::imwrite((dir.path() / "cells.png").string(), image));
  std::ofstream(dir.path() / "example.py") << doc_example() << "print(classes.shape, classes.dtype, classes.max() < 3)\n";
  const auto out = nucseg::test::run_command("cd " + dir.path().string() + " && " + nucseg::test::python3() + " example.py");
  EXPECT_EQ(out, "(70, 100) int64 True\n");
}

}  // namespace
