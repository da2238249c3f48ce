#include "nucseg/core/allocator.hpp"

#include <malloc.h>

namespace nucseg {

void keep_freed_memory_for_reuse() {
#if defined(__GLIBC__)
  // Failures leave glibc's defaults in place: slower, never wrong, so they are not errors.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
#endif
}

}  // namespace nucseg
