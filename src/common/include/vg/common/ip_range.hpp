#pragma once
// IP addresses and address ranges (CIDR) as text, for deciding whom to believe: which peers are the
// operator's own reverse proxies (--trusted-proxy).
//
// An IpAddress is 16 bytes; IPv4 addresses are held IPv4-mapped (::ffff:a.b.c.d), so "10.0.0.1" and
// "::ffff:10.0.0.1" are the same address and an IPv4 range matches both. An IpRange is an address and
// a prefix length in that 128-bit space ("10.0.0.0/8" is ::ffff:10.0.0.0/104).
// Thread-safety: value types and pure functions.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "vg/common/status.hpp"

namespace vg {

struct IpAddress {
    std::array<uint8_t, 16> bytes{};
    friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1". nullopt for anything else (no ports, brackets, zones
// or surrounding spaces).
std::optional<IpAddress> ParseIpAddress(std::string_view text);
// The usual text: IPv4-mapped addresses as IPv4 ("192.0.2.1"), IPv6 compressed ("2001:db8::1").
std::string ToString(const IpAddress& address);

struct IpRange {
    IpAddress network;  // host bits cleared
    int prefix = 128;   // in the 128-bit space
    std::string text;   // as written, for messages

    bool Contains(const IpAddress& address) const;
    bool Contains(std::string_view address_text) const;  // false when it is not an address
};

// "10.0.0.0/8", "192.0.2.7" (one address), "2001:db8::/32", "::1". kValidationFailed saying what is
// wrong (the caller names the option): not an address, a prefix out of range, host bits set
// ("10.0.0.1/8": write 10.0.0.0/8, the range it would mean, so that a typo is not silently widened).
Result<IpRange> ParseIpRange(std::string_view text);

// 127.0.0.0/8 and ::1: the loopback ranges.
IpRange LoopbackV4();
IpRange LoopbackV6();

}  // namespace vg
