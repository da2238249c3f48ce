// The MPI world of one job: initialised once per process, checked on every call.
// Works without mpirun too (a singleton world of one rank).
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

namespace nucseg::dist {

// Throws Error(runtime) naming the MPI call and the MPI error string when rc != MPI_SUCCESS.
void check_mpi(int rc, const char* call, const char* file, int line);
#define NUCSEG_MPI_CHECK(call) ::nucseg::dist::check_mpi((call), #call, __FILE__, __LINE__)

// Called before MPI_Init (by World), before any other thread starts (setenv races getenv): a
// world of one rank (started without a launcher, or OMPI_COMM_WORLD_SIZE=1 under mpirun -n 1)
// talks to no one, yet Open MPI's default transport selection initialises UCX, 0.2 s of a 0.27 s
// MPI_Init on the build machine. There, and only when the environment names no point-to-point
// layer (OMPI_MCA_pml unset; a pml set only in an MCA parameter file is overridden), this sets
// OMPI_MCA_pml=ob1 in the process environment (Open MPI's plain layer: 0.07 s) and returns true.
// Jobs of several ranks, any rank started by another launcher (PMIX_RANK, PMI_RANK or PMI_SIZE
// set: srun with PMIx or PMI-2) and the tasks of an srun step of several tasks keep Open MPI's
// choice, the fast interconnect included. Other MPI libraries ignore the variable.
bool prefer_plain_transport_for_one_rank();

class World final {
 public:
  // Initialises MPI with MPI_THREAD_MULTIPLE when offered (a communication thread may call MPI).
  World(int* argc, char*** argv);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_rank() const { return local_rank_; }  // rank among the ranks on this node
  int local_size() const { return local_size_; }  // ranks on this node
  bool is_root() const { return rank_ == 0; }
  bool thread_multiple() const { return thread_level_ >= MPI_THREAD_MULTIPLE; }
  MPI_Comm comm() const { return MPI_COMM_WORLD; }

  void barrier() const;
  // Ends every rank of the job; used when one rank fails so the others do not hang.
  [[noreturn]] void abort(int exit_code) const;

  double sum(double value) const;
  long sum(long value) const;
  double max(double value) const;
  bool any(bool value) const;  // true on every rank when true on some rank
  void broadcast(std::string& text, int root = 0) const;
  std::vector<std::string> gather_strings(const std::string& text, int root = 0) const;  // filled on root only

  // Intra-op threads this rank should use: the cores it may run on, shared with the other
  // ranks of its node when they are not pinned apart. `requested` > 0 wins.
  int default_threads(int requested = 0) const;

  // Under Slurm: fails when the MPI world does not match the tasks Slurm launched (a plain
  // srun without PMI otherwise starts N independent "rank 0 of 1" copies).
  void check_slurm_launch() const;

 private:
  int rank_ = 0;
  int size_ = 1;
  int local_rank_ = 0;
  int local_size_ = 1;
  int thread_level_ = MPI_THREAD_SINGLE;
  bool finalize_ = false;
};

}  // namespace nucseg::dist
