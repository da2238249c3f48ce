// Data-parallel training over 2 ranks equals single-rank training on the whole batch, keeps
// the replicas bit-identical, and survives unused and frozen parameters without deadlock.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <csignal>
#include <functional>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/core/signals.hpp"
#include "nucseg/dist/collectives.hpp"
#include "nucseg/dist/grad_sync.hpp"
#include "nucseg/dist/world.hpp"

namespace dist = nucseg::dist;

namespace {
int g_argc = 0;
char** g_argv = nullptr;

// A BatchNorm-free network: two convolutions, a pool and a linear head.
struct TinyNetImpl : torch::nn::Module {
  TinyNetImpl()
      : conv1(register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 6, 3).padding(1)))),
        conv2(register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(6, 8, 3).padding(1).stride(2)))),
        head(register_module("head", torch::nn::Linear(32, 3))) {}
  torch::Tensor forward(torch::Tensor x) {
    x = torch::relu(conv1(x));
    x = torch::relu(conv2(x));
    x = torch::adaptive_avg_pool2d(x, {2, 2}).flatten(1);
    return head(x);
  }
  torch::nn::Conv2d conv1;
  torch::nn::Conv2d conv2;
  torch::nn::Linear head;
};
TORCH_MODULE(TinyNet);

constexpr int kBatchPerRank = 4;
constexpr int kSteps = 5;

// The global batch of one step, identical on every rank.
std::pair<torch::Tensor, torch::Tensor> global_batch(int step, int ranks) {
  auto gen = at::detail::createCPUGenerator(1000 + step);
  auto x = torch::rand({kBatchPerRank * ranks, 3, 8, 8}, gen);
  auto y = torch::randint(0, 3, {kBatchPerRank * ranks}, gen);
  return {x, y};
}

TinyNet make_replica(const dist::World& world) {
  torch::manual_seed(10 + world.rank());  // different on purpose: the broadcast must fix it
  TinyNet net;
  dist::broadcast_parameters(world, *net);
  return net;
}

// Trains a replica for kSteps; `after_step` sees the model after every optimizer step.
using Transport = dist::GradientSync::Transport;

TinyNet train_distributed(const dist::World& world, double bucket_mb, bool overlap,
                          const std::function<void(TinyNet&)>& after_step = {},
                          Transport transport = Transport::automatic,
                          dist::GradientSync::Mean mean = dist::GradientSync::Mean::divide) {
  TinyNet net = make_replica(world);
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-2));
  dist::GradientSync sync(world, net->parameters(), bucket_mb, overlap, transport, mean);
  for (int step = 0; step < kSteps; ++step) {
    auto [x, y] = global_batch(step, world.size());
    auto mine = torch::indexing::Slice(world.rank() * kBatchPerRank, (world.rank() + 1) * kBatchPerRank);
    opt.zero_grad();
    sync.begin_step();
    (torch::nn::functional::cross_entropy(net->forward(x.index({mine})), y.index({mine})) * sync.loss_scale())
        .backward();
    sync.finish();
    opt.step();
    if (after_step) after_step(net);
  }
  return net;
}

double max_relative_difference(TinyNet& a, TinyNet& b) {
  double worst = 0;
  auto pa = a->parameters();
  auto pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i)
    worst = std::max(worst, ((pa[i] - pb[i]).norm() / pb[i].norm()).item<double>());
  return worst;
}

}  // namespace

TEST(GradientSync, TwoRanksEqualOneRankWithTheWholeBatch) {
  dist::World world(&g_argc, &g_argv);
  ASSERT_EQ(world.size(), 2);
  int checked_steps = 0;
  TinyNet net = train_distributed(world, 4.0, true, [&](TinyNet& model) {
    EXPECT_TRUE(dist::parameters_identical(world, *model)) << "replicas diverged at step " << checked_steps;
    ++checked_steps;
  });
  EXPECT_EQ(checked_steps, kSteps);
  if (world.rank() != 0) return;
  // The reference: rank 0 alone, same initial weights, the global batch of each step.
  torch::manual_seed(10);
  TinyNet reference;
  torch::optim::Adam opt(reference->parameters(), torch::optim::AdamOptions(1e-2));
  for (int step = 0; step < kSteps; ++step) {
    auto [x, y] = global_batch(step, world.size());
    opt.zero_grad();
    torch::nn::functional::cross_entropy(reference->forward(x), y).backward();
    opt.step();
  }
  torch::manual_seed(10);
  TinyNet initial;
  EXPECT_GT(max_relative_difference(initial, reference), 1e-3) << "training must move the weights";
  EXPECT_LT(max_relative_difference(net, reference), 1e-5);
}

TEST(GradientSync, BucketSizeAndOverlapDoNotChangeTheResult) {
  dist::World world(&g_argc, &g_argv);
  TinyNet many = train_distributed(world, 1e-6, true);   // every parameter its own bucket
  TinyNet one = train_distributed(world, 1000.0, true);  // a single bucket
  TinyNet serial = train_distributed(world, 1e-6, false);
  // The staging path (device buckets without CUDA-aware MPI), forced on host buckets: the same
  // sums through a second buffer, so the same bits.
  TinyNet staged_many = train_distributed(world, 1e-6, true, {}, Transport::staged);
  TinyNet staged_one = train_distributed(world, 1000.0, false, {}, Transport::staged);
  // The loss scaled by 1/2 before backward instead of the sums divided by 2 after: the same
  // bits on 2 ranks (a power of two).
  using Mean = dist::GradientSync::Mean;
  TinyNet prescaled_many = train_distributed(world, 1e-6, true, {}, Transport::automatic, Mean::prescaled);
  TinyNet prescaled_one = train_distributed(world, 1000.0, true, {}, Transport::automatic, Mean::prescaled);
  const uint64_t expected = dist::parameter_checksum(*many);
  EXPECT_EQ(dist::parameter_checksum(*prescaled_many), expected);
  EXPECT_EQ(dist::parameter_checksum(*prescaled_one), expected);
  EXPECT_EQ(dist::parameter_checksum(*one), expected);
  EXPECT_EQ(dist::parameter_checksum(*serial), expected);
  EXPECT_EQ(dist::parameter_checksum(*staged_many), expected);
  EXPECT_EQ(dist::parameter_checksum(*staged_one), expected);

  TinyNet net;
  dist::GradientSync tiny(world, net->parameters(), 1e-6);
  dist::GradientSync huge(world, net->parameters(), 1000.0);
  EXPECT_EQ(tiny.transport(), Transport::in_place) << "host buckets are reduced in place";
  EXPECT_EQ(tiny.loss_scale(), 1.0);
  EXPECT_EQ(dist::GradientSync(world, net->parameters(), 1.0, true, Transport::automatic, Mean::prescaled).loss_scale(),
            1.0 / world.size());
  EXPECT_EQ(tiny.bucket_count(), static_cast<int>(net->parameters().size()));
  EXPECT_EQ(huge.bucket_count(), 1);
  ASSERT_TRUE(world.thread_multiple()) << "OpenMPI offers MPI_THREAD_MULTIPLE: the overlap must be on";
  EXPECT_TRUE(tiny.overlapping());
  // Every gradient arrives during backward, so every bucket leaves before finish().
  tiny.begin_step();
  net->forward(torch::rand({2, 3, 8, 8})).sum().backward();
  tiny.finish();
  const auto stats = tiny.last_stats();
  EXPECT_EQ(stats.buckets, tiny.bucket_count());
  EXPECT_EQ(stats.early_buckets, tiny.bucket_count());
  EXPECT_GT(stats.bytes, 0);
  EXPECT_GE(stats.allreduce_seconds, 0);
}

// With an in-place zero_grad() (the optimizer's, as the trainer calls it) every param.grad is
// its bucket's memory from the first step on: autograd accumulates there and the reduced mean
// is read there, with no per-step copy or allocation. In one bucket the parameters lie in
// reverse registration order, back to back.
TEST(GradientSync, GradientsLiveInTheBucketAcrossSteps) {
  dist::World world(&g_argc, &g_argv);
  std::vector<const void*> first;
  int steps = 0;
  train_distributed(world, 1000.0, true, [&](TinyNet& model) {
    const auto params = model->parameters();
    std::vector<const void*> now;
    for (auto& p : params) now.push_back(p.grad().data_ptr());
    if (first.empty()) first = now;
    EXPECT_EQ(now, first) << "param.grad moved at step " << steps;
    for (size_t k = 0; k + 1 < params.size(); ++k) {
      const auto* here = static_cast<const char*>(params[k].grad().data_ptr());
      const auto* next = static_cast<const char*>(params[k + 1].grad().data_ptr());
      EXPECT_EQ(here, next + params[k + 1].numel() * params[k + 1].element_size())
          << "parameter " << k << " at step " << steps << " is not in the bucket";
    }
    ++steps;
  });
  ASSERT_EQ(steps, kSteps);
}

namespace {

// `branch` feeds the output only when asked (unused on some ranks in some steps), `never` is
// registered but never used, `frozen` is used but does not train.
struct BranchyNetImpl : torch::nn::Module {
  BranchyNetImpl()
      : trunk(register_module("trunk", torch::nn::Linear(6, 6))),
        branch(register_module("branch", torch::nn::Linear(6, 6))),
        never(register_module("never", torch::nn::Linear(6, 6))),
        frozen(register_module("frozen", torch::nn::Linear(6, 2))) {
    for (auto& p : frozen->parameters()) p.set_requires_grad(false);
  }
  torch::Tensor forward(torch::Tensor x, bool use_branch) {
    auto h = torch::tanh(trunk(x));
    if (use_branch) h = h + branch(x);
    return frozen(h);
  }
  torch::nn::Linear trunk, branch, never, frozen;
};
TORCH_MODULE(BranchyNet);

torch::Tensor grads_as_one(BranchyNet& net) {
  std::vector<torch::Tensor> parts;
  for (auto& p : net->parameters())
    if (p.grad().defined()) parts.push_back(p.grad().flatten());
  return torch::cat(parts);
}

}  // namespace

class UnusedAndFrozen : public testing::TestWithParam<Transport> {};

TEST_P(UnusedAndFrozen, NeitherDeadlockNorLeak) {
  dist::World world(&g_argc, &g_argv);
  torch::manual_seed(3);
  BranchyNet net;
  const auto frozen_before = net->frozen->weight.clone();
  dist::GradientSync sync(world, net->parameters(), 1e-6, true, GetParam());  // one bucket per parameter
  EXPECT_EQ(sync.bucket_count(), 6) << "frozen parameters are left out";
  for (int step = 0; step < 4; ++step) {
    // The branch runs on one rank only, a different one each step; on step 3 on none.
    const bool use_branch = step < 3 && world.rank() == step % 2;
    auto x = torch::rand({5, 6}, at::detail::createCPUGenerator(step * 7 + world.rank()));
    for (auto& p : net->parameters()) p.mutable_grad() = torch::Tensor();
    // Gradients accumulate onto what param.grad held before backward: give trunk a start value.
    auto local = torch::autograd::grad({net->forward(x, use_branch).pow(2).mean()}, {net->trunk->weight})[0];
    NUCSEG_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, local.data_ptr<float>(), static_cast<int>(local.numel()), MPI_FLOAT,
                                   MPI_SUM, world.comm()));
    // This rank's own branch gradient, computed apart: param.grad between backward and
    // finish() is the bucket, which the communication thread may already have reduced.
    torch::Tensor local_branch_grad;
    if (use_branch)
      local_branch_grad = torch::autograd::grad({net->forward(x, use_branch).pow(2).mean()}, {net->branch->weight})[0];
    const auto start = torch::full_like(local, 0.25);
    net->trunk->weight.mutable_grad() = start.clone();
    sync.begin_step();
    net->forward(x, use_branch).pow(2).mean().backward();
    sync.finish();
    EXPECT_TRUE(net->trunk->weight.grad().allclose(start + local / 2, 1e-5, 1e-7));
    EXPECT_FALSE(net->never->weight.grad().defined()) << "no rank had a gradient: stays undefined";
    EXPECT_FALSE(net->frozen->weight.grad().defined());
    if (step < 3) {
      ASSERT_TRUE(net->branch->weight.grad().defined()) << "rank " << world.rank() << " step " << step;
      if (use_branch) {
        EXPECT_TRUE(net->branch->weight.grad().equal(local_branch_grad / 2));
      }
    } else {
      EXPECT_FALSE(net->branch->weight.grad().defined());
    }
    auto all = grads_as_one(net).contiguous();
    EXPECT_TRUE(dist::all_equal(world, nucseg::fs::fnv1a(all.data_ptr(), all.numel() * all.element_size())));
  }
  EXPECT_TRUE(net->frozen->weight.equal(frozen_before));
}
INSTANTIATE_TEST_SUITE_P(GradientSync, UnusedAndFrozen, testing::Values(Transport::automatic, Transport::staged),
                         [](const testing::TestParamInfo<Transport>& info) {
                           return info.param == Transport::staged ? "staged" : "automatic";
                         });

TEST(GradientSync, DifferentParameterListsFailOnEveryRankInsteadOfHanging) {
  dist::World world(&g_argc, &g_argv);
  BranchyNet net;
  if (world.rank() == 1) net->trunk->bias.set_requires_grad(false);
  EXPECT_THROW(dist::GradientSync(world, net->parameters(), 1.0), nucseg::Error);
  TinyNet other;
  if (world.rank() == 1) {
    EXPECT_THROW(dist::broadcast_parameters(world, *net), nucseg::Error);
  }
  if (world.rank() == 0) {
    EXPECT_THROW(dist::broadcast_parameters(world, *other), nucseg::Error);
  }
}

TEST(Collectives, SumsAndStopAgreement) {
  dist::World world(&g_argc, &g_argv);
  std::vector<double> metrics = {1.0 + world.rank(), 0.5};
  dist::sum_in_place(world, metrics);
  EXPECT_EQ(metrics, (std::vector<double>{3.0, 1.0}));
  std::vector<int64_t> counts = {world.rank() == 0 ? 5 : 7};
  dist::sum_in_place(world, counts);
  EXPECT_EQ(counts[0], 12);
  std::vector<double> ragged(static_cast<size_t>(world.rank() + 1), 1.0);
  EXPECT_THROW(dist::sum_in_place(world, ragged), nucseg::Error);
  EXPECT_TRUE(dist::all_equal(world, 42));
  EXPECT_FALSE(dist::all_equal(world, static_cast<uint64_t>(world.rank())));

  nucseg::StopSignal::install();
  nucseg::StopSignal::reset();
  EXPECT_FALSE(dist::agree_to_stop(world));
  if (world.rank() == 1) nucseg::StopSignal::raise_for_test(SIGTERM);
  EXPECT_TRUE(dist::agree_to_stop(world)) << "a signal on one rank stops every rank";
  nucseg::StopSignal::reset();
}
