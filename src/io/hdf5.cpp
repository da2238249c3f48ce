#include "nucseg/io/hdf5.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "nucseg/core/error.hpp"

namespace nucseg::h5 {

namespace {

// The innermost messages of HDF5's error stack: where the system's reason (errno text) is.
herr_t collect_error(unsigned /*n*/, const H5E_error2_t* e, void* data) {
  auto* out = static_cast<std::vector<std::string>*>(data);
  if (e && e->desc && *e->desc) out->emplace_back(e->desc);
  return 0;
}

}  // namespace

std::string error_detail() {
  std::vector<std::string> messages;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect_error, &messages);  // innermost first
  H5Eclear2(H5E_DEFAULT);
  if (messages.empty()) return {};
  // The sec2 driver's message of a failed write or read carries the system's reason as
  // "error message = '...'": that is what a user needs ("No space left on device").
  for (const auto& m : messages) {
    auto at = m.find("error message = '");
    if (at == std::string::npos) continue;
    at += 17;
    auto end = m.find('\'', at);
    return ": " + m.substr(at, end == std::string::npos ? std::string::npos : end - at);
  }
  return ": " + messages.front();
}

namespace {

void check(herr_t rc, const std::string& what, const std::string& where) {
  if (rc < 0) throw_runtime("HDF5: " + what + " failed" + error_detail(), where);
}

hid_t checked_id(hid_t id, const std::string& what, const std::string& where) {
  if (id < 0) throw_runtime("HDF5: " + what + " failed" + error_detail(), where);
  return id;
}

Handle string_type() {
  Handle t(checked_id(H5Tcopy(H5T_C_S1), "H5Tcopy", "string type"));
  check(H5Tset_size(t.get(), H5T_VARIABLE), "H5Tset_size", "string type");
  check(H5Tset_cset(t.get(), H5T_CSET_UTF8), "H5Tset_cset", "string type");
  return t;
}

}  // namespace

void silence_library_errors() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

Handle::~Handle() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: H5Fclose(id_); break;
    case H5I_GROUP: H5Gclose(id_); break;
    case H5I_DATASET: H5Dclose(id_); break;
    case H5I_DATASPACE: H5Sclose(id_); break;
    case H5I_DATATYPE: H5Tclose(id_); break;
    case H5I_ATTR: H5Aclose(id_); break;
    case H5I_GENPROP_LST: H5Pclose(id_); break;
    default: break;
  }
}

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    Handle old(id_);
    id_ = other.release();
  }
  return *this;
}

hid_t native_type(Type t) {
  switch (t) {
    case Type::u8: return H5T_NATIVE_UINT8;
    case Type::u16: return H5T_NATIVE_UINT16;
    case Type::u32: return H5T_NATIVE_UINT32;
    case Type::i32: return H5T_NATIVE_INT32;
    case Type::i64: return H5T_NATIVE_INT64;
    case Type::f32: return H5T_NATIVE_FLOAT;
    case Type::f64: return H5T_NATIVE_DOUBLE;
  }
  return H5T_NATIVE_UINT8;
}

size_t type_size(Type t) {
  switch (t) {
    case Type::u8: return 1;
    case Type::u16: return 2;
    case Type::u32: case Type::i32: case Type::f32: return 4;
    case Type::i64: case Type::f64: return 8;
  }
  return 1;
}

std::string Group::where(const std::string& name) const {
  std::string p = path_ == "/" ? "/" + name : path_ + "/" + name;
  return file_ + ":" + p;
}

Group Group::create_group(const std::string& name) const {
  Handle g(checked_id(H5Gcreate2(id(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "create group",
                      where(name)));
  return Group(std::move(g), file_, path_ == "/" ? "/" + name : path_ + "/" + name);
}

Group Group::open_group(const std::string& name) const {
  Handle g(H5Gopen2(id(), name.c_str(), H5P_DEFAULT));
  if (!g.valid()) throw_data(where(name), "HDF5: group not found");
  return Group(std::move(g), file_, path_ == "/" ? "/" + name : path_ + "/" + name);
}

bool Group::exists(const std::string& name) const {
  // H5Lexists needs each intermediate link to exist; check them one by one.
  std::string partial;
  size_t start = 0;
  while (start <= name.size()) {
    size_t slash = name.find('/', start);
    partial = name.substr(0, slash);
    htri_t rc = H5Lexists(id(), partial.c_str(), H5P_DEFAULT);
    if (rc <= 0) return false;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return true;
}

std::vector<std::string> Group::children() const {
  H5G_info_t info;
  check(H5Gget_info(id(), &info), "H5Gget_info", where(""));
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    ssize_t n = H5Lget_name_by_idx(id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (n < 0) throw_runtime("HDF5: cannot list group", where(""));
    std::string name(static_cast<size_t>(n), '\0');
    H5Lget_name_by_idx(id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), static_cast<size_t>(n) + 1,
                       H5P_DEFAULT);
    names.push_back(name);
  }
  return names;
}

void Group::write(const std::string& name, Type type, const void* data, const std::vector<hsize_t>& dims,
                  const WriteOptions& options) const {
  auto w = where(name);
  Handle space(checked_id(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), "H5Screate_simple", w));
  Handle props(checked_id(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate", w));
  size_t count = 1;
  for (auto d : dims) count *= d;
  bool compress = options.gzip > 0 && count > 0 && !dims.empty();
  if (compress || !options.chunk.empty()) {
    std::vector<hsize_t> chunk = options.chunk;
    if (chunk.empty()) {
      // Default: whole rows, up to about 1 MiB per chunk.
      chunk = dims;
      size_t bytes = count * type_size(type);
      for (size_t i = 0; i < chunk.size() && bytes > (1u << 20); ++i) {
        hsize_t keep = std::max<hsize_t>(1, chunk[i] * (1u << 20) / bytes);
        bytes = bytes / chunk[i] * keep;
        chunk[i] = keep;
      }
    }
    for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = std::max<hsize_t>(1, std::min(chunk[i], std::max<hsize_t>(dims[i], 1)));
    if (count > 0) {
      check(H5Pset_chunk(props.get(), static_cast<int>(chunk.size()), chunk.data()), "H5Pset_chunk", w);
      if (options.shuffle && compress) check(H5Pset_shuffle(props.get()), "H5Pset_shuffle", w);
      if (compress) check(H5Pset_deflate(props.get(), static_cast<unsigned>(options.gzip)), "H5Pset_deflate", w);
    }
  }
  Handle set(checked_id(H5Dcreate2(id(), name.c_str(), native_type(type), space.get(), H5P_DEFAULT, props.get(), H5P_DEFAULT),
                        "create dataset", w));
  if (count > 0) check(H5Dwrite(set.get(), native_type(type), H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "H5Dwrite", w);
}

void Group::write_strings(const std::string& name, const std::vector<std::string>& values, int gzip) const {
  auto w = where(name);
  hsize_t n = values.size();
  Handle space(checked_id(H5Screate_simple(1, &n, nullptr), "H5Screate_simple", w));
  Handle type = string_type();
  Handle props(checked_id(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate", w));
  if (n > 0 && gzip > 0) {
    hsize_t chunk = std::min<hsize_t>(n, 4096);
    check(H5Pset_chunk(props.get(), 1, &chunk), "H5Pset_chunk", w);
    check(H5Pset_deflate(props.get(), static_cast<unsigned>(gzip)), "H5Pset_deflate", w);
  }
  Handle set(checked_id(H5Dcreate2(id(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, props.get(), H5P_DEFAULT),
                        "create dataset", w));
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  if (n > 0) check(H5Dwrite(set.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), "H5Dwrite", w);
}

std::vector<hsize_t> Group::shape(const std::string& name) const {
  auto w = where(name);
  Handle set(H5Dopen2(id(), name.c_str(), H5P_DEFAULT));
  if (!set.valid()) throw_data(w, "HDF5: dataset not found");
  Handle space(checked_id(H5Dget_space(set.get()), "H5Dget_space", w));
  int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) throw_runtime("HDF5: cannot read dataset shape", w);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dims;
}

Type Group::stored_type(const std::string& name) const {
  auto w = where(name);
  Handle set(H5Dopen2(id(), name.c_str(), H5P_DEFAULT));
  if (!set.valid()) throw_data(w, "HDF5: dataset not found");
  Handle type(checked_id(H5Dget_type(set.get()), "H5Dget_type", w));
  H5T_class_t cls = H5Tget_class(type.get());
  size_t size = H5Tget_size(type.get());
  if (cls == H5T_FLOAT) return size == 4 ? Type::f32 : Type::f64;
  if (cls == H5T_INTEGER) {
    bool is_signed = H5Tget_sign(type.get()) == H5T_SGN_2;
    if (!is_signed && size == 1) return Type::u8;
    if (!is_signed && size == 2) return Type::u16;
    if (!is_signed && size == 4) return Type::u32;
    if (is_signed && size <= 4) return Type::i32;
    return Type::i64;
  }
  throw_data(w, "HDF5: dataset has a type nucseg does not read");
}

void Group::read(const std::string& name, Type type, void* out) const {
  auto w = where(name);
  Handle set(H5Dopen2(id(), name.c_str(), H5P_DEFAULT));
  if (!set.valid()) throw_data(w, "HDF5: dataset not found");
  check(H5Dread(set.get(), native_type(type), H5S_ALL, H5S_ALL, H5P_DEFAULT, out), "H5Dread", w);
}

std::vector<std::string> Group::read_strings(const std::string& name) const {
  auto w = where(name);
  Handle set(H5Dopen2(id(), name.c_str(), H5P_DEFAULT));
  if (!set.valid()) throw_data(w, "HDF5: dataset not found");
  Handle space(checked_id(H5Dget_space(set.get()), "H5Dget_space", w));
  hssize_t n = H5Sget_simple_extent_npoints(space.get());
  std::vector<char*> ptrs(static_cast<size_t>(n), nullptr);
  Handle type = string_type();
  if (n > 0) check(H5Dread(set.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), "H5Dread", w);
  std::vector<std::string> values;
  for (auto* p : ptrs) values.emplace_back(p ? p : "");
  if (n > 0) H5Dvlen_reclaim(type.get(), space.get(), H5P_DEFAULT, ptrs.data());
  return values;
}

namespace {

void write_attr(hid_t object, const std::string& name, hid_t type, const void* value, const std::string& w) {
  if (H5Aexists(object, name.c_str()) > 0) check(H5Adelete(object, name.c_str()), "H5Adelete", w);
  Handle space(checked_id(H5Screate(H5S_SCALAR), "H5Screate", w));
  Handle attr(checked_id(H5Acreate2(object, name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2",
                         w + "@" + name));
  check(H5Awrite(attr.get(), type, value), "H5Awrite", w + "@" + name);
}

void set_string_attr(hid_t object, const std::string& name, const std::string& value, const std::string& w) {
  Handle type = string_type();
  const char* p = value.c_str();
  write_attr(object, name, type.get(), &p, w);
}

Handle open_attr(hid_t object, const std::string& name, const std::string& w) {
  Handle attr(H5Aopen(object, name.c_str(), H5P_DEFAULT));
  if (!attr.valid()) throw_data(w, "HDF5: attribute '" + name + "' not found");
  return attr;
}

std::string get_string_attr(hid_t object, const std::string& name, const std::string& w) {
  Handle attr = open_attr(object, name, w);
  Handle stored(checked_id(H5Aget_type(attr.get()), "H5Aget_type", w));
  if (H5Tget_class(stored.get()) != H5T_STRING) throw_data(w, "HDF5: attribute '" + name + "' is not a string");
  if (H5Tis_variable_str(stored.get()) > 0) {
    Handle type = string_type();
    char* p = nullptr;
    check(H5Aread(attr.get(), type.get(), &p), "H5Aread", w + "@" + name);
    std::string out = p ? p : "";
    H5free_memory(p);
    return out;
  }
  size_t size = H5Tget_size(stored.get());
  std::string out(size, '\0');
  check(H5Aread(attr.get(), stored.get(), out.data()), "H5Aread", w + "@" + name);
  out.resize(std::strlen(out.c_str()));
  return out;
}

template <class T>
T get_number_attr(hid_t object, const std::string& name, hid_t native, const std::string& w) {
  Handle attr = open_attr(object, name, w);
  T value{};
  check(H5Aread(attr.get(), native, &value), "H5Aread", w + "@" + name);
  return value;
}

Handle open_object(hid_t parent, const std::string& object, const std::string& w) {
  Handle h(H5Oopen(parent, object.c_str(), H5P_DEFAULT));
  if (!h.valid()) throw_data(w, "HDF5: object not found");
  return h;
}

void close_object(Handle& h) { H5Oclose(h.release()); }

}  // namespace

void Group::set_attr(const std::string& name, const std::string& value) const { set_string_attr(id(), name, value, where("")); }
void Group::set_attr(const std::string& name, int64_t value) const { write_attr(id(), name, H5T_NATIVE_INT64, &value, where("")); }
void Group::set_attr(const std::string& name, double value) const { write_attr(id(), name, H5T_NATIVE_DOUBLE, &value, where("")); }
bool Group::has_attr(const std::string& name) const { return H5Aexists(id(), name.c_str()) > 0; }
std::string Group::attr_string(const std::string& name) const { return get_string_attr(id(), name, where("")); }
int64_t Group::attr_int(const std::string& name) const { return get_number_attr<int64_t>(id(), name, H5T_NATIVE_INT64, where("")); }
double Group::attr_double(const std::string& name) const { return get_number_attr<double>(id(), name, H5T_NATIVE_DOUBLE, where("")); }

void Group::set_attr_on(const std::string& object, const std::string& name, const std::string& value) const {
  Handle h = open_object(id(), object, where(object));
  set_string_attr(h.get(), name, value, where(object));
  close_object(h);
}
void Group::set_attr_on(const std::string& object, const std::string& name, int64_t value) const {
  Handle h = open_object(id(), object, where(object));
  write_attr(h.get(), name, H5T_NATIVE_INT64, &value, where(object));
  close_object(h);
}
std::string Group::attr_string_on(const std::string& object, const std::string& name) const {
  Handle h = open_object(id(), object, where(object));
  auto v = get_string_attr(h.get(), name, where(object));
  close_object(h);
  return v;
}
int64_t Group::attr_int_on(const std::string& object, const std::string& name) const {
  Handle h = open_object(id(), object, where(object));
  auto v = get_number_attr<int64_t>(h.get(), name, H5T_NATIVE_INT64, where(object));
  close_object(h);
  return v;
}

namespace {

// HDF5 1.10.8 cannot close a file once a metadata flush failed (a full disk): every later
// flush fails ("slist already enabled?"), H5Fclose leaves the identifier behind, and the
// library's clean-up at exit then crashes on it (exit 139 after a run that had reported its
// error). So the library's exit handler is not installed: nucseg closes every file it writes
// itself (File's destructor), and read-only files need no clean-up. This runs before main(),
// before any other HDF5 call, as H5dont_atexit() requires.
const bool g_no_hdf5_atexit = [] { return H5dont_atexit() >= 0; }();

// The writes of a file that failed are sent to an anonymous memory file, so the temporary it
// was writing (which the caller deletes) gives its disk space back at once.
void abandon_writes(hid_t file) noexcept {
  Handle fapl(H5Fget_access_plist(file));
  if (!fapl.valid() || H5Pget_driver(fapl.get()) != H5FD_SEC2) return;
  void* handle = nullptr;
  if (H5Fget_vfd_handle(file, fapl.get(), &handle) < 0 || !handle) return;
  int fd = *static_cast<int*>(handle);
  int sink = ::memfd_create("nucseg-abandoned-hdf5", MFD_CLOEXEC);
  if (sink < 0) return;
  ::dup2(sink, fd);
  ::close(sink);
}

// Closes `id`, making sure the close cannot fail on a write: a failed flush abandons the
// file's writes first. Returns the flush's error detail ("" when it succeeded).
std::string close_file(hid_t id, bool writable) noexcept {
  std::string detail;
  if (writable && H5Fflush(id, H5F_SCOPE_LOCAL) < 0) {
    detail = error_detail();
    if (detail.empty()) detail = ": unknown reason";
    abandon_writes(id);
  }
  if (H5Fclose(id) < 0 && detail.empty()) detail = error_detail();
  H5Eclear2(H5E_DEFAULT);
  return detail;
}

}  // namespace

File::~File() {
  if (h_.valid()) close_file(h_.release(), writable_);
}

File::File(const std::string& path, Mode mode) : writable_(mode != Mode::read) {
  silence_library_errors();
  file_ = path;
  path_ = "/";
  hid_t id = -1;
  switch (mode) {
    case Mode::read: id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT); break;
    case Mode::read_write: id = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT); break;
    case Mode::create_truncate: id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT); break;
  }
  if (id < 0) {
    if (mode == Mode::create_truncate) throw_runtime("HDF5: cannot create file" + error_detail(), path);
    throw_data(path, "HDF5: cannot open file (missing, unreadable or not HDF5)");
  }
  h_ = Handle(id);
}


int File::open_objects() const {
  ssize_t n = H5Fget_obj_count(id(), H5F_OBJ_DATASET | H5F_OBJ_GROUP | H5F_OBJ_DATATYPE | H5F_OBJ_ATTR | H5F_OBJ_LOCAL);
  if (n < 0) throw_runtime("HDF5: H5Fget_obj_count failed" + error_detail(), file_);
  return static_cast<int>(n);
}

void File::close() {
  if (!h_.valid()) return;
  // H5Fclose of a file with an open group or dataset only drops this handle: the library
  // writes the file's metadata when the last object closes, which could be after the caller
  // has fsync'ed and renamed it. So every object must be closed first.
  if (int n = open_objects(); n > 0)
    throw_runtime("HDF5: " + std::to_string(n) + " object(s) still open when closing the file (a bug: they would be "
                  "written after the file is committed)", file_);
  // Flushing first surfaces a failed write (a full disk) while the file is still open.
  std::string detail = close_file(h_.release(), writable_);
  if (!detail.empty()) throw_runtime("HDF5: writing the file failed" + detail, file_);
}

}  // namespace nucseg::h5
