#include "bus_codec.hpp"

#include <bit>
#include <cstring>
#include <utility>

namespace vg::bus::codec {
namespace {

constexpr uint8_t kKindReadings = 'r';
constexpr uint8_t kKindWindowJob = 'w';
constexpr uint8_t kKindDetectionReply = 'd';
constexpr uint8_t kKindWindowsReply = 'v';

constexpr uint8_t kFlagRecordStatus = 1;
constexpr uint8_t kFlagStoreWithVerdict = 2;
constexpr uint8_t kFlagDeviceId = 4;
constexpr uint8_t kFlagReply = 8;
constexpr uint8_t kReadingFlags = kFlagRecordStatus | kFlagStoreWithVerdict | kFlagDeviceId | kFlagReply;

class Writer {
  public:
    void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
    void U32(uint32_t v) {
        for (int i = 0; i < 4; ++i) U8(static_cast<uint8_t>(v >> (8 * i)));
    }
    void U64(uint64_t v) {
        for (int i = 0; i < 8; ++i) U8(static_cast<uint8_t>(v >> (8 * i)));
    }
    void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
    void F64(double v) { U64(std::bit_cast<uint64_t>(v)); }
    void F32(float v) { U32(std::bit_cast<uint32_t>(v)); }
    void Bool(bool v) { U8(v ? 1 : 0); }
    void Str(std::string_view s) {
        U32(static_cast<uint32_t>(s.size()));
        out_.append(s);
    }
    void Time(TimePoint t) { I64(ToUnixMillis(t)); }
    std::string Take() { return std::move(out_); }

  private:
    std::string out_;
};

// Reads with bounds checks; the first failure sticks (later reads give zeros) and names what was read.
class Reader {
  public:
    explicit Reader(std::string_view bytes) : bytes_(bytes) {}

    uint8_t U8(const char* what) {
        if (!Need(1, what)) return 0;
        return static_cast<uint8_t>(bytes_[pos_++]);
    }
    uint32_t U32(const char* what) {
        if (!Need(4, what)) return 0;
        uint32_t v = 0;
        for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(bytes_[pos_++])) << (8 * i);
        return v;
    }
    uint64_t U64(const char* what) {
        if (!Need(8, what)) return 0;
        uint64_t v = 0;
        for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(bytes_[pos_++])) << (8 * i);
        return v;
    }
    int64_t I64(const char* what) { return static_cast<int64_t>(U64(what)); }
    double F64(const char* what) { return std::bit_cast<double>(U64(what)); }
    float F32(const char* what) { return std::bit_cast<float>(U32(what)); }
    TimePoint Time(const char* what) { return FromUnixMillis(I64(what)); }
    bool Bool(const char* what) {
        const uint8_t v = U8(what);
        if (v > 1) Fail(std::string(what) + " is not a boolean");
        return v == 1;
    }
    // An enum value in [0, max].
    uint8_t Enum(const char* what, uint8_t max) {
        const uint8_t v = U8(what);
        if (v > max) Fail(std::string(what) + " is out of range");
        return v;
    }
    std::string Str(const char* what) {
        const uint32_t n = U32(what);
        if (!Need(n, what)) return {};
        std::string s(bytes_.substr(pos_, n));
        pos_ += n;
        return s;
    }
    // A count of items each at least `min_item_bytes` long: refused when the bytes left cannot hold them.
    uint32_t Count(const char* what, size_t min_item_bytes) {
        const uint32_t n = U32(what);
        if (ok() && min_item_bytes > 0 && n > left() / min_item_bytes) {
            Fail(std::string(what) + " is larger than the entry");
            return 0;
        }
        return ok() ? n : 0;
    }
    void Fail(std::string why) {
        if (error_.empty()) error_ = std::move(why);
        pos_ = bytes_.size();
    }
    bool ok() const { return error_.empty(); }
    size_t left() const { return bytes_.size() - pos_; }
    // The error, or OK when everything was read and nothing is left.
    Status Finish(const char* entry) {
        if (ok() && left() != 0) Fail(std::to_string(left()) + " bytes left over");
        if (ok()) return Status::Ok();
        return Status::Error(ErrorCode::kInternal, std::string("cannot decode a bus ") + entry + ": " + error_);
    }

  private:
    bool Need(size_t n, const char* what) {
        if (!ok()) return false;
        if (left() < n) {
            Fail(std::string("truncated at ") + what);
            return false;
        }
        return true;
    }

    std::string_view bytes_;
    size_t pos_ = 0;
    std::string error_;
};

void Header(Writer& w, uint8_t kind) {
    w.U8(kCodecVersion);
    w.U8(kind);
}

void CheckHeader(Reader& r, uint8_t kind) {
    const uint8_t version = r.U8("version");
    if (r.ok() && version != kCodecVersion) {
        r.Fail("version " + std::to_string(version) + " (this build reads " + std::to_string(kCodecVersion) + ")");
    }
    const uint8_t got = r.U8("kind");
    if (r.ok() && got != kind) {
        r.Fail("kind " + std::to_string(got) + " where " + std::to_string(kind) + " was expected");
    }
}

constexpr uint8_t kMaxMetric = domain::kMetricCount - 1;
constexpr uint8_t kMaxLevel = static_cast<uint8_t>(domain::Level::kDanger);
constexpr uint8_t kMaxErrorCode = static_cast<uint8_t>(ErrorCode::kInternal);

void PutStatus(Writer& w, const Status& s) {
    w.U8(static_cast<uint8_t>(s.code()));
    w.Str(s.message());
    w.Bool(s.retry_after_seconds().has_value());
    if (s.retry_after_seconds()) w.I64(*s.retry_after_seconds());
    w.U32(static_cast<uint32_t>(s.fields().size()));
    for (const FieldError& f : s.fields()) {
        w.Str(f.field);
        w.Str(f.problem);
    }
}

// REQUIRES: the code byte was read and is not kOk.
Status GetStatus(Reader& r, uint8_t code) {
    if (code > kMaxErrorCode) r.Fail("error code out of range");
    std::string message = r.Str("error message");
    std::optional<int> retry_after;
    if (r.Bool("has retry-after")) retry_after = static_cast<int>(r.I64("retry-after"));
    std::vector<FieldError> fields(r.Count("field errors", 8));
    for (FieldError& f : fields) {
        f.field = r.Str("field");
        f.problem = r.Str("problem");
    }
    if (!r.ok()) return Status::Error(ErrorCode::kInternal, "undecodable");
    Status s = Status::Error(static_cast<ErrorCode>(code), std::move(message), std::move(fields));
    if (retry_after) s.WithRetryAfter(*retry_after);
    return s;
}

void PutMetrics(Writer& w, const std::vector<domain::Metric>& metrics) {
    w.U32(static_cast<uint32_t>(metrics.size()));
    for (domain::Metric m : metrics) w.U8(static_cast<uint8_t>(m));
}

std::vector<domain::Metric> GetMetrics(Reader& r, const char* what) {
    std::vector<domain::Metric> metrics(r.Count(what, 1));
    for (domain::Metric& m : metrics) m = static_cast<domain::Metric>(r.Enum("metric", kMaxMetric));
    return metrics;
}

void PutDetection(Writer& w, const domain::Detection& d) {
    w.U8(static_cast<uint8_t>(d.level));
    PutMetrics(w, d.causes);
    w.U32(static_cast<uint32_t>(d.fired.size()));
    for (const domain::FiredRule& f : d.fired) {
        w.Str(f.rule);
        w.Str(f.kind);
        w.U8(static_cast<uint8_t>(f.metric));
        w.U8(static_cast<uint8_t>(f.level));
        w.F64(f.value);
        w.Str(f.detail);
    }
    w.Bool(d.advice_only);
    w.Str(d.explanation);
    w.Bool(d.model_probabilities.has_value());
    if (d.model_probabilities) {
        for (float p : *d.model_probabilities) w.F32(p);
    }
    PutMetrics(w, d.model_causes);
}

domain::Detection GetDetection(Reader& r) {
    domain::Detection d;
    d.level = static_cast<domain::Level>(r.Enum("level", kMaxLevel));
    d.causes = GetMetrics(r, "causes");
    d.fired.resize(r.Count("fired rules", 4 + 4 + 1 + 1 + 8 + 4));
    for (domain::FiredRule& f : d.fired) {
        f.rule = r.Str("rule");
        f.kind = r.Str("rule kind");
        f.metric = static_cast<domain::Metric>(r.Enum("rule metric", kMaxMetric));
        f.level = static_cast<domain::Level>(r.Enum("rule level", kMaxLevel));
        f.value = r.F64("rule value");
        f.detail = r.Str("rule detail");
    }
    d.advice_only = r.Bool("advice_only");
    d.explanation = r.Str("explanation");
    if (r.Bool("has model probabilities")) {
        std::array<float, 3> p{};
        for (float& x : p) x = r.F32("model probability");
        d.model_probabilities = p;
    }
    d.model_causes = GetMetrics(r, "model causes");
    return d;
}

constexpr uint8_t kMaxPosture = static_cast<uint8_t>(posture::Posture::kFall);
constexpr uint8_t kMaxFallState = static_cast<uint8_t>(posture::FallState::kDismissed);
constexpr uint8_t kMaxPlacement = static_cast<uint8_t>(posture::Placement::kWaist);
constexpr uint8_t kMaxPolicy = static_cast<uint8_t>(posture::RecordPolicy::kOnChange);
constexpr size_t kWindowResultBytes = posture::kNumModelClasses * 4 + 4 + 1 + 1 + 1 + 1 + 1 + 1 + 8;
constexpr size_t kWindowValues = posture::kWindowSamples * posture::kChannels;
constexpr size_t kTimedWindowBytes = 1 + 1 + 8 + 8 + 8 + kWindowValues * 4;

void PutWindowResult(Writer& w, const posture::WindowResult& x) {
    for (float p : x.prediction.probabilities) w.F32(p);
    w.U32(static_cast<uint32_t>(x.prediction.model_class));
    w.U8(static_cast<uint8_t>(x.prediction.posture));
    w.Bool(x.prediction.other);
    w.U8(static_cast<uint8_t>(x.posture));
    w.U8(static_cast<uint8_t>(x.fall));
    w.Bool(x.incident_id.has_value());
    if (x.incident_id) w.I64(*x.incident_id);
    w.Bool(x.late);
    w.Time(x.at);
}

posture::WindowResult GetWindowResult(Reader& r) {
    posture::WindowResult x;
    for (float& p : x.prediction.probabilities) p = r.F32("probability");
    x.prediction.model_class = r.U32("model class");
    if (x.prediction.model_class >= posture::kNumModelClasses) r.Fail("model class out of range");
    x.prediction.posture = static_cast<posture::Posture>(r.Enum("predicted posture", kMaxPosture));
    x.prediction.other = r.Bool("other");
    x.posture = static_cast<posture::Posture>(r.Enum("posture", kMaxPosture));
    x.fall = static_cast<posture::FallState>(r.Enum("fall state", kMaxFallState));
    if (r.Bool("has incident")) x.incident_id = r.I64("incident id");
    x.late = r.Bool("late");
    x.at = r.Time("at");
    return x;
}

}  // namespace

std::string EncodeReadings(std::string_view reply_node, std::span<const ReadingEnvelope> readings,
                           std::span<const std::optional<uint64_t>> seqs) {
    Writer w;
    Header(w, kKindReadings);
    w.Str(reply_node);
    w.U32(static_cast<uint32_t>(readings.size()));
    for (size_t i = 0; i < readings.size(); ++i) {
        const ReadingEnvelope& e = readings[i];
        w.I64(e.wearer);
        w.Time(e.reading.measured_at);
        uint8_t mask = 0;
        for (size_t m = 0; m < domain::kMetricCount; ++m) {
            if (e.reading.values[m]) mask = static_cast<uint8_t>(mask | (1u << m));
        }
        w.U8(mask);
        for (size_t m = 0; m < domain::kMetricCount; ++m) {
            if (e.reading.values[m]) w.F64(*e.reading.values[m]);
        }
        w.Time(e.received_at);
        const std::optional<uint64_t> seq = i < seqs.size() ? seqs[i] : std::nullopt;
        uint8_t flags = 0;
        if (e.record_status) flags |= kFlagRecordStatus;
        if (e.store_with_verdict) flags |= kFlagStoreWithVerdict;
        if (e.device_id) flags |= kFlagDeviceId;
        if (seq) flags |= kFlagReply;
        w.U8(flags);
        if (e.device_id) w.I64(*e.device_id);
        if (seq) w.U64(*seq);
    }
    return w.Take();
}

Result<ReadingsEntry> DecodeReadings(std::string_view bytes) {
    Reader r(bytes);
    CheckHeader(r, kKindReadings);
    ReadingsEntry entry;
    entry.reply_node = r.Str("reply node");
    entry.readings.resize(r.Count("readings", 8 + 8 + 1 + 8 + 1));
    for (DecodedReading& d : entry.readings) {
        ReadingEnvelope& e = d.envelope;
        e.wearer = r.I64("wearer");
        e.reading.measured_at = r.Time("measured_at");
        const uint8_t mask = r.U8("metric mask");
        if (mask >> domain::kMetricCount) r.Fail("unknown metric in the mask");
        for (size_t m = 0; m < domain::kMetricCount; ++m) {
            if (mask & (1u << m)) e.reading.values[m] = r.F64("metric value");
        }
        e.received_at = r.Time("received_at");
        const uint8_t flags = r.U8("flags");
        if (flags & ~kReadingFlags) r.Fail("unknown reading flags");
        e.record_status = (flags & kFlagRecordStatus) != 0;
        e.store_with_verdict = (flags & kFlagStoreWithVerdict) != 0;
        if (flags & kFlagDeviceId) e.device_id = r.I64("device_id");
        if (flags & kFlagReply) d.reply_seq = r.U64("reply seq");
        if (!r.ok()) break;
    }
    VG_RETURN_IF_ERROR(r.Finish("readings entry"));
    return entry;
}

std::string EncodeWindowJob(std::string_view reply_node, const posture::WindowJob& job,
                            std::optional<uint64_t> reply_seq) {
    Writer w;
    Header(w, kKindWindowJob);
    w.Str(reply_node);
    w.I64(job.wearer);
    w.U8(static_cast<uint8_t>(job.policy));
    w.Time(job.received);
    w.Bool(reply_seq.has_value());
    if (reply_seq) w.U64(*reply_seq);
    w.U32(static_cast<uint32_t>(job.windows.size()));
    for (const posture::TimedWindow& tw : job.windows) {
        w.U8(static_cast<uint8_t>(tw.window.placement));
        w.Bool(tw.window.gravity_removed);
        w.Time(tw.timing.end);
        w.Time(tw.timing.first);
        w.I64(tw.timing.period.count());
        for (float v : tw.window.values) w.F32(v);
    }
    return w.Take();
}

Result<WindowJobEntry> DecodeWindowJob(std::string_view bytes) {
    Reader r(bytes);
    CheckHeader(r, kKindWindowJob);
    WindowJobEntry entry;
    entry.reply_node = r.Str("reply node");
    entry.job.wearer = r.I64("wearer");
    entry.job.policy = static_cast<posture::RecordPolicy>(r.Enum("record policy", kMaxPolicy));
    entry.job.received = r.Time("received");
    if (r.Bool("has reply")) entry.reply_seq = r.U64("reply seq");
    entry.job.windows.resize(r.Count("windows", kTimedWindowBytes));
    for (posture::TimedWindow& tw : entry.job.windows) {
        tw.window.placement = static_cast<posture::Placement>(r.Enum("placement", kMaxPlacement));
        tw.window.gravity_removed = r.Bool("gravity_removed");
        tw.timing.end = r.Time("window end");
        tw.timing.first = r.Time("window first");
        tw.timing.period = Milliseconds(r.I64("window period"));
        for (float& v : tw.window.values) v = r.F32("window value");
        if (!r.ok()) break;
    }
    VG_RETURN_IF_ERROR(r.Finish("window job entry"));
    return entry;
}

std::string EncodeDetectionReply(uint64_t seq, const Result<domain::Detection>& result) {
    Writer w;
    Header(w, kKindDetectionReply);
    w.U64(seq);
    if (result.ok()) {
        w.U8(static_cast<uint8_t>(ErrorCode::kOk));
        PutDetection(w, result.value());
    } else {
        PutStatus(w, result.status());
    }
    return w.Take();
}

std::string EncodeWindowsReply(uint64_t seq, const Result<std::vector<posture::WindowResult>>& result) {
    Writer w;
    Header(w, kKindWindowsReply);
    w.U64(seq);
    if (result.ok()) {
        w.U8(static_cast<uint8_t>(ErrorCode::kOk));
        w.U32(static_cast<uint32_t>(result->size()));
        for (const posture::WindowResult& x : result.value()) PutWindowResult(w, x);
    } else {
        PutStatus(w, result.status());
    }
    return w.Take();
}

Result<DecodedReply> DecodeReply(std::string_view bytes) {
    Reader r(bytes);
    const uint8_t version = r.U8("version");
    if (r.ok() && version != kCodecVersion) r.Fail("version " + std::to_string(version));
    const uint8_t kind = r.U8("kind");
    if (r.ok() && kind != kKindDetectionReply && kind != kKindWindowsReply) r.Fail("not a reply");
    DecodedReply reply;
    reply.seq = r.U64("seq");
    const uint8_t code = r.U8("code");
    if (kind == kKindDetectionReply) {
        reply.kind = ReplyKind::kDetection;
        if (code == 0) {
            domain::Detection d = GetDetection(r);
            reply.detection.emplace(std::move(d));
        } else {
            reply.detection.emplace(GetStatus(r, code));
        }
    } else {
        reply.kind = ReplyKind::kWindows;
        if (code == 0) {
            std::vector<posture::WindowResult> results(r.Count("window results", kWindowResultBytes));
            for (posture::WindowResult& x : results) {
                x = GetWindowResult(r);
                if (!r.ok()) break;
            }
            reply.windows.emplace(std::move(results));
        } else {
            reply.windows.emplace(GetStatus(r, code));
        }
    }
    VG_RETURN_IF_ERROR(r.Finish("reply"));
    return reply;
}

}  // namespace vg::bus::codec
