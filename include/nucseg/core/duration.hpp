// Wall-clock durations as people write them in job configs (train.time_limit).
#pragma once

#include <string>

namespace nucseg {

// Seconds in `text`: "" or "0" -> 0 (no limit); "90s", "10m", "2h", "1h30m", "1h30m15s",
// "1.5h" (units h, m, s, each at most once, in that order); "01:50:00" (h:mm:ss) or "50:00"
// (m:ss), as Slurm's --time writes them; a bare number is seconds. Throws Error(config) naming
// `key` for anything else or a negative value.
double parse_duration_seconds(const std::string& text, const std::string& key);

}  // namespace nucseg
