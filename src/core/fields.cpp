#include "nucseg/core/fields.hpp"

#include <cstdint>

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

void put_count(std::string& out, size_t n) { put_field(out, std::to_string(n)); }

size_t take_count(const std::string& in, size_t& pos, const char* what) {
  const std::string field = take_field(in, pos, what);
  if (field.empty()) throw_runtime(std::string("corrupt serialised ") + what);
  size_t n = 0;
  for (const char c : field) {
    const size_t digit = static_cast<size_t>(c - '0');
    if (c < '0' || c > '9' || n > (SIZE_MAX - digit) / 10) throw_runtime(std::string("corrupt serialised ") + what);
    n = n * 10 + digit;
  }
  return n;
}

}  // namespace nucseg
