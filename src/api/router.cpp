#include "vg/api/router.hpp"

namespace vg::api {

std::vector<std::string_view> Router::Split(std::string_view path) {
    std::vector<std::string_view> segments;
    size_t i = 0;
    while (i < path.size()) {
        if (path[i] == '/') {
            ++i;
            continue;
        }
        size_t j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        segments.push_back(path.substr(i, j - i));
        i = j;
    }
    return segments;
}

void Router::Add(std::string method, std::string pattern, Access access, http::Lane lane, RouteHandler handler,
                 HotPath hot) {
    std::vector<std::string> segments;
    for (std::string_view segment : Split(pattern)) segments.emplace_back(segment);
    routes_.push_back(
        {std::move(method), std::move(pattern), access, lane, std::move(handler), std::move(segments), hot});
}

Router::Match Router::Find(std::string_view method, std::string_view path) const {
    Match match;
    // Empty segments (a trailing slash, "//") do not count, so "/api/signup/" matches "/api/signup".
    const auto segments = Split(path);
    auto is_param = [](std::string_view s) { return s.size() > 2 && s.front() == '{' && s.back() == '}'; };
    for (const Route& route : routes_) {
        const std::vector<std::string>& pattern = route.segments;
        if (pattern.size() != segments.size()) continue;
        bool matched = true;
        for (size_t i = 0; i < pattern.size() && matched; ++i) {
            matched = is_param(pattern[i]) || pattern[i] == segments[i];
        }
        if (!matched) continue;
        const bool method_ok = route.method == method || (method == "HEAD" && route.method == "GET");
        if (method_ok) {
            match.route = &route;
            for (size_t i = 0; i < pattern.size(); ++i) {
                if (is_param(pattern[i])) {
                    match.params.emplace(pattern[i].substr(1, pattern[i].size() - 2), std::string(segments[i]));
                }
            }
            match.allowed_methods.clear();
            return match;
        }
        match.allowed_methods.push_back(route.method);
    }
    return match;
}

}  // namespace vg::api
