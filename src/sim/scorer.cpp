#include "vg/sim/scorer.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>

namespace vg::sim {
namespace {

namespace json = boost::json;

double Seconds(Milliseconds d) { return static_cast<double>(d.count()) / 1000.0; }

std::optional<double> PushLatencyMs(const ObservedDetection& d) {
    if (!d.received_at) return std::nullopt;
    return static_cast<double>((d.client_received_at - *d.received_at).count());
}

bool Within(TimePoint t, TimePoint from, TimePoint to) { return t >= from && t <= to; }

json::object StatsJson(const LatencyStats& s) {
    return json::object{{"count", s.count}, {"p50", s.p50}, {"p95", s.p95}, {"p99", s.p99}, {"max", s.max}};
}

std::string Num(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
    return buf;
}

std::string Pad(std::string s, size_t width, bool right = true) {
    if (s.size() >= width) return s;
    return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

}  // namespace

LatencyStats ComputeLatencyStats(std::vector<double> samples) {
    LatencyStats s;
    s.count = samples.size();
    if (samples.empty()) return s;
    std::sort(samples.begin(), samples.end());
    auto rank = [&](double p) {
        const size_t k = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(samples.size())));
        return samples[std::clamp<size_t>(k, 1, samples.size()) - 1];
    };
    s.p50 = rank(50);
    s.p95 = rank(95);
    s.p99 = rank(99);
    s.max = samples.back();
    return s;
}

namespace {

// Whether each detection is an alert (see the header), in input order.
std::vector<bool> AlertFlags(const std::vector<ObservedDetection>& detections, bool include_signal_loss) {
    struct WearerLevel {
        int level = 0;  // of the last reading-driven, non-advice detection
        bool in_advice = false;
    };
    std::unordered_map<int, WearerLevel> state;
    std::vector<bool> flags(detections.size());
    for (size_t i = 0; i < detections.size(); ++i) {
        const ObservedDetection& d = detections[i];
        WearerLevel& st = state[d.wearer];
        if (d.signal_loss) {
            flags[i] = include_signal_loss;
            continue;
        }
        if (d.advice_only) {
            flags[i] = !st.in_advice;
            st.in_advice = true;
            continue;
        }
        st.in_advice = false;
        flags[i] = d.status >= 1 && d.status > st.level;
        st.level = d.status;
    }
    return flags;
}

Alert ToAlert(const ObservedDetection& d) {
    Alert a;
    a.wearer = d.wearer;
    a.status = d.status;
    a.advice_only = d.advice_only;
    a.signal_loss = d.signal_loss;
    a.metrics = d.metrics;
    a.rules = d.rules;
    a.push_latency_ms = PushLatencyMs(d);
    a.at = d.signal_loss ? d.detected_at : d.reading_at.value_or(d.detected_at);
    return a;
}

}  // namespace

std::vector<Alert> ExtractAlerts(const std::vector<ObservedDetection>& detections, bool include_signal_loss) {
    const std::vector<bool> flags = AlertFlags(detections, include_signal_loss);
    std::vector<Alert> alerts;
    for (size_t i = 0; i < detections.size(); ++i) {
        if (flags[i]) alerts.push_back(ToAlert(detections[i]));
    }
    return alerts;
}

Score ScoreRun(const std::vector<LabelledEvent>& events, const std::vector<ObservedDetection>& detections,
               const ScoreOptions& options) {
    Score score;
    score.detections = static_cast<int>(detections.size());
    const std::vector<Alert> alerts = ExtractAlerts(detections, options.score_signal_loss);
    score.alerts = static_cast<int>(alerts.size());
    if (!options.score_signal_loss) {
        score.signal_loss_ignored = static_cast<int>(
            std::count_if(detections.begin(), detections.end(), [](const auto& d) { return d.signal_loss; }));
    }

    std::vector<double> push_all, push_alerts;
    for (const ObservedDetection& d : detections) {
        if (auto p = PushLatencyMs(d)) push_all.push_back(*p);
    }
    for (const Alert& a : alerts) {
        if (a.push_latency_ms) push_alerts.push_back(*a.push_latency_ms);
    }
    score.push_latency_all_ms = ComputeLatencyStats(std::move(push_all));
    score.push_latency_alerts_ms = ComputeLatencyStats(std::move(push_alerts));

    std::unordered_map<int, std::vector<const Alert*>> alerts_of;
    for (const Alert& a : alerts) alerts_of[a.wearer].push_back(&a);
    // Reading-driven verdicts at caution or danger (not advice), with whether each began an episode.
    struct Flagged {
        TimePoint at;
        uint8_t metrics;
        bool alert;
        std::optional<double> push_latency_ms;
    };
    std::unordered_map<int, std::vector<Flagged>> flagged_of;
    {
        const std::vector<bool> flags = AlertFlags(detections, options.score_signal_loss);
        for (size_t i = 0; i < detections.size(); ++i) {
            const ObservedDetection& d = detections[i];
            if (d.signal_loss || d.advice_only || d.status < 1 || !d.reading_at) continue;
            flagged_of[d.wearer].push_back({*d.reading_at, d.metrics, flags[i], PushLatencyMs(d)});
        }
    }
    std::unordered_map<int, std::vector<const LabelledEvent*>> events_of;
    for (const LabelledEvent& e : events) events_of[e.wearer].push_back(&e);
    const auto window_end = [&](const LabelledEvent& e) { return e.end + options.grace; };

    // Emergencies: detection and latency.
    std::map<EventType, EventTypeScore> by_type;
    std::map<EventType, std::pair<std::vector<double>, std::vector<double>>> samples;  // data s, push ms
    for (size_t ei = 0; ei < events.size(); ++ei) {
        const LabelledEvent& e = events[ei];
        if (!IsEmergency(e.type)) continue;
        EventTypeScore& ts = by_type[e.type];
        ts.type = e.type;
        ++ts.events;
        if (e.type == EventType::kSignalLoss && !options.score_signal_loss) {
            ++ts.not_scored;
            continue;
        }
        if (!e.knowable_at) {
            ++ts.never_knowable;
            continue;
        }
        ++ts.knowable;
        std::optional<TimePoint> hit_at;
        std::optional<double> hit_push;
        bool hit_is_alert = true;
        if (e.type == EventType::kSignalLoss) {
            for (const Alert* a : alerts_of[e.wearer]) {
                if (!a->signal_loss || !Within(a->at, e.onset, window_end(e))) continue;
                if (!hit_at || a->at < *hit_at) {
                    hit_at = a->at;
                    hit_push = a->push_latency_ms;
                }
            }
        } else {
            for (const Flagged& f : flagged_of[e.wearer]) {
                // A new alert counts from the onset; an episode already under way (which may be about
                // the other side of the metric, e.g. a low-glucose caution still held when a high
                // begins) only once the data have crossed.
                const TimePoint from = f.alert ? e.onset : *e.knowable_at;
                if ((f.metrics & MetricBit(e.metric)) == 0 || !Within(f.at, from, window_end(e))) continue;
                if (!hit_at || f.at < *hit_at) {
                    hit_at = f.at;
                    hit_push = f.push_latency_ms;
                    hit_is_alert = f.alert;
                }
            }
        }
        EventOutcome outcome;
        outcome.event = ei;
        if (!hit_at) {
            score.outcomes.push_back(outcome);
            continue;
        }
        ++ts.detected;
        if (!hit_is_alert) ++ts.ongoing;
        double latency = Seconds(*hit_at - *e.knowable_at);
        if (latency < 0) {
            ++ts.early;
            latency = 0;
        }
        outcome.alert_at = hit_at;
        outcome.data_latency_s = latency;
        score.outcomes.push_back(outcome);
        samples[e.type].first.push_back(latency);
        if (hit_push) samples[e.type].second.push_back(*hit_push);
    }
    for (auto& [type, ts] : by_type) {
        ts.detection_rate = ts.knowable > 0 ? static_cast<double>(ts.detected) / ts.knowable : 0.0;
        ts.data_latency_s = ComputeLatencyStats(samples[type].first);
        ts.push_latency_ms = ComputeLatencyStats(samples[type].second);
        score.emergencies.push_back(ts);
    }

    // Non-emergencies and false alerts.
    std::map<const LabelledEvent*, std::pair<bool, bool>> non_emergency_seen;  // advice, alerted
    FalseAlertScore& fa = score.false_alerts;
    std::map<std::string, int> by_rule;
    for (const Alert& a : alerts) {
        bool excused = false;
        const LabelledEvent* exercise = nullptr;
        const LabelledEvent* spike = nullptr;
        for (const LabelledEvent* e : events_of[a.wearer]) {
            if (!Within(a.at, e->onset, window_end(*e))) continue;
            if (IsEmergency(e->type)) {
                excused = true;
            } else if (e->type == EventType::kExercise) {
                exercise = e;
            } else {
                spike = e;
            }
        }
        if (excused) continue;
        if (exercise && a.advice_only) {
            non_emergency_seen[exercise].first = true;
            continue;
        }
        ++fa.total;
        score.false_alert_list.push_back(a);
        for (const std::string& rule : a.rules) ++by_rule[rule];
        if (a.signal_loss) {
            ++fa.signal_loss;
        } else if (a.advice_only) {
            ++fa.advice;
        } else if (a.status >= 2) {
            ++fa.danger;
        } else {
            ++fa.caution;
        }
        if (exercise) {
            ++fa.during_exercise;
            non_emergency_seen[exercise].second = true;
            ++score.exercise.false_alerts;
        } else if (spike) {
            ++fa.after_spike;
            non_emergency_seen[spike].second = true;
            ++score.spikes.false_alerts;
        } else {
            ++fa.unlabelled;
        }
    }
    for (const LabelledEvent& e : events) {
        if (IsEmergency(e.type)) continue;
        NonEmergencyScore& ns = e.type == EventType::kExercise ? score.exercise : score.spikes;
        ++ns.events;
        auto it = non_emergency_seen.find(&e);
        if (it == non_emergency_seen.end()) continue;
        if (it->second.first) ++ns.advice;
        if (it->second.second) ++ns.alerted;
    }
    fa.by_rule.assign(by_rule.begin(), by_rule.end());
    std::stable_sort(fa.by_rule.begin(), fa.by_rule.end(),
                     [](const auto& x, const auto& y) { return x.second > y.second; });
    fa.wearer_days = static_cast<double>(options.wearers) * Seconds(options.duration) / 86'400.0;
    fa.per_wearer_day = fa.wearer_days > 0 ? fa.total / fa.wearer_days : 0.0;
    return score;
}

json::object ScoreToJson(const Score& s, const std::vector<LabelledEvent>& events,
                         const std::vector<std::string>& wearer_ids, size_t max_listed) {
    auto wearer = [&](int index) -> json::value {
        if (index >= 0 && static_cast<size_t>(index) < wearer_ids.size()) return json::value(wearer_ids[index]);
        return json::value(index);
    };
    json::array outcomes;
    for (const EventOutcome& o : s.outcomes) {
        if (outcomes.size() >= max_listed || o.event >= events.size()) break;
        const LabelledEvent& e = events[o.event];
        json::object j{{"wearer", wearer(e.wearer)},
                       {"group", e.group},
                       {"type", EventTypeName(e.type)},
                       {"onset", FormatIso8601(e.onset)},
                       {"end", FormatIso8601(e.end)},
                       {"knowable_at", e.knowable_at ? json::value(FormatIso8601(*e.knowable_at)) : nullptr},
                       {"detected", o.alert_at.has_value()}};
        if (o.alert_at) {
            j["alert_at"] = FormatIso8601(*o.alert_at);
            j["data_latency_s"] = o.data_latency_s;
        }
        outcomes.push_back(std::move(j));
    }
    json::array false_list;
    for (const Alert& a : s.false_alert_list) {
        if (false_list.size() >= max_listed) break;
        json::array metrics;
        for (int m = 0; m < domain::kMetricCount; ++m) {
            if (a.metrics & (1u << m)) metrics.emplace_back(domain::MetricName(static_cast<domain::Metric>(m)));
        }
        false_list.push_back(json::object{{"wearer", wearer(a.wearer)},
                                          {"at", FormatIso8601(a.at)},
                                          {"kind", a.signal_loss   ? "signal_loss"
                                                   : a.advice_only ? "advice"
                                                   : a.status >= 2 ? "danger"
                                                                   : "caution"},
                                          {"metrics", std::move(metrics)},
                                          {"rules", json::value_from(a.rules)}});
    }
    json::array types;
    for (const EventTypeScore& t : s.emergencies) {
        types.push_back(json::object{{"type", EventTypeName(t.type)},
                                     {"events", t.events},
                                     {"not_scored", t.not_scored},
                                     {"never_knowable", t.never_knowable},
                                     {"knowable", t.knowable},
                                     {"detected", t.detected},
                                     {"early", t.early},
                                     {"ongoing", t.ongoing},
                                     {"detection_rate", t.detection_rate},
                                     {"data_latency_s", StatsJson(t.data_latency_s)},
                                     {"push_latency_ms", StatsJson(t.push_latency_ms)}});
    }
    auto non = [](const NonEmergencyScore& n) {
        return json::object{
            {"events", n.events}, {"advice", n.advice}, {"alerted", n.alerted}, {"false_alerts", n.false_alerts}};
    };
    const FalseAlertScore& f = s.false_alerts;
    json::object by_rule;
    for (const auto& [rule, count] : f.by_rule) by_rule[rule] = count;
    return json::object{
        {"emergencies", std::move(types)},
        {"exercise", non(s.exercise)},
        {"sensor_spikes", non(s.spikes)},
        {"false_alerts", json::object{{"total", f.total},
                                      {"wearer_days", f.wearer_days},
                                      {"per_wearer_day", f.per_wearer_day},
                                      {"unlabelled", f.unlabelled},
                                      {"during_exercise", f.during_exercise},
                                      {"after_spike", f.after_spike},
                                      {"by_kind", json::object{{"advice", f.advice},
                                                               {"caution", f.caution},
                                                               {"danger", f.danger},
                                                               {"signal_loss", f.signal_loss}}},
                                      {"by_rule", by_rule}}},
        {"detections", s.detections},
        {"alerts", s.alerts},
        {"signal_loss_ignored", s.signal_loss_ignored},
        {"push_latency_all_ms", StatsJson(s.push_latency_all_ms)},
        {"push_latency_alerts_ms", StatsJson(s.push_latency_alerts_ms)},
        {"event_outcomes", std::move(outcomes)},
        {"false_alert_list", std::move(false_list)},
    };
}

std::string FormatScoreTable(const Score& s) {
    std::string out;
    out +=
        "Emergencies (data latency: from the first reading that made the event knowable to the alerting "
        "reading, simulated time)\n";
    out += Pad("event type", 19, false) + Pad("events", 7) + Pad("knowable", 9) + Pad("detected", 9) + Pad("rate", 8) +
           Pad("early", 6) + Pad("ongoing", 8) + "   data latency p50/p95/p99 s" + "   push p50/p99 ms\n";
    for (const EventTypeScore& t : s.emergencies) {
        std::string row = Pad(std::string(EventTypeName(t.type)), 19, false) + Pad(std::to_string(t.events), 7);
        if (t.not_scored == t.events) {
            out += row + "   not scored (signal loss needs --speed realtime)\n";
            continue;
        }
        row += Pad(std::to_string(t.knowable), 9) + Pad(std::to_string(t.detected), 9) +
               Pad(t.knowable ? Num(100.0 * t.detection_rate, 1) + "%" : "-", 8) + Pad(std::to_string(t.early), 6) +
               Pad(std::to_string(t.ongoing), 8);
        if (t.data_latency_s.count > 0) {
            row += "   " + Pad(Num(t.data_latency_s.p50, 0), 8) + " /" + Pad(Num(t.data_latency_s.p95, 0), 6) + " /" +
                   Pad(Num(t.data_latency_s.p99, 0), 6);
            row += "   " + (t.push_latency_ms.count == 0  // signal loss has no received_at
                                ? Pad("-", 16)
                                : Pad(Num(t.push_latency_ms.p50, 1), 7) + " /" + Pad(Num(t.push_latency_ms.p99, 1), 7));
        } else {
            row += "   " + Pad("-", 24) + "   " + Pad("-", 16);
        }
        if (t.never_knowable > 0) row += "   (" + std::to_string(t.never_knowable) + " never knowable)";
        out += row + "\n";
    }
    out += "\nNot emergencies\n";
    out += "  exercise bouts: " + std::to_string(s.exercise.events) + ", with advice " +
           std::to_string(s.exercise.advice) + ", with alerts beyond advice " + std::to_string(s.exercise.alerted) +
           " (" + std::to_string(s.exercise.false_alerts) + " false alerts)\n";
    out += "  sensor spikes: " + std::to_string(s.spikes.events) + ", alerted " + std::to_string(s.spikes.alerted) +
           " (" + std::to_string(s.spikes.false_alerts) + " false alerts)\n";
    const FalseAlertScore& f = s.false_alerts;
    out += "\nFalse alerts: " + std::to_string(f.total) + " over " + Num(f.wearer_days, 1) +
           " wearer-days = " + Num(f.per_wearer_day, 2) + " per wearer-day\n";
    out += "  outside labelled events " + std::to_string(f.unlabelled) + ", during exercise " +
           std::to_string(f.during_exercise) + ", after spikes " + std::to_string(f.after_spike) + "; advice " +
           std::to_string(f.advice) + ", caution " + std::to_string(f.caution) + ", danger " +
           std::to_string(f.danger) + ", signal loss " + std::to_string(f.signal_loss) + "\n";
    if (!f.by_rule.empty()) {
        out += "  by rule:";
        for (size_t i = 0; i < f.by_rule.size() && i < 8; ++i) {
            out += (i ? ", " : " ") + f.by_rule[i].first + " " + std::to_string(f.by_rule[i].second);
        }
        out += f.by_rule.size() > 8 ? ", ...\n" : "\n";
    }
    if (s.signal_loss_ignored > 0) {
        out += "  (" + std::to_string(s.signal_loss_ignored) +
               " signal-loss detections ignored: at max speed the server's clock runs ahead of replayed time)\n";
    }
    const LatencyStats& p = s.push_latency_all_ms;
    out += "\nPush latency (server received -> simulator received), " + std::to_string(p.count) + " detections: p50 " +
           Num(p.p50, 1) + " ms, p95 " + Num(p.p95, 1) + " ms, p99 " + Num(p.p99, 1) + " ms, max " + Num(p.max, 1) +
           " ms\n";
    const LatencyStats& pa = s.push_latency_alerts_ms;
    out += "  alerts only (" + std::to_string(pa.count) + "): p50 " + Num(pa.p50, 1) + " ms, p99 " + Num(pa.p99, 1) +
           " ms\n";
    return out;
}

}  // namespace vg::sim

namespace vg::sim {
namespace {

struct Decision {
    int wearer = 0;
    TimePoint suspicion;                 // when the suspicion was raised (window time)
    FallPhase phase = FallPhase::kNone;  // confirmed, dismissed, or suspected (never decided)
    TimePoint at;
    TimePoint client;
    bool with_incident = false;
};

std::string FallNum(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
    return buf;
}

std::string FallPad(std::string s, size_t width, bool right = true) {
    if (s.size() >= width) return s;
    return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

}  // namespace

FallScore ScoreFalls(const std::vector<ImuLabel>& events, const std::vector<ObservedPosture>& postures,
                     const std::vector<ObservedIncident>& incidents, const FallScoreOptions& options) {
    FallScore score;
    // Decisions per wearer, in arrival order.
    std::vector<Decision> decisions;
    {
        std::unordered_map<int, std::optional<TimePoint>> open;
        for (const ObservedPosture& p : postures) {
            std::optional<TimePoint>& suspicion = open[p.wearer];
            if (p.fall == FallPhase::kSuspected) {
                if (!suspicion) suspicion = p.at;
            } else if (p.fall == FallPhase::kConfirmed || p.fall == FallPhase::kDismissed) {
                decisions.push_back({p.wearer, suspicion.value_or(p.at), p.fall, p.at, p.client_received_at, false});
                suspicion.reset();
            }
        }
        for (const auto& [wearer, suspicion] : open) {
            if (suspicion) decisions.push_back({wearer, *suspicion, FallPhase::kSuspected, *suspicion, {}, false});
        }
    }
    std::unordered_map<int, std::vector<TimePoint>> fall_incidents_of;
    std::set<int64_t> fall_ids;
    for (const ObservedIncident& i : incidents) {
        if (i.kind != "fall") continue;
        fall_incidents_of[i.wearer].push_back(i.client_received_at);
        fall_ids.insert(i.id);
    }
    score.fall_incidents = static_cast<int>(fall_ids.size());
    for (Decision& d : decisions) {
        if (d.phase != FallPhase::kConfirmed) continue;
        ++score.confirmations;
        for (TimePoint t : fall_incidents_of[d.wearer]) {
            const Milliseconds gap = t > d.client ? t - d.client : d.client - t;
            if (gap <= options.incident_match) d.with_incident = true;
        }
        if (d.with_incident) ++score.with_incident;
    }

    std::unordered_map<int, std::vector<size_t>> events_of;
    for (size_t i = 0; i < events.size(); ++i) events_of[events[i].wearer].push_back(i);
    score.outcomes.resize(events.size());
    for (size_t i = 0; i < events.size(); ++i) score.outcomes[i].event = i;
    std::vector<bool> dismissed(events.size(), false);
    std::vector<int> false_count(events.size(), 0);
    for (const Decision& d : decisions) {
        std::optional<size_t> owner;
        for (size_t i : events_of[d.wearer]) {
            const ImuLabel& e = events[i];
            if (d.suspicion >= e.onset && d.suspicion <= e.end + options.detect_within) {
                owner = i;
                break;
            }
        }
        if (!owner) {
            if (d.phase == FallPhase::kConfirmed && d.with_incident) ++score.unlabelled_false;
            continue;
        }
        const ImuLabel& e = events[*owner];
        FallEventOutcome& o = score.outcomes[*owner];
        o.suspected = true;
        if (d.phase == FallPhase::kDismissed) dismissed[*owner] = true;
        if (d.phase != FallPhase::kConfirmed || !d.with_incident) continue;
        if (e.kind == ImuKind::kAdl) ++false_count[*owner];
        if (o.confirmed) continue;  // the first decision of the event counts
        o.confirmed = true;
        o.confirmed_at = d.at;
        if (e.kind == ImuKind::kFall && e.impact_at) {
            const TimePoint impact = *e.impact_at;
            o.detected = d.at >= e.onset && d.at <= impact + options.detect_within;
            if (o.detected) o.latency_s = std::max(0.0, static_cast<double>((d.at - impact).count()) / 1000.0);
        }
    }

    // Rows per (data set, placement), then all.
    std::map<std::pair<int, int>, std::pair<FallBreakdown, std::vector<double>>> rows;
    std::pair<FallBreakdown, std::vector<double>> all;
    all.first.dataset = "all";
    all.first.placement = "all";
    for (size_t i = 0; i < events.size(); ++i) {
        const ImuLabel& e = events[i];
        const FallEventOutcome& o = score.outcomes[i];
        auto& row = rows[{static_cast<int>(e.dataset), static_cast<int>(e.placement)}];
        row.first.dataset = std::string(ImuDatasetName(e.dataset));
        row.first.placement = std::string(ImuPlacementName(e.placement));
        for (auto* r : {&row, &all}) {
            FallBreakdown& b = r->first;
            if (e.kind == ImuKind::kFall) {
                ++b.falls;
                if (o.detected) {
                    ++b.detected;
                    r->second.push_back(o.latency_s);
                } else if (o.confirmed) {
                    ++b.late;
                } else if (dismissed[i]) {
                    ++b.dismissed;
                }
            } else {
                ++b.adl;
                if (o.suspected) ++b.adl_suspected;
                b.false_falls += false_count[i];
            }
        }
    }
    auto finish = [](std::pair<FallBreakdown, std::vector<double>>& r) {
        FallBreakdown& b = r.first;
        b.sensitivity = b.falls > 0 ? static_cast<double>(b.detected) / b.falls : 0.0;
        b.false_per_adl = b.adl > 0 ? static_cast<double>(b.false_falls) / b.adl : 0.0;
        b.latency_s = ComputeLatencyStats(std::move(r.second));
        return b;
    };
    for (auto& [key, r] : rows) score.rows.push_back(finish(r));
    score.rows.push_back(finish(all));
    score.false_total = score.rows.back().false_falls + score.unlabelled_false;
    score.wearer_days =
        static_cast<double>(options.wearers) * static_cast<double>(options.duration.count()) / 86'400'000.0;
    score.false_per_wearer_day = score.wearer_days > 0 ? score.false_total / score.wearer_days : 0.0;
    return score;
}

json::object FallScoreToJson(const FallScore& s, const std::vector<ImuLabel>& events,
                             const std::vector<std::string>& wearer_ids, size_t max_listed) {
    if (!s.available) return json::object{{"available", false}, {"reason", s.unavailable_reason}};
    auto wearer = [&](int index) -> json::value {
        if (index >= 0 && static_cast<size_t>(index) < wearer_ids.size()) return json::value(wearer_ids[index]);
        return json::value(index);
    };
    json::array rows;
    for (const FallBreakdown& b : s.rows) {
        rows.push_back(json::object{{"dataset", b.dataset},
                                    {"placement", b.placement},
                                    {"falls", b.falls},
                                    {"detected", b.detected},
                                    {"late", b.late},
                                    {"dismissed", b.dismissed},
                                    {"sensitivity", b.sensitivity},
                                    {"latency_s", StatsJson(b.latency_s)},
                                    {"adl", b.adl},
                                    {"adl_suspected", b.adl_suspected},
                                    {"false_falls", b.false_falls},
                                    {"false_per_adl", b.false_per_adl}});
    }
    json::array outcomes;
    for (const FallEventOutcome& o : s.outcomes) {
        if (outcomes.size() >= max_listed || o.event >= events.size()) break;
        const ImuLabel& e = events[o.event];
        json::object j{{"wearer", wearer(e.wearer)},
                       {"group", e.group},
                       {"kind", ImuKindName(e.kind)},
                       {"dataset", ImuDatasetName(e.dataset)},
                       {"placement", ImuPlacementName(e.placement)},
                       {"subject", e.subject},
                       {"activity", e.activity},
                       {"file", e.file},
                       {"onset", FormatIso8601(e.onset)},
                       {"end", FormatIso8601(e.end)},
                       {"suspected", o.suspected},
                       {"fall_incident", o.confirmed}};
        if (e.impact_at) j["impact_at"] = FormatIso8601(*e.impact_at);
        if (o.confirmed_at) j["confirmed_at"] = FormatIso8601(*o.confirmed_at);
        if (e.kind == ImuKind::kFall) {
            j["detected"] = o.detected;
            if (o.detected) j["latency_s"] = o.latency_s;
        }
        outcomes.push_back(std::move(j));
    }
    return json::object{{"available", true},
                        {"rows", std::move(rows)},
                        {"confirmations", s.confirmations},
                        {"with_incident", s.with_incident},
                        {"fall_incidents", s.fall_incidents},
                        {"unlabelled_false", s.unlabelled_false},
                        {"false_total", s.false_total},
                        {"wearer_days", s.wearer_days},
                        {"false_per_wearer_day", s.false_per_wearer_day},
                        {"event_outcomes", std::move(outcomes)}};
}

std::string FormatFallTable(const FallScore& s) {
    if (!s.available) return "Falls: posture not available (" + s.unavailable_reason + ")\n";
    std::string out =
        "Falls (real IMU trials; detected = a fall incident at most the detection window after the impact; latency "
        "impact -> deciding window, simulated time)\n";
    out += FallPad("data set", 9, false) + FallPad("place", 6, false) + FallPad("falls", 6) + FallPad("detected", 9) +
           FallPad("rate", 8) + FallPad("late", 5) + FallPad("dismissed", 10) + "   latency p50/p95 s" +
           FallPad("adl", 6) + FallPad("suspected", 10) + FallPad("false", 6) + FallPad("per adl", 8) + "\n";
    for (const FallBreakdown& b : s.rows) {
        std::string row = FallPad(b.dataset, 9, false) + FallPad(b.placement, 6, false) +
                          FallPad(std::to_string(b.falls), 6) + FallPad(std::to_string(b.detected), 9) +
                          FallPad(b.falls ? FallNum(100.0 * b.sensitivity, 1) + "%" : "-", 8) +
                          FallPad(std::to_string(b.late), 5) + FallPad(std::to_string(b.dismissed), 10);
        row += b.latency_s.count
                   ? "   " + FallPad(FallNum(b.latency_s.p50, 1), 7) + " /" + FallPad(FallNum(b.latency_s.p95, 1), 6)
                   : "   " + FallPad("-", 15);
        row += FallPad(std::to_string(b.adl), 6) + FallPad(std::to_string(b.adl_suspected), 10) +
               FallPad(std::to_string(b.false_falls), 6) + FallPad(b.adl ? FallNum(b.false_per_adl, 3) : "-", 8);
        out += row + "\n";
    }
    out += "False falls: " + std::to_string(s.false_total) + " (on ADL events " +
           std::to_string(s.rows.empty() ? 0 : s.rows.back().false_falls) + ", outside IMU events " +
           std::to_string(s.unlabelled_false) + ") over " + FallNum(s.wearer_days, 2) +
           " wearer-days = " + FallNum(s.false_per_wearer_day, 2) + " per wearer-day\n";
    out += "  fall confirmations " + std::to_string(s.confirmations) + ", with a fall incident " +
           std::to_string(s.with_incident) + "; fall incidents " + std::to_string(s.fall_incidents) + "\n";
    if (s.confirmations > 0 && s.with_incident == 0) {
        out +=
            "  (no confirmed fall opened an incident: a server escalates only readings and falls of the last "
            "--escalate-within, 10 min by default; for a max-speed replay of the past start it with "
            "--escalate-within 0)\n";
    }
    return out;
}

}  // namespace vg::sim
