// Length-prefixed string fields ("<size>:<bytes>"): how rank 0 sends a listing or a failure
// list to the other ranks as one string. Any byte may appear in a field (paths with ':' or
// newlines travel unchanged).
#pragma once

#include <cstddef>
#include <string>

namespace nucseg {

// Appends one field to `out`.
void put_field(std::string& out, const std::string& field);

// Reads the field at `pos` and moves `pos` past it. A malformed or truncated string is
// Error(runtime) "corrupt serialised <what>".
std::string take_field(const std::string& in, size_t& pos, const char* what);

// A count as one field, and back: take_count's field must be decimal digits that fit a size_t,
// else the same Error as a damaged field (not std::stoull's exceptions).
void put_count(std::string& out, size_t n);
size_t take_count(const std::string& in, size_t& pos, const char* what);

}  // namespace nucseg
