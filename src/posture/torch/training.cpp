#include "vg/posture/torch/training.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <future>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <sstream>

#include "augment.hpp"
#include "model_file.hpp"
#include "network.hpp"
#include "vg/imu/series.hpp"
#include "vg/posture/native/native_classifier.hpp"

extern "C" void bli_thread_set_num_threads(int64_t n_threads);  // BLIS (libblis4-openmp)

namespace vg::posture {

namespace fs = std::filesystem;
namespace json = boost::json;

void SetBlasThreads(int threads) { bli_thread_set_num_threads(std::max(1, threads)); }

const WindowSet& PostureData::Get(imu::Split split) const {
    switch (split) {
        case imu::Split::kTrain:
            return train;
        case imu::Split::kValidation:
            return validation;
        case imu::Split::kTest:
            break;
    }
    return test;
}

namespace {

constexpr uint8_t kIgnoreLabel = 255;

Placement ToPlacement(imu::Placement p) { return p == imu::Placement::kWaist ? Placement::kWaist : Placement::kWrist; }

struct LoadedTrial {
    std::vector<ModelWindow> windows;
    std::vector<uint8_t> labels;
};

Result<LoadedTrial> LoadOne(const imu::TrialInfo& info) {
    auto trial = imu::LoadTrial(info);
    if (!trial.ok()) return trial.status();
    auto series = imu::Resample(*trial, kModelRateHz);
    if (!series.ok()) return series.status();
    auto labels = imu::LabelSamples(info, *series);
    if (!labels.ok()) return labels.status();
    const imu::WindowSpec spec{kWindowSamples, kWindowSamples / 2};
    LoadedTrial out;
    for (const imu::LabelledWindow& w : imu::LabelWindows(*labels, spec, {}, series->rate_hz)) {
        ModelWindow mw;
        mw.placement = ToPlacement(info.placement);
        mw.gravity_removed = series->gravity_removed;
        const std::vector<float> values = imu::WindowValues(*series, w.start, spec);
        std::copy(values.begin(), values.end(), mw.values.begin());
        out.windows.push_back(mw);
        out.labels.push_back(w.label == imu::Label::kIgnore ? kIgnoreLabel : static_cast<uint8_t>(w.label));
    }
    return out;
}

std::string GroupName(const TrialMeta& t) {
    return std::string(imu::DatasetName(t.dataset)) + "/" + std::string(imu::PlacementName(t.placement));
}

std::string ClassName(size_t c) {
    return c == kOtherClass ? "Other" : std::string(PostureName(static_cast<Posture>(c)));
}

// Window metrics from a confusion matrix; macro-F1 over the classes that have support.
void FinishMetrics(GroupMetrics& g) {
    size_t correct = 0, total = 0;
    double f1_sum = 0;
    int f1_classes = 0;
    for (size_t c = 0; c < kNumModelClasses; ++c) {
        size_t tp = g.confusion[c][c], support = 0, predicted = 0;
        for (size_t k = 0; k < kNumModelClasses; ++k) {
            support += g.confusion[c][k];
            predicted += g.confusion[k][c];
        }
        ClassMetrics& m = g.classes[c];
        m.support = support;
        m.precision = predicted ? static_cast<double>(tp) / static_cast<double>(predicted) : 0;
        m.recall = support ? static_cast<double>(tp) / static_cast<double>(support) : 0;
        m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0;
        if (support > 0) {
            f1_sum += m.f1;
            ++f1_classes;
        }
        correct += tp;
        total += support;
    }
    g.windows = total;
    g.accuracy = total ? static_cast<double>(correct) / static_cast<double>(total) : 0;
    g.macro_f1 = f1_classes ? f1_sum / f1_classes : 0;
}

// Per trial: the highest fall probability of any of its windows.
std::map<uint32_t, float> MaxFallByTrial(const WindowSet& set, const std::vector<PosturePrediction>& predictions) {
    std::map<uint32_t, float> out;
    for (size_t i = 0; i < set.size(); ++i) {
        float& m = out[set.trials[i]];
        m = std::max(m, predictions[i].fall_probability());
    }
    return out;
}

FallEvents CountEvents(const PostureData& data, const std::map<uint32_t, float>& max_fall, float threshold,
                       const std::function<bool(const TrialMeta&)>& in_group) {
    FallEvents e;
    for (const auto& [trial, p] : max_fall) {
        const TrialMeta& t = data.trials[trial];
        if (!in_group(t)) continue;
        const bool fired = p >= threshold;
        if (t.is_fall_trial) {
            ++e.fall_trials;
            e.detected += fired ? 1 : 0;
        } else {
            ++e.adl_trials;
            e.false_alarms += fired ? 1 : 0;
            if (t.other_activity) {
                ++e.other_trials;
                e.other_false += fired ? 1 : 0;
            }
        }
    }
    return e;
}

// The threshold that maximises fall-event sensitivity + specificity, averaged over the data sets and
// placements that have fall trials in `set` (so the few wrist falls weigh as much as the many waist
// ones); ties go to the lower threshold (a missed fall costs more than a countdown the wearer cancels).
float PickFallThreshold(const PostureData& data, const WindowSet& set, const std::vector<PosturePrediction>& p) {
    const auto max_fall = MaxFallByTrial(set, p);
    std::set<std::string> groups;
    for (const auto& [trial, unused] : max_fall) {
        if (data.trials[trial].is_fall_trial) groups.insert(GroupName(data.trials[trial]));
    }
    float best = 0.5F;
    double best_score = -1;
    for (int i = 1; i <= 19; ++i) {
        const float t = static_cast<float>(i) * 0.05F;
        double score = 0;
        for (const std::string& g : groups) {
            const FallEvents e = CountEvents(data, max_fall, t, [&](const TrialMeta& m) { return GroupName(m) == g; });
            score += e.sensitivity() + (e.adl_trials ? e.specificity() : 1.0);
        }
        if (score > best_score + 1e-9) {
            best_score = score;
            best = t;
        }
    }
    return best;
}

// Model selection: the mean of the per-group macro-F1 (every data set and placement counts the same).
double MeanGroupMacroF1(const Evaluation& ev) {
    double sum = 0;
    int n = 0;
    for (const GroupMetrics& g : ev.groups) {
        if (g.name == "all" || g.windows == 0) continue;
        sum += g.macro_f1;
        ++n;
    }
    return n ? sum / n : 0;
}

Evaluation EvaluatePredictions(const PostureData& data, imu::Split split, const std::vector<PosturePrediction>& p,
                               float threshold) {
    const WindowSet& set = data.Get(split);
    Evaluation ev;
    ev.split = std::string(imu::SplitName(split));
    ev.fall_threshold = threshold;
    std::map<std::string, GroupMetrics> groups;
    GroupMetrics all;
    all.name = "all";
    for (size_t i = 0; i < set.size(); ++i) {
        if (set.labels[i] == kIgnoreLabel) continue;
        const TrialMeta& t = data.trials[set.trials[i]];
        GroupMetrics& g = groups[GroupName(t)];
        g.name = GroupName(t);
        ++g.confusion[set.labels[i]][p[i].model_class];
        ++all.confusion[set.labels[i]][p[i].model_class];
    }
    const auto max_fall = MaxFallByTrial(set, p);
    for (auto& [name, g] : groups) {
        FinishMetrics(g);
        g.falls = CountEvents(data, max_fall, threshold, [&](const TrialMeta& t) { return GroupName(t) == name; });
        ev.groups.push_back(g);
    }
    FinishMetrics(all);
    all.falls = CountEvents(data, max_fall, threshold, [](const TrialMeta&) { return true; });
    ev.groups.push_back(all);
    return ev;
}

std::string Today() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%d", &tm);
    return buf;
}

std::string IsoNow() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string Fixed(double v, int digits = 3) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

json::value Round(double v) { return std::round(v * 10000.0) / 10000.0; }

json::object GroupJson(const GroupMetrics& g) {
    json::object o;
    o["windows"] = g.windows;
    o["accuracy"] = Round(g.accuracy);
    o["macro_f1"] = Round(g.macro_f1);
    json::object classes;
    for (size_t c = 0; c < kNumModelClasses; ++c) {
        if (g.classes[c].support == 0) continue;
        classes[ClassName(c)] = {{"precision", Round(g.classes[c].precision)},
                                 {"recall", Round(g.classes[c].recall)},
                                 {"f1", Round(g.classes[c].f1)},
                                 {"support", g.classes[c].support}};
    }
    o["classes"] = std::move(classes);
    json::array confusion;
    for (const auto& row : g.confusion) {
        json::array r;
        for (size_t v : row) r.push_back(v);
        confusion.push_back(std::move(r));
    }
    o["confusion"] = std::move(confusion);
    o["fall_events"] = {{"fall_trials", g.falls.fall_trials},
                        {"detected", g.falls.detected},
                        {"sensitivity", Round(g.falls.sensitivity())},
                        {"adl_trials", g.falls.adl_trials},
                        {"false_falls", g.falls.false_alarms},
                        {"specificity", Round(g.falls.specificity())},
                        {"other_activity_trials", g.falls.other_trials},
                        {"other_activity_false_falls", g.falls.other_false}};
    return o;
}

json::object EvaluationJson(const Evaluation& ev) {
    json::object groups;
    for (const GroupMetrics& g : ev.groups) groups[g.name] = GroupJson(g);
    json::array names;
    for (size_t c = 0; c < kNumModelClasses; ++c) names.push_back(json::string(ClassName(c)));
    json::object o{
        {"split", ev.split}, {"fall_threshold", Round(ev.fall_threshold)}, {"classes", names}, {"groups", groups}};
    // Training's manifest records its splits itself; an evaluation says which subjects it used.
    auto subjects_json = [](const std::map<std::string, std::set<std::string>>& by_dataset) {
        json::object out;
        for (const auto& [dataset, ids] : by_dataset) {
            json::array a;
            for (const auto& id : ids) a.push_back(json::string(id));
            out[dataset] = std::move(a);
        }
        return out;
    };
    if (!ev.subjects.empty()) o["subjects"] = subjects_json(ev.subjects);
    if (!ev.excluded.empty()) o["excluded_subjects"] = subjects_json(ev.excluded);
    if (!ev.unreadable.empty()) {
        json::array a;
        for (const auto& u : ev.unreadable) a.push_back(json::string(u));
        o["unreadable_files"] = std::move(a);
    }
    return o;
}

std::string SubjectsText(const std::map<std::string, std::set<std::string>>& by_dataset) {
    std::string out;
    for (const auto& [dataset, ids] : by_dataset) {
        out += "  " + dataset + " (" + std::to_string(ids.size()) + "):";
        for (const auto& id : ids) out += " " + id;
        out += "\n";
    }
    return out;
}

}  // namespace

Result<PostureData> LoadPostureData(const fs::path& data_root, const DataOptions& options) {
    PostureData data;
    std::vector<imu::TrialInfo> infos;
    size_t datasets_found = 0;
    for (imu::DatasetId dataset : imu::kAllDatasets) {
        auto trials = imu::ListTrials(data_root, dataset);
        if (!trials.ok() && options.all_as_test && trials.status().code() == ErrorCode::kNotFound) continue;
        if (!trials.ok()) return trials.status();
        ++datasets_found;
        std::set<std::string> subjects;
        for (const imu::TrialInfo& t : *trials) subjects.insert(t.subject);
        auto splits = imu::AssignSplits(dataset, {subjects.begin(), subjects.end()}, options.split_seed);
        const std::string dataset_name(imu::DatasetName(dataset));
        if (options.all_as_test) {
            for (auto& [subject, split] : splits) split = imu::Split::kTest;
        }
        const auto excluded = options.exclude_subjects.find(dataset_name);
        for (const imu::TrialInfo& info : *trials) {
            if (options.include && !options.include(info)) continue;
            if (options.all_as_test && excluded != options.exclude_subjects.end() &&
                excluded->second.contains(info.subject)) {
                data.excluded[dataset_name].insert(info.subject);
                continue;
            }
            const imu::ActivitySpec* spec = imu::FindActivity(info.dataset, info.activity_code);
            TrialMeta meta{info.dataset,
                           info.placement,
                           splits.at(info.subject),
                           info.subject,
                           info.activity_code,
                           info.is_fall_trial,
                           spec != nullptr && spec->scenario == imu::Scenario::kOtherActivity};
            data.trials.push_back(std::move(meta));
            infos.push_back(info);
        }
    }
    if (datasets_found == 0) {
        return Status::Error(ErrorCode::kNotFound, data_root.string() + " holds none of the IMU data set folders");
    }
    // Two loaders: gzip inflation and parsing dominate, and trials are independent.
    std::vector<Result<LoadedTrial>> loaded(infos.size(), Status::Error(ErrorCode::kInternal, "not loaded"));
    std::atomic<size_t> next{0}, done{0};
    auto work = [&] {
        for (size_t i = next++; i < infos.size(); i = next++) {
            loaded[i] = LoadOne(infos[i]);
            const size_t d = ++done;
            if (options.progress && (d % 50 == 0 || d == infos.size())) options.progress(d, infos.size());
        }
    };
    auto helper = std::async(std::launch::async, work);
    work();
    helper.get();
    std::vector<bool> usable(infos.size(), true);
    for (size_t i = 0; i < infos.size(); ++i) {
        if (loaded[i].ok()) continue;
        if (!options.skip_unreadable) return loaded[i].status();
        data.unreadable.push_back(loaded[i].status().message());
        usable[i] = false;
    }
    for (size_t i = 0; i < infos.size(); ++i) {
        if (!usable[i]) continue;
        WindowSet& set = data.trials[i].split == imu::Split::kTrain        ? data.train
                         : data.trials[i].split == imu::Split::kValidation ? data.validation
                                                                           : data.test;
        LoadedTrial& t = loaded[i].value();
        for (size_t w = 0; w < t.windows.size(); ++w) {
            set.windows.push_back(t.windows[w]);
            set.labels.push_back(t.labels[w]);
            set.trials.push_back(static_cast<uint32_t>(i));
        }
    }
    return data;
}

Result<Evaluation> Evaluate(const PostureClassifier& classifier, const PostureData& data, imu::Split split,
                            int threads) {
    torch::set_num_threads(std::max(1, threads));
    const WindowSet& set = data.Get(split);
    auto predictions = classifier.Classify(set.windows);
    if (!predictions.ok()) return predictions.status();
    Evaluation evaluation = EvaluatePredictions(data, split, *predictions, classifier.info().fall_threshold);
    for (uint32_t trial : std::set<uint32_t>(set.trials.begin(), set.trials.end())) {
        const TrialMeta& t = data.trials[trial];
        evaluation.subjects[std::string(imu::DatasetName(t.dataset))].insert(t.subject);
    }
    evaluation.excluded = data.excluded;
    evaluation.unreadable = data.unreadable;
    return evaluation;
}

std::string Evaluation::ToText() const {
    std::string out = "split " + split + ", fall threshold " + Fixed(fall_threshold, 2) + "\n";
    char buf[256];
    std::snprintf(buf, sizeof buf, "%-14s %8s %8s %9s %12s %12s %14s\n", "group", "windows", "accuracy", "macro-F1",
                  "fall sens.", "fall spec.", "false on Other");
    out += buf;
    for (const GroupMetrics& g : groups) {
        std::snprintf(buf, sizeof buf, "%-14s %8zu %8.3f %9.3f %5.3f %2zu/%-3zu %5.3f %2zu/%-3zu %6zu/%-3zu\n",
                      g.name.c_str(), g.windows, g.accuracy, g.macro_f1, g.falls.sensitivity(), g.falls.detected,
                      g.falls.fall_trials, g.falls.specificity(), g.falls.adl_trials - g.falls.false_alarms,
                      g.falls.adl_trials, g.falls.other_false, g.falls.other_trials);
        out += buf;
    }
    const GroupMetrics& all = groups.back();
    out += "\nper class (all):      precision   recall       F1  support\n";
    for (size_t c = 0; c < kNumModelClasses; ++c) {
        const ClassMetrics& m = all.classes[c];
        std::snprintf(buf, sizeof buf, "  %-18s %10.3f %8.3f %8.3f %8zu\n", ClassName(c).c_str(), m.precision, m.recall,
                      m.f1, m.support);
        out += buf;
    }
    if (!subjects.empty()) out += "\nsubjects evaluated:\n" + SubjectsText(subjects);
    if (!excluded.empty()) out += "left out (the model was trained or tuned on them):\n" + SubjectsText(excluded);
    if (!unreadable.empty()) {
        out += "\nunreadable files left out (" + std::to_string(unreadable.size()) + "):\n";
        for (const auto& u : unreadable) out += "  " + u + "\n";
    }
    return out;
}

std::string Evaluation::ToJson() const { return json::serialize(EvaluationJson(*this)); }

std::string Evaluation::ToHtml() const {
    std::string h =
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>VitalGuard posture model — " + split +
        "</title><style>body{font:16px/1.4 system-ui,sans-serif;margin:2em;color:#111}table{border-collapse:"
        "collapse;margin:1em 0}td,th{border:1px solid #999;padding:4px 8px;text-align:right}th{background:#eee}"
        "td.l,th.l{text-align:left}h2{margin-top:2em}</style><h1>Posture/fall model: " +
        split + " split</h1><p>Fall threshold " + Fixed(fall_threshold, 2) +
        ". A fall event is one fall trial, detected when any of its windows reaches the threshold; a false fall is "
        "an ADL trial with such a window.</p><table><tr><th class=l>group</th><th>windows</th><th>accuracy</th>"
        "<th>macro-F1</th><th>fall sensitivity</th><th>fall specificity</th><th>false falls on Other</th></tr>";
    for (const GroupMetrics& g : groups) {
        h += "<tr><td class=l>" + g.name + "</td><td>" + std::to_string(g.windows) + "</td><td>" + Fixed(g.accuracy) +
             "</td><td>" + Fixed(g.macro_f1) + "</td><td>" + Fixed(g.falls.sensitivity()) + " (" +
             std::to_string(g.falls.detected) + "/" + std::to_string(g.falls.fall_trials) + ")</td><td>" +
             Fixed(g.falls.specificity()) + " (" + std::to_string(g.falls.adl_trials - g.falls.false_alarms) + "/" +
             std::to_string(g.falls.adl_trials) + ")</td><td>" + std::to_string(g.falls.other_false) + "/" +
             std::to_string(g.falls.other_trials) + "</td></tr>";
    }
    h += "</table>";
    for (const GroupMetrics& g : groups) {
        h += "<h2>" + g.name + "</h2><table><tr><th class=l>true \\ predicted</th>";
        for (size_t c = 0; c < kNumModelClasses; ++c) h += "<th>" + ClassName(c) + "</th>";
        h += "<th>recall</th></tr>";
        for (size_t r = 0; r < kNumModelClasses; ++r) {
            if (g.classes[r].support == 0) continue;
            h += "<tr><th class=l>" + ClassName(r) + "</th>";
            for (size_t c = 0; c < kNumModelClasses; ++c) {
                const double share = static_cast<double>(g.confusion[r][c]) / static_cast<double>(g.classes[r].support);
                const int light = 100 - static_cast<int>(share * 60);
                const char* hue = r == c ? "140" : "0";
                h += "<td style=\"background:hsl(" + std::string(hue) + ",70%," + std::to_string(light) + "%)\">" +
                     std::to_string(g.confusion[r][c]) + "</td>";
            }
            h += "<td>" + Fixed(g.classes[r].recall) + "</td></tr>";
        }
        h += "</table><p>macro-F1 " + Fixed(g.macro_f1) + " over the classes present.</p>";
    }
    return h + "</html>\n";
}

// The network input's channels (net::InputTensor): acceleration 0-2 (g), gyroscope 3-5 (°/s ÷ 250), waist flag 6,
// gravity-removed flag 7.
torch::Tensor AugmentBatch(const torch::Tensor& input, const Augmentation& a, std::mt19937_64& rng) {
    torch::NoGradGuard no_grad;
    const int64_t batch = input.size(0);
    const int64_t length = input.size(2);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::normal_distribution<double> normal(0.0, 1.0);
    auto rotations = torch::empty({batch, 3, 3});
    auto gains = torch::empty({batch, 1, 1});
    auto positions = torch::empty({batch, length});
    auto remove_gravity = torch::zeros({batch, 1, 1});
    auto ra = rotations.accessor<float, 3>();
    auto pa = positions.accessor<float, 2>();
    const auto flags = input.index({torch::indexing::Slice(), torch::indexing::Slice(6, 8), 0}).contiguous();
    auto fa = flags.accessor<float, 2>();
    for (int64_t b = 0; b < batch; ++b) {
        const bool waist = fa[b][0] > 0.5F;
        // A uniformly random rotation (a random unit quaternion), or a small one about a random axis.
        double qw, qx, qy, qz;
        if (!waist && unit(rng) < a.wrist_rotation_p) {
            qw = normal(rng), qx = normal(rng), qy = normal(rng), qz = normal(rng);
        } else {
            const double limit = a.waist_rotation_deg * M_PI / 180.0;  // waist, or a wrist left near its own axes
            const double angle = (2 * unit(rng) - 1) * limit;
            double ax = normal(rng), ay = normal(rng), az = normal(rng);
            const double n = std::sqrt(ax * ax + ay * ay + az * az) + 1e-12;
            qw = std::cos(angle / 2), qx = ax / n * std::sin(angle / 2), qy = ay / n * std::sin(angle / 2),
            qz = az / n * std::sin(angle / 2);
        }
        const double n = std::sqrt(qw * qw + qx * qx + qy * qy + qz * qz) + 1e-12;
        qw /= n, qx /= n, qy /= n, qz /= n;
        const double r[3][3] = {{1 - 2 * (qy * qy + qz * qz), 2 * (qx * qy - qz * qw), 2 * (qx * qz + qy * qw)},
                                {2 * (qx * qy + qz * qw), 1 - 2 * (qx * qx + qz * qz), 2 * (qy * qz - qx * qw)},
                                {2 * (qx * qz - qy * qw), 2 * (qy * qz + qx * qw), 1 - 2 * (qx * qx + qy * qy)}};
        for (int i = 0; i < 3; ++i) {
            for (int j = 0; j < 3; ++j) ra[b][i][j] = static_cast<float>(r[i][j]);
        }
        gains[b][0][0] = static_cast<float>(1 + a.gain * (2 * unit(rng) - 1));
        // Sample positions: stretched about the centre, shifted, clamped to the window (edges repeat).
        const double stretch = 1 + a.stretch * (2 * unit(rng) - 1);
        const double shift = std::round((2 * unit(rng) - 1) * a.shift_samples);
        const double centre = (static_cast<double>(length) - 1) / 2;
        for (int64_t t = 0; t < length; ++t) {
            const double p = centre + (static_cast<double>(t) - centre) * stretch - shift;
            pa[b][t] = static_cast<float>(std::clamp(p, 0.0, static_cast<double>(length - 1)));
        }
        if (fa[b][1] < 0.5F && unit(rng) < a.gravity_removal_p) remove_gravity[b][0][0] = 1.0F;
    }
    // Time warp by linear interpolation along the last axis (every channel alike).
    auto lower = positions.floor().to(torch::kLong).clamp(0, length - 1);
    auto upper = (lower + 1).clamp(0, length - 1);
    auto frac = (positions - lower.to(torch::kFloat32)).unsqueeze(1);
    auto expand = [&](const torch::Tensor& idx) { return idx.unsqueeze(1).expand({batch, input.size(1), length}); };
    auto x = input.gather(2, expand(lower)) * (1 - frac) + input.gather(2, expand(upper)) * frac;
    auto acc = x.slice(1, 0, 3);
    auto gyro = x.slice(1, 3, 6);
    acc = torch::bmm(rotations, acc) * gains;
    gyro = torch::bmm(rotations, gyro) * gains;
    acc = acc - remove_gravity * acc.mean(2, /*keepdim=*/true);
    acc = acc + torch::randn_like(acc) * a.acc_noise_g;
    gyro = gyro + torch::randn_like(gyro) * (a.gyro_noise_dps / net::kGyroScaleDps);
    auto gravity_flag = torch::max(x.slice(1, 7, 8), remove_gravity.expand({batch, 1, length}));
    return torch::cat({acc, gyro, x.slice(1, 6, 7), gravity_flag}, 1).contiguous();
}

Result<TrainResult> TrainPosture(const PostureData& data, const TrainOptions& o, const fs::path& out_dir,
                                 const fs::path& data_root) {
    const auto started = std::chrono::steady_clock::now();
    torch::manual_seed(o.seed);
    torch::set_num_threads(std::max(1, o.threads));
    // One BLAS thread: libtorch already splits work across its own threads, and the attention's many
    // small matrix products each paid an OpenMP fork/join inside a multithreaded BLAS (5× slower epochs).
    SetBlasThreads(1);
    at::globalContext().setFlushDenormal(true);
    std::mt19937_64 rng(o.seed);

    net::NetworkConfig config;
    config.width = o.shape.width;
    config.transformer_dim = o.shape.transformer_dim;
    config.heads = o.shape.heads;
    config.layers = o.shape.layers;
    if (config.transformer_dim % config.heads != 0) {
        return Status::Error(ErrorCode::kValidationFailed, "transformer_dim must be divisible by heads",
                             {{"heads", "must divide transformer_dim"}});
    }

    // Training windows by data set/placement and class (Ignore left out). Each epoch draws at most
    // per_class_per_epoch of every (group, class), so SisFall's many waist windows do not drown the
    // wrist sets a watch actually wears.
    std::map<std::pair<std::string, size_t>, std::vector<int64_t>> by_group_class;
    bool any_fall = false;
    for (size_t i = 0; i < data.train.size(); ++i) {
        const uint8_t label = data.train.labels[i];
        if (label == kIgnoreLabel) continue;
        any_fall = any_fall || label == static_cast<uint8_t>(Posture::kFall);
        by_group_class[{GroupName(data.trials[data.train.trials[i]]), label}].push_back(static_cast<int64_t>(i));
    }
    if (!any_fall) return Status::Error(ErrorCode::kValidationFailed, "the training split has no fall windows");
    const torch::Tensor train_x = net::InputTensor(data.train.windows);
    torch::Tensor train_y = torch::empty({static_cast<int64_t>(data.train.size())}, torch::kLong);
    for (size_t i = 0; i < data.train.size(); ++i) {
        train_y[static_cast<int64_t>(i)] = data.train.labels[i] == kIgnoreLabel ? 0 : data.train.labels[i];
    }
    // Class weights even out what the per-class cap leaves uneven: w_c ∝ (mean / n_c)^½.
    std::array<double, kNumModelClasses> drawn{};
    double drawn_sum = 0;
    int present = 0;
    for (const auto& [key, idx] : by_group_class) {
        drawn[key.second] +=
            static_cast<double>(std::min<size_t>(idx.size(), static_cast<size_t>(o.per_class_per_epoch)));
    }
    for (size_t c = 0; c < kNumModelClasses; ++c) {
        drawn_sum += drawn[c];
        present += drawn[c] > 0 ? 1 : 0;
    }
    torch::Tensor class_weights = torch::ones({static_cast<int64_t>(kNumModelClasses)});
    for (size_t c = 0; c < kNumModelClasses; ++c) {
        if (drawn[c] > 0) class_weights[static_cast<int64_t>(c)] = std::sqrt(drawn_sum / present / drawn[c]);
    }

    net::PostureNet model(config);
    torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(o.lr_min).weight_decay(o.weight_decay));
    const torch::Tensor validation_x = net::InputTensor(data.validation.windows);

    auto predict = [&](const torch::Tensor& x) {
        model->eval();
        torch::NoGradGuard no_grad;
        std::vector<PosturePrediction> out;
        out.reserve(static_cast<size_t>(x.size(0)));
        for (int64_t b = 0; b < x.size(0); b += 512) {
            auto p =
                torch::softmax(model->forward(x.slice(0, b, std::min<int64_t>(b + 512, x.size(0)))), 1).contiguous();
            const float* d = p.data_ptr<float>();
            for (int64_t i = 0; i < p.size(0); ++i) {
                std::array<float, kNumModelClasses> row{};
                std::copy(d + i * static_cast<int64_t>(kNumModelClasses),
                          d + (i + 1) * static_cast<int64_t>(kNumModelClasses), row.begin());
                out.push_back(PredictionFromProbabilities(row));
            }
        }
        return out;
    };

    std::string best_state;
    double best_f1 = -1;
    int best_epoch = 0, epochs_run = 0;
    const int steps_per_epoch_estimate = static_cast<int>(std::ceil(drawn_sum / o.batch_size));
    const int total_steps = o.max_epochs * steps_per_epoch_estimate;
    const int warmup_steps = o.warmup_epochs * steps_per_epoch_estimate;
    int step = 0;
    for (int epoch = 1; epoch <= o.max_epochs; ++epoch) {
        const auto epoch_start = std::chrono::steady_clock::now();
        std::vector<int64_t> order;
        for (const auto& [key, cls] : by_group_class) {
            std::vector<int64_t> idx = cls;
            std::shuffle(idx.begin(), idx.end(), rng);
            idx.resize(std::min<size_t>(idx.size(), static_cast<size_t>(o.per_class_per_epoch)));
            order.insert(order.end(), idx.begin(), idx.end());
        }
        std::shuffle(order.begin(), order.end(), rng);
        model->train();
        double loss_sum = 0;
        int batches = 0;
        const int n_batches = static_cast<int>((order.size() + static_cast<size_t>(o.batch_size) - 1) /
                                               static_cast<size_t>(o.batch_size));
        for (size_t b = 0; b < order.size(); b += static_cast<size_t>(o.batch_size)) {
            const size_t e = std::min(order.size(), b + static_cast<size_t>(o.batch_size));
            if (e - b < 2) break;  // batch norm needs two samples
            double lr;
            if (step < warmup_steps) {
                lr = o.lr_min + (o.lr_max - o.lr_min) * step / std::max(1, warmup_steps);
            } else {
                const double progress =
                    static_cast<double>(step - warmup_steps) / std::max(1, total_steps - warmup_steps);
                lr = o.lr_min + 0.5 * (o.lr_max - o.lr_min) * (1 + std::cos(M_PI * std::min(1.0, progress)));
            }
            for (auto& group : optimizer.param_groups())
                static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
            auto index = torch::from_blob(order.data() + b, {static_cast<int64_t>(e - b)}, torch::kLong);
            auto x = train_x.index_select(0, index);
            if (o.augment) x = AugmentBatch(x, o.augmentation, rng);
            auto y = train_y.index_select(0, index);
            optimizer.zero_grad();
            auto loss = torch::nn::functional::cross_entropy(model->forward(x), y,
                                                             torch::nn::functional::CrossEntropyFuncOptions()
                                                                 .weight(class_weights)
                                                                 .label_smoothing(o.label_smoothing));
            loss.backward();
            optimizer.step();
            loss_sum += loss.item<double>();
            ++batches;
            ++step;
            if (o.progress) {
                const int filled = 30 * batches / std::max(1, n_batches);
                o.progress("epoch " + std::to_string(epoch) + "/" + std::to_string(o.max_epochs) + " [" +
                               std::string(static_cast<size_t>(filled), '#') +
                               std::string(static_cast<size_t>(30 - filled), ' ') + "] loss " +
                               Fixed(loss_sum / batches) + " lr " + Fixed(lr * 1000, 3) + "e-3",
                           false);
            }
        }
        ++epochs_run;
        const auto val = EvaluatePredictions(data, imu::Split::kValidation, predict(validation_x), 0.5F);
        const double f1 = MeanGroupMacroF1(val);
        const bool better = f1 > best_f1 + 1e-4;
        if (better) {
            best_f1 = f1;
            best_epoch = epoch;
            std::ostringstream state;
            torch::save(model, state);
            best_state = state.str();
        }
        if (o.progress) {
            const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
            o.progress("epoch " + std::to_string(epoch) + "/" + std::to_string(o.max_epochs) + " loss " +
                           Fixed(loss_sum / std::max(1, batches)) + " validation macro-F1 (mean of groups) " +
                           Fixed(f1) + (better ? " (best)" : "") + " " + Fixed(secs, 1) + " s",
                       true);
        }
        if (epoch - best_epoch >= o.patience) break;
    }
    {
        std::istringstream state(best_state);
        torch::load(model, state);
    }

    TrainResult result;
    result.version = o.version.empty() ? "posture-mvit3-" + config.Describe() + "-" + Today() : o.version;
    result.epochs_run = epochs_run;
    result.best_epoch = best_epoch;
    result.parameters = net::ParameterCount(*model);

    // The fall threshold is chosen on validation fall events, never on test.
    const auto validation_predictions = predict(validation_x);
    result.fall_threshold = PickFallThreshold(data, data.validation, validation_predictions);
    result.validation =
        EvaluatePredictions(data, imu::Split::kValidation, validation_predictions, result.fall_threshold);
    result.test = EvaluatePredictions(data, imu::Split::kTest, predict(net::InputTensor(data.test.windows)),
                                      result.fall_threshold);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    std::error_code ec;
    fs::create_directories(out_dir, ec);
    const fs::path weights = out_dir / kWeightsFile;
    VG_RETURN_IF_ERROR(SaveWeights(model, weights));
    result.weight_bytes = static_cast<size_t>(fs::file_size(weights, ec));
    VG_RETURN_IF_ERROR(ExportServingWeights(model, out_dir / native::kServingWeightsFile, result.version));

    // What the data held, per split and class, and who is in which split.
    json::object windows, subjects;
    for (imu::Split split : {imu::Split::kTrain, imu::Split::kValidation, imu::Split::kTest}) {
        const WindowSet& set = data.Get(split);
        std::array<size_t, kNumModelClasses> counts{};
        size_t ignored = 0;
        for (uint8_t l : set.labels) {
            if (l == kIgnoreLabel)
                ++ignored;
            else
                ++counts[l];
        }
        json::object c;
        for (size_t k = 0; k < kNumModelClasses; ++k) c[ClassName(k)] = counts[k];
        c["Ignore (not used)"] = ignored;
        windows[imu::SplitName(split)] = std::move(c);
        std::map<std::string, std::set<std::string>> who;
        for (const TrialMeta& t : data.trials) {
            if (t.split == split) who[std::string(imu::DatasetName(t.dataset))].insert(t.subject);
        }
        json::object s;
        for (const auto& [dataset, ids] : who) {
            json::array a;
            for (const auto& id : ids) a.push_back(json::string(id));
            s[dataset] = std::move(a);
        }
        subjects[imu::SplitName(split)] = std::move(s);
    }
    json::array class_names;
    for (size_t c = 0; c < kNumModelClasses; ++c) class_names.push_back(json::string(ClassName(c)));
    json::object manifest{
        {"version", result.version},
        {"kind", "posture"},
        {"created_at", IsoNow()},
        {"weights", kWeightsFile},
        {"serving_weights", native::kServingWeightsFile},
        {"classes", class_names},
        {"api_classes", "0-7 as the seed's UserPosture; Other maps to the most probable of 0-6, never to Fall"},
        {"input",
         {{"rate_hz", kModelRateHz},
          {"samples", kWindowSamples},
          {"channels", {"ax_g", "ay_g", "az_g", "gx_dps", "gy_dps", "gz_dps"}},
          {"gyro_scale_dps", net::kGyroScaleDps},
          {"flags", {"placement (1 = waist)", "gravity_removed (1 = the device removed gravity)"}}}},
        {"network", ConfigToJson(config)},
        {"parameters", result.parameters},
        {"weight_bytes", result.weight_bytes},
        {"fall_threshold", Round(result.fall_threshold)},
        {"fall_threshold_rule", "maximises fall-event sensitivity + specificity on the validation subjects"},
        {"data",
         {{"root", data_root.string()},
          {"datasets",
           {"SisFall (Sucerquia et al., Sensors 2017) waist", "UMAFall (Casilari et al., 2017) wrist and waist",
            "HIFD (Nho et al., IEEE Access 2020) wrist, gravity removed",
            "WEDA-FALL (Marques and Moreno, Sensors 2023) wrist, Fitbit Sense",
            "FallAllD (Saleh et al., IEEE Sensors Journal 2021) wrist"}},
          {"windows", "128 samples at 50 Hz (2.56 s), stride 64; labels per docs/posture-data.md"},
          {"trials", data.trials.size()},
          {"windows_per_split", windows}}},
        {"split", {{"by", "subject"}, {"ratio", "7:1:2"}, {"seed", imu::kDefaultSplitSeed}, {"subjects", subjects}}},
        {"training",
         {{"optimizer", "Adam"},
          {"loss", "cross-entropy, label smoothing " + Fixed(o.label_smoothing, 2) + ", class weights"},
          {"schedule", "linear warm-up " + std::to_string(o.warmup_epochs) + " epochs " + Fixed(o.lr_min * 1e4, 1) +
                           "e-4 -> " + Fixed(o.lr_max * 1e3, 1) + "e-3, then cosine annealing"},
          {"batch_size", o.batch_size},
          {"per_class_per_epoch", o.per_class_per_epoch},
          {"augmentation", o.augment ? json::value{{"wrist_rotation_p", o.augmentation.wrist_rotation_p},
                                                   {"waist_rotation_deg", o.augmentation.waist_rotation_deg},
                                                   {"gain", o.augmentation.gain},
                                                   {"stretch", o.augmentation.stretch},
                                                   {"shift_samples", o.augmentation.shift_samples},
                                                   {"acc_noise_g", o.augmentation.acc_noise_g},
                                                   {"gyro_noise_dps", o.augmentation.gyro_noise_dps},
                                                   {"gravity_removal_p", o.augmentation.gravity_removal_p}}
                                     : json::value("none")},
          {"max_epochs", o.max_epochs},
          {"patience", o.patience},
          {"epochs_run", epochs_run},
          {"best_epoch", best_epoch},
          {"seed", o.seed},
          {"threads", o.threads},
          {"seconds", Round(result.seconds)},
          {"command", o.command_line}}},
        {"metrics", {{"validation", EvaluationJson(result.validation)}, {"test", EvaluationJson(result.test)}}},
    };
    std::ofstream out(out_dir / kManifestFile);
    out << json::serialize(manifest) << "\n";
    if (!out) return Status::Error(ErrorCode::kInternal, "cannot write " + (out_dir / kManifestFile).string());
    return result;
}

}  // namespace vg::posture
