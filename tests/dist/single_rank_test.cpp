// With one rank (no mpirun) the distributed helpers are cheap no-ops that change nothing.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "nucseg/core/error.hpp"
#include "nucseg/dist/collectives.hpp"
#include "nucseg/dist/grad_sync.hpp"
#include "nucseg/dist/world.hpp"

namespace dist = nucseg::dist;

namespace {
// MPI may be initialised only once per process: one world for every test here.
const dist::World& the_world() {
  static dist::World world(nullptr, nullptr);
  return world;
}
}  // namespace

TEST(SingleRank, OneRankTakesThePlainTransportUnlessTheUserChose) {
  // The decision reads the environment only: each case sets what a launcher would. Every variable
  // touched is restored afterwards (a run of this binary under mpirun or srun keeps its own).
  const std::vector<std::string> names{"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE",
                                       "SLURM_STEP_ID", "SLURM_STEP_NUM_TASKS", "OMPI_MCA_pml"};
  std::vector<std::optional<std::string>> saved;
  for (const auto& n : names) {
    const char* v = std::getenv(n.c_str());
    saved.push_back(v ? std::optional<std::string>(v) : std::nullopt);
  }
  auto decide = [&](std::map<std::string, std::string> env) {
    for (const auto& n : names) {
      if (env.count(n)) ::setenv(n.c_str(), env[n].c_str(), 1);
      else ::unsetenv(n.c_str());
    }
    const bool set = dist::prefer_plain_transport_for_one_rank();
    const char* pml = std::getenv("OMPI_MCA_pml");
    return std::make_pair(set, std::string(pml ? pml : ""));
  };
  const auto ob1 = std::make_pair(true, std::string("ob1"));
  const auto none = std::make_pair(false, std::string(""));
  EXPECT_EQ(decide({}), ob1);                                                   // no launcher
  EXPECT_EQ(decide({{"OMPI_COMM_WORLD_SIZE", "1"}, {"PMIX_RANK", "0"}}), ob1);  // mpirun -n 1
  EXPECT_EQ(decide({{"OMPI_COMM_WORLD_SIZE", "2"}, {"PMIX_RANK", "0"}}), none); // mpirun -n 2
  EXPECT_EQ(decide({{"PMIX_RANK", "0"}}), none);                                // srun --mpi=pmix
  EXPECT_EQ(decide({{"PMI_RANK", "0"}, {"PMI_SIZE", "4"}}), none);              // srun --mpi=pmi2
  EXPECT_EQ(decide({{"SLURM_STEP_ID", "0"}, {"SLURM_STEP_NUM_TASKS", "4"}}), none);  // srun -n 4, no PMI
  EXPECT_EQ(decide({{"SLURM_STEP_ID", "0"}, {"SLURM_STEP_NUM_TASKS", "1"}}), ob1);   // srun -n 1, no PMI
  EXPECT_EQ(decide({{"OMPI_COMM_WORLD_SIZE", "1"}, {"OMPI_MCA_pml", "ucx"}}), std::make_pair(false, std::string("ucx")));
  EXPECT_EQ(decide({{"OMPI_MCA_pml", "ucx"}}), std::make_pair(false, std::string("ucx")));
  for (size_t i = 0; i < names.size(); ++i) {
    if (saved[i]) ::setenv(names[i].c_str(), saved[i]->c_str(), 1);
    else ::unsetenv(names[i].c_str());
  }
}

TEST(SingleRank, GradientSyncLeavesGradientsAlone) {
  const dist::World& world = the_world();
  ASSERT_EQ(world.size(), 1);
  torch::manual_seed(1);
  torch::nn::Linear net(4, 2);
  dist::GradientSync sync(world, net->parameters(), 4.0);
  EXPECT_EQ(sync.bucket_count(), 0);
  sync.begin_step();
  net(torch::ones({3, 4})).sum().backward();
  const auto grad = net->weight.grad().clone();
  sync.finish();
  EXPECT_TRUE(net->weight.grad().equal(grad));
  EXPECT_EQ(sync.last_stats().buckets, 0);
  EXPECT_EQ(sync.last_stats().bytes, 0);

  const uint64_t before = dist::parameter_checksum(*net);
  dist::broadcast_parameters(world, *net);
  EXPECT_EQ(dist::parameter_checksum(*net), before);
  EXPECT_TRUE(dist::parameters_identical(world, *net));
  EXPECT_EQ(dist::sum(world, {1.5, 2.0}), (std::vector<double>{1.5, 2.0}));
}

TEST(SingleRank, ChecksumSeesEveryBit) {
  torch::manual_seed(2);
  torch::nn::Linear net(4, 2);
  const uint64_t before = dist::parameter_checksum(*net);
  torch::NoGradGuard no_grad;
  auto* data = net->bias.data_ptr<float>();
  data[1] = std::nextafter(data[1], 1e9f);
  EXPECT_NE(dist::parameter_checksum(*net), before);
}

TEST(SingleRank, RejectsANonPositiveBucketSize) {
  const dist::World& world = the_world();
  torch::nn::Linear net(4, 2);
  EXPECT_THROW(dist::GradientSync(world, net->parameters(), 0.0), nucseg::Error);
}

TEST(SingleRank, BucketPlanPacksInReverseOrderWithinTheCapacity) {
  // 1 MiB buckets; float parameters of 0.5, 0.5, 0.75 and 0.25 MiB, one frozen, one double.
  const int64_t quarter = 1024 * 1024 / 4 / 4;  // floats in 0.25 MiB
  std::vector<torch::Tensor> params = {
      torch::zeros({2 * quarter}).set_requires_grad(true), torch::zeros({2 * quarter}).set_requires_grad(true),
      torch::zeros({5}),  // frozen: not planned
      torch::zeros({3 * quarter}).set_requires_grad(true), torch::zeros({quarter}).set_requires_grad(true),
      torch::zeros({7}, torch::kDouble).set_requires_grad(true)};
  const auto plan = dist::plan_gradient_buckets(params, 1.0);
  ASSERT_EQ(plan.size(), 5u) << "one entry per trainable parameter";
  // Reverse order: the double starts bucket 0; the floats fill 1 MiB buckets from the back.
  EXPECT_EQ(plan[4].bucket, 0);
  EXPECT_EQ(plan[4].offset, 0);
  EXPECT_EQ(plan[3].bucket, 1);  // 0.25 MiB
  EXPECT_EQ(plan[3].offset, 0);
  EXPECT_EQ(plan[2].bucket, 1);  // + 0.75 MiB = 1 MiB
  EXPECT_EQ(plan[2].offset, quarter);
  EXPECT_EQ(plan[1].bucket, 2);  // would exceed: a new bucket
  EXPECT_EQ(plan[0].bucket, 2);
  EXPECT_EQ(plan[0].offset, 2 * quarter);
  EXPECT_EQ(plan[0].numel, 2 * quarter);
  // A parameter larger than the capacity gets a bucket of its own.
  const auto big = dist::plan_gradient_buckets({torch::zeros({8 * quarter}).set_requires_grad(true),
                                                torch::zeros({1}).set_requires_grad(true)},
                                               1.0);
  EXPECT_EQ(big[1].bucket, 0);
  EXPECT_EQ(big[0].bucket, 1);
  EXPECT_THROW(dist::plan_gradient_buckets({torch::zeros({2}, torch::kHalf).set_requires_grad(true)}, 1.0),
               nucseg::Error);
}

namespace {

// A net with a branch that is used only when asked and a frozen layer.
struct TwoBranchImpl : torch::nn::Module {
  TwoBranchImpl()
      : a(register_module("a", torch::nn::Linear(5, 4))),
        b(register_module("b", torch::nn::Linear(5, 4))),
        frozen(register_module("frozen", torch::nn::Linear(4, 2))) {
    for (auto& p : frozen->parameters()) p.set_requires_grad(false);
  }
  torch::Tensor forward(const torch::Tensor& x, bool use_b) {
    auto h = torch::tanh(a(x));
    if (use_b) h = h * b(x);
    return frozen(h);
  }
  torch::nn::Linear a, b, frozen;
};
TORCH_MODULE(TwoBranch);

// The gradients of one backward through a GradientSync with `transport` on one rank (MPI sums
// over one rank and divides by one: every bucket is packed, reduced and unpacked unchanged).
std::vector<torch::Tensor> grads_through(dist::GradientSync::Transport transport, double bucket_mb, bool overlap,
                                         bool use_b) {
  torch::manual_seed(4);
  TwoBranch net;
  dist::GradientSync sync(the_world(), net->parameters(), bucket_mb, overlap, transport);
  EXPECT_EQ(sync.transport(), transport);
  EXPECT_GE(sync.bucket_count(), 1);
  net->a->bias.mutable_grad() = torch::full({4}, 0.5);  // accumulates onto what was there
  sync.begin_step();
  net->forward(torch::rand({3, 5}, at::detail::createCPUGenerator(9)), use_b).pow(2).sum().backward();
  sync.finish();
  EXPECT_EQ(sync.last_stats().buckets, sync.bucket_count());
  std::vector<torch::Tensor> grads;
  for (auto& p : net->parameters()) grads.push_back(p.grad().defined() ? p.grad().clone() : torch::Tensor());
  return grads;
}

}  // namespace

TEST(SingleRank, StagedAndInPlaceBucketsUnpackEveryGradientUnchanged) {
  using T = dist::GradientSync::Transport;
  for (bool use_b : {true, false}) {
    // The reference: plain autograd, no GradientSync.
    torch::manual_seed(4);
    TwoBranch net;
    net->a->bias.mutable_grad() = torch::full({4}, 0.5);
    net->forward(torch::rand({3, 5}, at::detail::createCPUGenerator(9)), use_b).pow(2).sum().backward();
    for (T transport : {T::in_place, T::staged})
      for (double mb : {1e-6, 1000.0})
        for (bool overlap : {true, false}) {
          const auto grads = grads_through(transport, mb, overlap, use_b);
          const auto params = net->parameters();
          ASSERT_EQ(grads.size(), params.size());
          for (size_t k = 0; k < params.size(); ++k) {
            const auto& want = params[k].grad();
            ASSERT_EQ(grads[k].defined(), want.defined())
                << "parameter " << k << (transport == T::staged ? " staged" : " in place") << " use_b " << use_b;
            if (want.defined()) {
              EXPECT_TRUE(grads[k].equal(want)) << "parameter " << k << " bucket_mb " << mb;
            }
          }
        }
  }
}
