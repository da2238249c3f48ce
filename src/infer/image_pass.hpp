// Private to src/infer: one image through the network and the segment step, as the driver
// (driver.cpp) hands it out: read, tiles planned at the first scale, the network (its tile
// batches shared with idle ranks, TileSharing), rows of probabilities turned into the class map,
// quantised probabilities and instance labels at the input's size, for infer.diameter = "auto"
// maybe a second pass at another scale (auto_pass.hpp), then the measurements. Also a rank's part
// as a helper of the images other ranks are still working on. The driver keeps the work queue,
// resume, failures and writing.
#pragma once

#include <functional>

#include "nucseg/core/config.hpp"
#include "nucseg/infer/driver.hpp"
#include "nucseg/infer/inputs.hpp"
#include "nucseg/infer/output.hpp"
#include "nucseg/infer/tile_sharing.hpp"

namespace nucseg::infer::detail {

// Seconds per stage on this rank: where a slow run spends its time.
struct StageSeconds {
  double read = 0, network = 0, instances = 0, measure = 0, write = 0;
};

// `index`: the item's index in the input set (what other ranks resolve when they help);
// `first_scale`: the scale of the first pass (initial_scale). Throws for an image that cannot
// be read or segmented (the driver records it as a failure); adds this image's seconds to `spent`.
ImageResult process_one(const InferConfig& config, double first_scale, long index, const InputItem& item,
                        const Stages& stages, TileSharing& sharing, StageSeconds& spent);

// This rank's part as a helper (TileSharing), until every rank's images are done or `stop()`
// (the job-wide stop): the image it helps with is read here once. Returns the tile batches it
// computed.
long help_others(const InferConfig& config, double first_scale, const InputSet& inputs, const Stages& stages,
                 TileSharing& sharing, const std::function<bool()>& stop);

}  // namespace nucseg::infer::detail
