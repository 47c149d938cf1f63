#include "vg/common/status.hpp"

namespace vg {

std::string Status::ToString() const {
    if (ok()) return "ok";
    std::string out(ErrorCodeName(code_));
    out += ": ";
    out += message_;
    for (const auto& f : fields_) {
        out += "; ";
        out += f.field;
        out += ": ";
        out += f.problem;
    }
    return out;
}

}  // namespace vg
