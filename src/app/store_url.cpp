#include "vg/app/store_url.hpp"

namespace vg::app {

std::string RedactedStoreUrl(std::string_view url) {
    std::string out(url);
    const size_t scheme_end = out.find("://");
    if (scheme_end != std::string::npos) {
        const size_t authority = scheme_end + 3;
        const size_t authority_end = out.find_first_of("/?#", authority);
        const size_t at = out.rfind('@', authority_end == std::string::npos ? std::string::npos : authority_end - 1);
        if (at != std::string::npos && at >= authority) {
            const size_t colon = out.find(':', authority);
            if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
        }
    }
    // A password given as a query parameter (libpq accepts every connection keyword there).
    const size_t query = out.find('?');
    for (size_t pos = query; pos != std::string::npos && pos < out.size();) {
        const size_t start = pos + 1;
        const size_t end = out.find('&', start);
        const std::string_view parameter =
            std::string_view(out).substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (parameter.starts_with("password=")) {
            const size_t value = start + 9;
            out.replace(value, (end == std::string::npos ? out.size() : end) - value, "***");
            pos = out.find('&', value);
        } else {
            pos = end;
        }
    }
    return out;
}

}  // namespace vg::app
