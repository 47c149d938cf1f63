#pragma once
// Time zones: a wearer's local time by IANA zone name ("Asia/Seoul", "Europe/Berlin"), daylight saving
// included, from the system's time-zone database (/usr/share/zoneinfo, Debian's tzdata) through Howard
// Hinnant's date/tz library — never a fixed offset.
//
// Thread-safety: every function is safe from any thread (the library loads the database once, under its
// own lock). No state of ours.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "vg/common/clock.hpp"

namespace vg::tz {

// Whether `name` is a zone of the database (exact spelling; links such as "US/Eastern" count).
bool IsTimeZone(std::string_view name);

// The problem with `name` as a time zone for an account, for a FieldError ("must be an IANA time zone such
// as Asia/Seoul"), or nullopt when it is one. At most 64 characters.
std::optional<std::string> CheckTimeZone(std::string_view name);

// A moment as a person in a zone reads it.
struct LocalTime {
    std::string date;                   // "2026-11-23"
    std::string time;                   // "16:30"
    std::string offset;                 // "UTC+09:00"
    std::string abbreviation;           // "KST", "CET", "CEST"; may be numeric ("+09") for some zones
    std::chrono::minutes utc_offset{};  // +540 for Seoul
    std::string zone;                   // the zone used (the fallback when `zone` was not one)
};

// `t` in `zone`. A name that is not a zone (a row written before validation existed) is read as
// `fallback` (domain's default, Asia/Seoul), and as UTC when that is not one either — a message is
// never lost over its time stamp.
LocalTime ToLocal(TimePoint t, std::string_view zone, std::string_view fallback = "Asia/Seoul");

}  // namespace vg::tz
