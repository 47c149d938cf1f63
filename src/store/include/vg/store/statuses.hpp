#pragma once
// StatusStore: the seed's UserStatus and UserPosture — each wearer's history of status verdicts
// (0 normal, 1 caution, 2 danger, with why) and of predicted postures, and the current value of each
// on the user (danger_degree, user_posture). Used by the verdict stage / StatusRecorder, the posture
// service and the api's get_status / get_posture.
//
// One port of vg::store::Store (store.hpp): durable on OK, nothing written on error, safe from any
// thread, kUnavailable once closed. A status outside 0-2 or a posture outside 0-7 for an existing user
// is kInternal and stores nothing (the domain validates first; the store is the last guard).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/store/fall_suspicions.hpp"
#include "vg/store/incidents.hpp"
#include "vg/store/readings.hpp"

namespace vg::store {

// One row of the seed's UserStatus: 0 normal, 1 caution, 2 danger, with why.
struct StatusRow {
    int64_t user_unique_num = 0;
    int status = 0;
    TimePoint updated_at;
    std::string causes;                   // comma-separated metric names, e.g. "heart_rate,spo2"; may be empty
    std::string explanation;              // the sentence shown to the wearer; may be empty
    std::optional<TimePoint> reading_at;  // when the reading behind it was measured
};

// One row of the seed's UserPosture: class 0-7 (0 Downstairs ... 7 Fall).
struct PostureRow {
    int64_t user_unique_num = 0;
    int posture = 0;
    TimePoint updated_at;
};

// What the verdict stage records for one verdict: its status row when one is due, and — for a reading
// that was evaluated before it was stored (the seed's update_status, acknowledged once both are
// durable) — the reading itself, stored as AppendReadings would (device_id, device_seq, received_at);
// and the posture path's output for the wearer: its posture rows, stored as AppendPosture would, and
// the fall suspicion saved (as SaveFallSuspicion would) or cleared (as ClearFallSuspicion would).
struct VerdictRecord {
    int64_t user_unique_num = 0;
    std::optional<IncomingReading> reading;
    std::optional<int64_t> device_id;  // of the reading
    TimePoint received_at;             // of the reading
    std::optional<StatusRow> row;      // row->user_unique_num must equal user_unique_num
    std::vector<PostureRow> postures;  // each as AppendPosture would (user_posture follows); row.user_unique_num
                                       // must equal user_unique_num
    std::optional<FallSuspicion> save_suspicion;  // as SaveFallSuspicion would (wearer must equal user_unique_num)
    bool clear_suspicion = false;                 // as ClearFallSuspicion would; REQUIRES !(save_suspicion &&
                                                  // clear_suspicion) (both set is kInternal for the whole call)
    // The incident transition the verdict caused, written last as SaveIncident would (incident.wearer must
    // equal user_unique_num). Its kConflict (the incident changed meanwhile, or the wearer has another open
    // one) is that record's Status, but only the transition is left out: the rest of the record is written.
    std::optional<IncidentTransition> incident;
};

class StatusStore {
  public:
    virtual ~StatusStore() = default;

    // Appends the row and sets the user's danger_degree to its status in the same transaction (the
    // last appended row wins, whatever its updated_at). kNotFound when the user does not exist.
    virtual Status AppendStatus(const StatusRow& row) = 0;
    // Appends every row (in order) in one transaction, each as AppendStatus would. The result has one
    // Status per row: kNotFound for a row whose user does not exist (that row alone is skipped). An
    // error of the whole (the store closed, the commit failed, a status outside 0-2) is returned
    // instead, and nothing of the call is kept.
    virtual Result<std::vector<Status>> AppendStatuses(std::span<const StatusRow> rows) = 0;
    // Records every verdict in one transaction, in order, and per record in order: its reading (if any;
    // a retried (device, seq) is recognised and not stored twice), then its row (if any; danger_degree
    // follows), then its posture rows (in order; user_posture follows the last), then its suspicion
    // saved or cleared (if either), then its incident transition (if any; the incident as stored is
    // incident.version + 1, or for a new one the wearer's open incident). One Status per record: kNotFound
    // for a record whose user does not exist (that record alone is skipped: nothing of it is written);
    // kConflict when only its incident transition was refused (see VerdictRecord::incident). An error of
    // the whole is returned
    // instead, and nothing of the call is kept: the store closed, the commit failed, or — kInternal — a
    // status outside 0-2, a posture outside 0-7 or a negative still_run for an existing user, an
    // unknown device, a record with both save_suspicion and clear_suspicion.
    virtual Result<std::vector<Status>> RecordVerdicts(std::span<const VerdictRecord> records) = 0;
    // Appends the row and sets the user's user_posture (danger_degree is untouched). kNotFound when the
    // user does not exist.
    virtual Status AppendPosture(const PostureRow& row) = 0;
    // The `limit` (clamped to [1, kMaxRecentRows]) most recent rows, newest first (updated_at; a tie:
    // the row appended last first). An unknown user has no rows: an empty list, not kNotFound.
    virtual Result<std::vector<StatusRow>> RecentStatuses(int64_t user_unique_num, int limit) = 0;
    virtual Result<std::vector<PostureRow>> RecentPostures(int64_t user_unique_num, int limit) = 0;
};

}  // namespace vg::store
