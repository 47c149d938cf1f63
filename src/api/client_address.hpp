#pragma once
// Which address a request comes from, for per-address limits (login, check_id) and the access log.
//
// The peer (the TCP connection's other end) is the client unless it is one of the operator's own
// reverse proxies (ApiOptions::trusted_proxies). Then X-Forwarded-For is read from the right, since
// each proxy appends the address it saw and only the right-most entries were written by proxies we
// trust: every entry that is itself a trusted proxy is skipped, and the first that is not is the
// client. Entries to its left were written by the client or by proxies we know nothing about and
// are never believed (rotating them must not give an attacker fresh limits).
// An entry that is not an IP address where we stop (a trusted proxy wrote garbage) gives the address
// of the trusted hop that wrote it: those clients share one limit rather than escaping theirs. When
// every entry is a trusted proxy, the left-most is the client. All X-Forwarded-For lines count, in
// order. The answer is in ToString form ("192.0.2.1", "2001:db8::1").
// Thread-safety: pure function.

#include <string>
#include <vector>

#include "vg/common/ip_range.hpp"
#include "vg/http/server.hpp"

namespace vg::api {

std::string ClientAddressOf(const http::Request& request, const std::vector<IpRange>& trusted_proxies);

}  // namespace vg::api
