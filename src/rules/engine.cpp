// Evaluate and CheckSilence: one reading (or one silence) through a profile and a wearer's state.
//
// Per reading: the exercise context is decided from the step cadence; then, for each metric the
// profile watches and the reading carries, every rule updates its counter (threshold, trend,
// baseline: N consecutive readings), its run (sustained) or its reference (trend ring); rules that
// fire raise the metric's raw level, hysteresis turns raw levels into the held level that is
// reported, and the baseline learns only from readings that raised nothing. Finally the hits are
// assembled into a Detection with text. Only the Detection allocates (its explanation, and its
// vectors and strings when rules fired); the work space of one evaluation is on the stack.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <type_traits>

#include "explain.hpp"
#include "profile_data.hpp"
#include "vg/rules/rules.hpp"

namespace vg::rules {
using internal::BaselineConfig;
using internal::Hit;
using internal::HitKind;
using internal::kNoRule;
using internal::MetricRules;
using internal::MetricState;
using internal::ProfileData;
using internal::RingHeader;

namespace internal {
namespace {

constexpr double kSdPerMeanAbsDev = 1.2533;  // σ / E|x-μ| for a normal distribution
constexpr size_t kMaxHits = kMaxRulesPerProfile + domain::kMetricCount + 2;

uint8_t Inc(uint8_t c) { return c == UINT8_MAX ? c : static_cast<uint8_t>(c + 1); }
Level MaxLevel(Level a, Level b) { return a > b ? a : b; }

// A fixed-capacity list on the stack. Its storage is left uninitialised (a normal reading adds
// nothing, and constructing kMaxHits hits per reading would cost more than the rules).
class Hits {
  public:
    void Add(const Hit& h) {
        if (n_ < kMaxHits) new (&storage_[n_++ * sizeof(Hit)]) Hit(h);
    }
    size_t size() const { return n_; }
    Hit& operator[](size_t i) { return *std::launder(reinterpret_cast<Hit*>(&storage_[i * sizeof(Hit)])); }
    const Hit& operator[](size_t i) const {
        return *std::launder(reinterpret_cast<const Hit*>(&storage_[i * sizeof(Hit)]));
    }

  private:
    static_assert(std::is_trivially_copyable_v<Hit> && std::is_trivially_destructible_v<Hit>);
    alignas(Hit) std::byte storage_[kMaxHits * sizeof(Hit)];
    size_t n_ = 0;
};

// Views of the heap block, typed by the profile's layout.
struct Block {
    std::byte* base;
    const ProfileData& p;

    MetricState& metric(const MetricRules& mr) const { return *reinterpret_cast<MetricState*>(base + mr.state_offset); }
    uint8_t* counters() const { return reinterpret_cast<uint8_t*>(base + p.counters_offset); }
    uint32_t* runs() const { return reinterpret_cast<uint32_t*>(base + p.runs_offset); }
    RingHeader& ring(const MetricRules& mr) const { return *reinterpret_cast<RingHeader*>(base + mr.ring_offset); }
    int16_t* slots(const MetricRules& mr) const {
        return reinterpret_cast<int16_t*>(base + mr.ring_offset + sizeof(RingHeader));
    }
};

// The mean of the bucket nearest to `target_s` (within the rule's tolerance), excluding the current
// bucket; nullopt when there is none.
std::optional<double> RingLookup(const Block& b, const MetricRules& mr, int64_t target_s, int32_t tolerance_s,
                                 int64_t now_bucket) {
    const RingHeader& h = b.ring(mr);
    if (h.newest_plus1 == 0 || target_s < 0) return std::nullopt;
    const int64_t newest = static_cast<int64_t>(h.newest_plus1) - 1;
    const int64_t target = target_s / mr.bucket_s;
    const int64_t tol = (tolerance_s + mr.bucket_s - 1) / mr.bucket_s;
    const int16_t* slots = b.slots(mr);
    for (int64_t d = 0; d <= tol; ++d) {
        for (int64_t k : {target - d, target + d}) {
            if (k < 0 || k >= now_bucket || k > newest || newest - k >= mr.ring_len) continue;
            const int16_t q = slots[k % mr.ring_len];
            if (q != kEmptySlot) return Dequantise(mr.metric, q);
            if (d == 0) break;  // target - 0 == target + 0
        }
    }
    return std::nullopt;
}

void RingPush(const Block& b, const MetricRules& mr, double v, int64_t bucket) {
    RingHeader& h = b.ring(mr);
    int16_t* slots = b.slots(mr);
    const int64_t newest = static_cast<int64_t>(h.newest_plus1) - 1;
    if (h.newest_plus1 != 0 && bucket == newest) {
        h.newest_sum += static_cast<float>(v);
        h.newest_count = static_cast<uint16_t>(std::min<int>(h.newest_count + 1, UINT16_MAX));
        slots[bucket % mr.ring_len] = Quantise(mr.metric, h.newest_sum / h.newest_count);
        return;
    }
    if (h.newest_plus1 == 0 || bucket - newest >= mr.ring_len || bucket < newest) {
        std::fill(slots, slots + mr.ring_len, kEmptySlot);
    } else {
        for (int64_t k = newest + 1; k < bucket; ++k) slots[k % mr.ring_len] = kEmptySlot;
    }
    h.newest_plus1 = static_cast<uint32_t>(bucket + 1);
    h.newest_sum = static_cast<float>(v);
    h.newest_count = 1;
    slots[bucket % mr.ring_len] = Quantise(mr.metric, v);
}

double Sigma(const BaselineConfig& cfg, const MetricState& ms) {
    return std::max(kSdPerMeanAbsDev * static_cast<double>(ms.base_scale), cfg.min_scale);
}

// Robust running estimate: a Huber-style clipped EWMA of the value (centre) and of the absolute
// deviation (scale). Each reading moves the centre by at most clip_z σ times its weight, so a
// spike cannot drag the baseline. The weight is 1/n during warm-up (a plain running mean of the
// clipped values), then the fixed EWMA weight of the half-life: after warm-up a drift moves the
// baseline only as fast as the half-life allows.
void Learn(const BaselineConfig& cfg, MetricState& ms, double v) {
    const uint32_t n = ms.base_n;
    const bool warming = n < static_cast<uint32_t>(cfg.warmup_readings);
    if (n == 0) {
        ms.base_center = static_cast<float>(v);
        ms.base_scale = 0;
    } else {
        const double lim = cfg.clip_z * Sigma(cfg, ms);
        const double r = v - ms.base_center;
        const double a = warming ? std::max(1.0 / (n + 1), cfg.alpha) : cfg.alpha;
        ms.base_center = static_cast<float>(ms.base_center + a * std::clamp(r, -lim, lim));
        const double as = warming ? std::max(1.0 / n, cfg.alpha) : cfg.alpha;  // n deviations so far
        ms.base_scale = static_cast<float>(ms.base_scale + as * (std::min(std::fabs(r), lim) - ms.base_scale));
    }
    if (ms.base_n < UINT16_MAX) ++ms.base_n;
}

bool IsFresh(const MetricRules& mr, const MetricState& ms, uint32_t now_s) {
    return ms.last_seen_s != 0 && now_s >= ms.last_seen_s &&
           static_cast<int64_t>(now_s - ms.last_seen_s) <= mr.max_gap_s;
}

struct MetricOutcome {
    uint16_t suppressed_rule = kNoRule;  // most severe high rule replaced by exercise context
    Level suppressed_level = Level::kNormal;
};

// How far the activity context excuses high-side verdicts of a metric: not at all, caution ones
// only (walking), or every level (exercise, where advice stands in for them).
enum class Excuse : uint8_t { kNone, kUpToCaution, kAll };

// Adds `h` unless the activity context suppresses it; threshold hits of one direction are
// de-duplicated to the most severe (nested bands: 135 bpm meets both ≥ 111 and ≥ 131).
class MetricHits {
  public:
    MetricHits(const ProfileData& p, Hits& hits, Excuse excuse, MetricOutcome& out)
        : p_(p), hits_(hits), excuse_(excuse), out_(out) {}

    void Add(const Hit& h) {
        const internal::RuleInfo& info = p_.rules[h.rule];
        if (Excused(info.high, h.level)) {
            if (h.level > out_.suppressed_level) {
                out_.suppressed_level = h.level;
                out_.suppressed_rule = h.rule;
            }
            return;
        }
        if (h.kind == HitKind::kThreshold) {
            size_t& slot = info.high ? high_threshold_ : low_threshold_;
            if (slot != kNone) {
                Hit& existing = hits_[slot];
                const auto& a = *static_cast<const internal::ThresholdRule*>(existing.def);
                const auto& b = *static_cast<const internal::ThresholdRule*>(h.def);
                const bool more_extreme = info.high ? b.bound.value > a.bound.value : b.bound.value < a.bound.value;
                if (h.level > existing.level || (h.level == existing.level && more_extreme)) existing = h;
                Raise(h);
                return;
            }
            slot = hits_.size();
        }
        hits_.Add(h);
        Raise(h);
    }

    // A rule whose condition holds on this reading, confirmed or not: it keeps a held level from
    // being released (a value back in the danger band is not calm, even before it is confirmed).
    void Pending(uint16_t rule, Level level) {
        if (Excused(p_.rules[rule].high, level)) return;
        if (level > pending_) pending_ = level;
    }

    Level raw() const { return raw_; }
    Level pending() const { return pending_ > raw_ ? pending_ : raw_; }
    uint16_t top_rule() const { return top_rule_; }

  private:
    static constexpr size_t kNone = SIZE_MAX;
    bool Excused(bool high, Level level) const {
        return high && (excuse_ == Excuse::kAll || (excuse_ == Excuse::kUpToCaution && level <= Level::kCaution));
    }
    void Raise(const Hit& h) {
        if (h.level > raw_) {
            raw_ = h.level;
            top_rule_ = h.rule;
        }
    }

    const ProfileData& p_;
    Hits& hits_;
    const Excuse excuse_;
    MetricOutcome& out_;
    size_t high_threshold_ = kNone;
    size_t low_threshold_ = kNone;
    Level raw_ = Level::kNormal;
    Level pending_ = Level::kNormal;
    uint16_t top_rule_ = kNoRule;
};

Hit HoldHit(const MetricRules& mr, const MetricState& ms, uint32_t now_s, bool not_in_reading, bool still_in_range) {
    Hit h;
    h.def = &mr;
    h.kind = HitKind::kHysteresis;
    h.level = static_cast<Level>(ms.held_level);
    h.metric = mr.metric;
    h.rule = ms.held_rule[ms.held_level == static_cast<uint8_t>(Level::kDanger) ? 1 : 0];
    h.value = ms.last_value;
    const int idx = ms.held_level - 1;
    h.a = ms.below_since_s[idx] != 0 ? static_cast<double>(now_s - ms.below_since_s[idx]) : 0;
    h.b = ms.below_count[idx];
    h.c = not_in_reading ? 1 : 0;
    h.d = still_in_range ? 1 : 0;
    return h;
}

// Updates the runs of readings below each level (`pending`: the highest level whose condition holds,
// confirmed or not) and the held level: raised at once by a confirmed `raw` level, released one level
// at a time after a run below it lasting hold_s and hold_readings.
void Hysteresis(const MetricRules& mr, MetricState& ms, Level raw, Level pending, uint16_t top_rule, uint32_t now_s) {
    const auto r = static_cast<uint8_t>(raw);
    const auto pend = static_cast<uint8_t>(pending);
    for (int idx = 0; idx < 2; ++idx) {
        if (r >= idx + 1) ms.held_rule[idx] = top_rule;
        if (pend < idx + 1) {
            if (ms.below_since_s[idx] == 0) {
                ms.below_since_s[idx] = now_s;
                ms.below_count[idx] = 1;
            } else {
                ms.below_count[idx] = Inc(ms.below_count[idx]);
            }
        } else {
            ms.below_since_s[idx] = 0;
            ms.below_count[idx] = 0;
        }
    }
    uint8_t held = std::max(ms.held_level, r);
    while (held > r) {
        const int idx = held - 1;
        const bool calm_long_enough = ms.below_since_s[idx] != 0 &&
                                      static_cast<int64_t>(now_s - ms.below_since_s[idx]) >= mr.hold_s &&
                                      ms.below_count[idx] >= mr.hold_readings;
        if (!calm_long_enough) break;
        --held;
    }
    ms.held_level = held;
    ms.raw_level = r;
}

// Runs every rule of one metric on value `v`.
void EvaluateMetric(const Block& b, const MetricRules& mr, double v, uint32_t now_s, Excuse context, Hits& hits,
                    MetricOutcome& out) {
    const ProfileData& p = b.p;
    MetricState& ms = b.metric(mr);
    uint8_t* counters = b.counters();
    uint32_t* runs = b.runs();
    if (!IsFresh(mr, ms, now_s)) {
        // A gap longer than max_gap: consecutive means consecutive, runs are broken, and calm
        // before the gap does not count toward releasing a held level.
        std::fill(counters + mr.first_counter, counters + mr.end_counter, uint8_t{0});
        std::fill(runs + mr.first_run, runs + mr.end_run, uint32_t{0});
        ms.below_since_s[0] = ms.below_since_s[1] = 0;
        ms.below_count[0] = ms.below_count[1] = 0;
    }
    ms.last_seen_s = now_s;
    ms.last_value = static_cast<float>(v);

    const size_t m = static_cast<size_t>(mr.metric);
    const Excuse excuse = p.exercise && p.exercise->applies_to[m] ? context : Excuse::kNone;
    MetricHits mh(p, hits, excuse, out);

    for (const auto& t : mr.thresholds) {
        uint8_t& c = counters[t.counter];
        const bool cond = t.bound.Holds(v);
        c = cond ? Inc(c) : 0;
        if (cond) mh.Pending(t.rule, p.rules[t.rule].level);
        if (c >= t.confirm) {
            Hit h;
            h.def = &t;
            h.rule = t.rule;
            h.kind = HitKind::kThreshold;
            h.level = p.rules[t.rule].level;
            h.metric = mr.metric;
            h.value = v;
            h.a = c;
            mh.Add(h);
        }
    }

    if (mr.ring_len > 0) {
        const int64_t bucket = static_cast<int64_t>(now_s) / mr.bucket_s;
        for (const auto& t : mr.trends) {
            uint8_t& c = counters[t.counter];
            const std::optional<double> ref =
                RingLookup(b, mr, static_cast<int64_t>(now_s) - t.window_s, t.tolerance_s, bucket);
            double pct = 0;
            bool cond = false;
            if (ref && *ref > 0) {
                pct = (v - *ref) / *ref * 100.0;
                cond = t.rise ? pct >= t.pct : -pct >= t.pct;
            }
            c = cond ? Inc(c) : 0;
            if (cond) mh.Pending(t.rule, p.rules[t.rule].level);
            if (c >= t.confirm) {
                Hit h;
                h.def = &t;
                h.rule = t.rule;
                h.kind = HitKind::kTrend;
                h.level = p.rules[t.rule].level;
                h.metric = mr.metric;
                h.value = v;
                h.a = *ref;
                h.b = pct;
                h.c = c;
                mh.Add(h);
            }
        }
        RingPush(b, mr, v, bucket);
    }

    for (const auto& s : mr.sustained) {
        uint32_t& start = runs[s.run];
        if (!s.bound.Holds(v)) {
            start = 0;
            continue;
        }
        if (start == 0) start = now_s;
        mh.Pending(s.rule, p.rules[s.rule].level);
        const int64_t lasted = static_cast<int64_t>(now_s) - start;
        if (lasted >= s.for_s) {
            Hit h;
            h.def = &s;
            h.rule = s.rule;
            h.kind = HitKind::kSustained;
            h.level = p.rules[s.rule].level;
            h.metric = mr.metric;
            h.value = v;
            h.a = static_cast<double>(lasted);
            mh.Add(h);
        }
    }

    if (mr.baseline) {
        const BaselineConfig& cfg = *mr.baseline;
        const bool warm = ms.base_n >= cfg.warmup_readings;
        const double sigma = Sigma(cfg, ms);
        const double z = warm ? (v - ms.base_center) / sigma : 0;
        for (const auto& br : cfg.rules) {
            uint8_t& c = counters[br.counter];
            const bool cond = warm && br.bound.Holds(z);
            c = cond ? Inc(c) : 0;
            if (cond) mh.Pending(br.rule, p.rules[br.rule].level);
            if (c >= br.confirm) {
                Hit h;
                h.def = &br;
                h.rule = br.rule;
                h.kind = HitKind::kBaseline;
                h.level = p.rules[br.rule].level;
                h.metric = mr.metric;
                h.value = v;
                h.a = ms.base_center;
                h.b = sigma;
                h.c = z;
                h.d = c;
                mh.Add(h);
            }
        }
    }

    Hysteresis(mr, ms, mh.raw(), mh.pending(), mh.top_rule(), now_s);
    if (ms.held_level > static_cast<uint8_t>(mh.raw())) {
        hits.Add(HoldHit(mr, ms, now_s, false, static_cast<uint8_t>(mh.pending()) >= ms.held_level));
    }

    // The baseline must not learn what an alert is about (a slow deterioration would become the new
    // normal), nor exercise (it is not the wearer's resting normal).
    if (mr.baseline && ms.held_level == 0 && mh.raw() == Level::kNormal && excuse == Excuse::kNone) {
        Learn(*mr.baseline, ms, v);
    }
}

domain::Detection Assemble(const ProfileData& p, const Hits& hits, const std::array<bool, domain::kMetricCount>& held,
                           const std::array<Level, domain::kMetricCount>& held_level) {
    domain::Detection d;
    Level final_level = Level::kNormal;
    for (size_t i = 0; i < hits.size(); ++i) final_level = MaxLevel(final_level, hits[i].level);
    for (int m = 0; m < domain::kMetricCount; ++m) {
        if (held[m]) final_level = MaxLevel(final_level, held_level[m]);
    }
    d.level = final_level;
    if (final_level == Level::kNormal && hits.size() == 0) {
        d.explanation = "All vitals are normal.";
        return d;
    }

    bool metric_at_final = false;
    for (int m = 0; m < domain::kMetricCount; ++m) {
        if (held[m] && held_level[m] == final_level && final_level != Level::kNormal) {
            d.causes.push_back(static_cast<Metric>(m));
            metric_at_final = true;
        }
    }
    bool advice = false;
    d.fired.reserve(hits.size());
    for (size_t i = 0; i < hits.size(); ++i) {
        const Hit& h = hits[i];
        if (h.kind == HitKind::kExercise && h.level == final_level) advice = true;
        d.fired.push_back(domain::FiredRule{p.rules[h.rule].id, std::string(internal::HitKindName(h.kind)), h.metric,
                                            h.level, internal::FiredValue(h), internal::Detail(p, h)});
    }
    bool silence_at_final = false;
    for (size_t i = 0; i < hits.size(); ++i) {
        if (hits[i].kind == HitKind::kSignalLoss && hits[i].level == final_level) silence_at_final = true;
    }
    d.advice_only = advice && !metric_at_final && !silence_at_final;
    if (advice && std::find(d.causes.begin(), d.causes.end(), Metric::kHeartRate) == d.causes.end() &&
        !metric_at_final) {
        d.causes.push_back(Metric::kHeartRate);
    }

    // One sentence per metric (and one for advice, one for signal loss) at the final level, in hit
    // order, at most three: the explanation says what decided the level, the fired list says the rest.
    std::array<bool, domain::kMetricCount + 2> said{};
    int sentences = 0;
    for (size_t i = 0; i < hits.size() && sentences < 3; ++i) {
        const Hit& h = hits[i];
        if (h.level != final_level) continue;
        size_t slot = static_cast<size_t>(h.metric);
        if (h.kind == HitKind::kExercise) slot = domain::kMetricCount;
        if (h.kind == HitKind::kSignalLoss) slot = domain::kMetricCount + 1;
        if (said[slot]) continue;
        said[slot] = true;
        if (!d.explanation.empty()) d.explanation += ' ';
        d.explanation += internal::Sentence(p, h);
        ++sentences;
    }
    return d;
}

}  // namespace
}  // namespace internal

struct internal::StateAccess {
    static void Reset(WearerState& s, const ProfileData& p) {
        s.profile_id_ = p.id;
        s.epoch_ms_ = 0;
        s.last_reading_ms_ = 0;
        s.exercise_active_s_ = 0;
        s.walking_active_s_ = 0;
        s.exercise_count_ = 0;
        s.has_reading_ = false;
        s.silence_reported_ = false;
        if (!s.data_ || s.data_bytes_ != p.data_bytes) {
            s.data_ = p.data_bytes ? std::make_unique<std::byte[]>(p.data_bytes) : nullptr;
            s.data_bytes_ = p.data_bytes;
        } else {
            std::memset(s.data_.get(), 0, p.data_bytes);
        }
        for (const MetricRules& mr : p.metrics) {
            if (!mr.active) continue;
            MetricState& ms = *reinterpret_cast<MetricState*>(s.data_.get() + mr.state_offset);
            ms.held_rule[0] = ms.held_rule[1] = kNoRule;
        }
    }

    static uint32_t Seconds(const WearerState& s, int64_t t_ms) {
        // +1 so that 0 means "never" in the per-metric times.
        const int64_t rel = (t_ms - s.epoch_ms_) / 1000 + 1;
        return static_cast<uint32_t>(std::clamp<int64_t>(rel, 1, UINT32_MAX - 1));
    }

    // The held levels of metrics still fresh at `now_s`, with a hysteresis hit for each one above normal.
    static void CurrentHolds(const Block& b, uint32_t now_s, Hits& hits, std::array<bool, domain::kMetricCount>& held,
                             std::array<Level, domain::kMetricCount>& held_level) {
        for (const MetricRules& mr : b.p.metrics) {
            if (!mr.active) continue;
            const MetricState& ms = b.metric(mr);
            if (!IsFresh(mr, ms, now_s)) continue;
            const size_t m = static_cast<size_t>(mr.metric);
            held[m] = true;
            held_level[m] = static_cast<Level>(ms.held_level);
            if (ms.held_level > 0) hits.Add(HoldHit(mr, ms, now_s, true, false));
        }
    }

    static domain::Detection Evaluate(const ProfileData& p, WearerState& s, const domain::VitalsReading& reading) {
        if (s.profile_id_ != p.id) Reset(s, p);
        const int64_t t_ms = ToUnixMillis(reading.measured_at);
        Hits hits;
        std::array<bool, domain::kMetricCount> held{};
        std::array<Level, domain::kMetricCount> held_level{};
        const Block b{s.data_.get(), p};
        if (s.has_reading_ && t_ms < s.last_reading_ms_) {
            // Out of order: not evaluated (rules assume time moves forward); the current verdict.
            CurrentHolds(b, Seconds(s, s.last_reading_ms_), hits, held, held_level);
            return Assemble(p, hits, held, held_level);
        }
        if (!s.has_reading_) {
            s.epoch_ms_ = t_ms;
            s.has_reading_ = true;
        }
        s.last_reading_ms_ = t_ms;
        s.silence_reported_ = false;
        const uint32_t now_s = Seconds(s, t_ms);

        // Activity context: exercise (high cadence now, or within the recovery time after it), else
        // walking (walking cadence now, or within the recovery time after it).
        bool active = false;
        bool context = false;
        Excuse excuse = Excuse::kNone;
        if (p.exercise) {
            const internal::ExerciseConfig& e = *p.exercise;
            const std::optional<double> steps = reading.get(Metric::kSteps);
            const bool counted = steps && std::isfinite(*steps);
            auto recent = [&](uint32_t since) {
                return since != 0 && static_cast<int64_t>(now_s - since) <= e.recovery_s;
            };
            active = counted && *steps >= e.cadence_at_least;
            if (active) s.exercise_active_s_ = now_s;
            context = active || recent(s.exercise_active_s_);
            if (e.walking_cadence_at_least > 0 && counted && *steps >= e.walking_cadence_at_least) {
                s.walking_active_s_ = now_s;
            }
            excuse = context ? Excuse::kAll : recent(s.walking_active_s_) ? Excuse::kUpToCaution : Excuse::kNone;
        }

        MetricOutcome heart_rate_outcome;
        std::optional<double> heart_rate;
        for (const MetricRules& mr : p.metrics) {
            if (!mr.active) continue;
            const size_t m = static_cast<size_t>(mr.metric);
            MetricState& ms = b.metric(mr);
            std::optional<double> v = reading.values[m];
            if (v && (!std::isfinite(*v) || (mr.valid && (*v < (*mr.valid)[0] || *v > (*mr.valid)[1])))) {
                v.reset();  // not a usable value (e.g. skin temperature of a watch off the wrist)
            }
            if (v) {
                MetricOutcome out;
                EvaluateMetric(b, mr, *v, now_s, excuse, hits, out);
                if (mr.metric == Metric::kHeartRate) {
                    heart_rate_outcome = out;
                    heart_rate = v;
                }
            } else if (IsFresh(mr, ms, now_s) && ms.held_level > 0) {
                hits.Add(HoldHit(mr, ms, now_s, true, false));
            }
            if (IsFresh(mr, ms, now_s)) {
                held[m] = true;
                held_level[m] = static_cast<Level>(ms.held_level);
            }
        }
        if (!p.metrics[static_cast<size_t>(Metric::kHeartRate)].active) {
            // A profile may give exercise advice without heart-rate rules of its own.
            const std::optional<double> hr = reading.get(Metric::kHeartRate);
            if (hr && std::isfinite(*hr)) heart_rate = hr;
        }

        if (p.exercise && heart_rate) {
            const internal::ExerciseConfig& e = *p.exercise;
            s.exercise_count_ = context && *heart_rate > e.heart_rate_above ? Inc(s.exercise_count_) : 0;
            if (s.exercise_count_ >= e.confirm) {
                Hit h;
                h.def = &e;
                h.rule = e.rule;
                h.stands_in_for = heart_rate_outcome.suppressed_rule;
                h.kind = HitKind::kExercise;
                h.level = p.rules[e.rule].level;
                h.metric = Metric::kHeartRate;
                h.value = *heart_rate;
                const std::optional<double> steps = reading.get(Metric::kSteps);
                h.a = active ? *steps : std::nan("");
                h.b = active ? 0 : static_cast<double>(now_s - s.exercise_active_s_);
                hits.Add(h);
            }
        }
        return Assemble(p, hits, held, held_level);
    }

    static std::optional<domain::Detection> CheckSilence(const ProfileData& p, WearerState& s, TimePoint now) {
        if (s.profile_id_ != p.id) Reset(s, p);
        if (!p.silence || !s.has_reading_ || s.silence_reported_) return std::nullopt;
        const int64_t silent_ms = ToUnixMillis(now) - s.last_reading_ms_;
        if (silent_ms < p.silence->after_ms) return std::nullopt;
        s.silence_reported_ = true;
        Hits hits;
        Hit h;
        h.def = &*p.silence;
        h.rule = p.silence->rule;
        h.kind = HitKind::kSignalLoss;
        h.level = p.rules[h.rule].level;
        h.metric = p.rules[h.rule].metric;
        h.value = static_cast<double>(silent_ms / 1000);
        h.a = h.value;
        hits.Add(h);
        std::array<bool, domain::kMetricCount> held{};
        std::array<Level, domain::kMetricCount> held_level{};
        CurrentHolds(Block{s.data_.get(), p}, Seconds(s, s.last_reading_ms_), hits, held, held_level);
        return Assemble(p, hits, held, held_level);
    }

    static size_t Bytes(const WearerState& s) { return sizeof(WearerState) + s.data_bytes_; }

    static void Move(WearerState& to, WearerState& from) {
        to.profile_id_ = std::exchange(from.profile_id_, 0);  // a moved-from state resets on next use
        to.epoch_ms_ = from.epoch_ms_;
        to.last_reading_ms_ = from.last_reading_ms_;
        to.exercise_active_s_ = from.exercise_active_s_;
        to.walking_active_s_ = from.walking_active_s_;
        to.data_bytes_ = std::exchange(from.data_bytes_, 0);
        to.exercise_count_ = from.exercise_count_;
        to.has_reading_ = from.has_reading_;
        to.silence_reported_ = from.silence_reported_;
        to.data_ = std::move(from.data_);
    }
};

WearerState::WearerState(const RuleProfile& profile) { internal::StateAccess::Reset(*this, profile.data()); }
WearerState::~WearerState() = default;
WearerState::WearerState(WearerState&& other) noexcept { internal::StateAccess::Move(*this, other); }
WearerState& WearerState::operator=(WearerState&& other) noexcept {
    if (this != &other) internal::StateAccess::Move(*this, other);
    return *this;
}

std::unique_ptr<WearerState> NewWearerState(const RuleProfile& profile) {
    return std::make_unique<WearerState>(profile);
}

domain::Detection Evaluate(const RuleProfile& profile, WearerState& state, const domain::VitalsReading& reading) {
    return internal::StateAccess::Evaluate(profile.data(), state, reading);
}

std::optional<domain::Detection> CheckSilence(const RuleProfile& profile, WearerState& state, TimePoint now) {
    return internal::StateAccess::CheckSilence(profile.data(), state, now);
}

size_t WearerStateBytes(const WearerState& state) { return internal::StateAccess::Bytes(state); }

}  // namespace vg::rules
