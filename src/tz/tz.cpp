#include "vg/tz/tz.hpp"

#include <date/tz.h>

#include <cstdio>
#include <exception>

namespace vg::tz {
namespace {

// nullptr when `name` is not a zone (locate_zone throws for an unknown name) or the database is missing.
const date::time_zone* Find(std::string_view name) {
    if (name.empty() || name.size() > 64) return nullptr;
    try {
        return date::locate_zone(name);
    } catch (const std::exception&) {
        return nullptr;
    }
}

}  // namespace

bool IsTimeZone(std::string_view name) { return Find(name) != nullptr; }

std::optional<std::string> CheckTimeZone(std::string_view name) {
    if (name.empty()) return "is required (an IANA time zone such as Asia/Seoul)";
    if (IsTimeZone(name)) return std::nullopt;
    return "must be an IANA time zone such as Asia/Seoul or Europe/Berlin";
}

LocalTime ToLocal(TimePoint t, std::string_view zone, std::string_view fallback) {
    LocalTime out;
    const date::time_zone* z = Find(zone);
    out.zone = std::string(zone);
    if (z == nullptr) {
        z = Find(fallback);
        out.zone = std::string(fallback);
    }
    std::chrono::seconds offset{0};
    std::string abbreviation = "UTC";
    if (z != nullptr) {
        const date::sys_info info = z->get_info(std::chrono::time_point_cast<std::chrono::seconds>(t));
        offset = info.offset;
        abbreviation = info.abbrev;
    } else {
        out.zone = "UTC";
    }
    const auto local = std::chrono::time_point_cast<std::chrono::seconds>(t) + offset;
    const auto days = std::chrono::floor<std::chrono::days>(local);
    const std::chrono::year_month_day ymd(days);
    const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(local - days).count();
    out.utc_offset = std::chrono::duration_cast<std::chrono::minutes>(offset);
    const int total = static_cast<int>(out.utc_offset.count());
    const int magnitude = total < 0 ? -total : total;
    char date_text[32];
    char time_text[32];
    char offset_text[32];
    std::snprintf(date_text, sizeof(date_text), "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    std::snprintf(time_text, sizeof(time_text), "%02lld:%02lld", static_cast<long long>(minutes / 60),
                  static_cast<long long>(minutes % 60));
    std::snprintf(offset_text, sizeof(offset_text), "UTC%c%02d:%02d", total < 0 ? '-' : '+', magnitude / 60,
                  magnitude % 60);
    out.date = date_text;
    out.time = time_text;
    out.offset = offset_text;
    out.abbreviation = abbreviation;
    return out;
}

}  // namespace vg::tz
