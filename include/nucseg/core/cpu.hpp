// What the CPU this process runs on can do, where a setting's "auto" depends on it.
#pragma once

namespace nucseg {

// bfloat16 dot products in hardware (AVX512-BF16 or AMX), from /proc/cpuinfo's flags; oneDNN
// uses them for bfloat16 convolutions and emulates them, slower than float32, elsewhere.
bool cpu_has_native_bfloat16();

}  // namespace nucseg
