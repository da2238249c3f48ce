#include "nucseg/model/keras_h5.hpp"

#include <algorithm>

#include "nucseg/core/error.hpp"

namespace nucseg::model::keras_h5 {
namespace {

std::string where(const h5::Group& g, const std::string& attr) { return g.file_name() + ":" + g.path() + "@" + attr; }

void check(herr_t rc, const char* what, const std::string& w) {
  if (rc < 0) throw_data(w, std::string("HDF5: ") + what + " failed");
}

hid_t checked(hid_t id, const char* what, const std::string& w) {
  if (id < 0) throw_data(w, std::string("HDF5: ") + what + " failed");
  return id;
}

std::vector<std::string> read_one(const h5::Group& g, const std::string& name) {
  const std::string w = where(g, name);
  h5::Handle attr(checked(H5Aopen(g.id(), name.c_str(), H5P_DEFAULT), "H5Aopen", w));
  h5::Handle space(checked(H5Aget_space(attr.get()), "H5Aget_space", w));
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n < 0) throw_data(w, "HDF5: cannot size attribute");
  if (n == 0) return {};  // h5py writes an empty list as an empty float array
  h5::Handle type(checked(H5Aget_type(attr.get()), "H5Aget_type", w));
  if (H5Tget_class(type.get()) != H5T_STRING) throw_data(w, "attribute is not an array of strings");
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(n));
  const htri_t variable = H5Tis_variable_str(type.get());
  if (variable < 0) throw_data(w, "HDF5: H5Tis_variable_str failed");
  if (variable > 0) {
    h5::Handle mem(checked(H5Tcopy(H5T_C_S1), "H5Tcopy", w));
    check(H5Tset_size(mem.get(), H5T_VARIABLE), "H5Tset_size", w);
    std::vector<char*> ptrs(static_cast<size_t>(n), nullptr);
    check(H5Aread(attr.get(), mem.get(), ptrs.data()), "H5Aread", w);
    for (char* p : ptrs) out.emplace_back(p ? p : "");
    H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data());
    return out;
  }
  const size_t size = H5Tget_size(type.get());
  if (size == 0) throw_data(w, "HDF5: string size 0");
  h5::Handle mem(checked(H5Tcopy(H5T_C_S1), "H5Tcopy", w));
  check(H5Tset_size(mem.get(), size), "H5Tset_size", w);
  check(H5Tset_strpad(mem.get(), H5T_STR_NULLPAD), "H5Tset_strpad", w);
  std::vector<char> buf(size * static_cast<size_t>(n));
  check(H5Aread(attr.get(), mem.get(), buf.data()), "H5Aread", w);
  for (hssize_t i = 0; i < n; ++i) {
    const char* s = buf.data() + size * static_cast<size_t>(i);
    out.emplace_back(s, std::find(s, s + size, '\0'));
  }
  return out;
}

}  // namespace

std::vector<std::string> read_names(const h5::Group& group, const std::string& name) {
  if (group.has_attr(name)) return read_one(group, name);
  // Keras's chunked form: name0, name1, ... (save_attributes_to_hdf5_group for > 64 KiB).
  std::vector<std::string> out;
  for (int i = 0; group.has_attr(name + std::to_string(i)); ++i) {
    auto part = read_one(group, name + std::to_string(i));
    out.insert(out.end(), part.begin(), part.end());
  }
  if (out.empty() && !group.has_attr(name + "0")) throw_data(where(group, name), "attribute not found");
  return out;
}

void write_names(const h5::Group& group, const std::string& name, const std::vector<std::string>& values) {
  const std::string w = where(group, name);
  size_t size = 1;
  for (const auto& v : values) size = std::max(size, v.size());
  std::vector<char> buf(size * std::max<size_t>(values.size(), 1), '\0');
  for (size_t i = 0; i < values.size(); ++i) std::copy(values[i].begin(), values[i].end(), buf.begin() + i * size);
  h5::Handle type(checked(H5Tcopy(H5T_C_S1), "H5Tcopy", w));
  check(H5Tset_size(type.get(), size), "H5Tset_size", w);
  check(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), "H5Tset_strpad", w);
  const hsize_t dims[1] = {values.size()};
  h5::Handle space(checked(H5Screate_simple(1, dims, nullptr), "H5Screate_simple", w));
  h5::Handle attr(checked(H5Acreate2(group.id(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                          "H5Acreate2", w));
  check(H5Awrite(attr.get(), type.get(), buf.data()), "H5Awrite", w);
}

}  // namespace nucseg::model::keras_h5
