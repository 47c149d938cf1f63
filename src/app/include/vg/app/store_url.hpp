#pragma once
// The --store URI as it may be shown: in logs and error messages (a PostgreSQL URI may carry a password).

#include <string>
#include <string_view>

namespace vg::app {

// `url` with any password replaced by "***": the one in the user-info part
// (postgresql://user:secret@host/db → postgresql://user:***@host/db) and the value of a `password`
// query parameter (…?password=secret → …?password=***). Anything else is kept as it is. Pure.
std::string RedactedStoreUrl(std::string_view url);

}  // namespace vg::app
