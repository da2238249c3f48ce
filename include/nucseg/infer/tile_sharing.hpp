// Idle ranks compute tile batches of images other ranks are still working on, so one huge
// image does not leave the other ranks waiting once the image queue is empty.
//
// A board in an MPI window on rank 0 holds one word per rank: 0, or the image item it works on,
// its number of tile batches and how many are handed out. The owner of an image opens its
// slot, then asks for batch 0, 1, ... in order (logits()): a batch nobody has taken yet it
// takes (fetch-and-add) and computes itself; one a helper took it receives from that helper,
// and while that result is not in it computes later batches (at most kMaxAhead held). Ranks
// whose queue is empty scan the board and take batches with the same fetch-and-add; the
// value it returns names the image and batch taken (possibly a newer image of that owner than
// the board showed), which the helper reads itself, computes and sends to the owner without
// waiting for the receive (at most kMaxSendsInFlight held). The owner blends in batch order,
// so its result is the same whoever computed a batch.
//
// Termination: the board's last slot counts ranks whose own work is done; helpers stop when it
// reaches the world size (an owner counts itself only after its last image is finished, and
// waits for every batch a helper took). A helper reads an image before taking any of its
// batches and skips images it cannot read; one whose computation fails sends an empty result
// and the owner computes that batch itself.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <vector>

#include <mpi.h>

#include "nucseg/dist/world.hpp"

namespace nucseg::infer {

class TileSharing final {
 public:
  // Owner: batches computed here ahead of their turn while a helper's result is awaited.
  static constexpr size_t kMaxAhead = 4;
  // Helper: results sent and not yet received by their owner.
  static constexpr size_t kMaxSendsInFlight = 2;

  // Collective over `world`.
  explicit TileSharing(const dist::World& world);
  ~TileSharing();  // collective (MPI_Win_free, MPI_Comm_free), except while an exception unwinds
  TileSharing(const TileSharing&) = delete;
  TileSharing& operator=(const TileSharing&) = delete;

  // --- owner side ---
  // Whether image `item` of `batches` tile batches is shared: more than one rank, more than one
  // batch, an item and batch indices that fit the board word and MPI message tags, and a
  // batch's logits (`floats_per_batch`) that fit one message.
  bool worth_sharing(long item, size_t batches, size_t floats_per_batch) const;
  // Publishes image `item` (an index every rank can resolve) with `batches` tile batches.
  void open(long item, size_t batches);
  // Batch `index`'s logits, for index = 0, 1, ... in order: computed here with `compute`
  // (given a batch index) or received from the helper that took it.
  void logits(size_t index, const std::function<void(size_t, std::vector<float>&)>& compute,
              std::vector<float>& out);
  // Withdraws the image and receives (discarding) every result helpers still owe; call after
  // the last batch and on failure.
  void close();

  // --- helper side ---
  // This rank takes no more images of its own: once per run, before helping or leaving (later
  // calls do nothing), also when the rank leaves by an exception.
  void finish_own_work();
  // Helps owners until every rank has finished its own work or `stop()` turns true.
  // prepare(item): the image's batch count (0: cannot help with it; it stays loaded until the
  // next prepare); compute(index, logits): that batch of the prepared image. Returns the number
  // of batches computed for other ranks.
  long help_until_all_done(const std::function<size_t(long item)>& prepare,
                           const std::function<void(size_t, std::vector<float>&)>& compute,
                           const std::function<bool()>& stop);

  long batches_from_helpers() const { return received_total_; }  // owner side, this run

 private:
  long board_op(int slot, long operand, MPI_Op op);  // one atomic op on a board word; its old value
  long claim_own();  // owner: fetch-and-add on its slot; the batch index taken
  void receive_one();      // blocks until one result arrives
  bool receive_arrived();  // takes every result already arrived, without blocking; whether any
  void receive(const MPI_Status& status);
  std::vector<long> read_board();

  const dist::World& world_;
  MPI_Comm comm_ = MPI_COMM_NULL;
  MPI_Win win_ = MPI_WIN_NULL;
  long* board_ = nullptr;  // rank 0: world size slots + the done counter
  size_t max_batches_ = 0;

  bool open_ = false;
  bool finished_ = false;
  size_t batches_ = 0;
  size_t claimed_ = 0;   // batch indices known to be handed out (by this rank or helpers)
  size_t taken_here_ = 0;  // batch indices this rank took (it computes them or fails the image)
  size_t received_ = 0;  // results received from helpers (open image)
  long received_total_ = 0;
  std::map<size_t, std::vector<float>> ready_;  // results not yet handed to the tiler
  std::set<size_t> ahead_;  // those of ready_ computed here ahead of their turn
  std::map<size_t, bool> failed_;               // batches whose helper sent an empty result
};

}  // namespace nucseg::infer
