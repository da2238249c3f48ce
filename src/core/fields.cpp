#include "nucseg/core/fields.hpp"

#include "nucseg/core/error.hpp"

namespace nucseg {

void put_field(std::string& out, const std::string& field) { out += std::to_string(field.size()) + ":" + field; }

std::string take_field(const std::string& in, size_t& pos, const char* what) {
  const size_t colon = in.find(':', pos);
  if (colon == std::string::npos || colon == pos || pos > in.size())
    throw_runtime(std::string("corrupt serialised ") + what);
  size_t n = 0;
  for (size_t i = pos; i < colon; ++i) {
    const char c = in[i];
    if (c < '0' || c > '9' || n > in.size()) throw_runtime(std::string("corrupt serialised ") + what);
    n = n * 10 + static_cast<size_t>(c - '0');
  }
  if (n > in.size() - colon - 1) throw_runtime(std::string("corrupt serialised ") + what);
  pos = colon + 1 + n;
  return in.substr(colon + 1, n);
}

}  // namespace nucseg
