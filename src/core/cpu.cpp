#include "nucseg/core/cpu.hpp"

#include <fstream>
#include <sstream>
#include <string>

namespace nucseg {

bool cpu_has_native_bfloat16() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line);
    std::string word;
    while (words >> word)
      if (word == "avx512_bf16" || word == "amx_bf16") return true;
    return false;  // the first processor's flags speak for all
  }
  return false;
}

}  // namespace nucseg
