#include "vg/domain/incident.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace vg::domain {
namespace {

template <typename E, size_t N>
std::optional<E> FromName(const std::array<std::pair<E, std::string_view>, N>& table, std::string_view name) {
    for (const auto& [value, text] : table) {
        if (text == name) return value;
    }
    return std::nullopt;
}

template <typename E, size_t N>
std::string_view NameOf(const std::array<std::pair<E, std::string_view>, N>& table, E value) {
    for (const auto& [v, text] : table) {
        if (v == value) return text;
    }
    return "unknown";
}

constexpr std::array<std::pair<IncidentKind, std::string_view>, 3> kKinds = {{
    {IncidentKind::kVitals, "vitals"},
    {IncidentKind::kFall, "fall"},
    {IncidentKind::kSos, "sos"},
}};
constexpr std::array<std::pair<IncidentPhase, std::string_view>, 5> kPhases = {{
    {IncidentPhase::kGuidance, "guidance"},
    {IncidentPhase::kGuardians, "guardians"},
    {IncidentPhase::kCountdown, "countdown"},
    {IncidentPhase::kDispatched, "dispatched"},
    {IncidentPhase::kClosed, "closed"},
}};
constexpr std::array<std::pair<CloseReason, std::string_view>, 3> kReasons = {{
    {CloseReason::kNone, ""},
    {CloseReason::kAllClear, "all_clear"},
    {CloseReason::kResolved, "resolved"},
}};

}  // namespace

std::string_view IncidentKindName(IncidentKind k) { return NameOf(kKinds, k); }
std::optional<IncidentKind> IncidentKindFromName(std::string_view name) { return FromName(kKinds, name); }
std::string_view IncidentPhaseName(IncidentPhase p) { return NameOf(kPhases, p); }
std::optional<IncidentPhase> IncidentPhaseFromName(std::string_view name) { return FromName(kPhases, name); }
std::string_view CloseReasonName(CloseReason r) { return NameOf(kReasons, r); }
std::optional<CloseReason> CloseReasonFromName(std::string_view name) { return FromName(kReasons, name); }

std::optional<TimePoint> Incident::NextDue() const {
    if (!open()) return std::nullopt;
    std::optional<TimePoint> due;
    auto consider = [&](const std::optional<TimePoint>& t) {
        if (t && (!due || *t < *due)) due = t;
    };
    if (phase == IncidentPhase::kGuidance) consider(escalate_at);
    if (phase == IncidentPhase::kCountdown) consider(deadline);
    if (guardians_notified_at && !acknowledged_at) consider(next_reraise_at);
    // After "I'm OK", a danger that is still there starts a new countdown when the grace ends.
    if (phase == IncidentPhase::kGuardians && level == Level::kDanger && !acknowledged_at && !dispatched_at) {
        consider(wearer_ok_until);
    }
    return due;
}

}  // namespace vg::domain
