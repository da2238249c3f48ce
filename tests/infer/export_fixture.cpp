// Test helper: the label and ROI exports of nucseg_infer for a label image given as a file, so
// tests/infer/results_test.py can check them on shapes it draws itself (a real network run
// gives few and simple objects). Usage: export_fixture LABELS OUTPUT FORMAT [PIXEL_SIZE_UM]
// LABELS: a label image nucseg reads (TIFF up to 32-bit, PNG); FORMAT: png or tiff. Prints
// the two files written, one per line.
#include <cstdio>
#include <exception>
#include <string>

#include "nucseg/infer/output.hpp"
#include "nucseg/io/image.hpp"

int main(int argc, char** argv) {
  if (argc < 4 || argc > 5) {
    std::fprintf(stderr, "usage: export_fixture LABELS OUTPUT FORMAT [PIXEL_SIZE_UM]\n");
    return 2;
  }
  try {
    const std::filesystem::path file = argv[1];
    nucseg::infer::ImageResult r;
    r.id = file.stem().string();
    nucseg::io::read_raw_image(file, nucseg::io::PixelRange::labels).pixels.convertTo(r.labels, CV_32S);
    if (argc == 5) r.pixel_size = {std::stod(argv[4]), "infer.pixel_size"};
    nucseg::infer::ResultStore store(argv[2]);
    std::printf("%s\n", store.export_labels(r, argv[3]).c_str());
    std::printf("%s\n", store.export_rois(r).c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "export_fixture: %s\n", e.what());
    return 1;
  }
}
