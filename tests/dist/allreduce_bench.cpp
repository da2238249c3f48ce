// Fused-bucket gradient all-reduce (GradientSync) against one raw MPI_Allreduce of the same
// bytes, measured in the same run on the parameter set of the real model (MobileNetV2 encoder
// + pix2pix decoder: 6.88 M floats in 170 tensors of realistic sizes).
//
// The "backward" is a real autograd pass over those parameters whose nodes spend a given time
// each (proportional to the parameter's size) before the parameter's gradient is ready, so the
// buckets fill progressively in reverse order as in training. --work=sleep models compute that
// leaves the CPU free (a GPU backward); --work=spin burns a core (a CPU backward).
//
// Between steps the gradients are zeroed in place, as the trainer's optimizer.zero_grad() does
// (--grads zero), or set to none (--grads none: autograd then hands each parameter a fresh
// tensor); the backward alone is measured the same way.
//
// Usage: mpiexec -n 2 nucseg_allreduce_bench [--iters N] [--backward-ms T] [--work sleep|spin]
//                                           [--buckets-mb 1,4,16,64] [--grads zero|none]
//                                           [--mean prescaled|divide]
// --mean: prescaled (the trainer's) scales the loss by 1/ranks before backward; divide divides
// each reduced bucket instead (one more pass over the gradients).
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "nucseg/dist/grad_sync.hpp"
#include "nucseg/dist/world.hpp"

namespace dist = nucseg::dist;
using Clock = std::chrono::steady_clock;

namespace {

double now() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

// Trainable tensors of the seed's network in registration order (Keras: convs without bias,
// BatchNorm gamma and beta; the decoder's transposed convolutions; the last layer's bias).
std::vector<std::vector<int64_t>> model_shapes() {
  std::vector<std::vector<int64_t>> s;
  auto conv = [&](int64_t out, int64_t in, int64_t k) { s.push_back({out, in, k, k}); };
  auto bn = [&](int64_t c) {
    s.push_back({c});
    s.push_back({c});
  };
  conv(32, 3, 3), bn(32);
  s.push_back({32, 1, 3, 3}), bn(32), conv(16, 32, 1), bn(16);
  int64_t in = 16;
  const int64_t blocks[6][3] = {{24, 2, 6}, {32, 3, 6}, {64, 4, 6}, {96, 3, 6}, {160, 3, 6}, {320, 1, 6}};
  for (const auto& b : blocks)
    for (int64_t n = 0; n < b[1]; ++n) {
      const int64_t e = in * b[2];
      conv(e, in, 1), bn(e), s.push_back({e, 1, 3, 3}), bn(e), conv(b[0], e, 1), bn(b[0]);
      in = b[0];
    }
  conv(1280, 320, 1), bn(1280);
  const int64_t up[4][2] = {{320, 512}, {1088, 256}, {448, 128}, {272, 64}};
  for (const auto& u : up) s.push_back({u[0], u[1], 3, 3}), bn(u[1]);
  s.push_back({160, 3, 3, 3});
  s.push_back({3});
  return s;
}

struct Options {
  int iters = 10;
  double backward_ms = 300;
  bool spin = false;
  bool zero_grads = true;
  bool prescaled = true;
  std::vector<double> buckets_mb = {1, 4, 16, 64};
};

// Spends `seconds` in the backward of one parameter, then passes the gradient on.
struct Work : torch::autograd::Function<Work> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor p, double seconds, bool spin) {
    ctx->saved_data["seconds"] = seconds;
    ctx->saved_data["spin"] = spin;
    ctx->saved_data["sizes"] = p.sizes().vec();
    return p.sum();
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const double seconds = ctx->saved_data["seconds"].toDouble();
    if (ctx->saved_data["spin"].toBool()) {
      const double end = now() + seconds;
      volatile double sink = 0;
      while (now() < end)
        for (int i = 0; i < 1000; ++i) sink = sink + i * 1e-9;
    } else if (seconds > 0) {
      std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    }
    auto sizes = ctx->saved_data["sizes"].toIntVector();
    return {torch::empty(sizes).fill_(grad[0].item<float>()), torch::Tensor(), torch::Tensor()};
  }
};

void backward(std::vector<torch::Tensor>& params, int64_t total, double backward_seconds, bool spin,
              double loss_scale = 1.0) {
  torch::Tensor loss = torch::zeros({});
  for (auto& p : params)
    loss = loss + Work::apply(p, backward_seconds * static_cast<double>(p.numel()) / static_cast<double>(total), spin);
  (loss * loss_scale).backward();
}

// What the trainer does between steps: torch::optim::Optimizer::zero_grad() zeroes every
// defined grad in place; "none" drops them.
void reset_grads(std::vector<torch::Tensor>& params, bool zero) {
  for (auto& p : params) {
    if (!zero)
      p.mutable_grad() = torch::Tensor();
    else if (p.grad().defined())
      p.mutable_grad().zero_();
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// A two-way option's value: true for `first`, false for `second`, else exit 2.
bool either(const std::string& option, const std::string& value, const char* first, const char* second) {
  if (value != first && value != second) {
    std::fprintf(stderr, "allreduce_bench: %s takes %s or %s, got %s\n", option.c_str(), first, second, value.c_str());
    std::exit(2);
  }
  return value == first;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "allreduce_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--iters") {
      o.iters = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--backward-ms") {
      o.backward_ms = std::atof(next().c_str());
    } else if (a == "--work") {
      o.spin = next() == "spin";
    } else if (a == "--grads") {
      o.zero_grads = either(a, next(), "zero", "none");
    } else if (a == "--mean") {
      o.prescaled = either(a, next(), "prescaled", "divide");
    } else if (a == "--buckets-mb") {
      o.buckets_mb.clear();
      std::stringstream list(next());
      for (std::string item; std::getline(list, item, ',');) o.buckets_mb.push_back(std::atof(item.c_str()));
    } else {
      std::fprintf(stderr, "allreduce_bench: unknown option %s\n", a.c_str());
      std::exit(2);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  dist::World world(&argc, &argv);
  const Options opt = parse(argc, argv);
  at::set_num_threads(1);
  const bool root = world.is_root();

  std::vector<torch::Tensor> params;
  int64_t total = 0;
  for (const auto& shape : model_shapes()) {
    params.push_back(torch::zeros(shape).set_requires_grad(true));
    total += params.back().numel();
  }
  const double bytes = static_cast<double>(total) * sizeof(float);
  if (root)
    std::printf("ranks %d, thread_multiple %s, %zu tensors, %.3f M floats (%.1f MB), %d iterations, %s backward\n",
                world.size(), world.thread_multiple() ? "yes" : "no", params.size(), total / 1e6, bytes / 1e6,
                opt.iters, opt.spin ? "spinning" : "sleeping");
  if (root)
    std::printf("gradients between steps: %s; mean: %s\n",
                opt.zero_grads ? "zeroed in place (the trainer's zero_grad)" : "set to none",
                opt.prescaled ? "loss prescaled by 1/ranks (the trainer's)" : "sums divided after the reduction");

  // Raw: one MPI_Allreduce of all the bytes at once (the best case for bandwidth).
  std::vector<float> flat(static_cast<size_t>(total), 1.0f);
  std::vector<double> raw;
  for (int i = 0; i < opt.iters + 2; ++i) {
    world.barrier();
    const double t = now();
    NUCSEG_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, flat.data(), static_cast<int>(total), MPI_FLOAT, MPI_SUM, world.comm()));
    if (i >= 2) raw.push_back(world.max(now() - t));
  }
  const double raw_s = median(raw);
  if (root)
    std::printf("raw MPI_Allreduce, one buffer:      %8.2f ms  %6.2f GB/s\n", raw_s * 1e3, bytes / raw_s / 1e9);

  // The synthetic backward alone, for the overlap arithmetic.
  std::vector<double> compute;
  for (int i = 0; i < std::max(3, opt.iters / 2); ++i) {
    world.barrier();
    const double t = now();
    backward(params, total, opt.backward_ms * 1e-3, opt.spin);
    compute.push_back(world.max(now() - t));
    reset_grads(params, opt.zero_grads);
  }
  const double compute_s = median(compute);
  if (root) std::printf("backward alone (no sync):           %8.2f ms\n", compute_s * 1e3);

  if (root)
    std::printf("%-9s %7s %7s | %10s %8s %10s %8s | %10s %10s %10s %8s %10s\n", "bucketMB", "buckets", "overlap",
                "allreduce", "GB/s", "raw", "vs raw", "step", "finishwait", "exposed", "hidden", "exp/raw");
  for (double mb : opt.buckets_mb)
    for (bool overlap : {true, false}) {
      dist::GradientSync sync(world, params, mb, overlap, dist::GradientSync::Transport::automatic,
                              opt.prescaled ? dist::GradientSync::Mean::prescaled : dist::GradientSync::Mean::divide);
      std::vector<double> reduce, wait, step, raw_here;
      for (int i = 0; i < opt.iters + 2; ++i) {
        reset_grads(params, opt.zero_grads);
        world.barrier();
        const double t = now();
        sync.begin_step();
        backward(params, total, opt.backward_ms * 1e-3, opt.spin, sync.loss_scale());
        sync.finish();
        const double elapsed = now() - t;
        if (i < 2) continue;
        const auto st = sync.last_stats();
        reduce.push_back(world.max(st.allreduce_seconds));
        wait.push_back(world.max(st.wait_seconds));
        step.push_back(world.max(elapsed));
        // The raw all-reduce again, right here, so a busy machine slows both alike.
        world.barrier();
        const double r = now();
        NUCSEG_MPI_CHECK(
            MPI_Allreduce(MPI_IN_PLACE, flat.data(), static_cast<int>(total), MPI_FLOAT, MPI_SUM, world.comm()));
        raw_here.push_back(world.max(now() - r));
      }
      const double reduce_s = median(reduce), wait_s = median(wait), step_s = median(step);
      const double raw_pair_s = median(raw_here);
      const double exposed = std::max(0.0, step_s - compute_s);
      // Hidden: the share of the reduction time that ran while backward was still going.
      const double hidden = reduce_s > 0 ? std::clamp(1.0 - exposed / reduce_s, 0.0, 1.0) : 0.0;
      if (root)
        std::printf("%-9g %7d %7s | %7.2f ms %8.2f %7.2f ms %7.2fx | %7.2f ms %7.2f ms %7.2f ms %7.0f%% %9.2fx\n", mb,
                    sync.bucket_count(), overlap ? "yes" : "no", reduce_s * 1e3, bytes / reduce_s / 1e9,
                    raw_pair_s * 1e3, reduce_s / raw_pair_s, step_s * 1e3, wait_s * 1e3, exposed * 1e3, hidden * 100,
                    exposed / raw_pair_s);
    }
  if (root)
    std::printf("allreduce: time inside MPI_Allreduce summed over buckets (max over ranks); raw: one raw all-reduce of the same bytes "
                "measured after each step; vs raw: the ratio (target <= 1.25x); finishwait: time finish() blocked; "
                "exposed: step - backward alone; hidden: 1 - exposed/allreduce; "
                "exp/raw: what the step pays for the all-reduce against one raw all-reduce of the same bytes\n");
  return 0;
}
