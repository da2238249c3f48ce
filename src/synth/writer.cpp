// The Kaggle DSB 2018 stage1 layout on disk, and the nucseg_synth job over MPI ranks.
#include "nucseg/synth/writer.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fs.hpp"
#include "nucseg/core/logging.hpp"
#include "nucseg/core/signals.hpp"

namespace nucseg::synth {
namespace {

namespace stdfs = std::filesystem;

void write_png(const stdfs::path& path, const cv::Mat& image) {
  std::vector<uchar> bytes;
  bool ok = false;
  try {
    // Level 1: the masks are mostly zeros, which deflate well at any level; 3x faster than 6.
    ok = cv::imencode(".png", image, bytes, {cv::IMWRITE_PNG_COMPRESSION, 1});
  } catch (const cv::Exception& e) {
    throw_runtime(std::string("cannot encode PNG: ") + e.what(), path.string());
  }
  if (!ok) throw_runtime("cannot encode PNG", path.string());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw_runtime(std::string("cannot create file: ") + std::strerror(errno), path.string());
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.flush();
  if (!out) throw_runtime(std::string("cannot write file: ") + std::strerror(errno), path.string());
}

void remove_tree(const stdfs::path& path) {
  std::error_code ec;
  stdfs::remove_all(path, ec);
  if (ec) throw_runtime("cannot remove folder: " + ec.message(), path.string());
}

// Fills a temporary sibling of <root>/<id> with `fill`, then renames it into place (replacing
// an older complete folder), so an <id> folder is either absent or complete.
template <class Fill>
void write_sample_folder(const stdfs::path& root, const SynthSample& sample, Fill fill) {
  const std::string id = fs::safe_component(sample.id);
  const stdfs::path final_dir = root / id;
  const stdfs::path tmp = fs::temporary_sibling(final_dir);
  remove_tree(tmp);
  fs::create_directories(tmp / "images");
  cv::Mat bgra;
  cv::cvtColor(sample.rgba, bgra, cv::COLOR_RGBA2BGRA);  // OpenCV writes BGR(A) order
  write_png(tmp / "images" / (id + ".png"), bgra);
  fill(tmp);
  std::error_code ec;
  if (stdfs::exists(final_dir, ec)) {
    const stdfs::path old = final_dir.string() + ".tmp-old-" + stdfs::path(tmp).extension().string().substr(1);
    remove_tree(old);
    fs::commit_rename(final_dir, old);
    fs::commit_rename(tmp, final_dir);
    remove_tree(old);
  } else {
    fs::commit_rename(tmp, final_dir);
  }
}

void check_sample(const SynthSample& s) {
  if (s.rgba.type() != CV_8UC4 || s.labels.type() != CV_32SC1 || s.rgba.size() != s.labels.size())
    throw_runtime("sample " + s.id + " is not an RGBA image with a label image of the same size");
}

// Removes temporaries of synthetic samples left by killed runs (readers ignore them anyway).
void remove_stale_temporaries(const stdfs::path& root) {
  std::error_code ec;
  for (stdfs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind("synth-", 0) == 0 && fs::is_temporary_name(it->path())) remove_tree(it->path());
  }
  if (ec) throw_runtime("cannot list folder: " + ec.message(), root.string());
}

}  // namespace

bool sample_complete(const stdfs::path& root, const std::string& id) {
  const std::string safe = fs::safe_component(id);
  std::error_code ec;
  return stdfs::is_regular_file(root / safe / "images" / (safe + ".png"), ec);
}

stdfs::path big_image_root(const SynthConfig& config) {
  stdfs::path out(config.output);
  while (!out.empty() && !out.has_filename()) out = out.parent_path();  // "data/" -> "data"
  return out.string() + "_big";
}

void write_kaggle_sample(const stdfs::path& root, const SynthSample& sample) {
  check_sample(sample);
  write_sample_folder(root, sample, [&](const stdfs::path& dir) {
    fs::create_directories(dir / "masks");
    double max_label = 0;
    cv::minMaxLoc(sample.labels, nullptr, &max_label);
    cv::Mat mask;
    for (int k = 1; k <= static_cast<int>(max_label); ++k) {
      cv::compare(sample.labels, cv::Scalar(k), mask, cv::CMP_EQ);  // 0 / 255
      write_png(dir / "masks" / (std::to_string(k) + ".png"), mask);
    }
  });
}

void write_big_sample(const stdfs::path& root, const SynthSample& sample) {
  check_sample(sample);
  double max_label = 0;
  cv::minMaxLoc(sample.labels, nullptr, &max_label);
  if (max_label > 65535)
    throw_config("synth.big_image", "the big image has " + std::to_string(static_cast<long>(max_label)) +
                                        " nuclei, more than a 16-bit label PNG holds; lower synth.big_image or synth.density");
  write_sample_folder(root, sample, [&](const stdfs::path& dir) {
    cv::Mat labels16;
    sample.labels.convertTo(labels16, CV_16U);
    write_png(dir / "labels.png", labels16);
  });
}

int run_synth(const Config& config, const dist::World& world) {
  const SynthConfig& sc = config.synth;
  if (sc.output.empty()) throw_config("synth.output", "synth.output is empty: name the folder to write");
  const stdfs::path root(sc.output);
  if (world.is_root()) {
    fs::create_directories(root);
    remove_stale_temporaries(root);
  }
  world.barrier();
  StopSignal::install();

  long local_total = 0;
  for (int i = world.rank(); i < sc.count; i += world.size()) ++local_total;
  log::job().info("synth: {} images ({} style, sides {}..{}, seed {}) -> {} on {} rank(s)", sc.count, sc.style,
                  sc.min_side, sc.max_side, sc.seed, root.string(), world.size());
  log::Progress progress("synth (rank 0's share)", local_total, config.log.progress_seconds, "images");
  long written = 0, skipped = 0, nuclei = 0, done = 0;
  bool stopped = false;
  for (int i = world.rank(); i < sc.count; i += world.size()) {
    if (StopSignal::requested()) {
      stopped = true;
      break;
    }
    const std::string id = sample_id(sc, i);
    if (!sc.overwrite && sample_complete(root, id)) {
      ++skipped;
    } else {
      SynthSample sample = generate_sample(sc, i);
      double max_label = 0;
      cv::minMaxLoc(sample.labels, nullptr, &max_label);
      nuclei += static_cast<long>(max_label);
      write_kaggle_sample(root, sample);
      ++written;
    }
    progress.update(++done);
  }
  progress.finish();

  if (sc.big_image > 0 && !stopped && world.rank() == world.size() - 1) {
    const stdfs::path big_root = big_image_root(sc);
    const std::string id = big_sample_id(sc, sc.big_image);
    if (!sc.overwrite && sample_complete(big_root, id)) {
      log::rank().info("synth: big image {} exists, skipped", (big_root / id).string());
    } else {
      auto t0 = std::chrono::steady_clock::now();
      fs::create_directories(big_root);
      SynthSample big = generate_big_sample(sc, sc.big_image);
      double t_gen = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      write_big_sample(big_root, big);
      double t_all = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      log::rank().info("synth: big image {}x{} ({}) -> {} in {} (generation {})", sc.big_image, sc.big_image, big.style,
                       (big_root / id).string(), log::format_duration(t_all), log::format_duration(t_gen));
    }
  }

  const long total_written = world.sum(written), total_skipped = world.sum(skipped), total_nuclei = world.sum(nuclei);
  stopped = world.any(stopped);
  log::job().info("synth: wrote {} images ({} nuclei), skipped {} complete ones{}", total_written, total_nuclei,
                  total_skipped, stopped ? "; stopped by a signal, rerun to finish" : "");
  return stopped ? exit_codes::requeue : exit_codes::ok;
}

}  // namespace nucseg::synth
