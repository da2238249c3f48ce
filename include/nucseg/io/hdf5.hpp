// Thin RAII layer over the HDF5 C API: every call checked, every failure an Error that names
// the file and object. Datasets are written chunked with shuffle + gzip only, so stock h5py
// reads every file nucseg writes without plugins.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace nucseg::h5 {

// Owns one hid_t and closes it with the right H5*close.
class Handle final {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  ~Handle();
  Handle(Handle&& other) noexcept : id_(other.release()) {}
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t get() const { return id_; }
  hid_t release() {
    hid_t id = id_;
    id_ = H5I_INVALID_HID;
    return id;
  }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// Element types nucseg stores; maps to native HDF5 types.
enum class Type { u8, u16, u32, i32, i64, f32, f64 };
template <class T> constexpr Type type_of();
template <> constexpr Type type_of<uint8_t>() { return Type::u8; }
template <> constexpr Type type_of<uint16_t>() { return Type::u16; }
template <> constexpr Type type_of<uint32_t>() { return Type::u32; }
template <> constexpr Type type_of<int32_t>() { return Type::i32; }
template <> constexpr Type type_of<int64_t>() { return Type::i64; }
template <> constexpr Type type_of<float>() { return Type::f32; }
template <> constexpr Type type_of<double>() { return Type::f64; }
hid_t native_type(Type t);
size_t type_size(Type t);

struct WriteOptions {
  std::vector<hsize_t> chunk;  // empty: whole dataset one chunk (capped), or contiguous if tiny
  int gzip = 4;                // 0: no compression
  bool shuffle = true;
};

class File;

// A group (the file's root is a group too).
class Group {
 public:
  Group() = default;
  Group(Handle h, std::string file, std::string path) : h_(std::move(h)), file_(std::move(file)), path_(std::move(path)) {}

  hid_t id() const { return h_.get(); }
  const std::string& file_name() const { return file_; }
  const std::string& path() const { return path_; }

  Group create_group(const std::string& name) const;
  Group open_group(const std::string& name) const;
  bool exists(const std::string& name) const;  // link exists (group or dataset)
  std::vector<std::string> children() const;   // link names, in creation/name order

  // Datasets. `dims` gives the shape; data holds product(dims) elements in C order.
  void write(const std::string& name, Type type, const void* data, const std::vector<hsize_t>& dims,
             const WriteOptions& options = {}) const;
  template <class T>
  void write(const std::string& name, const std::vector<T>& data, const std::vector<hsize_t>& dims,
             const WriteOptions& options = {}) const {
    write(name, type_of<T>(), data.data(), dims, options);
  }
  // Variable-length UTF-8 strings as a 1-D dataset (readable by h5py as bytes/str).
  void write_strings(const std::string& name, const std::vector<std::string>& values, int gzip = 4) const;

  std::vector<hsize_t> shape(const std::string& name) const;
  Type stored_type(const std::string& name) const;  // closest nucseg Type of the stored data
  void read(const std::string& name, Type type, void* out) const;  // converts to `type`
  template <class T>
  std::vector<T> read(const std::string& name) const {
    auto dims = shape(name);
    size_t n = 1;
    for (auto d : dims) n *= d;
    std::vector<T> out(n);
    read(name, type_of<T>(), out.data());
    return out;
  }
  std::vector<std::string> read_strings(const std::string& name) const;

  // Attributes on this group (scalar or string).
  void set_attr(const std::string& name, const std::string& value) const;
  void set_attr(const std::string& name, int64_t value) const;
  void set_attr(const std::string& name, double value) const;
  bool has_attr(const std::string& name) const;
  std::string attr_string(const std::string& name) const;
  int64_t attr_int(const std::string& name) const;
  double attr_double(const std::string& name) const;

  // Attributes on a dataset or group below this one.
  void set_attr_on(const std::string& object, const std::string& name, const std::string& value) const;
  void set_attr_on(const std::string& object, const std::string& name, int64_t value) const;
  std::string attr_string_on(const std::string& object, const std::string& name) const;
  int64_t attr_int_on(const std::string& object, const std::string& name) const;

 protected:
  std::string where(const std::string& name) const;  // "file:/path/name" for messages
  Handle h_;
  std::string file_;
  std::string path_;
};

class File final : public Group {
 public:
  enum class Mode { read, read_write, create_truncate };
  File(const std::string& path, Mode mode);
  ~File();  // closes; a file that cannot be written any more is closed without crashing HDF5
  File(File&&) = default;
  File& operator=(File&&) = delete;
  // Flushes and closes now, so a failed write (a full disk: the message carries the system's
  // reason) is an Error here; the destructor closes silently otherwise. Error(runtime) when a
  // group or dataset of the file is still open: HDF5 would write the file's metadata only when
  // that object closes, after the caller renamed the file.
  void close();
  int open_objects() const;  // groups, datasets, types and attributes of this file still open

 private:
  bool writable_ = false;
};

// The innermost messages of the calling thread's HDF5 error stack (the system's reason when
// there is one, e.g. ": No space left on device"), as ": ..." or "" when empty; clears the stack.
std::string error_detail();

// Turns the HDF5 library's own error stack printing off (we raise Errors instead).
void silence_library_errors();

}  // namespace nucseg::h5
