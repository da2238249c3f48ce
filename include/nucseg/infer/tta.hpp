// Test-time augmentation (infer.tta): the model runs on transformed copies of each tile batch
// (the 4 mirror images: identity, left-right, up-down, both; "dihedral" adds the 4 transposed
// ones: transpose, the two 90-degree rotations and the anti-transpose), each output is
// transformed back, and the class probabilities (softmax of the logits) are averaged. The
// wrapped model returns log(mean probability), which the tiler blends and turns back into
// probabilities like any logits (softmax of log p is p). Costs x4 or x8 network time.
// A model that commutes with the transforms (a pointwise one, say; for a flow head's planes, one
// whose vectors turn with the image) gives its plain result.
#pragma once

#include <string>

#include "nucseg/infer/tiler.hpp"

namespace nucseg::infer {

enum class TtaMode { off, flips, dihedral };

// "off", "flips", "dihedral"; anything else is Error(config) naming infer.tta.
TtaMode parse_tta_mode(const std::string& name);

// Forward passes per tile batch: 1, 4 or 8.
int tta_transform_count(TtaMode mode);

// `model` under `mode` (off: `model` itself); `classes` class logits per pixel, then `extras`
// extra outputs' logits (1: a distance head; 2: a flow head's dy, dx; 3: both). The result's
// class logits are the log of the mean softmax over the transforms, its extras the logit of the
// mean sigmoid; a flow's vectors are turned back with the image before they are averaged.
TileModel with_tta(TileModel model, TtaMode mode, int classes, int extras = 0);

}  // namespace nucseg::infer
