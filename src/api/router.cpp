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

void Router::Add(std::string method, std::string pattern, Access access, RouteHandler handler) {
    routes_.push_back({std::move(method), std::move(pattern), access, std::move(handler)});
}

Router::Match Router::Find(std::string_view method, std::string_view path) const {
    Match match;
    // Empty segments (a trailing slash, "//") do not count, so "/api/signup/" matches "/api/signup".
    const auto segments = Split(path);
    for (const Route& route : routes_) {
        const auto pattern = Split(route.pattern);
        if (pattern.size() != segments.size()) continue;
        std::map<std::string, std::string, std::less<>> params;
        bool matched = true;
        for (size_t i = 0; i < pattern.size() && matched; ++i) {
            if (pattern[i].size() > 2 && pattern[i].front() == '{' && pattern[i].back() == '}') {
                params.emplace(std::string(pattern[i].substr(1, pattern[i].size() - 2)), std::string(segments[i]));
            } else if (pattern[i] != segments[i]) {
                matched = false;
            }
        }
        if (!matched) continue;
        const bool method_ok = route.method == method || (method == "HEAD" && route.method == "GET");
        if (method_ok) {
            match.route = &route;
            match.params = std::move(params);
            match.allowed_methods.clear();
            return match;
        }
        match.allowed_methods.push_back(route.method);
    }
    return match;
}

}  // namespace vg::api
