#include "inputs.hpp"

#include <string>

#include "nucseg/core/error.hpp"
#include "nucseg/core/fields.hpp"

namespace nucseg::pack::detail {
namespace stdfs = std::filesystem;
namespace {

std::string serialize(const Inputs& in) {
  std::string out;
  put_field(out, in.root.string());
  put_field(out, io::layout_name(in.layout));
  put_field(out, std::to_string(in.skipped.hidden));
  put_field(out, std::to_string(in.skipped.temporary));
  put_field(out, std::to_string(in.skipped.others));
  put_field(out, std::to_string(in.skipped.empty_mask_folders));
  put_field(out, std::to_string(in.skipped.extra_images));
  in.skipped.not_regular.put(out);
  put_field(out, in.skipped.output_skipped ? "1" : "0");
  put_field(out, std::to_string(in.items.size()));
  for (const auto& item : in.items) {
    put_field(out, item.id);
    put_field(out, item.image.string());
    put_field(out, io::layout_name(item.layout));
    put_field(out, item.mask_folder.string());
    put_field(out, std::to_string(item.masks.size()));
    for (const auto& m : item.masks) put_field(out, m.string());
  }
  put_field(out, std::to_string(in.problems.size()));
  for (const auto& p : in.problems) {
    put_field(out, p.path.string());
    put_field(out, p.reason);
  }
  return out;
}

Inputs deserialize(const std::string& text) {
  Inputs in;
  size_t pos = 0;
  auto next = [&] { return take_field(text, pos, "listing"); };
  auto count = [&] { return take_count(text, pos, "listing"); };
  in.root = next();
  in.layout = io::parse_layout(next());
  in.skipped.hidden = count();
  in.skipped.temporary = count();
  in.skipped.others = count();
  in.skipped.empty_mask_folders = count();
  in.skipped.extra_images = count();
  in.skipped.not_regular = io::NotRegularFiles::take(text, pos, "listing");
  in.skipped.output_skipped = next() == "1";
  const size_t items = count();
  for (size_t i = 0; i < items; ++i) {
    io::DatasetItem item;
    item.id = next();
    item.image = next();
    item.layout = io::parse_layout(next());
    item.mask_folder = next();
    const size_t masks = count();
    for (size_t k = 0; k < masks; ++k) item.masks.emplace_back(next());
    in.items.push_back(std::move(item));
  }
  const size_t problems = count();
  for (size_t i = 0; i < problems; ++i) {
    io::ListingProblem p;
    p.path = next();
    p.reason = next();
    in.problems.push_back(std::move(p));
  }
  return in;
}

// The flat layout's two folders, checked before listing so that the error names the missing
// folder and its key rather than the dataset root.
void require_flat_folders(const PackConfig& pc, const stdfs::path& root) {
  for (const auto& [key, name] : {std::pair<const char*, std::string>{"pack.images_dir", pc.images_dir},
                                  std::pair<const char*, std::string>{"pack.masks_dir", pc.masks_dir}}) {
    std::error_code ec;
    const auto folder = root / name;
    const auto status = stdfs::status(folder, ec);
    if (stdfs::is_directory(status)) continue;
    const std::string what = status.type() == stdfs::file_type::not_found ? "does not exist"
                             : ec ? "cannot be read (" + ec.message() + ")" : "is not a folder";
    throw_config(key, "folder " + folder.string() + " (" + key + " under pack.input) " + what + "; pack.layout = " +
                          pc.layout + " reads <pack.input>/" + pc.images_dir + " and <pack.input>/" + pc.masks_dir +
                          " (a Kaggle root needs pack.layout = kaggle or auto)");
  }
}

Inputs list_inputs(const PackConfig& pc) {
  if (pc.input.empty()) throw_config("pack.input", "no input folder given (set pack.input)");
  if (pc.output.empty() && !pc.dry_run) throw_config("pack.output", "no output folder given (set pack.output)");
  std::error_code ec;
  Inputs in;
  in.root = stdfs::absolute(pc.input, ec).lexically_normal();
  const auto problem = io::folder_problem(in.root, "input root '" + pc.input + "'");  // "cannot be read": not missing
  if (!problem.empty()) throw_config("pack.input", problem);
  in.layout = pc.layout == "auto" ? io::detect_layout(in.root, pc.images_dir, pc.masks_dir) : io::parse_layout(pc.layout);
  if (in.layout == io::DatasetLayout::flat) require_flat_folders(pc, in.root);
  if (in.layout == io::DatasetLayout::images_only)
    throw_config("pack.input", "no masks under '" + in.root.string() + "': expected <id>/images + <id>/masks (kaggle), " +
                                   pc.images_dir + "/ + " + pc.masks_dir + "/ (flat) or <stem>.png beside <stem>_masks.png "
                                   "(paired)");
  // Shards written into the dataset folder (pack.output inside pack.input) are not an input on
  // the rerun that resumes them.
  const stdfs::path output = pc.output.empty() ? stdfs::path() : stdfs::absolute(pc.output, ec).lexically_normal();
  if (!output.empty() && stdfs::equivalent(in.root, output, ec))
    throw_config("pack.output", "the output folder is the input folder (pack.input): " + pc.output +
                                    "; a folder inside it (" + (in.root / "shards").string() + ") is fine");
  in.items = io::list_dataset(in.root, in.layout, pc.images_dir, pc.masks_dir, &in.problems, &in.skipped, output);
  if (in.items.empty() && in.problems.empty()) throw_config("pack.input", "no images found under '" + in.root.string() + "'");
  return in;
}

}  // namespace

Inputs shared_inputs(const PackConfig& pc, const dist::World& world) {
  std::string text;
  if (world.is_root()) {
    try {
      text = "ok" + serialize(list_inputs(pc));
    } catch (const Error& e) {
      text = std::string(e.kind() == ErrorKind::config ? "ec" : "er");
      put_field(text, e.context().key);
      put_field(text, e.context().file);
      put_field(text, e.message());
    }
  }
  world.broadcast(text);
  if (text.compare(0, 2, "ok") == 0) return deserialize(text.substr(2));
  size_t pos = 2;
  const auto key = take_field(text, pos, "listing"), file = take_field(text, pos, "listing"),
             message = take_field(text, pos, "listing");
  if (text[1] == 'c') throw_config(key, message);
  throw_runtime(message, file.empty() ? pc.input : file);  // the file rank 0's error named
}

}  // namespace nucseg::pack::detail
