// Times the network: full training steps (forward, cross-entropy, backward, Adam) and
// inference (eval, BatchNorm folded) on random data; prints "key value" lines that
// tools/bench/model.sh puts next to the PyTorch peer measured in the same run.
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "nucseg/core/allocator.hpp"
#include "nucseg/model/unet.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Debian's torch falls back to the reference BLAS (~2.6 GFLOP/s) unless OpenBLAS is installed.
double gemm_gflops() {
  auto a = torch::rand({512, 512});
  auto b = torch::rand({512, 512});
  torch::mm(a, b);
  const int reps = 10;
  auto t0 = Clock::now();
  for (int i = 0; i < reps; ++i) torch::mm(a, b);
  return 2.0 * 512 * 512 * 512 * reps / seconds_since(t0) / 1e9;
}

struct Args {
  int size = 128, batch = 16, threads = 2, steps = 5, warmup = 2;
  bool frozen = false, train = true, infer = true, channels_last = false;
  std::string upsampling = "adjoint";
  std::string infer_upsampling;  // empty: what fold_batchnorm chooses
  bool bf16_decoder = false;
  bool bf16_train = false;    // UNet::set_mixed_bfloat16 (train.precision = bfloat16)
  bool bf16_encoder = false;  // inference: UNet::set_encoder_bfloat16
  int full_res = 0;            // model.full_res
  double decoder_width = 1.0;  // model.decoder_width
  std::string profile;  // chrome trace of the timed training steps (tools/bench/profile_ops.py sums it)
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    auto next = [&](const char* flag) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", flag);
        std::exit(2);
      }
      return std::atoi(argv[++i]);
    };
    if (!std::strcmp(argv[i], "--size")) a.size = next("--size");
    else if (!std::strcmp(argv[i], "--batch")) a.batch = next("--batch");
    else if (!std::strcmp(argv[i], "--threads")) a.threads = next("--threads");
    else if (!std::strcmp(argv[i], "--steps")) a.steps = next("--steps");
    else if (!std::strcmp(argv[i], "--warmup")) a.warmup = next("--warmup");
    else if (!std::strcmp(argv[i], "--frozen")) a.frozen = true;
    else if (!std::strcmp(argv[i], "--train-only")) a.infer = false;
    else if (!std::strcmp(argv[i], "--infer-only")) a.train = false;
    else if (!std::strcmp(argv[i], "--channels-last")) a.channels_last = true;
    else if (!std::strcmp(argv[i], "--bf16-decoder")) a.bf16_decoder = true;
    else if (!std::strcmp(argv[i], "--bf16-train")) a.bf16_train = true;
    else if (!std::strcmp(argv[i], "--bf16-encoder")) a.bf16_encoder = true;
    else if (!std::strcmp(argv[i], "--full-res")) a.full_res = next("--full-res");
    else if (!std::strcmp(argv[i], "--decoder-width") && i + 1 < argc) a.decoder_width = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--upsampling") && i + 1 < argc) a.upsampling = argv[++i];
    else if (!std::strcmp(argv[i], "--infer-upsampling") && i + 1 < argc) a.infer_upsampling = argv[++i];
    else if (!std::strcmp(argv[i], "--profile") && i + 1 < argc) a.profile = argv[++i];
    else {
      std::fprintf(stderr,
                   "usage: nucseg_model_bench [--size N] [--batch N] [--threads N] [--steps N] [--warmup N]\n"
                   "                          [--frozen] [--train-only|--infer-only] [--channels-last]\n"
                   "                          [--upsampling adjoint|torch|subpixel|phases]\n"
                   "                          [--infer-upsampling adjoint|torch|subpixel|phases] [--bf16-decoder]\n"
                   "                          [--bf16-train] [--bf16-encoder] [--profile TRACE.json]\n"
                   "                          [--full-res N] [--decoder-width X]\n");
      std::exit(2);
    }
  }
  return a;
}

nucseg::model::Upsampling upsampling_named(const std::string& name) {
  using nucseg::model::Upsampling;
  if (name == "torch") return Upsampling::torch;
  if (name == "subpixel") return Upsampling::subpixel;
  if (name == "phases") return Upsampling::phases;
  if (name == "adjoint") return Upsampling::adjoint;
  std::fprintf(stderr, "unknown upsampling mode %s\n", name.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  at::set_num_threads(a.threads);
  if (!std::getenv("NUCSEG_DEFAULT_MALLOC")) nucseg::keep_freed_memory_for_reuse();
  torch::manual_seed(0);
  const double gf = gemm_gflops();
  std::printf("gemm_gflops %.1f\n", gf);
  if (gf < 20.0)
    std::printf("WARNING: GEMM at %.1f GFLOP/s: the reference BLAS is active; install libopenblas0-pthread\n", gf);

  nucseg::model::UNetOptions opt;
  opt.channels_last = a.channels_last;
  opt.upsampling = upsampling_named(a.upsampling);
  opt.full_res = a.full_res;
  opt.decoder_width = a.decoder_width;
  nucseg::model::UNet net(opt);
  // A frozen encoder normally holds ImageNet weights; random ones time the same.
  if (a.frozen) net->set_encoder_frozen(true);
  net->set_mixed_bfloat16(a.bf16_train);
  auto x = torch::rand({a.batch, 3, a.size, a.size});
  auto y = torch::randint(0, 3, {a.batch, a.size, a.size}, torch::kLong);

  if (a.train) {
    net->train();
    torch::optim::Adam adam(net->trainable_parameters(), torch::optim::AdamOptions(1e-3));
    auto step = [&] {
      adam.zero_grad();
      auto loss = torch::nn::functional::cross_entropy(net->forward(x), y);
      loss.backward();
      adam.step();
    };
    for (int i = 0; i < a.warmup; ++i) step();
    auto t0 = Clock::now();
    if (a.profile.empty()) {
      for (int i = 0; i < a.steps; ++i) step();
    } else {
      // The profiler's own cost inflates the rate: a profiled run's images/s is not a result.
      torch::autograd::profiler::RecordProfile guard(a.profile);
      for (int i = 0; i < a.steps; ++i) step();
    }
    const double s = seconds_since(t0);
    std::printf("train_img_per_s %.2f step_s %.3f\n", a.batch * a.steps / s, s / a.steps);
  }
  if (a.infer) {
    nucseg::model::fold_batchnorm(net);
    if (!a.infer_upsampling.empty()) net->set_upsampling(upsampling_named(a.infer_upsampling));
    net->set_decoder_bfloat16(a.bf16_decoder);
    net->set_encoder_bfloat16(a.bf16_encoder);
    torch::NoGradGuard no_grad;
    for (int i = 0; i < a.warmup; ++i) net->forward(x);
    auto t0 = Clock::now();
    for (int i = 0; i < a.steps; ++i) net->forward(x);
    const double s = seconds_since(t0);
    std::printf("infer_img_per_s %.2f\n", a.batch * a.steps / s);
  }
  std::printf("size %d batch %d threads %d frozen %d upsampling %s infer_upsampling %s channels_last %d bf16_decoder %d "
              "bf16_train %d bf16_encoder %d\n",
              a.size, a.batch, a.threads, a.frozen ? 1 : 0, a.upsampling.c_str(),
              a.infer_upsampling.empty() ? "default" : a.infer_upsampling.c_str(), a.channels_last ? 1 : 0,
              a.bf16_decoder ? 1 : 0, a.bf16_train ? 1 : 0, a.bf16_encoder ? 1 : 0);
  return 0;
}
