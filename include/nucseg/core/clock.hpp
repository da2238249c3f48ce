// Wall-clock time as the tools write it into files (lock files, result provenance).
#pragma once

#include <string>

namespace nucseg {

// The current UTC time in ISO 8601 to the second, e.g. "2026-11-29T14:40:51Z".
std::string utc_timestamp();

}  // namespace nucseg
