// The smallest MPI program: each rank prints "rank R of N"; the Slurm tests count them.
#include <mpi.h>
#include <cstdio>

int main(int argc, char** argv) {
  int rank = 0, size = 0;
  if (MPI_Init(&argc, &argv) != MPI_SUCCESS) return 1;
  if (MPI_Comm_rank(MPI_COMM_WORLD, &rank) != MPI_SUCCESS) return 1;
  if (MPI_Comm_size(MPI_COMM_WORLD, &size) != MPI_SUCCESS) return 1;
  std::printf("rank %d of %d\n", rank, size);
  return MPI_Finalize() == MPI_SUCCESS ? 0 : 1;
}
