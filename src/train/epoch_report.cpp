// Epoch-end outputs of a training run (see epoch_report.hpp).
#include "epoch_report.hpp"

#include <algorithm>
#include <cstdio>

#include "nucseg/core/fs.hpp"
#include "nucseg/core/logging.hpp"
#include "nucseg/dist/collectives.hpp"
#include "nucseg/train/preview.hpp"

namespace nucseg::train {

void Reporter::report(const EpochMetrics& m, const ValidationResult& v, int classes) {
  csv->append(m);
  events->add_scalar("train/loss", m.step, static_cast<float>(m.train_loss));
  events->add_scalar("train/images_per_s", m.step, static_cast<float>(m.images_per_s));
  events->add_scalar("train/lr", m.step, static_cast<float>(m.lr));
  events->add_scalar("val/loss", m.step, static_cast<float>(m.val_loss));
  events->add_scalar("val/pixel_accuracy", m.step, static_cast<float>(m.pixel_accuracy));
  for (int k = 0; k < classes; ++k)
    events->add_scalar("val/iou_" + class_name(k), m.step, static_cast<float>(v.confusion.iou(k)));
  events->add_scalar("val/object_score", m.step, static_cast<float>(m.object_score));
  if (!v.previews.empty()) {
    char name[32];
    std::snprintf(name, sizeof name, "epoch-%03ld.png", m.epoch);
    const auto png = encode_preview(v.previews);
    fs::create_directories(previews);
    fs::write_file_atomic(previews / name, png.bytes);
    events->add_image("val/preview", m.step, png.height, png.width, 3, png.bytes);
  }
  events->flush();
}

void Reporter::report_step(long step, double loss, double lr) {
  if (!events) return;  // rank 0 reports
  events->add_scalar("step/loss", step, static_cast<float>(loss));
  events->add_scalar("step/lr", step, static_cast<float>(lr));
  events->flush_to_os();  // TensorBoard follows the run live; fsync waits for the epoch's end
}

void log_epoch_timing(const dist::World& world, long epoch, long steps, std::vector<double> seconds,
                      double images_per_s) {
  seconds = dist::sum(world, std::move(seconds));
  if (!world.is_root() || steps == 0) return;
  const double per = 1.0 / (static_cast<double>(steps) * world.size());
  const double step = seconds[0] * per, allreduce = seconds[1] * per, wait = seconds[2] * per, loader = seconds[3] * per;
  log::job().info("epoch {} timing: {} steps, {:.4f} s/step, {:.2f} train images/s; all-reduce {:.4f} s/step "
                  "({:.1f}% of the step), waited for it {:.4f} s/step ({:.1f}%); loader wait {:.4f} s/step",
                  epoch, steps, step, images_per_s, allreduce, 100.0 * allreduce / std::max(1e-12, step), wait,
                  100.0 * wait / std::max(1e-12, step), loader);
}

}  // namespace nucseg::train
