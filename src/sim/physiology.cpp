#include "vg/sim/physiology.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace vg::sim {
namespace {

using domain::Metric;
constexpr int64_t kDayMs = 86'400'000;
constexpr Milliseconds kMinute{60'000};
constexpr Milliseconds kHour{3'600'000};

size_t Idx(Metric m) { return static_cast<size_t>(m); }

// Correlated (AR(1)) noise: stationary standard deviation, time constant; plus white noise.
struct Noise {
    double ar_sd;
    double tau_s;
    double white_sd;
};
Noise NoiseOf(Metric m) {
    switch (m) {
        case Metric::kHeartRate:
            return {2.5, 300, 1.2};
        case Metric::kRespirationRate:
            return {0.6, 300, 0.4};
        case Metric::kSpo2:
            return {0.4, 180, 0.4};
        case Metric::kSkinTemp:
            return {0.2, 1800, 0.06};
        case Metric::kGlucose:
            return {4, 1200, 2};
        case Metric::kSteps:
            return {0, 1, 3};
        case Metric::kCalories:
            return {0, 1, 0.08};
    }
    return {0, 1, 0};
}

constexpr std::array<Metric, 5> kVitals = {Metric::kHeartRate, Metric::kRespirationRate, Metric::kSpo2,
                                           Metric::kSkinTemp, Metric::kGlucose};
constexpr std::array<Metric, domain::kMetricCount> kAllMetrics = {
    Metric::kHeartRate, Metric::kRespirationRate, Metric::kSpo2,    Metric::kSkinTemp,
    Metric::kGlucose,   Metric::kSteps,           Metric::kCalories};

double RoundTo(double v, double step) { return std::round(v / step) * step; }

double Finish(Metric m, double v) {
    const domain::PlausibleRange r = domain::PlausibleRangeOf(m);
    switch (m) {
        case Metric::kHeartRate:
        case Metric::kRespirationRate:
        case Metric::kGlucose:
        case Metric::kSteps:
            v = std::round(v);
            break;
        case Metric::kSpo2:
            v = std::min(100.0, std::round(v));
            break;
        case Metric::kSkinTemp:
            v = RoundTo(v, 0.01);
            break;
        case Metric::kCalories:
            v = RoundTo(v, 0.1);
            break;
    }
    return std::clamp(v, r.min, r.max);
}

// Local midnight (as UTC time) of the local day containing t.
int64_t LocalMidnightMs(int64_t t_ms, int utc_offset_minutes) {
    const int64_t offset = int64_t{utc_offset_minutes} * 60'000;
    const int64_t local = t_ms + offset;
    const int64_t day = local >= 0 ? local / kDayMs : (local - kDayMs + 1) / kDayMs;
    return day * kDayMs - offset;
}

// Fraction of an event's full effect at time t (0 before onset and after end).
double Progress(const PlacedEvent& e, TimePoint t) {
    if (t < e.onset || t >= e.end) return 0;
    if (e.spec.type == EventType::kSensorSpike || e.spec.type == EventType::kSignalLoss) return 1;
    const double el = static_cast<double>((t - e.onset).count());
    const double dur = static_cast<double>((e.end - e.onset).count());
    const double ramp = static_cast<double>(e.spec.ramp.count());
    const double rec = static_cast<double>(e.spec.recovery.count());
    if (el < ramp) return el / ramp;
    if (rec > 0 && el >= dur - rec) {
        const double x = (el - (dur - rec)) / rec;
        // Heart rate recovers after exercise fast, then slowly (exponential); other events linearly.
        return e.spec.type == EventType::kExercise ? std::exp(-3.0 * x) : 1.0 - x;
    }
    return 1;
}

bool ExerciseActive(const PlacedEvent& e, TimePoint t) {
    return e.spec.type == EventType::kExercise && t >= e.onset && t < e.end - e.spec.recovery;
}

}  // namespace

WearerBaseline DrawBaseline(Rng& rng, int age_min, int age_max, bool glucose) {
    WearerBaseline b;
    b.age = static_cast<int>(rng.UniformInt(age_min, age_max));
    const double years_over_70 = b.age - 70;
    b.heart_rate = std::clamp(rng.Normal(68 + 0.1 * years_over_70, 5), 60.0, 84.0);
    b.respiration_rate = std::clamp(rng.Normal(15.5 + 0.03 * years_over_70, 1.2), 13.0, 18.0);
    b.spo2 = std::clamp(rng.Normal(97.3 - 0.04 * years_over_70, 0.8), 95.5, 99.0);
    b.skin_temp = std::clamp(rng.Normal(33.5, 0.5), 32.3, 34.7);
    const double g = std::clamp(rng.Normal(105, 8), 90.0, 120.0);
    if (glucose) b.glucose = g;
    b.hr_per_cadence = rng.Uniform(0.22, 0.38);
    b.kcal_per_min = rng.Uniform(0.9, 1.3);
    b.wake_hour = rng.Uniform(5.5, 7.5);
    b.sleep_hour = rng.Uniform(21.0, 23.0);
    return b;
}

FleetPlan PlanFleet(const Scenario& s, TimePoint start) {
    FleetPlan fleet;
    fleet.start = start;
    fleet.duration = s.duration;
    fleet.interval = s.interval;
    fleet.utc_offset_minutes = s.utc_offset_minutes;
    fleet.dropouts = s.dropouts;
    int index = 0;
    for (size_t gi = 0; gi < s.groups.size(); ++gi) {
        const GroupSpec& g = s.groups[gi];
        const size_t first = fleet.wearers.size();
        for (int w = 0; w < g.watches; ++w, ++index) {
            WearerPlan p;
            p.index = index;
            p.group = g.name;
            p.profile = g.profile;
            p.glucose = g.glucose;
            Rng r = Rng::ForStream(s.seed, static_cast<uint64_t>(index));
            p.baseline = DrawBaseline(r, g.age_min, g.age_max, g.glucose);
            p.seed = r.NextU64();
            fleet.wearers.push_back(std::move(p));
        }
        for (size_t ei = 0; ei < g.events.size(); ++ei) {
            const EventSpec& spec = g.events[ei];
            const uint64_t stream = 0xE7E000000ull + gi * 4096 + ei;
            Rng order_rng = Rng::ForStream(s.seed, stream);
            std::vector<int> order(static_cast<size_t>(g.watches));
            for (int w = 0; w < g.watches; ++w) order[static_cast<size_t>(w)] = w;
            for (size_t k = order.size(); k > 1; --k) {
                std::swap(order[k - 1],
                          order[static_cast<size_t>(order_rng.UniformInt(0, static_cast<int64_t>(k) - 1))]);
            }
            const int count = spec.wearers < 0 ? g.watches : std::min(spec.wearers, g.watches);
            int dropped = 0;
            for (int k = 0; k < count; ++k) {
                const int w = order[static_cast<size_t>(k)];
                Rng wr = Rng::ForStream(s.seed ^ (stream << 20), static_cast<uint64_t>(w));
                const Milliseconds at = spec.at.Resolve(s.duration);
                const Milliseconds jitter = spec.jitter.Resolve(s.duration);
                Milliseconds offset =
                    at + Milliseconds(std::llround(wr.Uniform() * static_cast<double>(jitter.count())));
                offset = (offset + s.interval - Milliseconds(1)) / s.interval * s.interval;  // onto a reading slot
                const Milliseconds length = spec.type == EventType::kSensorSpike ? s.interval : spec.duration;
                const double target = spec.target + (spec.spread > 0 ? wr.Uniform(-spec.spread, spec.spread) : 0.0);
                if (offset + length > s.duration) {
                    ++dropped;
                    continue;
                }
                PlacedEvent e;
                e.spec = spec;
                e.spec.target = target;
                e.onset = start + offset;
                e.end = e.onset + length;
                fleet.wearers[first + static_cast<size_t>(w)].events.push_back(std::move(e));
            }
            if (dropped > 0) {
                fleet.warnings.push_back("group " + g.name + ", events[" + std::to_string(ei) + "] (" +
                                         std::string(EventTypeName(spec.type)) + "): " + std::to_string(dropped) +
                                         " of " + std::to_string(count) +
                                         " placements dropped because they would end after the run");
            }
        }
        for (size_t w = first; w < fleet.wearers.size(); ++w) {
            auto& events = fleet.wearers[w].events;
            std::stable_sort(events.begin(), events.end(),
                             [](const PlacedEvent& a, const PlacedEvent& b) { return a.onset < b.onset; });
        }
    }
    return fleet;
}

WearerSimulator::WearerSimulator(const FleetPlan& fleet, int wearer)
    : fleet_(fleet), plan_(fleet.wearers.at(static_cast<size_t>(wearer))), rng_(plan_.seed) {
    PlanDailyLife();
    trackers_.resize(plan_.events.size());
    for (size_t i = 0; i < plan_.events.size(); ++i) {
        trackers_[i].run_start.resize(plan_.events[i].spec.knowable.size());
    }
}

double WearerSimulator::LocalHour(TimePoint t) const {
    const int64_t ms = ToUnixMillis(t);
    return static_cast<double>(ms - LocalMidnightMs(ms, fleet_.utc_offset_minutes)) / 3'600'000.0;
}

double WearerSimulator::SleepLevel(double hour) const {
    const WearerBaseline& b = plan_.baseline;
    const double since_bed = std::fmod(hour - b.sleep_hour + 24.0, 24.0);
    const double night = std::fmod(b.wake_hour - b.sleep_hour + 24.0, 24.0);
    if (since_bed >= night) return 0;
    constexpr double kFallAsleep = 0.5;  // hours to settle / to wake up
    return std::clamp(std::min(since_bed, night - since_bed) / kFallAsleep, 0.0, 1.0);
}

void WearerSimulator::PlanDailyLife() {
    const WearerBaseline& b = plan_.baseline;
    const int64_t first_day = LocalMidnightMs(ToUnixMillis(fleet_.start), fleet_.utc_offset_minutes) - kDayMs;
    const int64_t last = ToUnixMillis(fleet_.start + fleet_.duration) + kDayMs;
    for (int64_t midnight = first_day; midnight <= last; midnight += kDayMs) {
        const auto at_hour = [&](double h) { return FromUnixMillis(midnight + static_cast<int64_t>(h * 3'600'000)); };
        const int64_t n = rng_.UniformInt(3, 7);
        for (int64_t i = 0; i < n; ++i) {
            const double h = rng_.Uniform(b.wake_hour + 0.5, b.sleep_hour - 1.0);
            const double minutes = rng_.Uniform(5, 35);
            const double cadence = rng_.Bernoulli(0.65) ? rng_.Uniform(75, 110) : rng_.Uniform(20, 55);
            const TimePoint start = at_hour(h);
            bouts_.push_back({start, start + Milliseconds(static_cast<int64_t>(minutes * 60'000)), cadence});
        }
        for (double meal_hour : {7.5, 12.5, 18.5}) {
            const double h = meal_hour + rng_.Uniform(-0.5, 0.5);
            meals_.push_back({at_hour(h), rng_.Uniform(20, 50)});
        }
    }
    std::sort(bouts_.begin(), bouts_.end(), [](const Bout& x, const Bout& y) { return x.start < y.start; });
    std::sort(meals_.begin(), meals_.end(), [](const Meal& x, const Meal& y) { return x.at < y.at; });
}

double WearerSimulator::Cadence(TimePoint t, bool asleep) const {
    for (const PlacedEvent& e : plan_.events) {
        if (e.spec.type != EventType::kExercise || t < e.onset || t >= e.end) continue;
        return ExerciseActive(e, t) ? e.spec.cadence : 0.0;  // then resting while the heart recovers
    }
    if (asleep) return 0;
    // Bouts last at most 35 minutes: only those that started in the last 40 can be active.
    auto it = std::lower_bound(bouts_.begin(), bouts_.end(), t - 40 * kMinute,
                               [](const Bout& b, TimePoint x) { return b.start < x; });
    double cadence = 0;
    for (; it != bouts_.end() && it->start <= t; ++it) {
        if (t < it->end) cadence = std::max(cadence, it->cadence);
    }
    return cadence;
}

double WearerSimulator::MealGlucose(TimePoint t) const {
    auto it = std::lower_bound(meals_.begin(), meals_.end(), t - 6 * kHour,
                               [](const Meal& m, TimePoint x) { return m.at < x; });
    double rise = 0;
    for (; it != meals_.end() && it->at <= t; ++it) {
        const double tau = static_cast<double>((t - it->at).count()) / (60.0 * 60'000);  // peak 1 h after
        rise += it->rise * tau * std::exp(1.0 - tau);
    }
    return rise;
}

void WearerSimulator::GenerateUntil(TimePoint until, std::vector<SimReading>& out) {
    while (!done() && SlotTime(next_slot_) < until) {
        if (auto r = GenerateSlot(next_slot_)) out.push_back(std::move(*r));
        ++next_slot_;
    }
}

std::optional<SimReading> WearerSimulator::GenerateSlot(int64_t slot) {
    const WearerBaseline& b = plan_.baseline;
    const TimePoint t = SlotTime(slot);
    const double dt_s = static_cast<double>(fleet_.interval.count()) / 1000.0;
    const double hour = LocalHour(t);
    const double sleep = SleepLevel(hour);
    const double cadence = Cadence(t, sleep > 0.5);
    const double tau = cadence > effort_ ? 90.0 : 150.0;  // the heart speeds up faster than it settles
    effort_ += (cadence - effort_) * (1.0 - std::exp(-dt_s / tau));
    const double circadian = std::cos(2.0 * std::numbers::pi * (hour - 15.0) / 24.0);  // peak mid-afternoon

    Means normal;
    auto& n = normal.v;
    n[Idx(Metric::kHeartRate)] = b.heart_rate + 2.0 * circadian - 6.0 * sleep + b.hr_per_cadence * effort_;
    n[Idx(Metric::kRespirationRate)] = b.respiration_rate + 0.3 * circadian - 1.0 * sleep + 0.025 * effort_;
    n[Idx(Metric::kSpo2)] = b.spo2 - 0.5 * sleep;
    n[Idx(Metric::kSkinTemp)] = b.skin_temp + 0.15 * circadian + 0.9 * sleep - 0.004 * effort_;
    n[Idx(Metric::kGlucose)] = b.glucose.value_or(100) + MealGlucose(t) - 0.04 * effort_;
    n[Idx(Metric::kSteps)] = cadence;
    n[Idx(Metric::kCalories)] = b.kcal_per_min * (1.0 - 0.1 * sleep) + 0.045 * cadence;

    Means m = normal;
    // The wearer's true physiological state: the normal means moved by the vital-sign emergencies
    // only — exercise is healthy physiology, a spike is the sensor, not the wearer (docs/models.md).
    Means truth = normal;
    bool lost = false;
    const PlacedEvent* spike = nullptr;
    for (const PlacedEvent& e : plan_.events) {
        const double p = Progress(e, t);
        if (p <= 0) continue;
        const double target = e.spec.target;
        const bool physiological =
            IsEmergency(e.spec.type) && e.spec.type != EventType::kSignalLoss && !NeedsGlucose(e.spec.type);
        for (Means* means : {&m, &truth}) {
            if (means == &truth && !physiological) continue;
            auto& v = means->v;
            auto toward = [&](Metric metric) { v[Idx(metric)] += (target - v[Idx(metric)]) * p; };
            switch (e.spec.type) {
                case EventType::kTachycardia:
                    toward(Metric::kHeartRate);
                    v[Idx(Metric::kRespirationRate)] += 2 * p;
                    break;
                case EventType::kBradycardia:
                    toward(Metric::kHeartRate);
                    break;
                case EventType::kHypoxaemia:
                    toward(Metric::kSpo2);
                    v[Idx(Metric::kHeartRate)] += 12 * p;
                    v[Idx(Metric::kRespirationRate)] += 4 * p;
                    break;
                case EventType::kTachypnoea:
                    toward(Metric::kRespirationRate);
                    v[Idx(Metric::kHeartRate)] += 10 * p;
                    break;
                case EventType::kBradypnoea:
                    toward(Metric::kRespirationRate);
                    v[Idx(Metric::kSpo2)] -= 2 * p;
                    break;
                case EventType::kFeverTrend:
                    v[Idx(Metric::kSkinTemp)] += target * p;
                    v[Idx(Metric::kHeartRate)] += 5 * target * p;
                    v[Idx(Metric::kRespirationRate)] += target * p;
                    break;
                case EventType::kHypothermiaTrend:
                    v[Idx(Metric::kSkinTemp)] += target * p;
                    v[Idx(Metric::kHeartRate)] += 2 * target * p;
                    break;
                case EventType::kExercise:
                    toward(Metric::kHeartRate);
                    v[Idx(Metric::kRespirationRate)] += 8 * p;
                    v[Idx(Metric::kSkinTemp)] -= 0.4 * p;
                    break;
                case EventType::kSensorSpike:
                    spike = &e;
                    break;
                case EventType::kSignalLoss:
                    lost = true;
                    break;
                case EventType::kGlucoseLow:
                case EventType::kGlucoseHigh:
                    toward(Metric::kGlucose);
                    break;
                case EventType::kGlucoseFastDrop:
                    v[Idx(Metric::kGlucose)] *= 1.0 - target / 100.0 * p;
                    break;
            }
        }
    }
    const auto& v = m.v;

    // Noise is drawn for every slot, sent or not, so that dropouts do not shift the random stream.
    domain::VitalsReading reading;
    reading.measured_at = t;
    for (Metric metric : kAllMetrics) {
        const Noise noise = NoiseOf(metric);
        const double phi = std::exp(-dt_s / noise.tau_s);
        double& ar = ar_[Idx(metric)];
        ar = phi * ar + noise.ar_sd * std::sqrt(1.0 - phi * phi) * rng_.Normal();
        double value = v[Idx(metric)] + ar + noise.white_sd * rng_.Normal();
        if (metric == Metric::kSteps) {
            // Pottering about between bouts: a few steps now and then while awake.
            const double pottering = rng_.Uniform(2, 25);
            value = cadence > 0 ? value : (sleep < 0.5 && rng_.Bernoulli(0.2) ? pottering : 0.0);
        }
        reading.set(metric, Finish(metric, value));
    }
    if (!plan_.glucose) reading.values[Idx(Metric::kGlucose)].reset();
    if (spike) reading.set(spike->spec.metric, Finish(spike->spec.metric, spike->spec.target));

    const bool drop_reading = rng_.Bernoulli(fleet_.dropouts.reading);
    for (Metric metric : kAllMetrics) {
        const bool drop_metric = rng_.Bernoulli(fleet_.dropouts.metric);
        if (drop_metric && !(spike && spike->spec.metric == metric)) reading.values[Idx(metric)].reset();
    }
    if (lost || (drop_reading && !spike)) return std::nullopt;
    if (std::none_of(kVitals.begin(), kVitals.end(), [&](Metric x) { return reading.get(x).has_value(); })) {
        return std::nullopt;
    }
    Track(t, reading, normal);
    SimReading out{slot + 1, std::move(reading), 0, 0};
    TruthOf(truth, normal, out);
    return out;
}

void WearerSimulator::TruthOf(const Means& truth, const Means& normal, SimReading& out) {
    int status = 0;
    uint8_t causes = 0;
    auto grade = [&](Metric metric, int level) {
        if (level == 0) return;
        status = std::max(status, level);
        causes |= static_cast<uint8_t>(1u << static_cast<unsigned>(metric));
    };
    // NEWS2 score 2-3 bands on the noise-free values (score 1 is within what healthy older adults show).
    const double hr = truth.v[Idx(Metric::kHeartRate)];
    grade(Metric::kHeartRate, hr >= 131 || hr <= 40 ? 2 : (hr >= 111 || hr <= 50 ? 1 : 0));
    const double rr = truth.v[Idx(Metric::kRespirationRate)];
    grade(Metric::kRespirationRate, rr >= 25 || rr <= 8 ? 2 : (rr >= 21 || rr <= 11 ? 1 : 0));
    const double spo2 = truth.v[Idx(Metric::kSpo2)];
    grade(Metric::kSpo2, spo2 <= 91 ? 2 : (spo2 <= 93 ? 1 : 0));
    const double temp = truth.v[Idx(Metric::kSkinTemp)] - normal.v[Idx(Metric::kSkinTemp)];
    grade(Metric::kSkinTemp, std::abs(temp) >= 1.5 ? 1 : 0);
    out.truth_status = status;
    out.truth_causes = causes;
}

void WearerSimulator::Track(TimePoint t, const domain::VitalsReading& reading, const Means& normal) {
    using K = KnowableCriterion::Kind;
    for (size_t i = 0; i < plan_.events.size(); ++i) {
        const PlacedEvent& e = plan_.events[i];
        Tracker& tr = trackers_[i];
        if (e.spec.type == EventType::kSignalLoss && t < e.onset) tr.last_before = t;
        if (!IsEmergency(e.spec.type) || e.spec.type == EventType::kSignalLoss) continue;
        const std::optional<double> value = reading.get(e.spec.metric);
        if (!value) continue;
        const double x = *value;
        Milliseconds history_span{0};
        for (const KnowableCriterion& c : e.spec.knowable) history_span = std::max(history_span, c.within);
        const bool in_event = t >= e.onset && t <= e.end;
        if (in_event && !tr.knowable_at) {
            for (size_t ci = 0; ci < e.spec.knowable.size(); ++ci) {
                const KnowableCriterion& c = e.spec.knowable[ci];
                const double own = normal.v[Idx(e.spec.metric)];
                bool met = false;
                switch (c.kind) {
                    case K::kAbove:
                    case K::kBelow: {
                        const bool beyond = c.kind == K::kAbove ? x >= c.value : x <= c.value;
                        auto& run = tr.run_start[ci];
                        if (!beyond) {
                            run.reset();
                        } else {
                            if (!run) run = t;
                            met = t - *run >= c.hold;
                        }
                        break;
                    }
                    case K::kAboveNormal:
                        met = x >= own + c.value;
                        break;
                    case K::kBelowNormal:
                        met = x <= own - c.value;
                        break;
                    case K::kDropPct:
                    case K::kRisePct:
                        for (const auto& [tj, xj] : tr.history) {
                            if (t - tj > c.within || xj <= 0) continue;
                            const double change = (x - xj) / xj * 100.0;
                            if (c.kind == K::kDropPct ? -change >= c.value : change >= c.value) met = true;
                        }
                        break;
                    case K::kAfter:
                        break;
                }
                if (met && !tr.knowable_at) tr.knowable_at = t;
            }
        }
        if (history_span > Milliseconds(0)) {
            tr.history.emplace_back(t, x);
            while (!tr.history.empty() && t - tr.history.front().first > history_span) tr.history.pop_front();
        }
    }
}

std::vector<LabelledEvent> WearerSimulator::Labels() const {
    std::vector<LabelledEvent> out;
    for (size_t i = 0; i < plan_.events.size(); ++i) {
        const PlacedEvent& e = plan_.events[i];
        LabelledEvent l;
        l.wearer = plan_.index;
        l.type = e.spec.type;
        l.metric = e.spec.metric;
        l.onset = e.onset;
        l.end = e.end;
        l.group = plan_.group;
        if (e.spec.type == EventType::kSignalLoss) {
            std::optional<Milliseconds> after;
            for (const KnowableCriterion& c : e.spec.knowable) after = after ? std::min(*after, c.hold) : c.hold;
            // Silence is measured from the last reading the server got (or from the onset when there was
            // none since the start).
            const TimePoint from = trackers_[i].last_before.value_or(e.onset);
            if (after && from + *after < e.end) l.knowable_at = from + *after;
        } else {
            l.knowable_at = trackers_[i].knowable_at;
        }
        out.push_back(std::move(l));
    }
    return out;
}

}  // namespace vg::sim
