// Trial-level evaluation, the threshold rule and their reports.
#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <limits>

#include "vg/fall/training/fall_model_training.hpp"

namespace vg::fall::training {
namespace {

namespace json = boost::json;

constexpr double kZ = 1.959964;  // 95 %

std::string Fixed(double v, int digits) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

json::value Round(double v) { return std::round(v * 10000.0) / 10000.0; }

// Per trial of one split: the best probability near the labelled impact and anywhere, and the activity
// trials' decisions.
struct TrialScore {
    float at_impact = -1;    // best scored candidate within kDetectionWindowS of the impact; -1 when none
    float anywhere = -1;     // best scored candidate of the trial; -1 when none
    std::vector<float> all;  // every scored candidate's probability
};

std::vector<TrialScore> ScoreTrials(const EventData& data, const std::vector<float>& probabilities) {
    std::vector<TrialScore> scores(data.trials.size());
    const auto window = static_cast<size_t>(std::lround(kDetectionWindowS * kRateHz));
    for (size_t e = 0; e < data.events.size(); ++e) {
        const EventRow& row = data.events[e];
        const TrialRecord& t = data.trials[row.trial];
        TrialScore& s = scores[row.trial];
        const float p = probabilities[e];
        s.all.push_back(p);
        s.anywhere = std::max(s.anywhere, p);
        if (t.impact) {
            const size_t distance = row.impact > *t.impact ? row.impact - *t.impact : *t.impact - row.impact;
            if (distance <= window) s.at_impact = std::max(s.at_impact, p);
        }
    }
    return scores;
}

void Add(GroupOutcome& g, const TrialRecord& t, const TrialScore& s, float threshold) {
    g.events += s.all.size();
    if (t.is_fall_trial) {
        ++g.falls.n;
        if (s.at_impact < 0) ++g.falls_not_scored;
        if (s.at_impact >= threshold) {
            ++g.falls.k;
        } else if (s.anywhere >= threshold) {
            ++g.falls_found_elsewhere;
        }
        return;
    }
    ++g.adl_false.n;
    g.adl_hours += t.duration_s / 3600.0;
    size_t fired = 0;
    for (float p : s.all) fired += p >= threshold ? 1 : 0;
    g.adl_false_decisions += fired;
    g.adl_false.k += fired > 0 ? 1 : 0;
}

std::string PercentCi(const Proportion& p) {
    if (p.n == 0) return "—";
    return std::to_string(p.k) + "/" + std::to_string(p.n) + " " + Fixed(100 * p.rate(), 1) + "% [" +
           Fixed(100 * p.low(), 1) + ", " + Fixed(100 * p.high(), 1) + "]";
}

json::object ProportionJson(const Proportion& p) {
    return {{"k", p.k}, {"n", p.n}, {"rate", Round(p.rate())}, {"ci95", json::array{Round(p.low()), Round(p.high())}}};
}

std::string Escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '<') {
            out += "&lt;";
        } else if (c == '>') {
            out += "&gt;";
        } else if (c == '&') {
            out += "&amp;";
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace

double Proportion::low() const {
    if (n == 0) return 0;
    const double nn = static_cast<double>(n), p = rate(), z2 = kZ * kZ;
    const double centre = p + z2 / (2 * nn);
    const double half = kZ * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
    return std::max(0.0, (centre - half) / (1 + z2 / nn));
}

double Proportion::high() const {
    if (n == 0) return 1;
    const double nn = static_cast<double>(n), p = rate(), z2 = kZ * kZ;
    const double centre = p + z2 / (2 * nn);
    const double half = kZ * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
    return std::min(1.0, (centre + half) / (1 + z2 / nn));
}

float ThresholdFor(const PlacementThresholds& thresholds, imu::Placement placement) {
    return thresholds[placement == imu::Placement::kWaist ? 1 : 0];
}

std::string ThresholdRule::Describe() const {
    return "per placement, the highest threshold at which at least " + Fixed(100 * min_fall_recall, 1) +
           " % of the validation subjects' fall trials are detected (a candidate within " +
           Fixed(kDetectionWindowS, 1) +
           " s of the labelled impact at or above it; fall trials without a scored candidate there are not counted)";
}

const GroupOutcome* TrialEvaluation::Find(std::string_view name) const {
    for (const GroupOutcome& g : groups) {
        if (g.name == name) return &g;
    }
    return nullptr;
}

TrialEvaluation EvaluateTrials(const EventData& data, const std::vector<float>& probabilities,
                               const PlacementThresholds& thresholds, imu::Split split) {
    TrialEvaluation ev;
    ev.split = std::string(imu::SplitName(split));
    ev.thresholds = thresholds;
    ev.unreadable = data.unreadable;
    const std::vector<TrialScore> scores = ScoreTrials(data, probabilities);
    std::map<std::string, GroupOutcome> by_group;
    GroupOutcome wrist, waist, all;
    wrist.name = "wrist";
    waist.name = "waist";
    all.name = "all";
    for (size_t i = 0; i < data.trials.size(); ++i) {
        const TrialRecord& t = data.trials[i];
        if (t.split != split) continue;
        ev.subjects[std::string(imu::DatasetName(t.dataset))].insert(t.subject);
        const float threshold = ThresholdFor(thresholds, t.placement);
        GroupOutcome& g = by_group[GroupName(t)];
        g.name = GroupName(t);
        Add(g, t, scores[i], threshold);
        Add(t.placement == imu::Placement::kWaist ? waist : wrist, t, scores[i], threshold);
        Add(all, t, scores[i], threshold);
    }
    // Data sets in kAllDatasets order, wrist before waist.
    for (imu::DatasetId d : imu::kAllDatasets) {
        for (imu::Placement p : {imu::Placement::kWrist, imu::Placement::kWaist}) {
            const auto it = by_group.find(std::string(imu::DatasetName(d)) + "/" + std::string(imu::PlacementName(p)));
            if (it != by_group.end()) ev.groups.push_back(it->second);
        }
    }
    for (GroupOutcome* g : {&wrist, &waist, &all}) {
        if (g->falls.n + g->adl_false.n > 0) ev.groups.push_back(*g);
    }
    return ev;
}

PlacementThresholds ChooseThresholds(const EventData& data, const std::vector<float>& probabilities,
                                     const ThresholdRule& rule) {
    const std::vector<TrialScore> scores = ScoreTrials(data, probabilities);
    PlacementThresholds out{0.5F, 0.5F};
    for (imu::Placement placement : {imu::Placement::kWrist, imu::Placement::kWaist}) {
        std::vector<float> falls;
        for (size_t i = 0; i < data.trials.size(); ++i) {
            const TrialRecord& t = data.trials[i];
            if (t.split != imu::Split::kValidation || t.placement != placement || !t.is_fall_trial) continue;
            if (scores[i].at_impact >= 0) falls.push_back(scores[i].at_impact);
        }
        if (falls.empty()) continue;
        std::sort(falls.begin(), falls.end(), std::greater<>());
        const auto needed =
            static_cast<size_t>(std::ceil(rule.min_fall_recall * static_cast<double>(falls.size()) - 1e-9));
        out[placement == imu::Placement::kWaist ? 1 : 0] = falls[std::clamp<size_t>(needed, 1, falls.size()) - 1];
    }
    return out;
}

std::string TrialEvaluation::ToText() const {
    std::string out = "split " + split + "; thresholds wrist " + Fixed(thresholds[0], 3) + ", waist " +
                      Fixed(thresholds[1], 3) + "\n";
    char buf[512];
    std::snprintf(buf, sizeof buf, "%-16s %-30s %10s %-30s %9s %11s\n", "group", "falls detected [95% CI]",
                  "not scored", "ADL trials with a false fall", "ADL hours", "false/hour");
    out += buf;
    for (const GroupOutcome& g : groups) {
        std::snprintf(buf, sizeof buf, "%-16s %-30s %10zu %-30s %9.2f %11.2f\n", g.name.c_str(),
                      PercentCi(g.falls).c_str(), g.falls_not_scored, PercentCi(g.adl_false).c_str(), g.adl_hours,
                      g.false_per_hour());
        out += buf;
    }
    if (!unreadable.empty()) out += std::to_string(unreadable.size()) + " unreadable trial files were skipped\n";
    return out;
}

json::object TrialEvaluation::ToJson() const {
    json::object groups_json;
    for (const GroupOutcome& g : groups) {
        groups_json[g.name] = {{"falls_detected", ProportionJson(g.falls)},
                               {"falls_not_scored", g.falls_not_scored},
                               {"falls_missed_but_fired_elsewhere_in_trial", g.falls_found_elsewhere},
                               {"adl_trials_with_false_fall", ProportionJson(g.adl_false)},
                               {"adl_hours", Round(g.adl_hours)},
                               {"adl_false_decisions", g.adl_false_decisions},
                               {"adl_false_decisions_per_hour", Round(g.false_per_hour())},
                               {"events", g.events}};
    }
    json::object subjects_json;
    for (const auto& [dataset, ids] : subjects) {
        json::array a;
        for (const std::string& id : ids) a.push_back(json::string(id));
        subjects_json[dataset] = std::move(a);
    }
    json::object o{{"split", split},
                   {"thresholds", {{"wrist", Round(thresholds[0])}, {"waist", Round(thresholds[1])}}},
                   {"groups", std::move(groups_json)},
                   {"subjects", std::move(subjects_json)}};
    if (!unreadable.empty()) {
        json::array a;
        for (const std::string& u : unreadable) a.push_back(json::string(u));
        o["unreadable_files"] = std::move(a);
    }
    return o;
}

std::string TrialEvaluation::ToHtml(const std::string& title) const {
    std::string rows;
    auto bar = [](const Proportion& p, const char* colour) {
        if (p.n == 0) return std::string("<td></td>");
        const std::string lo = Fixed(100 * p.low(), 1), hi = Fixed(100 * p.high(), 1), r = Fixed(100 * p.rate(), 1);
        return "<td><div class=bar><div class=fill style='width:" + r + "%;background:" + colour +
               "'></div><div class=ci style='left:" + lo + "%;width:" + Fixed(100 * (p.high() - p.low()), 1) +
               "%'></div></div>" + std::to_string(p.k) + "/" + std::to_string(p.n) + " = " + r + " % [" + lo + ", " +
               hi + "]</td>";
    };
    for (const GroupOutcome& g : groups) {
        rows += "<tr><th>" + Escape(g.name) + "</th>" + bar(g.falls, "#2a7d4f") + "<td>" +
                std::to_string(g.falls_not_scored) + "</td>" + bar(g.adl_false, "#b03a2e") + "<td>" +
                Fixed(g.adl_hours, 2) + "</td><td>" + Fixed(g.false_per_hour(), 2) + "</td></tr>\n";
    }
    return "<!doctype html><html><head><meta charset=utf-8><title>" + Escape(title) +
           "</title><style>body{font:15px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}"
           "td,th{padding:.4em .8em;border-bottom:1px solid #ddd;text-align:left;vertical-align:middle}"
           ".bar{position:relative;width:220px;height:14px;background:#eee;margin-bottom:3px}"
           ".fill{position:absolute;left:0;top:0;height:14px}.ci{position:absolute;top:5px;height:4px;"
           "background:#000;opacity:.55}</style></head><body><h1>" +
           Escape(title) + "</h1><p>Split " + Escape(split) + ". Thresholds: wrist " + Fixed(thresholds[0], 3) +
           ", waist " + Fixed(thresholds[1], 3) + ". A fall trial is detected when a candidate within " +
           Fixed(kDetectionWindowS, 1) +
           " s of its labelled impact reaches the threshold; an activity trial has a false fall when any candidate "
           "does. Black marks: Wilson 95 % intervals.</p><table><tr><th>group</th><th>falls detected</th><th>falls "
           "without a scored candidate</th><th>activity trials with a false fall</th><th>activity hours</th><th>false "
           "decisions per hour</th></tr>\n" +
           rows + "</table></body></html>\n";
}

}  // namespace vg::fall::training
