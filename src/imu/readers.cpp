// Readers of the five data sets: file names → TrialInfo, gzip CSV → samples.

#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <tuple>

#include "gzip_text.hpp"
#include "vg/imu/labels.hpp"
#include "vg/imu/trial.hpp"

namespace vg::imu {
namespace fs = std::filesystem;

std::string_view DatasetName(DatasetId dataset) {
    switch (dataset) {
        case DatasetId::kSisFall:
            return "sisfall";
        case DatasetId::kUmaFall:
            return "umafall";
        case DatasetId::kHifd:
            return "hifd";
        case DatasetId::kWedaFall:
            return "wedafall";
        case DatasetId::kFallAllD:
            return "fallalld";
    }
    return "?";
}

std::string_view PlacementName(Placement placement) { return placement == Placement::kWrist ? "wrist" : "waist"; }

namespace internal {

Status FileError(const fs::path& path, size_t line, std::string_view problem) {
    std::string where = path.string() + (line > 0 ? ":" + std::to_string(line) : std::string());
    return Status::Error(ErrorCode::kValidationFailed, where + ": " + std::string(problem));
}

Result<std::string> ReadGzipText(const fs::path& path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return Status::Error(ErrorCode::kNotFound, path.string() + ": no such file");
    gzFile file = gzopen(path.c_str(), "rb");
    if (file == nullptr) return Status::Error(ErrorCode::kNotFound, path.string() + ": cannot open");
    std::string text;
    char buffer[1 << 16];
    int n = 0;
    while ((n = gzread(file, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<size_t>(n));
    int err = Z_OK;
    const char* message = gzerror(file, &err);
    std::string what = message != nullptr ? message : "";
    gzclose(file);
    if (n < 0 || (err != Z_OK && err != Z_STREAM_END)) {
        const size_t lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
        return FileError(path, lines + 1, "corrupt or truncated gzip stream (" + what + ")");
    }
    return text;
}

void ForEachLine(std::string_view text, const std::function<bool(size_t, std::string_view)>& fn) {
    size_t line = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view l = text.substr(pos, end - pos);
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        ++line;
        if (!fn(line, l)) return;
        pos = end + 1;
    }
}

bool ParseFields(std::string_view line, char sep, std::span<double> out, size_t* got) {
    size_t i = 0;
    size_t pos = 0;
    while (true) {
        size_t end = line.find(sep, pos);
        if (end == std::string_view::npos) end = line.size();
        std::string_view field = line.substr(pos, end - pos);
        while (!field.empty() && field.front() == ' ') field.remove_prefix(1);
        while (!field.empty() && field.back() == ' ') field.remove_suffix(1);
        if (!(field.empty() && end == line.size() && i == out.size())) {  // tolerate one trailing separator
            if (i >= out.size()) {
                *got = i + 1;
                return false;
            }
            double v = 0;
            auto [p, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
            if (ec != std::errc() || p != field.data() + field.size() || field.empty() || !std::isfinite(v)) {
                *got = i;
                return false;
            }
            out[i++] = v;
        }
        if (end == line.size()) break;
        pos = end + 1;
    }
    *got = i;
    return i == out.size();
}

}  // namespace internal

namespace {
using internal::FileError;

int ParseInt(std::string_view s, int fallback) {
    int v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return (ec == std::errc() && p == s.data() + s.size()) ? v : fallback;
}

std::vector<std::string_view> SplitBy(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    size_t pos = 0;
    while (true) {
        size_t end = s.find(sep, pos);
        out.push_back(s.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
        if (end == std::string_view::npos) break;
        pos = end + 1;
    }
    return out;
}

std::string StemOf(const fs::path& p) {
    std::string name = p.filename().string();
    const std::string_view suffix = ".csv.gz";
    if (name.size() > suffix.size() && name.ends_with(suffix)) return name.substr(0, name.size() - suffix.size());
    return {};
}

Result<std::vector<fs::path>> SortedEntries(const fs::path& dir, bool dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return Status::Error(ErrorCode::kNotFound, dir.string() + ": no such folder");
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        if (dirs ? e.is_directory() : (e.is_regular_file() && !StemOf(e.path()).empty())) out.push_back(e.path());
    }
    if (ec) return Status::Error(ErrorCode::kUnavailable, dir.string() + ": " + ec.message());
    std::sort(out.begin(), out.end());
    return out;
}

Status FillActivity(TrialInfo& info) {
    const ActivitySpec* spec = FindActivity(info.dataset, info.activity_code);
    if (spec == nullptr) return FileError(info.path, 0, "unknown activity code '" + info.activity_code + "'");
    info.activity_name = std::string(spec->name);
    info.is_fall_trial = spec->scenario == Scenario::kFall;
    return Status::Ok();
}

// One folder per subject, one file per trial: <SUBJECT>/<CODE>_<SUBJECT>_<trial_letter><NN>.csv.gz
// (SisFall and WEDA-FALL R<NN>, FallAllD T<NN>).
struct SubjectFolderLayout {
    DatasetId dataset;
    Placement placement;
    char trial_letter;
    // The subject comes from the folder. SisFall has SA15/D17_SE15_R01.txt (sic), so there the name's
    // subject is only checked for its length; elsewhere it must be the folder's.
    bool name_matches_folder;
};

Result<std::vector<TrialInfo>> ListSubjectFolders(const fs::path& root, const SubjectFolderLayout& layout) {
    auto subjects = SortedEntries(root, true);
    if (!subjects.ok()) return subjects.status();
    const std::string pattern = std::string("<CODE>_<SUBJECT>_") + layout.trial_letter + "<NN>.csv.gz";
    std::vector<TrialInfo> out;
    for (const fs::path& dir : *subjects) {
        auto files = SortedEntries(dir, false);
        if (!files.ok()) return files.status();
        const std::string subject = dir.filename().string();
        for (const fs::path& f : *files) {
            const std::string stem = StemOf(f);
            auto parts = SplitBy(stem, '_');
            if (parts.size() != 3 || parts[2].size() < 2 || parts[2][0] != layout.trial_letter ||
                (layout.name_matches_folder ? parts[1] != subject : parts[1].size() != 4))
                return FileError(f, 0, "file name is not " + pattern + " in its subject's folder");
            TrialInfo info;
            info.dataset = layout.dataset;
            info.subject = subject;
            info.placement = layout.placement;
            info.activity_code = std::string(parts[0]);
            info.trial_number = ParseInt(parts[2].substr(1), -1);
            info.path = f;
            if (info.trial_number < 0) return FileError(f, 0, "bad trial number in file name");
            VG_RETURN_IF_ERROR(FillActivity(info));
            out.push_back(std::move(info));
        }
    }
    return out;
}

// WEDA-FALL: the subject folders plus trials.csv, whose fall_start_s/fall_end_s annotate every fall. The
// native-rate columns are deliberately not read: the rate differed by class in the source (docs/posture-data.md).
Result<std::vector<TrialInfo>> ListWedaFall(const fs::path& root) {
    auto listed = ListSubjectFolders(root, {DatasetId::kWedaFall, Placement::kWrist, 'R', true});
    if (!listed.ok()) return listed;
    const fs::path table = root / "trials.csv";
    auto text = internal::ReadGzipText(table);  // zlib reads an uncompressed file as it is
    if (!text.ok()) return text.status();
    constexpr std::string_view kHeader =
        "file,subject,code,is_fall,acc_native_hz,gyr_native_hz,max_gap_s,acc_clipped,fall_start_s,fall_end_s";
    struct Row {
        size_t line;
        bool is_fall;
        std::optional<TimeInterval> fall;
    };
    std::map<std::string, Row> rows;  // by file, relative to root
    Status bad;
    internal::ForEachLine(*text, [&](size_t line, std::string_view l) {
        if (line == 1) {
            if (l != kHeader) bad = FileError(table, line, "header is not '" + std::string(kHeader) + "'");
            return bad.ok();
        }
        if (l.empty()) return true;
        const auto f = SplitBy(l, ',');
        if (f.size() != 10 || (f[3] != "0" && f[3] != "1")) {
            bad = FileError(table, line, "expected 10 fields with is_fall 0 or 1");
            return false;
        }
        Row row{line, f[3] == "1", std::nullopt};
        if (row.is_fall) {
            std::array<double, 1> begin{}, end{};
            size_t got = 0;
            if (!internal::ParseFields(f[8], ',', begin, &got) || !internal::ParseFields(f[9], ',', end, &got) ||
                begin[0] < 0 || end[0] < begin[0]) {
                bad = FileError(table, line, "a fall needs 0 <= fall_start_s <= fall_end_s");
                return false;
            }
            row.fall = TimeInterval{begin[0], end[0]};
        }
        rows[std::string(f[0])] = row;
        return true;
    });
    if (!bad.ok()) return bad;
    for (TrialInfo& info : listed.value()) {
        const std::string key = info.subject + "/" + info.path.filename().string();
        auto it = rows.find(key);
        if (it == rows.end()) return FileError(table, 0, "has no row for " + key);
        if (it->second.is_fall != info.is_fall_trial)
            return FileError(table, it->second.line, "is_fall does not match the activity of " + key);
        info.annotated_fall = it->second.fall;
    }
    return listed;
}

// UMAFall: UMAFall_Subject_<NN>_<ADL|Fall>_<Activity[_Detail]>_<trial>_<date>_<time>.csv.gz
Result<std::vector<TrialInfo>> ListUmaFall(const fs::path& root) {
    auto files = SortedEntries(root, false);
    if (!files.ok()) return files.status();
    std::vector<TrialInfo> out;
    for (const fs::path& f : *files) {
        const std::string stem = StemOf(f);
        auto parts = SplitBy(stem, '_');
        if (parts.size() < 8 || parts[0] != "UMAFall" || parts[1] != "Subject" ||
            (parts[3] != "ADL" && parts[3] != "Fall"))
            return FileError(f, 0, "file name is not UMAFall_Subject_<NN>_<ADL|Fall>_<Activity>_<trial>_<date>_<time>");
        TrialInfo base;
        base.dataset = DatasetId::kUmaFall;
        base.subject = "Subject_" + std::string(parts[2]);
        base.activity_code = std::string(parts[4]);  // the first word: "Sitting" of "Sitting_GettingUpOnAChair"
        base.trial_number = ParseInt(parts[parts.size() - 3], -1);
        base.path = f;
        if (base.trial_number < 0) return FileError(f, 0, "bad trial number in file name");
        VG_RETURN_IF_ERROR(FillActivity(base));
        if (base.is_fall_trial != (parts[3] == "Fall")) return FileError(f, 0, "ADL/Fall does not match the activity");

        auto text = internal::ReadGzipText(f);
        if (!text.ok()) return text.status();
        std::map<int, Placement> positions;  // sensor id → placement, from the header
        std::set<int> with_rows;
        Status bad;
        internal::ForEachLine(*text, [&](size_t line, std::string_view l) {
            if (l.empty()) return true;
            if (l.front() == '%') {
                auto h = SplitBy(l.substr(1), ';');
                if (h.size() >= 3 && h[0].find(':') != std::string_view::npos) {  // "%MAC; id; POSITION; model"
                    std::string_view pos = h[2];
                    while (!pos.empty() && pos.front() == ' ') pos.remove_prefix(1);
                    while (!pos.empty() && pos.back() == ' ') pos.remove_suffix(1);
                    std::string_view id = h[1];
                    while (!id.empty() && id.front() == ' ') id.remove_prefix(1);
                    const int sid = ParseInt(id, -1);
                    if (sid < 0) {
                        bad = FileError(f, line, "bad Sensor_ID in the sensor list");
                        return false;
                    }
                    if (pos == "WRIST") positions[sid] = Placement::kWrist;
                    if (pos == "WAIST") positions[sid] = Placement::kWaist;
                }
                return true;
            }
            const size_t last = l.find_last_of(';', l.size() >= 2 ? l.size() - 2 : 0);
            const int sid =
                ParseInt(l.substr(last + 1, l.back() == ';' ? l.size() - last - 2 : std::string_view::npos), -1);
            if (last == std::string_view::npos || sid < 0) {
                bad = FileError(f, line, "row does not end with a Sensor ID");
                return false;
            }
            with_rows.insert(sid);
            return true;
        });
        if (!bad.ok()) return bad;
        for (const auto& [sid, placement] : positions) {
            if (!with_rows.contains(sid)) continue;  // the sensor is in the header but logged nothing here
            TrialInfo info = base;
            info.sensor_id = sid;
            info.placement = placement;
            out.push_back(std::move(info));
        }
    }
    return out;
}

// HIFD: subject_XX/{fall,non-fall}/<scenario>.csv.gz
Result<std::vector<TrialInfo>> ListHifd(const fs::path& root) {
    auto subjects = SortedEntries(root, true);
    if (!subjects.ok()) return subjects.status();
    std::vector<TrialInfo> out;
    for (const fs::path& dir : *subjects) {
        for (const char* kind : {"fall", "non-fall"}) {
            std::error_code ec;
            if (!fs::is_directory(dir / kind, ec)) continue;
            auto files = SortedEntries(dir / kind, false);
            if (!files.ok()) return files.status();
            for (const fs::path& f : *files) {
                TrialInfo info;
                info.dataset = DatasetId::kHifd;
                info.subject = dir.filename().string();
                info.placement = Placement::kWrist;
                info.activity_code = StemOf(f);
                info.gravity_removed = true;
                info.path = f;
                VG_RETURN_IF_ERROR(FillActivity(info));
                if (info.is_fall_trial != (std::string_view(kind) == "fall"))
                    return FileError(f, 0, "scenario does not belong in this folder");
                out.push_back(std::move(info));
            }
        }
    }
    return out;
}

// SisFall, HIFD, WEDA-FALL, FallAllD: a header line, then one row per sample, t_s first.
Result<Trial> LoadPlainCsv(const TrialInfo& info, std::string_view header, size_t columns) {
    auto text = internal::ReadGzipText(info.path);
    if (!text.ok()) return text.status();
    Trial trial;
    trial.info = info;
    Status bad;
    std::vector<double> values(columns);
    internal::ForEachLine(*text, [&](size_t line, std::string_view l) {
        if (line == 1) {
            if (l != header) bad = FileError(info.path, line, "header is not '" + std::string(header) + "'");
            return bad.ok();
        }
        if (l.empty()) return true;
        size_t got = 0;
        if (!internal::ParseFields(l, ',', values, &got)) {
            bad = FileError(info.path, line,
                            "expected " + std::to_string(columns) + " numbers, field " + std::to_string(got + 1) +
                                " is missing, extra or not a number");
            return false;
        }
        Sample s;
        s.t_s = values[0];
        for (size_t c = 0; c < kChannels; ++c) s.v[c] = static_cast<float>(values[c + 1]);
        if (!trial.samples.empty() && s.t_s < trial.samples.back().t_s) {
            bad = FileError(info.path, line, "time goes backwards");
            return false;
        }
        trial.samples.push_back(s);
        return true;
    });
    if (!bad.ok()) return bad;
    if (trial.samples.empty()) return FileError(info.path, 1, "no samples");
    const double t0 = trial.samples.front().t_s;
    for (Sample& s : trial.samples) s.t_s -= t0;
    return trial;
}

// FallAllD: the converter's polyphase 238 → 50 Hz filter rings at both ends of every file (the first sample's
// |a| is ~0.6 g even at rest, decaying to noise within ~10 samples), so the first and last 0.2 s are dropped.
Result<Trial> LoadFallAllD(const TrialInfo& info) {
    constexpr double kFilterEdgeS = 0.2;
    auto trial = LoadPlainCsv(info, "t_s,ax_g,ay_g,az_g,gx_dps,gy_dps,gz_dps", 7);
    if (!trial.ok()) return trial;
    std::vector<Sample>& samples = trial->samples;
    const double last = samples.back().t_s;
    std::erase_if(samples,
                  [&](const Sample& s) { return s.t_s < kFilterEdgeS - 1e-9 || s.t_s > last - kFilterEdgeS + 1e-9; });
    if (samples.empty()) return FileError(info.path, 0, "shorter than its filter edges (0.4 s)");
    const double t0 = samples.front().t_s;
    for (Sample& s : samples) s.t_s -= t0;
    return trial;
}

// Linear interpolation of a sorted (t, xyz) track at time t (clamped at the ends).
std::array<float, 3> At(const std::vector<std::pair<double, std::array<float, 3>>>& track, double t) {
    auto it = std::upper_bound(track.begin(), track.end(), t, [](double x, const auto& p) { return x < p.first; });
    if (it == track.begin()) return track.front().second;
    if (it == track.end()) return track.back().second;
    const auto& [t1, v1] = *it;
    const auto& [t0, v0] = *(it - 1);
    const double w = t1 > t0 ? (t - t0) / (t1 - t0) : 1.0;
    std::array<float, 3> out{};
    for (size_t c = 0; c < 3; ++c) out[c] = static_cast<float>(v0[c] + w * (v1[c] - v0[c]));
    return out;
}

// UMAFall: `%` header lines, then TimeStamp(ms);SampleNo;X;Y;Z;SensorType;SensorID rows of several sensors.
// The accelerometer rows set the sample times; the same sensor's gyroscope is interpolated onto them.
Result<Trial> LoadUmaFall(const TrialInfo& info) {
    auto text = internal::ReadGzipText(info.path);
    if (!text.ok()) return text.status();
    std::vector<std::pair<double, std::array<float, 3>>> acc, gyro;
    Status bad;
    std::array<double, 7> v{};
    internal::ForEachLine(*text, [&](size_t line, std::string_view l) {
        if (l.empty() || l.front() == '%') return true;
        size_t got = 0;
        if (!internal::ParseFields(l, ';', v, &got)) {
            bad = FileError(info.path, line,
                            "expected 7 numbers separated by ';', field " + std::to_string(got + 1) +
                                " is missing, extra or not a number");
            return false;
        }
        // Sensor ids and types are small whole numbers; anything else is not a row of ours (comparing as
        // doubles: converting a huge value such as 1e300 to int would be undefined behaviour).
        if (v[6] != static_cast<double>(info.sensor_id)) return true;
        auto* track = v[5] == 0.0 ? &acc : v[5] == 1.0 ? &gyro : nullptr;
        if (track == nullptr) return true;  // magnetometer
        track->push_back(
            {v[0] / 1000.0, {static_cast<float>(v[2]), static_cast<float>(v[3]), static_cast<float>(v[4])}});
        return true;
    });
    if (!bad.ok()) return bad;
    if (acc.size() < 2 || gyro.size() < 2)
        return Status::Error(ErrorCode::kNotFound, info.path.string() + ": sensor " + std::to_string(info.sensor_id) +
                                                       " has no accelerometer or gyroscope rows");
    // Rows are logged as they arrive; order each track by its timestamps (stable: ties keep file order).
    auto by_time = [](const auto& a, const auto& b) { return a.first < b.first; };
    std::stable_sort(acc.begin(), acc.end(), by_time);
    std::stable_sort(gyro.begin(), gyro.end(), by_time);
    Trial trial;
    trial.info = info;
    const double t0 = acc.front().first;
    trial.samples.reserve(acc.size());
    for (const auto& [t, a] : acc) {
        Sample s;
        s.t_s = t - t0;
        const auto g = At(gyro, t);
        for (size_t c = 0; c < 3; ++c) {
            s.v[c] = a[c];
            s.v[c + 3] = g[c];
        }
        trial.samples.push_back(s);
    }
    return trial;
}

}  // namespace

Result<std::vector<TrialInfo>> ListTrials(const fs::path& data_root, DatasetId dataset) {
    const fs::path root = data_root / std::string(DatasetName(dataset));
    Result<std::vector<TrialInfo>> out = Status::Error(ErrorCode::kInternal, "unknown data set");
    switch (dataset) {
        case DatasetId::kSisFall:
            out = ListSubjectFolders(root, {DatasetId::kSisFall, Placement::kWaist, 'R', false});
            break;
        case DatasetId::kUmaFall:
            out = ListUmaFall(root);
            break;
        case DatasetId::kHifd:
            out = ListHifd(root);
            break;
        case DatasetId::kWedaFall:
            out = ListWedaFall(root);
            break;
        case DatasetId::kFallAllD:
            out = ListSubjectFolders(root, {DatasetId::kFallAllD, Placement::kWrist, 'T', true});
            break;
    }
    if (!out.ok()) return out;
    auto key = [](const TrialInfo& t) {
        return std::tie(t.subject, t.activity_code, t.trial_number, t.placement, t.path);
    };
    std::sort(out.value().begin(), out.value().end(), [&](const auto& a, const auto& b) { return key(a) < key(b); });
    return out;
}

Result<Trial> LoadTrial(const TrialInfo& info) {
    switch (info.dataset) {
        case DatasetId::kSisFall:
            return LoadPlainCsv(info, "t_s,ax_g,ay_g,az_g,gx_dps,gy_dps,gz_dps", 7);
        case DatasetId::kHifd:
            return LoadPlainCsv(info, "t_s,ax_g,ay_g,az_g,droll_dps,dpitch_dps,dyaw_dps,ppg_raw", 8);
        case DatasetId::kUmaFall:
            return LoadUmaFall(info);
        case DatasetId::kWedaFall:
            return LoadPlainCsv(info, "t_s,ax_g,ay_g,az_g,gx_dps,gy_dps,gz_dps", 7);
        case DatasetId::kFallAllD:
            return LoadFallAllD(info);
    }
    return Status::Error(ErrorCode::kInternal, "unknown data set");
}

}  // namespace vg::imu
