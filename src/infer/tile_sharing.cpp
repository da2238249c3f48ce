#include "nucseg/infer/tile_sharing.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <exception>
#include <limits>
#include <set>
#include <string>
#include <thread>

#include "nucseg/core/error.hpp"
#include "nucseg/core/logging.hpp"

namespace nucseg::infer {
namespace {

// Slot layout: item + 1 (bits 40..63, 0: closed) | batches (bits 20..39) | handed out (0..19).
// One word, so one fetch-and-add both takes a batch and says of which image and how many it has.
// (Only fetch-and-op: Open MPI 4.1's emulated compare-and-swap on shared memory crashed here.)
constexpr int kCountBits = 20;
constexpr long kCountMask = (1L << kCountBits) - 1;
constexpr int kItemShift = 2 * kCountBits;
constexpr long kMaxItem = (1L << 23) - 2;
// Handed-out counts may pass the batch count by up to one per rank (takes that find nothing).
constexpr size_t kMaxBatches = static_cast<size_t>(kCountMask) - 65536;

long item_of(long slot) { return (slot >> kItemShift) - 1; }  // -1: closed
size_t batches_of(long slot) { return static_cast<size_t>((slot >> kCountBits) & kCountMask); }
size_t handed_of(long slot) { return static_cast<size_t>(slot & kCountMask); }

}  // namespace

TileSharing::TileSharing(const dist::World& world) : world_(world) {
  NUCSEG_MPI_CHECK(MPI_Comm_dup(world.comm(), &comm_));
  const int slots = world.size() + 1;
  MPI_Aint bytes = world.rank() == 0 ? static_cast<MPI_Aint>(slots * sizeof(long)) : 0;
  NUCSEG_MPI_CHECK(MPI_Win_allocate(bytes, sizeof(long), MPI_INFO_NULL, comm_, &board_, &win_));
  if (world.rank() == 0) {
    NUCSEG_MPI_CHECK(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, win_));
    std::fill(board_, board_ + slots, 0L);
    NUCSEG_MPI_CHECK(MPI_Win_unlock(0, win_));
  }
  int* tag_ub = nullptr;
  int found = 0;
  NUCSEG_MPI_CHECK(MPI_Comm_get_attr(comm_, MPI_TAG_UB, &tag_ub, &found));
  max_batches_ = found && tag_ub ? static_cast<size_t>(*tag_ub) + 1 : 32768;  // batch indices are message tags
  world.barrier();
}

bool TileSharing::worth_sharing(long item, size_t batches, size_t floats_per_batch) const {
  return world_.size() > 1 && world_.size() < 65536 && item >= 0 && item <= kMaxItem && batches > 1 &&
         batches <= std::min(max_batches_, kMaxBatches) &&
         floats_per_batch <= static_cast<size_t>(std::numeric_limits<int>::max());  // one MPI_Isend count
}

long TileSharing::board_op(int slot, long operand, MPI_Op op) {
  long previous = 0;
  // The window's accumulates default to "same_op_no_op": concurrent MPI_SUM and MPI_NO_OP on a
  // word are atomic with each other, an MPI_REPLACE among them is not. The owner's REPLACE (open,
  // close) therefore runs alone, under an exclusive lock; the helpers' SUMs share theirs.
  NUCSEG_MPI_CHECK(MPI_Win_lock(op == MPI_REPLACE ? MPI_LOCK_EXCLUSIVE : MPI_LOCK_SHARED, 0, 0, win_));
  NUCSEG_MPI_CHECK(MPI_Fetch_and_op(op == MPI_NO_OP ? nullptr : &operand, &previous, MPI_LONG, 0, slot, op, win_));
  NUCSEG_MPI_CHECK(MPI_Win_unlock(0, win_));
  return previous;
}

TileSharing::~TileSharing() {
  // Both frees are collective: while an exception unwinds this rank they could wait forever for
  // ranks that are still working. Left to the abort that follows (cli::run_tool).
  if (std::uncaught_exceptions() > 0) return;
  // Not checked: destructors must not throw.
  if (win_ != MPI_WIN_NULL) MPI_Win_free(&win_);
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

void TileSharing::open(long item, size_t batches) {
  if (open_) throw_runtime("tile sharing: an image is already open on this rank");
  if (!worth_sharing(item, batches, 0))
    throw_runtime("tile sharing: item " + std::to_string(item) + " of " + std::to_string(batches) + " batches is not shared");
  board_op(world_.rank(), ((item + 1) << kItemShift) | (static_cast<long>(batches) << kCountBits), MPI_REPLACE);
  open_ = true;
  batches_ = batches;
  claimed_ = taken_here_ = received_ = 0;
  ready_.clear();
  ahead_.clear();
  failed_.clear();
}

long TileSharing::claim_own() { return static_cast<long>(handed_of(board_op(world_.rank(), 1, MPI_SUM))); }

void TileSharing::receive_one() {
  MPI_Status status;
  NUCSEG_MPI_CHECK(MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm_, &status));
  receive(status);
}

bool TileSharing::receive_arrived() {
  bool any = false;
  for (;;) {
    int flag = 0;
    MPI_Status status;
    NUCSEG_MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm_, &flag, &status));
    if (!flag) return any;
    receive(status);
    any = true;
  }
}

void TileSharing::receive(const MPI_Status& status) {
  int count = 0;
  NUCSEG_MPI_CHECK(MPI_Get_count(&status, MPI_FLOAT, &count));
  std::vector<float> data(static_cast<size_t>(count));
  NUCSEG_MPI_CHECK(MPI_Recv(data.data(), count, MPI_FLOAT, status.MPI_SOURCE, status.MPI_TAG, comm_, MPI_STATUS_IGNORE));
  const auto index = static_cast<size_t>(status.MPI_TAG);
  ++received_;
  ++received_total_;
  if (count == 0) failed_[index] = true;
  else ready_[index] = std::move(data);
}

void TileSharing::logits(size_t index, const std::function<void(size_t, std::vector<float>&)>& compute,
                         std::vector<float>& out) {
  if (!open_ || index >= batches_) throw_runtime("tile sharing: batch " + std::to_string(index) + " of no open image");
  // Results that arrived meanwhile are taken in first: a helper's send may wait for this receive.
  receive_arrived();
  for (;;) {
    if (auto it = ready_.find(index); it != ready_.end()) {
      out = std::move(it->second);
      ready_.erase(it);
      ahead_.erase(index);
      return;
    }
    if (auto it = failed_.find(index); it != failed_.end()) {
      // The helper that took it could not compute it (could not read the image, ran out of
      // memory): compute it here.
      failed_.erase(it);
      compute(index, out);
      return;
    }
    if (index < claimed_) {  // a helper took it
      if (receive_arrived()) continue;
      // Its result is not in yet: compute a later batch meanwhile rather than wait idle (a
      // helper's batch takes as long as one here, so waiting had left this rank idle for about
      // half of a shared image). At most kMaxAhead such results are held; helpers' results wait
      // here too, at most one per batch a helper took.
      if (ahead_.size() >= kMaxAhead || claimed_ >= batches_) {
        receive_one();
        continue;
      }
    }
    const long b = claim_own();
    if (b >= static_cast<long>(batches_)) {
      claimed_ = batches_;
      continue;
    }
    claimed_ = static_cast<size_t>(b) + 1;
    ++taken_here_;
    std::vector<float> mine;
    compute(static_cast<size_t>(b), mine);
    if (static_cast<size_t>(b) == index) {
      out = std::move(mine);
      return;
    }
    ready_[static_cast<size_t>(b)] = std::move(mine);
    ahead_.insert(static_cast<size_t>(b));
  }
}

void TileSharing::close() {
  if (!open_) return;
  const long old = board_op(world_.rank(), 0, MPI_REPLACE);
  open_ = false;
  // Every batch handed out was taken here or owes a message: receive the rest (a helper at its
  // limit of sends in flight waits for them).
  const size_t handed = std::min(handed_of(old), batches_);  // takes past the end took nothing
  while (taken_here_ + received_ < handed) receive_one();
  ready_.clear();
  ahead_.clear();
  failed_.clear();
}

void TileSharing::finish_own_work() {
  if (finished_) return;
  finished_ = true;
  board_op(world_.size(), 1, MPI_SUM);
}

std::vector<long> TileSharing::read_board() {
  std::vector<long> values(static_cast<size_t>(world_.size()) + 1, 0);
  const int n = static_cast<int>(values.size());
  NUCSEG_MPI_CHECK(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win_));
  NUCSEG_MPI_CHECK(MPI_Get_accumulate(nullptr, 0, MPI_LONG, values.data(), n, MPI_LONG, 0, 0, n, MPI_LONG, MPI_NO_OP,
                                      win_));
  NUCSEG_MPI_CHECK(MPI_Win_unlock(0, win_));
  return values;
}

long TileSharing::help_until_all_done(const std::function<size_t(long item)>& prepare,
                                      const std::function<void(size_t, std::vector<float>&)>& compute,
                                      const std::function<bool()>& stop) {
  long helped = 0, prepared = -1;
  size_t prepared_batches = 0;
  std::set<long> unreadable;  // items this rank failed to prepare: never taken again
  std::vector<float> logits, spare;  // spare: a sent result's buffer, reused for the next batch
  struct Send {
    std::vector<float> data;
    MPI_Request request;
  };
  // Results on their way to owners, oldest first. Should an exception leave this function with
  // sends in flight, their buffers stay allocated: an owner may still be reading them, and the
  // job is aborted next (cli::run_tool). Moving a deque keeps its elements where they are.
  struct InFlight {
    std::deque<Send> sends;
    ~InFlight() {
      if (!sends.empty()) new std::deque<Send>(std::move(sends));  // deliberately never freed
    }
  } in_flight;
  auto& sends = in_flight.sends;
  auto finish_oldest_send = [&] {
    NUCSEG_MPI_CHECK(MPI_Wait(&sends.front().request, MPI_STATUS_IGNORE));
    spare = std::move(sends.front().data);
    sends.pop_front();
  };
  // Reads `item` before taking any of its batches, so its owner never waits on this read.
  auto ready_for = [&](long item, size_t batches) {
    if (unreadable.count(item)) return false;
    if (item != prepared) {
      prepared_batches = prepare(item);
      prepared = item;
      if (prepared_batches == 0) unreadable.insert(item);
    }
    return prepared_batches == batches;
  };
  while (!stop()) {
    const auto board = read_board();
    if (board.back() >= world_.size()) break;  // every rank's own work is done
    bool worked = false;
    for (int r = 0; r < world_.size() && !stop(); ++r) {
      long slot = board[static_cast<size_t>(r)];
      while (r != world_.rank() && item_of(slot) >= 0 && handed_of(slot) < batches_of(slot) &&
             ready_for(item_of(slot), batches_of(slot)) && !stop()) {
        slot = board_op(r, 1, MPI_SUM);
        // `slot` is now the value this take saw: closed (the owner's next open overwrites the
        // increment), all handed out (nothing taken), or batch `index` of `item`, which may be
        // a newer image than the board showed: it is ours to compute either way.
        const long item = item_of(slot);
        const size_t index = handed_of(slot);
        if (item < 0 || index >= batches_of(slot)) break;
        logits = std::move(spare);
        logits.clear();
        try {
          if (!ready_for(item, batches_of(slot))) throw_runtime("image not readable here, or tiled differently");
          compute(index, logits);
        } catch (const std::exception& e) {
          log::rank().warn("tile batch {} of an image of rank {} failed here (its owner computes it): {}", index, r,
                           e.what());
          logits.clear();  // an empty result: the owner computes the batch itself
        }
        // Sent without waiting: the owner receives between its own batches, and a blocking send
        // would idle this rank until then. At most kMaxSendsInFlight results are held here.
        while (sends.size() >= kMaxSendsInFlight) finish_oldest_send();
        sends.push_back({std::move(logits), MPI_REQUEST_NULL});
        auto& send = sends.back();
        NUCSEG_MPI_CHECK(MPI_Isend(send.data.data(), static_cast<int>(send.data.size()), MPI_FLOAT, r,
                                   static_cast<int>(index), comm_, &send.request));
        ++helped;
        worked = true;
        slot = board_op(r, 0, MPI_NO_OP);
      }
    }
    if (!worked) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // Every owner receives what it was sent before it leaves (close()), so these complete.
  while (!sends.empty()) finish_oldest_send();
  return helped;
}

}  // namespace nucseg::infer
