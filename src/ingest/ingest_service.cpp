#include "vg/ingest/ingest_service.hpp"

#include <future>
#include <set>

namespace vg::ingest {

IngestService::IngestService(store::Store& store, bus::ReadingBus& bus, const Clock& clock, IngestOptions options)
    : store_(store), bus_(bus), clock_(clock), options_(options) {}

std::vector<FieldError> IngestService::Validate(std::span<const store::IncomingReading> readings, bool batch) const {
    std::vector<FieldError> errors;
    const TimePoint now = clock_.Now();
    std::set<int64_t> seqs;
    for (size_t i = 0; i < readings.size(); ++i) {
        const std::string prefix = batch ? "readings[" + std::to_string(i) + "]." : "";
        for (auto& e : domain::ValidateReading(readings[i].reading, prefix)) errors.push_back(std::move(e));
        const TimePoint t = readings[i].reading.measured_at;
        if (t > now + options_.max_clock_skew) {
            errors.push_back({prefix + "timestamp", "is in the future (is the watch's clock right?)"});
        } else if (t < now - options_.max_age) {
            errors.push_back(
                {prefix + "timestamp",
                 "is older than the " +
                     std::to_string(std::chrono::duration_cast<std::chrono::hours>(options_.max_age).count() / 24) +
                     " days VitalGuard accepts"});
        }
        if (const auto& seq = readings[i].device_seq) {
            if (*seq < 0) errors.push_back({prefix + "seq", "must not be negative"});
            if (!seqs.insert(*seq).second) errors.push_back({prefix + "seq", "appears twice in this batch"});
        }
    }
    return errors;
}

Status IngestService::Submit(int64_t wearer, const domain::VitalsReading& reading, std::optional<int64_t> device_id,
                             VerdictCallback on_verdict) {
    const store::IncomingReading in{std::nullopt, reading};
    std::vector<FieldError> errors = Validate(std::span(&in, 1), /*batch=*/false);
    if (!errors.empty()) {
        return Status::Error(ErrorCode::kValidationFailed, "Some values need to be corrected.", std::move(errors));
    }
    // Not stored here: the verdict stage stores the reading with its status row in one commit, and
    // answers only once both are durable.
    bus::ReadingEnvelope envelope;
    envelope.wearer = wearer;
    envelope.reading = reading;
    envelope.received_at = clock_.Now();
    envelope.record_status = true;  // the seed stores a UserStatus row for every update_status
    envelope.store_with_verdict = true;
    envelope.device_id = device_id;
    envelope.on_detected = [accepted = readings_accepted_,
                            on_verdict = std::move(on_verdict)](const Result<domain::Detection>& d) {
        if (d.ok()) accepted->fetch_add(1, std::memory_order_relaxed);
        on_verdict(d);
    };
    std::vector<bus::ReadingEnvelope> batch;
    batch.push_back(std::move(envelope));
    return bus_.Publish(std::move(batch));
}

Result<domain::Detection> IngestService::SubmitAndWait(int64_t wearer, const domain::VitalsReading& reading,
                                                       std::optional<int64_t> device_id) {
    auto verdict = std::make_shared<std::promise<Result<domain::Detection>>>();
    std::future<Result<domain::Detection>> future = verdict->get_future();
    VG_RETURN_IF_ERROR(
        Submit(wearer, reading, device_id, [verdict](const Result<domain::Detection>& d) { verdict->set_value(d); }));
    if (future.wait_for(options_.verdict_timeout) != std::future_status::ready) return VerdictTimeout();
    return future.get();
}

Status IngestService::VerdictTimeout() {
    return Status::Error(ErrorCode::kUnavailable,
                         "The reading was received, but saving and evaluating it is taking longer than usual. "
                         "Its result will appear on the dashboard.")
        .WithRetryAfter(5);
}

Result<BatchResult> IngestService::SubmitBatch(int64_t wearer, std::optional<int64_t> device_id,
                                               std::span<const store::IncomingReading> readings) {
    if (readings.empty()) {
        return Status::Error(ErrorCode::kValidationFailed, "The batch is empty.",
                             {{"readings", "must contain at least one reading"}});
    }
    if (readings.size() > options_.max_batch) {
        return Status::Error(ErrorCode::kValidationFailed, "The batch is too large.",
                             {{"readings", "must contain at most " + std::to_string(options_.max_batch) +
                                               " readings; send the rest in another request"}});
    }
    std::vector<FieldError> errors = Validate(readings, /*batch=*/true);
    if (!errors.empty()) {
        return Status::Error(ErrorCode::kValidationFailed,
                             "Some readings need to be corrected; none of this batch was stored.", std::move(errors));
    }
    const TimePoint received = clock_.Now();
    auto stored = store_.AppendReadings(wearer, device_id, readings, received);
    if (!stored.ok()) return stored.status();

    BatchResult result;
    std::vector<bus::ReadingEnvelope> to_detect;
    to_detect.reserve(readings.size());
    for (size_t i = 0; i < readings.size(); ++i) {
        if (!(*stored)[i]) {
            ++result.duplicates;
            continue;
        }
        ++result.stored;
        bus::ReadingEnvelope e;
        e.wearer = wearer;
        e.reading = readings[i].reading;
        e.received_at = received;
        to_detect.push_back(std::move(e));
    }
    // A batch arrives in sequence order from the watch, but after an outage it may not be in time
    // order; detection wants time order within the wearer.
    std::stable_sort(to_detect.begin(), to_detect.end(),
                     [](const auto& a, const auto& b) { return a.reading.measured_at < b.reading.measured_at; });
    const size_t sent = to_detect.size();
    readings_accepted_->fetch_add(result.stored, std::memory_order_relaxed);
    Status published = bus_.Publish(std::move(to_detect));
    if (!published.ok()) {
        // Stored but not evaluated (the bus is stopping or overloaded). The data is safe, and failing
        // the upload would not help: a retry only finds duplicates. Report it instead.
        result.not_evaluated = sent;
    }
    return result;
}

}  // namespace vg::ingest
