#include "nucseg/core/duration.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "nucseg/core/error.hpp"

namespace nucseg {
namespace {

[[noreturn]] void bad(const std::string& text, const std::string& key) {
  throw_config(key, "\"" + text + "\" is not a duration (write e.g. \"90s\", \"10m\", \"1h30m\" or \"01:50:00\"; "
                    "\"\" or 0: no limit)");
}

// A non-negative decimal number filling text[begin, end).
double number(const std::string& text, size_t begin, size_t end, const std::string& key) {
  if (begin >= end) bad(text, key);
  for (size_t i = begin; i < end; ++i)
    if (!std::isdigit(static_cast<unsigned char>(text[i])) && text[i] != '.') bad(text, key);
  char* stop = nullptr;
  const std::string part = text.substr(begin, end - begin);
  const double v = std::strtod(part.c_str(), &stop);
  if (stop != part.c_str() + part.size() || !std::isfinite(v)) bad(text, key);
  return v;
}

double clock_form(const std::string& text, const std::string& key) {
  std::vector<double> parts;
  size_t start = 0;
  for (size_t colon; (colon = text.find(':', start)) != std::string::npos; start = colon + 1)
    parts.push_back(number(text, start, colon, key));
  parts.push_back(number(text, start, text.size(), key));
  if (parts.size() > 3) bad(text, key);
  double seconds = 0;
  for (double p : parts) seconds = seconds * 60 + p;
  return seconds;
}

double unit_form(const std::string& text, const std::string& key) {
  static const char units[] = {'h', 'm', 's'};
  static const double scale[] = {3600, 60, 1};
  double seconds = 0;
  size_t pos = 0;
  int next_unit = 0;  // units must come in the order h, m, s
  while (pos < text.size()) {
    size_t end = pos;
    while (end < text.size() && (std::isdigit(static_cast<unsigned char>(text[end])) || text[end] == '.')) ++end;
    if (end == text.size()) bad(text, key);  // a number without its unit after another one ("1h30")
    int u = next_unit;
    while (u < 3 && units[u] != text[end]) ++u;
    if (u == 3) bad(text, key);
    seconds += number(text, pos, end, key) * scale[u];
    next_unit = u + 1;
    pos = end + 1;
  }
  return seconds;
}

}  // namespace

double parse_duration_seconds(const std::string& raw, const std::string& key) {
  std::string text;
  for (char c : raw)
    if (!std::isspace(static_cast<unsigned char>(c))) text += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (text.empty()) return 0.0;
  if (text.find(':') != std::string::npos) return clock_form(text, key);
  if (text.find_first_of("hms") == std::string::npos) return number(text, 0, text.size(), key);
  return unit_form(text, key);
}

}  // namespace nucseg
