#include "nucseg/dist/grad_sync.hpp"

#include <c10/core/impl/VirtualGuardImpl.h>
#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <string>

#include "nucseg/core/error.hpp"
#include "nucseg/core/logging.hpp"
#include "nucseg/dist/collectives.hpp"
#include "nucseg/dist/device.hpp"
#include "grad_buckets.hpp"
#include "tensor_layout.hpp"

namespace nucseg::dist {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

using detail::Bucket;
using detail::Slot;

// A device bucket's last gradient is in: mark the point on this thread's stream that the
// communication thread's side stream waits for (the copies into it are asynchronous).
void record_filled(Bucket& bucket) {
  if (!bucket.filled) return;
  const auto device = bucket.flat.device();
  bucket.filled->record(c10::impl::VirtualGuardImpl(device.type()).getStream(device));
}

// `sizes` elements of `flat` from `offset` on, as a tensor that shares the bucket's storage but
// is not an autograd view of it: LibTorch's Optimizer::zero_grad() calls detach_() on every
// grad, which autograd refuses on a view.
torch::Tensor bucket_view(const torch::Tensor& flat, int64_t offset, c10::IntArrayRef sizes) {
  torch::NoGradGuard no_grad;
  return torch::empty({0}, flat.options()).set_(flat.storage(), flat.storage_offset() + offset, sizes);
}

const char* transport_name(GradientSync::Transport t) {
  switch (t) {
    case GradientSync::Transport::in_place:
      return "in place";
    case GradientSync::Transport::staged:
      return "staged through host memory";
    default:
      return "automatic";
  }
}

}  // namespace

struct GradientSync::State {
  MPI_Comm comm = MPI_COMM_NULL;  // a duplicate: never interleaves with the trainer's collectives
  int ranks = 1;
  bool divide = true;  // Mean::divide: divide each reduced bucket by the ranks
  bool threaded = false;
  std::vector<Bucket> buckets;
  std::vector<Slot> slots;

  std::mutex mutex;
  std::condition_variable cv;
  std::deque<size_t> queue;
  size_t next_launch = 0;  // buckets launch strictly in index order
  size_t done = 0;
  bool stop = false;
  double allreduce_seconds = 0;
  std::exception_ptr error;

  Transport transport = Transport::in_place;
  c10::Device device = c10::Device(c10::kCPU);
  std::optional<c10::Stream> side;  // device buckets: the stream their transfers run on

  double reduce(Bucket& bucket) const { return detail::reduce_bucket(bucket, comm, divide ? ranks : 1, transport, side); }

  static void communicate(std::shared_ptr<State> state) {
    make_current(state->device);  // the current device is per thread
    for (;;) {
      size_t index = 0;
      {
        std::unique_lock<std::mutex> lock(state->mutex);
        state->cv.wait(lock, [&] { return state->stop || !state->queue.empty(); });
        if (state->queue.empty()) return;
        index = state->queue.front();
        state->queue.pop_front();
      }
      double spent = 0;
      std::exception_ptr error;
      try {
        spent = state->reduce(state->buckets[index]);
      } catch (...) {
        error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(state->mutex);
        state->allreduce_seconds += spent;
        if (error && !state->error) state->error = error;
        ++state->done;
      }
      state->cv.notify_all();
    }
  }
};

GradientSync::GradientSync(const World& world, std::vector<torch::Tensor> params, double bucket_mb, bool overlap,
                           Transport transport, Mean mean)
    : world_(world) {
  if (!(bucket_mb > 0)) throw_runtime("GradientSync: bucket_mb must be > 0 (MiB per fused gradient bucket)");
  // Every rank must build the same buckets in the same order, or the reductions would pair
  // different tensors (or hang): compare the layout first and fail on every rank together.
  if (!all_equal(world, tensor_layout_fingerprint(params)))
    throw_runtime("GradientSync: the parameter lists differ across ranks (count, order, shape, dtype or "
                  "requires_grad); every rank must build the same model and freeze the same parameters");
  for (auto& p : params)
    if (p.requires_grad()) params_.push_back(p);
  if (mean == Mean::prescaled) loss_scale_ = 1.0 / world.size();
  // Nothing to average: a no-op, no hooks (unless a test asks for a transport by name).
  if (world.size() == 1 && transport == Transport::automatic) return;

  state_ = std::make_shared<State>();
  State& s = *state_;
  s.ranks = world.size();
  s.divide = mean == Mean::divide;
  s.device = params_.empty() ? c10::Device(c10::kCPU) : params_.front().device();
  s.transport = transport_ = detail::resolve_transport(transport, s.device);
  auto set = detail::make_buckets(params_, bucket_mb, s.transport);
  s.buckets = std::move(set.buckets);
  s.slots = std::move(set.slots);
  if (!s.device.is_cpu()) {
    s.side = c10::impl::VirtualGuardImpl(s.device.type()).getStreamFromGlobalPool(s.device);
    log::job().info("gradient buckets on {}, reduced {}", s.device.str(), transport_name(s.transport));
  }
  NUCSEG_MPI_CHECK(MPI_Comm_dup(world.comm(), &s.comm));
  s.threaded = overlap && world.thread_multiple();
  if (!s.threaded && overlap)
    log::job().warn("MPI offers no MPI_THREAD_MULTIPLE: gradients are reduced after backward, without overlap");
  if (s.threaded) thread_ = std::make_unique<std::thread>(State::communicate, state_);
  // A post-hook on each parameter's gradient accumulator runs once autograd has added the
  // step's gradient into param.grad (a tensor pre-hook would run before, seeing only the new
  // part). The accumulators are held here: a parameter keeps only a weak reference, and a
  // recreated accumulator would not carry the hook.
  for (size_t k = 0; k < params_.size(); ++k) {
    if (!params_[k].is_leaf())
      throw_runtime("GradientSync: parameter #" + std::to_string(k) + " is not a leaf of the autograd graph");
    auto accumulator = torch::autograd::impl::grad_accumulator(params_[k]);
    hook_keys_.push_back(accumulator->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
        [this, k](const torch::autograd::variable_list& outputs, const torch::autograd::variable_list& inputs) {
          on_grad(k, inputs.empty() ? torch::Tensor() : inputs.front());
          return outputs;
        })));
    accumulators_.push_back(std::move(accumulator));
  }
}

GradientSync::~GradientSync() {
  for (size_t k = 0; k < hook_keys_.size(); ++k) accumulators_[k]->del_post_hook(hook_keys_[k]);
  if (!state_) return;
  bool in_flight = false;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->stop = true;
    in_flight = state_->threaded && state_->done < state_->next_launch;
  }
  state_->cv.notify_all();
  if (thread_) {
    // A step abandoned by an exception may leave the thread inside MPI_Allreduce waiting for
    // peers that will never come; the job is about to be aborted, so do not wait for it (the
    // thread owns a reference to the state it uses).
    if (in_flight)
      thread_->detach();
    else
      thread_->join();
  }
  int finalized = 1;
  MPI_Finalized(&finalized);
  if (!in_flight && !finalized) MPI_Comm_free(&state_->comm);
}

int GradientSync::bucket_count() const { return state_ ? static_cast<int>(state_->buckets.size()) : 0; }

void GradientSync::begin_step() {
  if (!state_) return;
  std::lock_guard<std::mutex> lock(state_->mutex);
  if (state_->next_launch > 0 && state_->done < state_->buckets.size())
    throw_runtime("GradientSync::begin_step: the previous step's reduction is still in flight (finish() was not "
                  "called); the ranks are out of step");
  for (auto& slot : state_->slots) slot.ready = false;
  for (auto& b : state_->buckets) b.pending = static_cast<int>(b.slots.size());
  state_->queue.clear();
  state_->next_launch = 0;
  state_->done = 0;
  state_->allreduce_seconds = 0;
  state_->error = nullptr;
  armed_ = true;
}

void GradientSync::on_grad(size_t k, const torch::Tensor& grad) {
  if (!armed_ || !grad.defined()) return;  // backward outside a step (e.g. a probe) is not ours
  State& s = *state_;
  Slot& slot = s.slots[k];
  // A second gradient has already been added to param.grad, possibly inside a bucket that is
  // being reduced: the step is lost either way, and the error stops the job.
  if (slot.ready)
    throw_runtime("GradientSync: parameter #" + std::to_string(k) +
                  " received a second gradient in one step (two backward passes between begin_step() and "
                  "finish()); call begin_step()/finish() around each backward");
  if (grad.is_sparse()) throw_runtime("GradientSync: sparse gradients are not supported");
  Bucket& bucket = s.buckets[slot.bucket];
  // Autograd has accumulated into param.grad: in place into the bucket when param.grad is
  // already on it (every step after the first with an in-place zero_grad), else into a tensor
  // of its own, which is copied in once and replaced by the bucket's part.
  bind_to_bucket(k, /*zero_if_undefined=*/false);
  detail::set_flag(bucket, slot.flag, 1.0);
  std::lock_guard<std::mutex> lock(s.mutex);
  slot.ready = true;
  if (--bucket.pending == 0) {
    record_filled(bucket);
    launch_ready_buckets();
  }
}

bool GradientSync::bind_to_bucket(size_t k, bool zero_if_undefined) {
  const Slot& slot = state_->slots[k];
  auto& param = params_[k];
  const auto& flat = state_->buckets[slot.bucket].flat;
  auto& grad = param.mutable_grad();
  // Already on the bucket (every step after the first): no tensor is built.
  const void* part = static_cast<const char*>(flat.data_ptr()) + slot.offset * flat.element_size();
  if (grad.defined() && grad.data_ptr() == part && grad.sizes() == param.sizes() && grad.is_contiguous())
    return true;
  auto view = bucket_view(flat, slot.offset, param.sizes());
  torch::NoGradGuard no_grad;
  if (!grad.defined()) {
    if (zero_if_undefined) view.zero_();
    return false;
  }
  view.copy_(grad);
  grad = view;
  return true;
}

void GradientSync::launch_ready_buckets() {
  State& s = *state_;
  bool queued = false;
  while (s.next_launch < s.buckets.size() && s.buckets[s.next_launch].pending == 0) {
    if (s.threaded) {
      s.queue.push_back(s.next_launch);
      queued = true;
    }
    ++s.next_launch;
  }
  if (queued) s.cv.notify_all();
}

void GradientSync::finish() {
  stats_ = Stats{};
  if (!state_) return;
  if (!armed_) throw_runtime("GradientSync::finish() called without begin_step()");
  armed_ = false;
  State& s = *state_;
  // Parameters without a gradient this step still take part in their bucket's reduction
  // (zeros, flag 0) so every rank joins every collective in the same order.
  {
    torch::NoGradGuard no_grad;
    for (size_t k = 0; k < s.slots.size(); ++k) {
      const Slot& slot = s.slots[k];
      if (slot.ready) continue;
      const bool had = bind_to_bucket(k, /*zero_if_undefined=*/true);
      detail::set_flag(s.buckets[slot.bucket], slot.flag, had ? 1.0 : 0.0);
    }
  }
  const auto wait_start = Clock::now();
  {
    std::unique_lock<std::mutex> lock(s.mutex);
    stats_.early_buckets = static_cast<int>(s.next_launch);
    for (size_t k = 0; k < s.slots.size(); ++k) {
      if (s.slots[k].ready) continue;
      s.slots[k].ready = true;
      Bucket& bucket = s.buckets[s.slots[k].bucket];
      if (--bucket.pending == 0) record_filled(bucket);
    }
    launch_ready_buckets();
    if (s.threaded) s.cv.wait(lock, [&] { return s.done == s.buckets.size(); });
  }
  if (!s.threaded) {
    for (auto& bucket : s.buckets) s.allreduce_seconds += s.reduce(bucket);
    s.done = s.buckets.size();
  }
  stats_.wait_seconds = seconds_since(wait_start);
  if (s.error) std::rethrow_exception(s.error);

  // The reduced means are in the buckets, where every param.grad that had a gradient here
  // already lies. A parameter without one on this rank gets its bucket part now when another
  // rank had one; when no rank had, its grad stays undefined.
  for (size_t k = 0; k < s.slots.size(); ++k) {
    const Slot& slot = s.slots[k];
    const Bucket& bucket = s.buckets[slot.bucket];
    auto& grad = params_[k].mutable_grad();
    if (grad.defined() || detail::reduced_flag(bucket, slot.flag) == 0) continue;
    grad = bucket_view(bucket.flat, slot.offset, params_[k].sizes());
  }
  stats_.allreduce_seconds = s.allreduce_seconds;
  stats_.buckets = static_cast<int>(s.buckets.size());
  for (const auto& b : s.buckets) stats_.bytes += static_cast<double>(b.flat.numel() * b.flat.element_size());
}

}  // namespace nucseg::dist
