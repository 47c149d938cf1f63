#include "client_address.hpp"

#include <algorithm>
#include <string_view>

namespace vg::api {
namespace {

bool Trusted(const IpAddress& address, const std::vector<IpRange>& ranges) {
    return std::any_of(ranges.begin(), ranges.end(), [&](const IpRange& r) { return r.Contains(address); });
}

std::string_view Trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

std::string ClientAddressOf(const http::Request& request, const std::vector<IpRange>& trusted_proxies) {
    if (trusted_proxies.empty()) return request.remote_address;  // the common case, on every request
    auto peer = ParseIpAddress(request.remote_address);
    if (!peer || !Trusted(*peer, trusted_proxies)) return request.remote_address;

    // Every X-Forwarded-For entry, in order (a header may be split over several lines).
    std::vector<std::string_view> hops;
    for (const http::Header& h : request.headers) {
        if (h.name != "x-forwarded-for") continue;
        std::string_view rest = h.value;
        while (true) {
            const size_t comma = rest.find(',');
            hops.push_back(Trim(rest.substr(0, comma)));
            if (comma == std::string_view::npos) break;
            rest.remove_prefix(comma + 1);
        }
    }
    IpAddress nearest = *peer;  // the closest trusted hop so far
    for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
        auto hop = ParseIpAddress(*it);
        if (!hop) return ToString(nearest);
        if (!Trusted(*hop, trusted_proxies)) return ToString(*hop);
        nearest = *hop;
    }
    return ToString(nearest);
}

}  // namespace vg::api
