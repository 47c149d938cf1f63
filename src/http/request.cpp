// Request/Response helpers: plain lookups over the parsed message (no Beast here).

#include <algorithm>
#include <cctype>

#include "vg/http/server.hpp"

namespace vg::http {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
    });
}

}  // namespace

std::string_view Request::header(std::string_view name) const {
    for (const Header& h : headers) {
        // Names are stored lower-case, but callers may ask in any case ("X-CSRF-Token").
        if (EqualsIgnoreCase(h.name, name)) return h.value;
    }
    return {};
}

const std::string* Request::query_param(std::string_view name) const {
    for (const auto& [key, value] : query) {
        if (key == name) return &value;
    }
    return nullptr;
}

void Response::set_header(std::string name, std::string value) {
    auto same = [&](const Header& h) { return EqualsIgnoreCase(h.name, name); };
    auto it = std::find_if(headers.begin(), headers.end(), same);
    if (it == headers.end()) {
        headers.push_back(Header{std::move(name), std::move(value)});
        return;
    }
    // "Replaces" means exactly one header of that name remains.
    headers.erase(std::remove_if(std::next(it), headers.end(), same), headers.end());
    it->name = std::move(name);
    it->value = std::move(value);
}

}  // namespace vg::http
