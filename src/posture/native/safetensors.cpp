#include "vg/posture/native/safetensors.hpp"

#include <bit>
#include <boost/json.hpp>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

namespace vg::posture::native {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

// Far above any posture network (about 1 MB) and below what a broken length field would ask for.
constexpr uint64_t kMaxHeaderBytes = 16u << 20;
constexpr uint64_t kMaxFileBytes = 1u << 30;

Status Bad(const fs::path& file, const std::string& problem) {
    return Status::Error(ErrorCode::kValidationFailed, file.string() + ": " + problem);
}

}  // namespace

Result<TensorFile> ReadSafetensors(const fs::path& file) {
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) return Status::Error(ErrorCode::kNotFound, file.string() + " does not exist");
    const uint64_t size = fs::file_size(file, ec);
    if (ec) return Bad(file, "cannot be read (" + ec.message() + ")");
    if (size > kMaxFileBytes) return Bad(file, "is larger than 1 GiB; not a posture network");
    std::ifstream in(file, std::ios::binary);
    std::string bytes(size, '\0');
    if (!in.read(bytes.data(), static_cast<std::streamsize>(size))) return Bad(file, "cannot be read");
    if (size < 8) return Bad(file, "is shorter than the 8-byte header length");
    uint64_t header_bytes = 0;
    std::memcpy(&header_bytes, bytes.data(), 8);
    if (header_bytes > kMaxHeaderBytes || header_bytes > size - 8) {
        return Bad(file, "header length " + std::to_string(header_bytes) + " runs past the end (truncated?)");
    }
    boost::system::error_code json_error;
    json::value header = json::parse(std::string_view(bytes.data() + 8, header_bytes), json_error);
    if (json_error || !header.is_object()) return Bad(file, "header is not a JSON object");
    const uint64_t data_start = 8 + header_bytes;
    const uint64_t data_bytes = size - data_start;

    TensorFile out;
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    for (const auto& [key, value] : header.as_object()) {
        const std::string name(key);
        if (name == "__metadata__") {
            if (!value.is_object()) return Bad(file, "__metadata__ must be an object of strings");
            for (const auto& [mk, mv] : value.as_object()) {
                if (!mv.is_string()) return Bad(file, "__metadata__." + std::string(mk) + " must be a string");
                out.metadata[std::string(mk)] = std::string(mv.as_string());
            }
            continue;
        }
        const json::object* entry = value.if_object();
        if (entry == nullptr) return Bad(file, name + ": not an object");
        const json::value* dtype = entry->if_contains("dtype");
        if (dtype == nullptr || !dtype->is_string() || dtype->as_string() != "F32") {
            return Bad(file, name + ": dtype must be F32");
        }
        const json::value* shape = entry->if_contains("shape");
        const json::value* offsets = entry->if_contains("data_offsets");
        if (shape == nullptr || !shape->is_array()) return Bad(file, name + ": shape must be an array");
        if (offsets == nullptr || !offsets->is_array() || offsets->as_array().size() != 2) {
            return Bad(file, name + ": data_offsets must be [begin, end]");
        }
        Tensor tensor;
        uint64_t count = 1;
        for (const json::value& d : shape->as_array()) {
            if (!d.is_int64() || d.as_int64() < 0 || d.as_int64() > (1 << 24)) {
                return Bad(file, name + ": shape must hold non-negative integers");
            }
            tensor.shape.push_back(d.as_int64());
            count *= static_cast<uint64_t>(d.as_int64());
            if (count > data_bytes) return Bad(file, name + ": shape is larger than the file's data");
        }
        const json::array& o = offsets->as_array();
        if (!o[0].is_int64() || !o[1].is_int64() || o[0].as_int64() < 0 || o[1].as_int64() < o[0].as_int64()) {
            return Bad(file, name + ": data_offsets must be integers with begin <= end");
        }
        const auto begin = static_cast<uint64_t>(o[0].as_int64());
        const auto end = static_cast<uint64_t>(o[1].as_int64());
        if (end > data_bytes) return Bad(file, name + ": data_offsets run past the end of the file (truncated?)");
        if (end - begin != count * sizeof(float)) {
            return Bad(file, name + ": data_offsets hold " + std::to_string(end - begin) + " bytes, the shape needs " +
                                 std::to_string(count * sizeof(float)));
        }
        tensor.values.resize(count);
        if (count > 0) std::memcpy(tensor.values.data(), bytes.data() + data_start + begin, count * sizeof(float));
        ranges.emplace_back(begin, end);
        out.tensors.emplace(name, std::move(tensor));
    }
    std::sort(ranges.begin(), ranges.end());
    for (size_t i = 1; i < ranges.size(); ++i) {
        if (ranges[i].first < ranges[i - 1].second) return Bad(file, "tensors overlap in the data");
    }
    return out;
}

Status WriteSafetensors(const fs::path& file, const TensorFile& contents) {
    json::object header;
    uint64_t offset = 0;
    for (const auto& [name, tensor] : contents.tensors) {
        json::array shape;
        for (int64_t d : tensor.shape) shape.push_back(d);
        const uint64_t bytes = tensor.values.size() * sizeof(float);
        header[name] = {{"dtype", "F32"},
                        {"shape", std::move(shape)},
                        {"data_offsets", {static_cast<int64_t>(offset), static_cast<int64_t>(offset + bytes)}}};
        offset += bytes;
    }
    if (!contents.metadata.empty()) {
        json::object metadata;
        for (const auto& [k, v] : contents.metadata) metadata[k] = v;
        header["__metadata__"] = std::move(metadata);
    }
    std::string text = json::serialize(header);
    // The format pads the header with spaces so the data starts 8-byte aligned.
    while ((8 + text.size()) % 8 != 0) text.push_back(' ');
    const uint64_t header_bytes = text.size();
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(&header_bytes), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& [name, tensor] : contents.tensors) {
        out.write(reinterpret_cast<const char*>(tensor.values.data()),
                  static_cast<std::streamsize>(tensor.values.size() * sizeof(float)));
    }
    out.flush();
    if (!out) return Status::Error(ErrorCode::kInternal, "cannot write " + file.string());
    return Status::Ok();
}

}  // namespace vg::posture::native
