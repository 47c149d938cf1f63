#include "vg/models/dataset.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <numeric>

namespace vg::models {
namespace {

constexpr std::array<std::string_view, 9> kBaseColumns = {
    "wearer", "timestamp", "heart_rate", "respiration_rate", "spo2", "skin_temp", "steps", "calories", "status"};
constexpr std::array<std::string_view, 4> kCauseColumns = {"cause_heart_rate", "cause_respiration_rate",
                                                           "cause_skin_temp", "cause_spo2"};
constexpr size_t kMaxProblems = 50;

std::vector<std::string_view> SplitCsvLine(std::string_view line) {
    std::vector<std::string_view> out;
    size_t start = 0;
    while (true) {
        size_t comma = line.find(',', start);
        out.push_back(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return out;
}

std::string_view Trim(std::string_view s) {
    while (!s.empty() && (s.back() == '\r' || s.back() == ' ')) s.remove_suffix(1);
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    return s;
}

uint64_t Fnv1a(std::string_view s, uint64_t seed) {
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    return h;
}

}  // namespace

Result<Dataset> ReadDatasetCsv(std::istream& in) {
    Dataset data;
    std::vector<FieldError> problems;
    auto problem = [&](size_t row, std::string_view column, std::string what) {
        if (problems.size() < kMaxProblems) {
            problems.push_back({"row " + std::to_string(row) + ", column " + std::string(column), std::move(what)});
        }
    };
    std::string line;
    if (!std::getline(in, line)) {
        return Status::Error(ErrorCode::kValidationFailed, "The data file is empty.", {{"row 1", "needs the header"}});
    }
    const auto header = SplitCsvLine(Trim(line));
    std::vector<std::string_view> expected(kBaseColumns.begin(), kBaseColumns.end());
    if (header.size() == kBaseColumns.size() + kCauseColumns.size()) {
        expected.insert(expected.end(), kCauseColumns.begin(), kCauseColumns.end());
        data.has_causes = true;
    }
    if (header.size() != expected.size() || !std::equal(header.begin(), header.end(), expected.begin())) {
        std::string want;
        for (auto c : kBaseColumns) want += (want.empty() ? "" : ",") + std::string(c);
        return Status::Error(ErrorCode::kValidationFailed, "The header is not the documented one.",
                             {{"row 1", "must be " + want +
                                            "[,cause_heart_rate,cause_respiration_rate,"
                                            "cause_skin_temp,cause_spo2] (docs/models.md)"}});
    }
    size_t row = 1;
    while (std::getline(in, line)) {
        ++row;
        const std::string_view trimmed = Trim(line);
        if (trimmed.empty()) continue;
        const auto cells = SplitCsvLine(trimmed);
        if (cells.size() != expected.size()) {
            problem(
                row, "*",
                "has " + std::to_string(cells.size()) + " values; the header has " + std::to_string(expected.size()));
            continue;
        }
        LabelledReading r;
        r.wearer = std::string(Trim(cells[0]));
        if (r.wearer.empty()) problem(row, "wearer", "is empty");
        int64_t ms = 0;
        {
            const std::string_view t = Trim(cells[1]);
            auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), ms);
            if (ec != std::errc() || end != t.data() + t.size() || ms < 0) {
                problem(row, "timestamp", "must be milliseconds since 1970 UTC, e.g. 1763900000000");
            }
        }
        r.reading.measured_at = FromUnixMillis(ms);
        static constexpr std::array<domain::Metric, 6> kVitals = {
            domain::Metric::kHeartRate, domain::Metric::kRespirationRate, domain::Metric::kSpo2,
            domain::Metric::kSkinTemp,  domain::Metric::kSteps,           domain::Metric::kCalories};
        for (size_t k = 0; k < kVitals.size(); ++k) {
            const std::string_view cell = Trim(cells[2 + k]);
            if (cell.empty()) continue;
            double v = 0;
            auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
            if (ec != std::errc() || end != cell.data() + cell.size() || !std::isfinite(v)) {
                problem(row, kBaseColumns[2 + k], "is not a number (\"" + std::string(cell) + "\")");
                continue;
            }
            r.reading.set(kVitals[k], v);
        }
        for (const FieldError& e : domain::ValidateReading(r.reading)) problem(row, e.field, e.problem);
        {
            const std::string_view s = Trim(cells[8]);
            if (s != "0" && s != "1" && s != "2") {
                problem(row, "status", "must be 0, 1 or 2");
            } else {
                r.status = s[0] - '0';
            }
        }
        if (data.has_causes) {
            for (size_t k = 0; k < kCauseColumns.size(); ++k) {
                const std::string_view c = Trim(cells[9 + k]);
                if (c.empty()) {
                    if (r.status > 0) problem(row, kCauseColumns[k], "is required when status is 1 or 2");
                } else if (c == "0" || c == "1") {
                    r.causes[k] = static_cast<int8_t>(c[0] - '0');
                } else {
                    problem(row, kCauseColumns[k], "must be 0 or 1");
                }
            }
        }
        data.rows.push_back(std::move(r));
    }
    if (!problems.empty()) {
        std::string message = "The data file has problems (" + std::to_string(problems.size()) +
                              (problems.size() == kMaxProblems ? " or more" : "") + ").";
        return Status::Error(ErrorCode::kValidationFailed, std::move(message), std::move(problems));
    }
    if (data.rows.empty()) {
        return Status::Error(ErrorCode::kValidationFailed, "The data file has no rows.", {{"row 2", "is missing"}});
    }
    return data;
}

Result<Dataset> ReadDatasetFile(const std::string& path) {
    std::ifstream in(path);
    if (!in) return Status::Error(ErrorCode::kNotFound, "Cannot open " + path + ".", {{"data", "cannot be read"}});
    return ReadDatasetCsv(in);
}

void WriteDatasetCsv(const Dataset& data, std::ostream& out) {
    for (size_t i = 0; i < kBaseColumns.size(); ++i) out << (i ? "," : "") << kBaseColumns[i];
    for (auto c : kCauseColumns) out << ',' << c;
    out << '\n';
    auto value = [&](domain::Metric m, const domain::VitalsReading& r) {
        if (auto v = r.get(m)) out << *v;
    };
    for (const LabelledReading& r : data.rows) {
        out << r.wearer << ',' << ToUnixMillis(r.reading.measured_at);
        for (domain::Metric m : {domain::Metric::kHeartRate, domain::Metric::kRespirationRate, domain::Metric::kSpo2,
                                 domain::Metric::kSkinTemp, domain::Metric::kSteps, domain::Metric::kCalories}) {
            out << ',';
            value(m, r.reading);
        }
        out << ',' << r.status;
        for (int8_t c : r.causes) {
            out << ',';
            if (c >= 0) out << static_cast<int>(c);
        }
        out << '\n';
    }
}

FeatureMatrix BuildFeatures(const Dataset& data, const ExercisePca& pca) {
    std::vector<size_t> order(data.rows.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        const auto& ra = data.rows[a];
        const auto& rb = data.rows[b];
        if (ra.wearer != rb.wearer) return ra.wearer < rb.wearer;
        return ra.reading.measured_at < rb.reading.measured_at;
    });
    FeatureMatrix out;
    out.matrix.rows = order.size();
    out.matrix.cols = kFeatureCount;
    out.matrix.values.reserve(order.size() * kFeatureCount);
    std::map<std::string, FeatureTracker, std::less<>> trackers;
    for (size_t i : order) {
        const LabelledReading& r = data.rows[i];
        const FeatureVector f = trackers[r.wearer].Extract(r.reading, pca);
        out.matrix.values.insert(out.matrix.values.end(), f.begin(), f.end());
    }
    out.order = std::move(order);
    return out;
}

Split SplitOf(const std::string& wearer, uint64_t seed, double validation_fraction, double test_fraction) {
    const double u = static_cast<double>(Fnv1a(wearer, seed) % 1'000'000) / 1'000'000.0;
    if (u < test_fraction) return Split::kTest;
    if (u < test_fraction + validation_fraction) return Split::kValidation;
    return Split::kTrain;
}

}  // namespace vg::models
