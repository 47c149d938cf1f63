#include "vg/common/ip_range.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace vg {

std::optional<IpAddress> ParseIpAddress(std::string_view text) {
    // inet_pton wants a terminated string; addresses are short.
    if (text.empty() || text.size() > 45) return std::nullopt;
    char buf[46];
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    IpAddress out;
    if (text.find(':') == std::string_view::npos) {
        in_addr v4{};
        if (inet_pton(AF_INET, buf, &v4) != 1) return std::nullopt;
        out.bytes[10] = 0xff;
        out.bytes[11] = 0xff;
        std::memcpy(out.bytes.data() + 12, &v4, 4);
        return out;
    }
    in6_addr v6{};
    if (inet_pton(AF_INET6, buf, &v6) != 1) return std::nullopt;
    std::memcpy(out.bytes.data(), &v6, 16);
    return out;
}

std::string ToString(const IpAddress& address) {
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    char buf[INET6_ADDRSTRLEN];
    if (std::memcmp(address.bytes.data(), kMapped, sizeof kMapped) == 0) {
        return inet_ntop(AF_INET, address.bytes.data() + 12, buf, sizeof buf);
    }
    return inet_ntop(AF_INET6, address.bytes.data(), buf, sizeof buf);
}

bool IpRange::Contains(const IpAddress& address) const {
    int bits = prefix;
    for (size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
        const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
        if ((address.bytes[i] & mask) != network.bytes[i]) return false;
    }
    return true;
}

bool IpRange::Contains(std::string_view address_text) const {
    auto address = ParseIpAddress(address_text);
    return address && Contains(*address);
}

Result<IpRange> ParseIpRange(std::string_view text) {
    const size_t slash = text.find('/');
    const std::string_view address_text = text.substr(0, slash);
    auto address = ParseIpAddress(address_text);
    if (!address) {
        return Status::Error(ErrorCode::kValidationFailed,
                             "\"" + std::string(text) +
                                 "\" is not an IP address or range (like 10.0.0.0/8, 192.0.2.7 or 2001:db8::/32)");
    }
    const bool v4 = address_text.find(':') == std::string_view::npos;
    const int max_prefix = v4 ? 32 : 128;
    int prefix = max_prefix;
    if (slash != std::string_view::npos) {
        const std::string_view p = text.substr(slash + 1);
        auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
        if (p.empty() || ec != std::errc() || end != p.data() + p.size() || prefix < 0 || prefix > max_prefix) {
            return Status::Error(
                ErrorCode::kValidationFailed,
                "\"" + std::string(text) + "\": the prefix length must be 0 to " + std::to_string(max_prefix));
        }
    }
    IpRange range;
    range.prefix = v4 ? prefix + 96 : prefix;
    range.text = std::string(text);
    range.network = *address;
    int bits = range.prefix;
    for (size_t i = 0; i < 16; ++i, bits -= 8) {
        const uint8_t mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : static_cast<uint8_t>(0xff << (8 - bits));
        range.network.bytes[i] &= mask;
    }
    if (range.network != *address) {
        return Status::Error(ErrorCode::kValidationFailed,
                             "\"" + std::string(text) + "\" has host bits set: write the network address, like " +
                                 (v4 ? "10.0.0.0/8" : "2001:db8::/32"));
    }
    return range;
}

IpRange LoopbackV4() { return *ParseIpRange("127.0.0.0/8"); }
IpRange LoopbackV6() { return *ParseIpRange("::1"); }

}  // namespace vg
