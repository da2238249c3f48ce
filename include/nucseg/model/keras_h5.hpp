// Keras legacy HDF5 weight files store names as attributes holding arrays of fixed-length
// byte strings (root "layer_names", per layer "weight_names"); nucseg::h5 handles scalar
// attributes only, so these helpers speak the HDF5 C API directly. Torch-free.
#pragma once

#include <string>
#include <vector>

#include "nucseg/io/hdf5.hpp"

namespace nucseg::model::keras_h5 {

// Reads a 1-D string-array attribute (fixed or variable length). Keras splits attributes over
// 64 KiB into name0, name1, ...; those are joined. An empty non-string array (how h5py stores
// an empty Python list) reads as no names. Missing attribute or other types: Error(data).
std::vector<std::string> read_names(const h5::Group& group, const std::string& name);

// Writes a 1-D attribute of fixed-length NUL-padded strings, as h5py does for numpy 'S' arrays
// (Keras's own writer). Used by tests and tools that produce Keras-layout files.
void write_names(const h5::Group& group, const std::string& name, const std::vector<std::string>& values);

}  // namespace nucseg::model::keras_h5
