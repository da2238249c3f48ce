#include "nucseg/dist/world.hpp"

#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "nucseg/core/error.hpp"
#include "nucseg/core/logging.hpp"

namespace nucseg::dist {

void check_mpi(int rc, const char* call, const char* file, int line) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(rc, text, &length);
  throw_runtime(std::string("MPI call failed: ") + call + ": " + std::string(text, length) + " (" + file + ":" +
                std::to_string(line) + ")");
}

bool prefer_plain_transport_for_one_rank() {
  if (std::getenv("OMPI_MCA_pml") != nullptr) return false;
  const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
  if (size != nullptr) return std::string(size) == "1" && ::setenv("OMPI_MCA_pml", "ob1", 0) == 0;
  // Started by another launcher (srun's PMIx or PMI-2, a PMI-1 process manager), or a task of
  // an srun step of several tasks: the world may be larger; Open MPI chooses.
  if (std::getenv("PMIX_RANK") || std::getenv("PMI_RANK") || std::getenv("PMI_SIZE")) return false;
  const char* step_tasks = std::getenv("SLURM_STEP_NUM_TASKS");
  if (std::getenv("SLURM_STEP_ID") && step_tasks && std::string(step_tasks) != "1") return false;
  return ::setenv("OMPI_MCA_pml", "ob1", 0) == 0;
}

World::World(int* argc, char*** argv) {
  int initialized = 0;
  NUCSEG_MPI_CHECK(MPI_Initialized(&initialized));
  if (!initialized) {
    prefer_plain_transport_for_one_rank();
    NUCSEG_MPI_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &thread_level_));
    finalize_ = true;
  } else {
    NUCSEG_MPI_CHECK(MPI_Query_thread(&thread_level_));
  }
  // Errors come back as codes so check_mpi can turn them into exceptions with context.
  NUCSEG_MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  NUCSEG_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
  NUCSEG_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size_));
  MPI_Comm node;
  NUCSEG_MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node));
  NUCSEG_MPI_CHECK(MPI_Comm_rank(node, &local_rank_));
  NUCSEG_MPI_CHECK(MPI_Comm_size(node, &local_size_));
  NUCSEG_MPI_CHECK(MPI_Comm_free(&node));
  set_error_rank(rank_);
}

World::~World() {
  if (finalize_) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
}

void World::barrier() const { NUCSEG_MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD)); }

void World::abort(int exit_code) const {
  if (size_ > 1) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

double World::sum(double value) const {
  double out = 0;
  NUCSEG_MPI_CHECK(MPI_Allreduce(&value, &out, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD));
  return out;
}

long World::sum(long value) const {
  long out = 0;
  NUCSEG_MPI_CHECK(MPI_Allreduce(&value, &out, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD));
  return out;
}

double World::max(double value) const {
  double out = 0;
  NUCSEG_MPI_CHECK(MPI_Allreduce(&value, &out, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD));
  return out;
}

bool World::any(bool value) const {
  int in = value ? 1 : 0;
  int out = 0;
  NUCSEG_MPI_CHECK(MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD));
  return out != 0;
}

void World::broadcast(std::string& text, int root) const {
  long length = static_cast<long>(text.size());
  NUCSEG_MPI_CHECK(MPI_Bcast(&length, 1, MPI_LONG, root, MPI_COMM_WORLD));
  text.resize(static_cast<size_t>(length));
  if (length > 0) NUCSEG_MPI_CHECK(MPI_Bcast(text.data(), static_cast<int>(length), MPI_CHAR, root, MPI_COMM_WORLD));
}

std::vector<std::string> World::gather_strings(const std::string& text, int root) const {
  int length = static_cast<int>(text.size());
  std::vector<int> lengths(static_cast<size_t>(size_));
  NUCSEG_MPI_CHECK(MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, root, MPI_COMM_WORLD));
  std::vector<int> offsets(static_cast<size_t>(size_), 0);
  int total = 0;
  for (int r = 0; r < size_; ++r) {
    offsets[r] = total;
    total += lengths[r];
  }
  std::string all(static_cast<size_t>(rank_ == root ? total : 0), '\0');
  NUCSEG_MPI_CHECK(MPI_Gatherv(text.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR,
                               root, MPI_COMM_WORLD));
  std::vector<std::string> out;
  if (rank_ == root)
    for (int r = 0; r < size_; ++r) out.push_back(all.substr(offsets[r], lengths[r]));
  return out;
}

int World::default_threads(int requested) const {
  cpu_set_t set;
  CPU_ZERO(&set);
  int allowed = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
  int cores = static_cast<int>(std::thread::hardware_concurrency());
  if (allowed <= 0) allowed = cores > 0 ? cores : 1;
  if (requested > 0) {
    // mpirun binds each rank to one core by default at 2 ranks or fewer: threads then queue on
    // it (measured: a 1-rank 2-thread inference ran at 0.55-0.8 of the unbound speed).
    if (requested > allowed)
      log::rank().warn("{} threads requested but this rank may run on only {} CPU(s) (bound by the launcher): "
                       "they will share cores; launch with 'mpirun --bind-to none' or 'srun --cpus-per-task={}'",
                       requested, allowed, requested);
    return requested;
  }
  // Pinned to a subset: that subset is ours. Otherwise share the node with its other ranks.
  if (cores > 0 && allowed < cores) return allowed;
  return std::max(1, allowed / std::max(1, local_size_));
}

void World::check_slurm_launch() const {
  const char* job = std::getenv("SLURM_JOB_ID");
  const char* step_tasks = std::getenv("SLURM_STEP_NUM_TASKS");
  const char* ntasks = std::getenv("SLURM_NTASKS");
  if (!job) return;
  // Inside an srun step the step's task count is the truth; with mpirun inside a batch
  // script there is no step of ours and SLURM_NTASKS is the allocation's.
  const char* expected_text = std::getenv("SLURM_STEP_ID") && step_tasks ? step_tasks : ntasks;
  if (!expected_text) return;
  int expected = std::atoi(expected_text);
  if (expected > 1 && size_ != expected) {
    throw Error(ErrorKind::usage,
                "MPI world has " + std::to_string(size_) + " rank(s) but Slurm launched " + std::to_string(expected) +
                    " task(s): launch with 'srun --mpi=pmix' or 'mpirun' so the tasks join one MPI job "
                    "(a plain srun starts independent copies that would each train alone)");
  }
}

}  // namespace nucseg::dist
