#pragma once
// Physiology: plausible smartwatch vitals for a simulated fleet, on simulated time.
//
// PlanFleet turns a Scenario into one WearerPlan per wearer: a baseline drawn
// from the seed (resting heart rate, respiration, SpO2, wrist skin temperature,
// glucose for CGM wearers, sleep times, how strongly heart rate follows
// cadence) and the scenario's events placed on that wearer's timeline.
// WearerSimulator then produces the wearer's readings in time order, one per
// interval: a daily rhythm (lower heart rate and respiration asleep, warmer
// wrist at night, meals raising glucose), activity bouts that raise heart rate
// with a lag and add cadence (steps/min) and calories, correlated and white
// sensor noise, dropouts (missing metrics, missing readings), and the injected
// events on top. While generating, it notes when each emergency became
// knowable (the first reading that meets the event's knowable criteria).
//
// Everything is a pure function of the scenario, its seed and `start`: the same
// inputs give the same readings. No clock is read.
// Thread-safety: a WearerSimulator is used by one thread at a time; distinct
// simulators (and the const FleetPlan they share) from any threads.

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/domain/vitals.hpp"
#include "vg/sim/random.hpp"
#include "vg/sim/scenario.hpp"
#include "vg/sim/scorer.hpp"

namespace vg::sim {

// A wearer's own normal. Rates at rest, awake, mid-afternoon.
struct WearerBaseline {
    int age = 75;
    double heart_rate = 70;         // beats/min
    double respiration_rate = 15;   // breaths/min
    double spo2 = 97;               // %
    double skin_temp = 33.5;        // °C at the wrist
    std::optional<double> glucose;  // mg/dL fasting; set for CGM wearers
    double hr_per_cadence = 0.3;    // beats/min added per step/min of sustained cadence
    double kcal_per_min = 1.1;      // at rest
    double wake_hour = 6.5;         // local time
    double sleep_hour = 22.0;       // local time
};

// Draws a baseline: resting heart rate 60–84 (a little higher with age), respiration 13–18,
// SpO2 95.5–99 (a little lower with age), wrist temperature 32.3–34.7 °C, glucose 90–120 when `glucose`.
WearerBaseline DrawBaseline(Rng& rng, int age_min, int age_max, bool glucose);

// An event placed on one wearer's timeline (target already drawn within the spec's spread).
struct PlacedEvent {
    EventSpec spec;
    TimePoint onset;  // on a reading slot
    TimePoint end;
};

struct WearerPlan {
    int index = 0;
    std::string group;
    std::string profile;
    bool glucose = false;
    uint64_t seed = 0;  // of this wearer's readings
    WearerBaseline baseline;
    std::vector<PlacedEvent> events;
};

struct FleetPlan {
    TimePoint start;  // the first reading slot
    Milliseconds duration{0};
    Milliseconds interval{0};
    int utc_offset_minutes = 0;
    DropoutSpec dropouts;
    std::vector<WearerPlan> wearers;
    std::vector<std::string> warnings;  // e.g. events dropped because they no longer fit the run

    int64_t slots() const { return duration / interval; }  // readings per wearer, dropouts included
};

// Places the scenario's wearers and events on the window [start, start + duration). Deterministic in
// (scenario, start). Events of a group go to the first `wearers` of a seeded shuffle of the group; an
// event that would end after the window (possible after --duration) is dropped with a warning.
FleetPlan PlanFleet(const Scenario& scenario, TimePoint start);

struct SimReading {
    int64_t seq = 0;  // the slot number + 1 (a dropped reading leaves a gap)
    domain::VitalsReading reading;
    // Ground truth for training models (docs/models.md): the wearer's true state from the
    // noise-free values of the vital-sign emergencies only (exercise and sensor spikes are normal):
    // 0 normal, 1 caution, 2 danger, and the metrics at fault as bits (1 << Metric).
    int truth_status = 0;
    uint8_t truth_causes = 0;
};

class WearerSimulator {
  public:
    // Borrows `fleet`, which must outlive the simulator. REQUIRES: wearer < fleet.wearers.size().
    WearerSimulator(const FleetPlan& fleet, int wearer);

    // Appends the readings of every not yet generated slot measured before `until`, in time order.
    void GenerateUntil(TimePoint until, std::vector<SimReading>& out);
    bool done() const { return next_slot_ >= fleet_.slots(); }
    TimePoint next_slot_time() const { return SlotTime(next_slot_); }

    // The wearer's events with knowable_at as found so far (final once done()).
    std::vector<LabelledEvent> Labels() const;

  private:
    struct Bout {
        TimePoint start;
        TimePoint end;
        double cadence;
    };
    struct Meal {
        TimePoint at;
        double rise;
    };
    // Per event: knowable tracking.
    struct Tracker {
        std::optional<TimePoint> knowable_at;
        std::vector<std::optional<TimePoint>> run_start;   // per criterion, for held thresholds
        std::deque<std::pair<TimePoint, double>> history;  // recent values, for % criteria
        std::optional<TimePoint> last_before;              // signal loss: the last reading before onset
    };
    struct Means {
        std::array<double, domain::kMetricCount> v{};
    };

    static void TruthOf(const Means& truth, const Means& normal, SimReading& out);
    TimePoint SlotTime(int64_t slot) const { return fleet_.start + fleet_.interval * slot; }
    double LocalHour(TimePoint t) const;
    double SleepLevel(double hour) const;
    double Cadence(TimePoint t, bool asleep) const;  // steps/min: exercise events, else daily bouts
    double MealGlucose(TimePoint t) const;
    void PlanDailyLife();
    std::optional<SimReading> GenerateSlot(int64_t slot);
    void Track(TimePoint t, const domain::VitalsReading& reading, const Means& normal);

    const FleetPlan& fleet_;
    const WearerPlan& plan_;
    Rng rng_;
    int64_t next_slot_ = 0;
    std::vector<Bout> bouts_;
    std::vector<Meal> meals_;
    double effort_ = 0;                              // cadence felt by the heart, lagged (steps/min)
    std::array<double, domain::kMetricCount> ar_{};  // correlated noise per metric
    std::vector<Tracker> trackers_;                  // parallel to plan_.events
};

}  // namespace vg::sim
