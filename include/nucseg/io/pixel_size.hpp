// The physical size of a pixel, from what an image file says about itself.
//
// Where it comes from, first match wins:
//   1. OME-XML in the TIFF ImageDescription: PhysicalSizeX (and Y), unit PhysicalSizeXUnit
//      (default µm);
//   2. an ImageJ TIFF (ImageDescription "ImageJ=..." with "unit=micron", "um", "nm", "mm", "cm"):
//      XResolution is pixels per that unit (ImageJ writes ResolutionUnit = none);
//   3. TIFF XResolution with ResolutionUnit inch or centimetre (millimetre and micrometre, the
//      non-standard 4 and 5 some writers use, too);
//   4. PNG pHYs in pixels per metre.
// JPEG density is not read (cameras and editors fill it with 72 dpi). A size outside
// kMinPixelUm..kMaxPixelUm is what image editors write by default (72 dpi is 352.8 µm per pixel),
// not a microscope's: it is ignored, as are pixels whose width and height differ by more than 1%
// (lengths of rotated objects cannot be converted then). The reason is kept in `source`.
#pragma once

#include <string>
#include <vector>

namespace nucseg::io {

constexpr double kMinPixelUm = 0.001;
constexpr double kMaxPixelUm = 50.0;

struct PixelSize {
  double um = 0.0;     // micrometres per pixel; 0: unknown
  std::string source;  // where `um` came from, or why it is unknown ("none", "none (...)")
  bool known() const { return um > 0.0; }
};

// What the first TIFF directory says (TIFF 6.0 tags 282, 283, 296 and 270).
struct TiffResolution {
  double x = 0.0, y = 0.0;  // XResolution, YResolution: pixels per unit; 0 when absent
  int unit = 2;             // ResolutionUnit: 1 none, 2 inch (the TIFF default), 3 centimetre
  std::string description;  // ImageDescription (OME-XML, ImageJ's key=value lines, or text)
};

PixelSize pixel_size_from_tiff(const TiffResolution& tiff);
// The pHYs chunk of a PNG file's bytes (chunks before the first IDAT); "none" without one.
PixelSize pixel_size_from_png(const std::vector<unsigned char>& bytes);

// A unit name of OME-XML or ImageJ in micrometres: "µm", "um", "micron" -> 1, "nm" -> 0.001,
// "mm", "cm", "m", "Å", "inch"; 0 for anything else ("pixel", "").
double micrometres_per_unit(const std::string& unit);

}  // namespace nucseg::io
