// glibc malloc settings for tensor workloads. By default glibc serves blocks above a dynamic
// threshold (at most 32 MiB) with mmap and returns freed heap tops to the kernel, so every
// large activation of a forward pass is a fresh mmap whose pages the kernel faults in and
// zeroes again. Measured (nucseg_model_bench, 512x512, batch 4, 2 threads, inference):
// 1.0 images/s with the defaults, 5.5 with neither mmap nor trimming; the PyTorch peer ran 5.3.
#pragma once

namespace nucseg {

// Serves every allocation from the heap (no mmap) and never trims it: freed memory is reused by
// the next tensor. Peak resident memory then stays at the high-water mark of the run. Idempotent.
void keep_freed_memory_for_reuse();

}  // namespace nucseg
