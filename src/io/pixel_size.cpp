#include "nucseg/io/pixel_size.hpp"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

namespace nucseg::io {
namespace {

// Checks a size a file gives: plausible for a microscope and square.
PixelSize checked(double x_um, double y_um, const std::string& source) {
  PixelSize p;
  if (!(x_um > 0) || !std::isfinite(x_um)) {
    p.source = "none";
    return p;
  }
  if (y_um > 0 && std::abs(x_um - y_um) > 0.01 * x_um) {
    p.source = fmt::format("none ({}: pixels of {:g} x {:g} um are not square)", source, x_um, y_um);
    return p;
  }
  if (x_um < kMinPixelUm || x_um > kMaxPixelUm) {
    p.source = fmt::format("none ({}: {:g} um per pixel is outside {:g}..{:g} um)", source, x_um, kMinPixelUm, kMaxPixelUm);
    return p;
  }
  p.um = x_um;
  p.source = source;
  return p;
}

// The value of attribute `name` in the XML start tag `tag` ("" when absent).
std::string xml_attribute(const std::string& tag, const std::string& name) {
  const std::string key = " " + name + "=";
  for (size_t at = tag.find(key); at != std::string::npos; at = tag.find(key, at + 1)) {
    const size_t open = at + key.size();
    if (open >= tag.size() || (tag[open] != '"' && tag[open] != '\'')) continue;
    const size_t close = tag.find(tag[open], open + 1);
    if (close == std::string::npos) return "";
    return tag.substr(open + 1, close - open - 1);
  }
  return "";
}

// OME-XML: the first <Pixels ...> element (or <OME:Pixels ...>).
PixelSize from_ome(const std::string& xml) {
  size_t at = xml.find("Pixels ");
  while (at != std::string::npos && at > 0 && xml[at - 1] != '<' && xml[at - 1] != ':') at = xml.find("Pixels ", at + 1);
  if (at == std::string::npos) return {0.0, "none"};
  const std::string tag = xml.substr(at, xml.find('>', at) - at);
  const std::string x = xml_attribute(tag, "PhysicalSizeX"), y = xml_attribute(tag, "PhysicalSizeY");
  if (x.empty()) return {0.0, "none"};
  std::string ux = xml_attribute(tag, "PhysicalSizeXUnit"), uy = xml_attribute(tag, "PhysicalSizeYUnit");
  const double fx = micrometres_per_unit(ux.empty() ? "um" : ux), fy = micrometres_per_unit(uy.empty() ? "um" : uy);
  if (fx == 0) return {0.0, "none (OME-XML PhysicalSizeXUnit \"" + ux + "\" is not a length unit nucseg knows)"};
  const double py = y.empty() || fy == 0 ? 0.0 : std::strtod(y.c_str(), nullptr) * fy;
  return checked(std::strtod(x.c_str(), nullptr) * fx, py, "OME-XML PhysicalSizeX");
}

// ImageJ's description: "ImageJ=1.53t\nunit=micron\n..." (µ may be written as \u00B5).
std::string imagej_unit(const std::string& description) {
  if (description.rfind("ImageJ=", 0) != 0) return "";
  const size_t at = description.find("\nunit=");
  if (at == std::string::npos) return "";
  const size_t end = description.find('\n', at + 1);
  return description.substr(at + 6, end == std::string::npos ? std::string::npos : end - at - 6);
}

uint32_t be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

}  // namespace

double micrometres_per_unit(const std::string& unit) {
  if (unit == "\xc2\xb5m" || unit == "\xce\xbcm" || unit == "um" || unit == "micron" || unit == "microns" ||
      unit == "\\u00B5m" || unit == "micrometer" || unit == "micrometre")
    return 1.0;
  if (unit == "nm") return 1e-3;
  if (unit == "\xc3\x85" || unit == "\xe2\x84\xab" || unit == "A") return 1e-4;  // Å (two code points)
  if (unit == "mm") return 1e3;
  if (unit == "cm") return 1e4;
  if (unit == "m") return 1e6;
  if (unit == "inch" || unit == "in") return 25400.0;
  return 0.0;
}

PixelSize pixel_size_from_tiff(const TiffResolution& t) {
  if (t.description.find("<OME") != std::string::npos) {
    PixelSize ome = from_ome(t.description);
    if (ome.known() || ome.source != "none") return ome;
  }
  if (!(t.x > 0)) return {0.0, "none"};
  const std::string ij = imagej_unit(t.description);
  if (!ij.empty()) {
    const double per_unit = micrometres_per_unit(ij);
    if (per_unit == 0) return {0.0, "none (ImageJ unit \"" + ij + "\")"};
    return checked(per_unit / t.x, t.y > 0 ? per_unit / t.y : 0.0, "TIFF XResolution, ImageJ unit " + ij);
  }
  double per_unit = 0.0;
  switch (t.unit) {
    case 2: per_unit = 25400.0; break;
    case 3: per_unit = 10000.0; break;
    case 4: per_unit = 1000.0; break;  // not in TIFF 6.0, written by some microscope software
    case 5: per_unit = 1.0; break;
    default: return {0.0, "none"};  // ResolutionUnit none: a ratio only
  }
  const char* names[] = {"", "", "inch", "centimetre", "millimetre", "micrometre"};
  return checked(per_unit / t.x, t.y > 0 ? per_unit / t.y : 0.0,
                 std::string("TIFF XResolution per ") + names[t.unit]);
}

PixelSize pixel_size_from_png(const std::vector<unsigned char>& b) {
  for (size_t pos = 8; pos + 12 <= b.size();) {
    const uint32_t length = be32(&b[pos]);
    const unsigned char* type = &b[pos + 4];
    if (std::memcmp(type, "IDAT", 4) == 0 || std::memcmp(type, "IEND", 4) == 0) break;
    if (pos + 12 + static_cast<size_t>(length) > b.size()) break;
    if (std::memcmp(type, "pHYs", 4) == 0 && length == 9) {
      const unsigned char* d = &b[pos + 8];
      if (d[8] != 1) return {0.0, "none"};  // unit unknown: an aspect ratio only
      const double x = be32(d), y = be32(d + 4);
      return checked(x > 0 ? 1e6 / x : 0.0, y > 0 ? 1e6 / y : 0.0, "PNG pHYs");
    }
    pos += 12 + static_cast<size_t>(length);
  }
  return {0.0, "none"};
}

}  // namespace nucseg::io
