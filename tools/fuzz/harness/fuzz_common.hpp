// Shared helpers of the nucseg fuzz harnesses (one harness per input parser, fuzz_*.cpp).
//
// Exception policy. A hostile or damaged file must end in nucseg::Error of the kind the caller
// expects (data for images, masks and truth files; config for configuration files): nucseg_pack
// rejects that one input and goes on, and the tools print the message. Anything else that
// escapes (cv::Exception, std::bad_alloc, std::length_error, an Error of another kind) ends a
// whole pack/eval run with "unexpected failure", so the harness aborts and libFuzzer saves the
// input. NUCSEG_FUZZ_TOLERATE (comma-separated: opencv, bad_alloc, std, kind, and alloc for
// failed allocations only: std::bad_alloc or cv::Exception StsNoMem) lets a campaign go on
// past a class of failure already reported.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <new>
#include <string>

#include <unistd.h>

#include <opencv2/core.hpp>

#include "nucseg/core/error.hpp"

namespace nucseg_fuzz {

// NUCSEG_FUZZ_VERBOSE=1: print every refusal (to check that valid seeds are read).
inline bool verbose() {
  static const bool v = std::getenv("NUCSEG_FUZZ_VERBOSE") != nullptr;
  return v;
}

inline bool tolerated(const char* what) {
  static const std::string list = [] {
    const char* v = std::getenv("NUCSEG_FUZZ_TOLERATE");
    return std::string(",") + (v ? v : "") + ",";
  }();
  return list.find(std::string(",") + what + ",") != std::string::npos;
}

[[noreturn]] inline void finding(const char* kind, const std::string& message) {
  std::fprintf(stderr, "\n==nucseg-fuzz== %s escaped the reader: %s\n", kind, message.c_str());
  std::abort();
}

// Invariant of a successful read that does not hold: wrong data, silently.
[[noreturn]] inline void wrong(const std::string& message) {
  std::fprintf(stderr, "\n==nucseg-fuzz== invariant broken: %s\n", message.c_str());
  std::abort();
}

inline const char* kind_name(nucseg::ErrorKind k) {
  switch (k) {
    case nucseg::ErrorKind::usage: return "usage";
    case nucseg::ErrorKind::config: return "config";
    case nucseg::ErrorKind::data: return "data";
    case nucseg::ErrorKind::runtime: return "runtime";
  }
  return "?";
}

// Runs `f`; an Error of one of the `expected` kinds is the clean refusal, anything else is a
// finding (see the policy above). Returns true when `f` returned normally.
template <class F>
bool refuses_cleanly(F&& f, std::initializer_list<nucseg::ErrorKind> expected) {
  try {
    f();
    return true;
  } catch (const nucseg::Error& e) {
    if (verbose()) std::fprintf(stderr, "refused (%s): %s\n", kind_name(e.kind()), e.what());
    for (auto k : expected)
      if (e.kind() == k) return false;
    if (!tolerated("kind")) finding((std::string("nucseg::Error of kind ") + kind_name(e.kind())).c_str(), e.what());
  } catch (const cv::Exception& e) {
    const bool no_memory = e.code == cv::Error::StsNoMem;
    if (!tolerated("opencv") && !(no_memory && tolerated("alloc"))) finding("cv::Exception", e.what());
  } catch (const std::bad_alloc& e) {
    if (!tolerated("bad_alloc") && !tolerated("alloc")) finding("std::bad_alloc", e.what());
  } catch (const std::exception& e) {
    if (!tolerated("std")) finding("std::exception", e.what());
  }
  return false;
}

// The readers take paths: the input goes to one file per process, in /dev/shm when there is one.
inline std::string write_temp(const uint8_t* data, size_t size, const char* extension) {
  static const std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  const std::string path = dir + "/nucseg-fuzz-" + std::to_string(getpid()) + extension;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

}  // namespace nucseg_fuzz
