// TileSharing on 2 ranks, driven directly (no tiler, no images): the owner computes later
// batches while it waits for a helper's result, at most TileSharing::kMaxAhead of them, and a
// helper computes its next batch while the owner has not yet received the last one.
// The ranks meet through marker files: each waits (at most 20 s) for a state the other can
// only reach if the behaviour under test exists, and records whether it had to give up.
#include "nucseg/infer/tile_sharing.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "nucseg/dist/world.hpp"
#include "test_util.hpp"

namespace {

namespace stdfs = std::filesystem;
using nucseg::infer::TileSharing;
using nucseg::testing::touch;

int g_argc = 0;
char** g_argv = nullptr;

// Large enough that a blocking send waits for the receive (no eager copy): 4 MB per result.
constexpr size_t kFloats = size_t{1} << 20;
constexpr size_t kBatches = 12;

// Waits until `p` exists; false after 20 s.
bool wait_for(const stdfs::path& p) {
  for (int i = 0; i < 2000; ++i) {
    if (stdfs::exists(p)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

void fill(size_t item, size_t index, std::vector<float>& out) {
  out.assign(kFloats, static_cast<float>(item * 1000 + index));
}

TEST(TileSharing, OwnerComputesAheadAndHelpersDoNotWaitForTheReceive) {
  nucseg::dist::World world(&g_argc, &g_argv);  // MPI already up: adopts it
  ASSERT_EQ(world.size(), 2);
  std::string root = world.is_root() ? (stdfs::temp_directory_path() / ("nucseg-tiles-" + std::to_string(::getpid()))).string() : "";
  world.broadcast(root);
  const stdfs::path marks(root);
  if (world.is_root()) {
    stdfs::remove_all(marks);
    stdfs::create_directories(marks);
  }
  world.barrier();

  TileSharing sharing(world);
  std::string helper_problems;
  if (world.rank() == 0) {
    // Item 0: the owner's first batch waits until the helper has taken one (batch h: 1 as a
    // rule, 0 when the helper claimed before the owner); the helper then holds batch h until
    // the owner has computed its h batches before it and kMaxAhead after it. An owner that
    // waited for batch h instead would stop at h + 1 and leave both waiting.
    // Failures are EXPECTs: an ASSERT's early return would leave the helper waiting for ever.
    size_t computed = 0;
    bool helper_started = true;
    auto compute0 = [&](size_t index, std::vector<float>& out) {
      if (computed == 0) helper_started = wait_for(marks / "helper-started");
      fill(0, index, out);
      touch(marks / ("owner-" + std::to_string(++computed)));
    };
    sharing.open(0, kBatches);
    std::vector<float> out;
    for (size_t i = 0; i < kBatches; ++i) {
      sharing.logits(i, compute0, out);
      EXPECT_EQ(out.size(), kFloats) << "batch " << i;
      if (out.size() != kFloats) continue;
      EXPECT_EQ(out.front(), static_cast<float>(i)) << "batch " << i;
      EXPECT_EQ(out.back(), static_cast<float>(i)) << "batch " << i;
    }
    sharing.close();
    EXPECT_TRUE(helper_started) << "the helper took no batch within 20 s";
    touch(marks / "item0-done");

    // Item 1: the owner's first batch waits until the helper has finished two batches, which a
    // helper blocked in sending its first result (the owner receives only after this batch)
    // could not do.
    bool helper_went_on = true;
    bool first = true;
    auto compute1 = [&](size_t index, std::vector<float>& out) {
      if (first) helper_went_on = wait_for(marks / "helper-finished-2");
      first = false;
      fill(1, index, out);
    };
    sharing.open(1, kBatches);
    for (size_t i = 0; i < kBatches; ++i) {
      sharing.logits(i, compute1, out);
      EXPECT_EQ(out.size(), kFloats) << "item 1 batch " << i;
      if (out.size() == kFloats) {
        EXPECT_EQ(out.front(), static_cast<float>(1000 + i)) << "item 1 batch " << i;
      }
    }
    sharing.close();
    EXPECT_TRUE(helper_went_on) << "the helper did not compute a second batch before its first was received";
    EXPECT_GE(sharing.batches_from_helpers(), 3);  // batch 1 of item 0, two of item 1
    sharing.finish_own_work();
  } else {
    sharing.finish_own_work();
    long current = -1;
    int finished_of_item1 = 0;
    bool owner_went_ahead = true, cap_reached = true, cap_kept = true;
    auto prepare = [&](long item) {
      current = item;
      return kBatches;
    };
    auto compute = [&](size_t index, std::vector<float>& out) {
      if (current == 0 && !stdfs::exists(marks / "helper-started")) {
        touch(marks / "helper-started");
        // Batch `index` is ours; the owner computes the `index` batches before it, then later
        // ones meanwhile and, at its limit, waits for this one without computing another.
        auto owner_mark = [&](size_t n) { return marks / ("owner-" + std::to_string(n)); };
        owner_went_ahead = wait_for(owner_mark(index + 2));
        cap_reached = wait_for(owner_mark(index + TileSharing::kMaxAhead));
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        cap_kept = !stdfs::exists(owner_mark(index + TileSharing::kMaxAhead + 1));
      }
      // Item 1 waits for item 0's end, so the helper's work on it starts as the test says.
      if (current == 1 && finished_of_item1 == 0) wait_for(marks / "item0-done");
      fill(static_cast<size_t>(current), index, out);
      if (current == 1 && ++finished_of_item1 == 2) touch(marks / "helper-finished-2");
    };
    const long helped = sharing.help_until_all_done(prepare, compute, [] { return false; });
    if (!owner_went_ahead) helper_problems += "the owner waited for the helper's batch instead of computing later ones; ";
    if (!cap_reached) helper_problems += "the owner did not compute kMaxAhead batches ahead; ";
    if (!cap_kept) helper_problems += "the owner computed more than kMaxAhead batches ahead; ";
    if (helped < 3) helper_problems += "the helper computed " + std::to_string(helped) + " batches, not 3 or more; ";
  }
  // The helper's findings, shown by rank 0 (the only rank that prints).
  world.broadcast(helper_problems, 1);
  EXPECT_EQ(helper_problems, "");
  world.barrier();
  if (world.is_root()) stdfs::remove_all(marks);
}

}  // namespace
