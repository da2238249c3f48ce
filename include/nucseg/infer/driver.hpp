// The inference loop of one rank, independent of where images, the network and the instance
// segmentation come from: run_infer (run.hpp) plugs in the real stages, tests plug in fakes.
//
// Every rank takes the next image from a shared WorkQueue (largest files first), skips images
// that already have a result (unless infer.overwrite), runs read -> tiled model -> segment ->
// measure -> ResultStore::write, and records any exception of one image as a failure so the run
// goes on. With infer.diameter the image is resized before the network and its class
// probabilities resized back (magnification.hpp), so labels and measurements are in the input's
// pixels; "auto" adds a first pass at native scale that measures the nuclei. infer.tta averages
// the model over flipped and rotated tiles (tta.hpp). Once no image is left to take, a rank
// computes tile batches of images other ranks are still working on (TileSharing), so a few huge
// images still use every rank. A stop signal (StopSignal) on any rank makes every rank finish
// its current image and take no more (nor help): the signalled rank records the stop in the work
// queue's window, which each rank reads before taking an image. A stop that comes once every
// image is taken leaves nothing undone: segmentation.h5 is assembled as in a normal end.
// At the end rank 0 logs every rank's busy time and assembles segmentation.h5.
#pragma once

#include <functional>
#include <string>

#include <opencv2/core.hpp>

#include "nucseg/core/config.hpp"
#include "nucseg/dist/world.hpp"
#include "nucseg/infer/inputs.hpp"
#include "nucseg/infer/output.hpp"
#include "nucseg/infer/tiler.hpp"
#include "nucseg/io/normalize.hpp"
#include "nucseg/io/pixel_size.hpp"
#include "nucseg/segment/instances.hpp"
#include "nucseg/segment/objects.hpp"

namespace nucseg::infer {

// One input image as the read stage delivers it (prepare.hpp's load_image is the real one).
struct LoadedImage {
  cv::Mat rgb;  // the network's three input channels, raw values: CV_8UC3 or CV_16UC3
  std::vector<io::ChannelRange> ranges;  // per channel of rgb: the raw values mapped to 0 and 1 (whole image)
  cv::Mat raw;  // every source channel as stored, for per-channel measurements; may be empty
  int bit_depth = 8;        // the container's: 8 or 16
  int effective_bits = 0;   // bits needed for the largest value of rgb; 0: unknown
  int source_channels = 3;
  io::PixelSize pixel_size;  // what the file says (io/pixel_size.hpp)
};

struct Stages {
  std::function<LoadedImage(const std::string& path)> read;  // throws for unreadable input
  TileModel model;  // run_inference wraps it for infer.tta
  int classes = 3;
  int extras = 0;  // outputs after the classes (a distance head 1, a flow head 2); the evidence gets them too
  double training_diameter = 0.0;  // the training set's median nucleus diameter (px; 0: unknown)
  // The driver streams the tiler's probabilities into a ClassEvidence built with these
  // parameters (no full-image float maps), then calls segment for instance labels CV_32SC1.
  segment::SegmentParams segment_params;
  std::function<cv::Mat(const segment::ClassEvidence& evidence)> segment;
  // Labels + the image -> one row per object.
  std::function<ObjectTable(const std::string& id, const cv::Mat& labels, const LoadedImage& image)> measure;
};

struct RunReport {
  long processed = 0;  // on this rank
  long skipped = 0;    // on this rank: results already there
  long redone = 0;     // on this rank: results there but unreadable or made otherwise, redone
  long failed = 0;     // on this rank
  long batches_helped = 0;    // on this rank: tile batches computed for other ranks' images
  long batches_received = 0;  // on this rank: tile batches of its images computed by others
  bool stopped = false;          // a stop signal on some rank left images undone (same on every rank)
  int stop_signal = 0;           // the first stop signal any rank recorded, 0: none (same on every rank;
                                 // also set when it came once every image was taken)
  long failed_total = 0;         // all ranks
  AssemblySummary assembly;      // rank 0, when assembled
  bool assembled = false;
  int exit_code = 0;             // 0, 3 (more than infer.max_failed_fraction failed) or 75 (stopped); same on every rank
};

// Collective over `world`. `provenance` is used by rank 0 for segmentation.h5.
RunReport run_inference(const InferConfig& config, const dist::World& world, const InputSet& inputs,
                        const Stages& stages, const Provenance& provenance, double progress_seconds = 10.0);

// Class map (CV_8UC1) of per-class probabilities (CV_32F, one size): the argmax, ties to the
// lower class.
cv::Mat argmax_class_map(const std::vector<cv::Mat>& probabilities);

}  // namespace nucseg::infer
