#include "vg/sim/imu_replay.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "vg/imu/labels.hpp"
#include "vg/imu/split.hpp"
#include "vg/sim/random.hpp"

namespace vg::sim {
namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr size_t kOneSecond = 50;        // samples at 50 Hz
constexpr double kTailStillStdG = 0.02;  // imu's still rule (docs/posture-data.md)
constexpr Milliseconds kFirstRateOnset{120'000};

double Magnitude(const std::array<float, imu::kChannels>& s) {
    return std::sqrt(double{s[0]} * s[0] + double{s[1]} * s[1] + double{s[2]} * s[2]);
}

double StdMagnitude(const ImuSamples& samples, size_t from, size_t count) {
    double sum = 0, sum2 = 0;
    for (size_t i = from; i < from + count; ++i) {
        const double m = Magnitude(samples[i]);
        sum += m;
        sum2 += m * m;
    }
    const double mean = sum / static_cast<double>(count);
    return std::sqrt(std::max(0.0, sum2 / static_cast<double>(count) - mean * mean));
}

ImuPlacement FromImu(imu::Placement p) {
    return p == imu::Placement::kWrist ? ImuPlacement::kWrist : ImuPlacement::kWaist;
}

std::optional<imu::Split> ToImu(ImuSplit s) {
    switch (s) {
        case ImuSplit::kTrain:
            return imu::Split::kTrain;
        case ImuSplit::kValidation:
            return imu::Split::kValidation;
        case ImuSplit::kTest:
            return imu::Split::kTest;
        case ImuSplit::kAny:
            return std::nullopt;
    }
    return std::nullopt;
}

// An event placed on a wearer before its trial is known.
struct Draft {
    int wearer = 0;
    std::string group;
    ImuKind kind = ImuKind::kFall;
    Milliseconds offset{0};
    std::optional<ImuDataset> dataset;
    std::optional<ImuPlacement> placement;
    std::string activity;
    uint64_t pick_seed = 0;
    std::string origin;  // for messages: "groups[1] fall event" / "imu rate"
};

std::string TrialKey(const imu::TrialInfo& info) { return info.path.string() + "#" + std::to_string(info.sensor_id); }

}  // namespace

std::optional<std::string> ReplayWindowProblem(const ImuSamples& window, bool gravity_removed) {
    if (window.size() != kReplayWindowSamples) return "holds " + std::to_string(window.size()) + " samples, not 128";
    double sum = 0;
    for (const auto& s : window) {
        for (size_t c = 0; c < imu::kChannels; ++c) {
            if (!std::isfinite(s[c])) return "a value is not finite";
            if (c < 3 && std::abs(s[c]) > 16.0F) return "acceleration beyond ±16 g";
            if (c >= 3 && std::abs(s[c]) > 2000.0F) return "rotation beyond ±2000 °/s";
        }
        sum += Magnitude(s);
    }
    const double mean = sum / static_cast<double>(window.size());
    if (mean >= 6 && mean <= 14) return "mean |a| looks like m/s²";
    if (!gravity_removed && (mean < 0.3 || mean > 3)) return "mean |a| outside 0.3–3 g with gravity";
    if (gravity_removed && mean > 3) return "mean |a| above 3 g without gravity";
    return std::nullopt;
}

FallReplayFacts FallReplayFactsOf(const imu::TrialInfo& info) {
    FallReplayFacts facts;
    if (info.annotated_fall) {
        const double margin = imu::LabelParams{}.impact_search_margin_s;
        facts.impact_search =
            imu::TimeInterval{info.annotated_fall->begin_s - margin, info.annotated_fall->end_s + margin};
    }
    if (const imu::ActivitySpec* activity = imu::FindActivity(info.dataset, info.activity_code)) {
        facts.stays_down = activity->scenario != imu::Scenario::kFall || activity->after_still == imu::Label::kLying;
    }
    return facts;
}

Result<ReplayTrack> BuildReplayTrack(const imu::Series& series, bool fall, Milliseconds lying_still,
                                     const FallReplayFacts& facts) {
    const ImuSamples& x = series.samples;
    const size_t usable = std::min(x.size(), static_cast<size_t>(kMaxImuTrial / kReplaySamplePeriod));
    const size_t count = usable / kReplayWindowSamples;
    if (count == 0) {
        return Status::Error(ErrorCode::kValidationFailed,
                             "the trial is shorter than one window (" + std::to_string(x.size()) + " samples)");
    }
    ReplayTrack track;
    for (size_t k = 0; k < count; ++k) {
        const auto from = x.begin() + static_cast<std::ptrdiff_t>(k * kReplayWindowSamples);
        track.windows.emplace_back(from, from + static_cast<std::ptrdiff_t>(kReplayWindowSamples));
    }
    track.trial_windows = static_cast<int>(count);
    if (fall) {
        // The |a| peak, within the search interval where there is one (the nearest samples to its ends).
        size_t search_begin = 0, search_end = x.size() - 1;  // inclusive
        if (facts.impact_search) {
            const auto nearest_sample = [&](double t_s) {
                return static_cast<size_t>(
                    std::clamp(std::round(t_s * series.rate_hz), 0.0, static_cast<double>(x.size() - 1)));
            };
            search_begin = nearest_sample(facts.impact_search->begin_s);
            search_end = std::max(search_begin, nearest_sample(facts.impact_search->end_s));
        }
        size_t impact = search_begin;
        for (size_t i = search_begin + 1; i <= search_end; ++i) {
            if (Magnitude(x[i]) > Magnitude(x[impact])) impact = i;
        }
        const size_t replayed = count * kReplayWindowSamples;
        if (impact < kOneSecond || impact + kOneSecond > replayed) {
            return Status::Error(ErrorCode::kValidationFailed,
                                 "the impact (sample " + std::to_string(impact) +
                                     ") is not inside the replayed windows, a second from their edges");
        }
        track.impact = kReplaySamplePeriod * static_cast<int64_t>(impact);
        // The latest still stretch after the impact (and its first second), searched from the end: a whole
        // window's worth where the trial has one, else at least a second (the label rules' shortest still run).
        std::optional<std::pair<size_t, size_t>> still;  // first sample, length
        if (lying_still > Milliseconds(0) && facts.stays_down) {
            for (size_t length : {kReplayWindowSamples, kOneSecond}) {
                if (x.size() < length + impact + kOneSecond) continue;
                for (size_t s = x.size() - length; s >= impact + kOneSecond; s -= std::min<size_t>(s, 5)) {
                    if (StdMagnitude(x, s, length) <= kTailStillStdG) {
                        still = {s, length};
                        break;
                    }
                    if (s < 5) break;
                }
                if (still) break;
            }
        }
        if (still) {
            const int64_t copies =
                (lying_still.count() + kReplayWindowLength.count() - 1) / kReplayWindowLength.count();
            const auto [from, length] = *still;
            // The stretch is usually the trial's very end, where the last window stops: the tail runs backwards
            // from there through the stretch, then forwards again, and so on, so that nothing jumps.
            ImuSamples tail;
            for (size_t pass = 0; tail.size() < static_cast<size_t>(copies) * kReplayWindowSamples; ++pass) {
                for (size_t i = 0; i < length; ++i) tail.push_back(x[from + (pass % 2 == 0 ? length - 1 - i : i)]);
            }
            for (int64_t j = 0; j < copies; ++j) {
                const auto w =
                    tail.begin() + static_cast<std::ptrdiff_t>(j) * static_cast<std::ptrdiff_t>(kReplayWindowSamples);
                track.windows.emplace_back(w, w + static_cast<std::ptrdiff_t>(kReplayWindowSamples));
            }
        }
    }
    for (size_t k = 0; k < track.windows.size(); ++k) {
        if (auto why = ReplayWindowProblem(track.windows[k], series.gravity_removed)) {
            return Status::Error(ErrorCode::kValidationFailed,
                                 "window " + std::to_string(k) + " would be refused by the server: " + *why);
        }
    }
    return track;
}

Result<ReplayTrack> LoadReplayTrack(const imu::TrialInfo& info, Milliseconds lying_still) {
    auto trial = imu::LoadTrial(info);
    if (!trial.ok()) return trial.status();
    auto series = imu::Resample(*trial, imu::kRateHz);
    if (!series.ok()) return series.status();
    return BuildReplayTrack(*series, info.is_fall_trial, lying_still, FallReplayFactsOf(info));
}

Result<ImuCatalog> LoadImuCatalog(const ImuSpec& spec) {
    ImuCatalog catalog;
    for (ImuDataset d : spec.datasets) {
        auto trials = imu::ListTrials(spec.data_dir, ToImuDatasetId(d));
        if (!trials.ok()) {
            if (trials.status().code() == ErrorCode::kNotFound) {
                return Status::Error(ErrorCode::kNotFound, "The IMU data set " + std::string(ImuDatasetName(d)) +
                                                               " was not found under " + spec.data_dir +
                                                               " (imu.data_dir): " + trials.status().message());
            }
            return trials.status();
        }
        std::set<std::string> subject_set;
        for (const imu::TrialInfo& t : *trials) subject_set.insert(t.subject);
        const std::map<std::string, imu::Split> splits =
            imu::AssignSplits(ToImuDatasetId(d), std::vector<std::string>(subject_set.begin(), subject_set.end()));
        const std::optional<imu::Split> wanted = ToImu(spec.split);
        for (const imu::TrialInfo& t : *trials) {
            if (wanted) {
                auto it = splits.find(t.subject);
                if (it == splits.end() || it->second != *wanted) continue;
            }
            const ImuPlacement p = FromImu(t.placement);
            if (std::find(spec.placements.begin(), spec.placements.end(), p) == spec.placements.end()) continue;
            (t.is_fall_trial ? catalog.falls : catalog.adl).push_back({t, d, p});
        }
    }
    return catalog;
}

Result<ImuPlan> PlanImu(const Scenario& s, const ImuCatalog& catalog) {
    ImuPlan plan;
    if (!s.imu) return plan;
    const ImuSpec& spec = *s.imu;
    std::vector<Draft> drafts;
    const double days = static_cast<double>(s.duration.count()) / kDayMs;
    int first = 0;
    for (size_t gi = 0; gi < s.groups.size(); ++gi) {
        const GroupSpec& g = s.groups[gi];
        for (size_t ei = 0; ei < g.imu_events.size(); ++ei) {
            const ImuEventSpec& e = g.imu_events[ei];
            const uint64_t stream = 0x1A0000000ull + gi * 4096 + ei;
            Rng order_rng = Rng::ForStream(s.seed, stream);
            std::vector<int> order(static_cast<size_t>(g.watches));
            for (int w = 0; w < g.watches; ++w) order[static_cast<size_t>(w)] = w;
            for (size_t k = order.size(); k > 1; --k) {
                std::swap(order[k - 1],
                          order[static_cast<size_t>(order_rng.UniformInt(0, static_cast<int64_t>(k) - 1))]);
            }
            const int count = e.wearers < 0 ? g.watches : std::min(e.wearers, g.watches);
            for (int k = 0; k < count; ++k) {
                const int w = order[static_cast<size_t>(k)];
                Rng wr = Rng::ForStream(s.seed ^ (stream << 20), static_cast<uint64_t>(w));
                const Milliseconds at = e.at.Resolve(s.duration);
                const Milliseconds jitter = e.jitter.Resolve(s.duration);
                Draft d;
                d.wearer = first + w;
                d.group = g.name;
                d.kind = e.kind;
                d.offset = at + Milliseconds(std::llround(wr.Uniform() * static_cast<double>(jitter.count())));
                d.dataset = e.dataset;
                d.placement = e.placement;
                d.activity = e.activity;
                d.pick_seed = wr.NextU64();
                d.origin =
                    "group " + g.name + ", " + std::string(ImuKindName(e.kind)) + " event " + std::to_string(ei + 1);
                drafts.push_back(std::move(d));
            }
        }
        if (g.imu) {
            const Milliseconds latest = s.duration - kMaxImuEvent;
            for (int w = 0; w < g.watches; ++w) {
                const int wearer = first + w;
                Rng rr = Rng::ForStream(s.seed, 0x1A1000000ull + static_cast<uint64_t>(wearer));
                for (ImuKind kind : {ImuKind::kFall, ImuKind::kAdl}) {
                    const double expected =
                        (kind == ImuKind::kFall ? spec.falls_per_wearer_day : spec.adl_per_wearer_day) * days;
                    const double whole = std::floor(expected);
                    const int n = static_cast<int>(whole) + (rr.Bernoulli(expected - whole) ? 1 : 0);
                    for (int k = 0; k < n; ++k) {
                        Draft d;
                        d.wearer = wearer;
                        d.group = g.name;
                        d.kind = kind;
                        d.offset =
                            kFirstRateOnset +
                            Milliseconds(std::llround(rr.Uniform() * static_cast<double>(std::max<int64_t>(
                                                                         0, (latest - kFirstRateOnset).count()))));
                        d.pick_seed = rr.NextU64();
                        d.origin = std::string("the imu section's ") + (kind == ImuKind::kFall ? "falls" : "adl") +
                                   "_per_wearer_day";
                        drafts.push_back(std::move(d));
                    }
                }
            }
        }
        first += g.watches;
    }

    // Trials: load each once; a trial that cannot be replayed is left out for every later pick.
    std::map<std::string, Result<ReplayTrack>> tracks;
    std::set<std::string> bad;
    auto track_of = [&](const ImuTrialRef& ref) -> const Result<ReplayTrack>& {
        const std::string key = TrialKey(ref.info);
        auto it = tracks.find(key);
        if (it != tracks.end()) return it->second;
        return tracks.emplace(key, LoadReplayTrack(ref.info, spec.lying_still)).first->second;
    };

    std::vector<ImuEventPlan> events;
    for (const Draft& d : drafts) {
        const std::vector<ImuTrialRef>& pool = d.kind == ImuKind::kFall ? catalog.falls : catalog.adl;
        Rng pick = Rng::ForStream(d.pick_seed, 0x7121A1);
        std::optional<ImuEventPlan> made;
        for (int attempt = 0; attempt < 64 && !made; ++attempt) {
            // Strata (data set, placement) that still have a fitting, not known-bad trial.
            std::map<std::pair<int, int>, std::vector<const ImuTrialRef*>> strata;
            for (const ImuTrialRef& t : pool) {
                if (d.dataset && t.dataset != *d.dataset) continue;
                if (d.placement && t.placement != *d.placement) continue;
                if (!d.activity.empty() && t.info.activity_code != d.activity) continue;
                if (bad.count(TrialKey(t.info))) continue;
                strata[{static_cast<int>(t.dataset), static_cast<int>(t.placement)}].push_back(&t);
            }
            if (strata.empty()) break;
            auto it = strata.begin();
            std::advance(it, pick.UniformInt(0, static_cast<int64_t>(strata.size()) - 1));
            const ImuTrialRef& ref =
                *it->second[static_cast<size_t>(pick.UniformInt(0, static_cast<int64_t>(it->second.size()) - 1))];
            const Result<ReplayTrack>& track = track_of(ref);
            if (!track.ok()) {
                bad.insert(TrialKey(ref.info));
                plan.warnings.push_back("trial " + ref.info.path.filename().string() + " (" +
                                        std::string(ImuPlacementName(ref.placement)) +
                                        ") is not replayed: " + track.status().message());
                continue;
            }
            ImuEventPlan e;
            e.wearer = d.wearer;
            e.group = d.group;
            e.kind = d.kind;
            e.dataset = ref.dataset;
            e.placement = ref.placement;
            e.gravity_removed = ref.info.gravity_removed;
            e.subject = ref.info.subject;
            e.activity = ref.info.activity_code;
            e.activity_name = ref.info.activity_name;
            e.file = ref.info.path.filename().string();
            e.onset = d.offset;
            e.impact = track->impact;
            e.trial_windows = track->trial_windows;
            e.windows = track->windows;
            made = std::move(e);
        }
        if (!made) {
            return Status::Error(ErrorCode::kValidationFailed, "No IMU trial fits an event of the scenario.",
                                 {{"imu", d.origin + ": no replayable " + std::string(ImuKindName(d.kind)) +
                                              " trial of the " + std::string(ImuSplitName(spec.split)) +
                                              " split matches its data sets, placements and activity"}});
        }
        events.push_back(std::move(*made));
    }

    // Per wearer in time order, kept apart; what no longer fits the run is dropped.
    std::stable_sort(events.begin(), events.end(), [](const ImuEventPlan& a, const ImuEventPlan& b) {
        return a.wearer != b.wearer ? a.wearer < b.wearer : a.onset < b.onset;
    });
    int dropped = 0;
    std::optional<int> last_wearer;
    Milliseconds free_from{0};
    for (ImuEventPlan& e : events) {
        if (last_wearer != e.wearer) {
            last_wearer = e.wearer;
            free_from = Milliseconds(0);
        }
        e.onset = std::max(e.onset, free_from);
        if (e.end() > s.duration) {
            ++dropped;
            continue;
        }
        free_from = e.end() + kImuEventSpacing;
        plan.events.push_back(std::move(e));
    }
    if (dropped > 0) {
        plan.warnings.push_back(std::to_string(dropped) + " IMU events dropped: with " +
                                FormatSimDuration(kImuEventSpacing) +
                                " between a wearer's events they would end after the run");
    }
    return plan;
}

}  // namespace vg::sim
