// Private to src/synth: the nucleus population of one image (sizes, shapes, chromatin) and
// the draw of one nucleus from it.
#pragma once

#include "random.hpp"
#include "scene.hpp"

namespace nucseg::synth::detail {

// Nuclei of one image look alike (one cell type, one magnification), images differ; some
// images hold a second population of another size (two cell types, or lymphocytes among
// tumour cells).
struct ShapeModel {
  double min_r = 1, max_r = 1;     // the configured radius range; every nucleus stays inside
  double typical_r = 1, typical_r2 = 1, second_fraction = 0;
  double size_spread = 0.1;        // log-normal sd of the radius around its population's typical
  double r_cap = 1;                // largest radius drawn in this image (<= max_r)
  double elong_sd = 0.3, max_elong = 3, irregularity = 1;
  double p_lobed = 0, p_kidney = 0, p_mitotic = 0, p_apoptotic = 0, p_defocus = 0;
  double brightness_sd = 0.2, dim_fraction = 0;
  double texture_hi = 0.3, edge_hi = 0.4;
  double spots = 0;                // > 0: chromocentres of about this amplitude
  double p_nucleoli = 0, rim = 0;
  double dab_positive = 0, dab = 0;  // ihc
  bool dab_nuclear = true;
  float max_bound = 1;             // no nucleus of this model has a larger bound
};

ShapeModel draw_shape_model(Rng& rng, const SynthConfig& config, const Imaging& imaging);

// One nucleus centred at (cx, cy); its bound never exceeds m.max_bound.
Nucleus draw_nucleus(Rng& rng, const ShapeModel& m, float cx, float cy);

}  // namespace nucseg::synth::detail
