#pragma once
// Reading and writing safetensors files (float32 tensors only): the exchange format between the
// training side (posture/torch, libtorch) and the serving engine (posture/native, no libtorch).
//
// The format (github.com/huggingface/safetensors): an 8-byte little-endian header length N, N bytes
// of JSON mapping each tensor's name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets into
// the data that follows the header) plus an optional "__metadata__" object of strings, then the data.
// It is chosen over a format of our own because any tool (Python's safetensors, numpy) reads it, and
// over libtorch's archive because reading that needs libtorch's unpickler.
//
// Thread-safety: pure functions over values.

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "vg/common/status.hpp"

namespace vg::posture::native {

struct Tensor {
    std::vector<int64_t> shape;
    std::vector<float> values;  // row-major (C order), product(shape) of them
};

struct TensorFile {
    std::map<std::string, Tensor> tensors;
    std::map<std::string, std::string> metadata;  // "__metadata__"
};

// Reads every tensor. kNotFound when the file is missing; kValidationFailed "<file>: <problem>" when the
// header is not the format's (length past the end, not JSON, a dtype other than F32, offsets outside the
// data, overlapping, or not matching the shape), so a truncated or foreign file never loads.
Result<TensorFile> ReadSafetensors(const std::filesystem::path& file);

// Writes `file` (tensors in name order, data contiguous). REQUIRES: each tensor's values match its shape.
// kInternal when the file cannot be written.
Status WriteSafetensors(const std::filesystem::path& file, const TensorFile& contents);

}  // namespace vg::posture::native
