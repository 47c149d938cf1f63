#pragma once
// Training and evaluation of the posture/fall network on the public IMU data sets
// (`vitalguard train posture`, `vitalguard eval posture`; docs/posture-model.md).
//
// Data: every trial of SisFall, UMAFall and HIFD under `data_root`, read in place by vg_imu, resampled
// to 50 Hz, cut into 128-sample windows with stride 64 and labelled by the rules of
// docs/posture-data.md; subjects are split 7:1:2 into train/validation/test (never by window).
// Training: Adam, cross-entropy with label smoothing and class weights, a linear warm-up then cosine
// annealing, early stopping on the validation macro-F1 (mean over data sets and placements), fixed seeds. Evaluation:
// window metrics per data set and placement, and fall events (one fall trial = one event; ADL trials count false
// falls).
//
// Thread-safety: functions are not reentrant with respect to libtorch's global thread settings
// (they set the intra-op thread count); call them from one thread.

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "vg/common/status.hpp"
#include "vg/imu/labels.hpp"
#include "vg/imu/split.hpp"
#include "vg/imu/trial.hpp"
#include "vg/posture/classifier.hpp"

namespace vg::posture {

struct TrialMeta {
    imu::DatasetId dataset = imu::DatasetId::kSisFall;
    imu::Placement placement = imu::Placement::kWaist;
    imu::Split split = imu::Split::kTrain;
    std::string subject;
    std::string activity;  // the data set's activity code
    bool is_fall_trial = false;
    bool other_activity = false;  // an activity that is none of the eight postures
};

// Every window of a set of trials, Ignore windows included (label 255): fall events are judged on
// every window a watch would send; window metrics and training skip Ignore.
struct WindowSet {
    std::vector<ModelWindow> windows;
    std::vector<uint8_t> labels;   // 0..8, or 255 (Ignore)
    std::vector<uint32_t> trials;  // index into PostureData::trials
    size_t size() const { return windows.size(); }
};

struct PostureData {
    std::vector<TrialMeta> trials;
    WindowSet train, validation, test;
    std::vector<std::string> unreadable;                    // "<file>:<line>: <problem>" per skipped file
    std::map<std::string, std::set<std::string>> excluded;  // all_as_test: subjects left out, per data set
    const WindowSet& Get(imu::Split split) const;
};

struct DataOptions {
    uint64_t split_seed = imu::kDefaultSplitSeed;
    // Which trials to load (all when empty); tests load a slice.
    std::function<bool(const imu::TrialInfo&)> include;
    // `eval posture --split all`: every subject's trials go to the test split (a folder the model never saw),
    // except the subjects of `exclude_subjects` (data set folder name → ids: those the model was trained or
    // tuned on, from its manifest), which are left out and listed in PostureData::excluded. Data set folders
    // that are missing are skipped (at least one must be there).
    bool all_as_test = false;
    std::map<std::string, std::set<std::string>> exclude_subjects;
    // Leave out trial files that cannot be read, listing them in PostureData::unreadable, instead of failing
    // on the first (the default: a training set must be whole).
    bool skip_unreadable = false;
    std::function<void(size_t done, size_t total)> progress;
};

Result<PostureData> LoadPostureData(const std::filesystem::path& data_root, const DataOptions& options = {});

struct NetworkShape {
    int width = 16;
    int transformer_dim = 64;
    int heads = 4;
    int layers = 2;
};

// What augmentation does to each training window (each with its own random draw; docs/posture-model.md):
// a rotation of the sensor (acceleration and gyroscope together: wrist up to any orientation with
// probability wrist_rotation_p, as watches sit on either wrist in any of their axis conventions; waist
// by up to waist_rotation_deg), a gain on both sensors, a time stretch about the window's centre, a
// shift by up to shift_samples (edge samples repeated; a Fall window's impact stays inside it), sensor
// noise, and with probability gravity_removal_p a gravity-included window turned into a gravity-removed
// one (its mean acceleration subtracted, its flag set), since HIFD is the only gravity-removed set.
struct Augmentation {
    double wrist_rotation_p = 0.5;
    double waist_rotation_deg = 15;
    double gain = 0.1;          // × U(1 - gain, 1 + gain)
    double stretch = 0.1;       // time × U(1 - stretch, 1 + stretch)
    int shift_samples = 12;     // = the Fall label's impact margin (0.25 s)
    double acc_noise_g = 0.01;  // Gaussian, per sample and axis
    double gyro_noise_dps = 2;
    double gravity_removal_p = 0.15;
};

struct TrainOptions {
    NetworkShape shape;
    int max_epochs = 25;
    int patience = 8;       // epochs without a better validation macro-F1 before stopping
    int warmup_epochs = 5;  // learning rate rises linearly from lr_min to lr_max
    double lr_max = 1e-3;   // the seed: 1e-4 → 1e-3 warm-up, then cosine annealing
    double lr_min = 1e-4;
    int batch_size = 196;  // the seed's
    double label_smoothing = 0.1;
    double weight_decay = 1e-4;
    // Each epoch draws at most this many windows of each class of each data set and placement (all of
    // the rarer ones), so neither the big classes nor SisFall's waist windows drown Fall and the wrist
    // sets; class weights even out the rest.
    int per_class_per_epoch = 800;
    // Augments every training batch so the network meets other people and devices than the train
    // subjects': see Augmentation. Off only for tests that need the raw windows.
    bool augment = true;
    Augmentation augmentation;
    uint64_t seed = 7;
    // libtorch intra-op threads while training (BLAS stays single-threaded). 1 by default: on a busy
    // 2-core machine 2 threads made epochs 6x slower (OpenMP barriers wait for a descheduled thread).
    int threads = 1;
    std::string version;       // manifest version; default "posture-<shape>-<date>"
    std::string command_line;  // recorded in the manifest
    std::function<void(const std::string& line, bool final_line)> progress;
};

struct ClassMetrics {
    double precision = 0, recall = 0, f1 = 0;
    size_t support = 0;
};

struct FallEvents {
    size_t fall_trials = 0, detected = 0;      // fall trials with at least one window at/above threshold
    size_t adl_trials = 0, false_alarms = 0;   // non-fall trials with such a window
    size_t other_trials = 0, other_false = 0;  // of the ADLs: the "none of the eight" activities
    double sensitivity() const { return fall_trials ? static_cast<double>(detected) / fall_trials : 0; }
    double specificity() const { return adl_trials ? 1.0 - static_cast<double>(false_alarms) / adl_trials : 0; }
};

struct GroupMetrics {
    std::string name;  // "sisfall/waist", …, "all"
    size_t windows = 0;
    double accuracy = 0;
    double macro_f1 = 0;  // over the classes with support in this group
    std::array<ClassMetrics, kNumModelClasses> classes{};
    std::array<std::array<size_t, kNumModelClasses>, kNumModelClasses> confusion{};  // [true][predicted]
    FallEvents falls;
};

struct Evaluation {
    std::string split;
    float fall_threshold = 0.5F;
    std::map<std::string, std::set<std::string>> subjects;  // data set → the subjects evaluated
    std::map<std::string, std::set<std::string>> excluded;  // data set → subjects left out (trained/tuned on)
    std::vector<std::string> unreadable;                    // files left out by --skip-unreadable
    std::vector<GroupMetrics> groups;                       // per data set and placement, then "all"
    std::string ToText() const;                             // a table a person can read
    std::string ToJson() const;
    std::string ToHtml() const;  // self-contained page: tables and confusion-matrix heat maps
};

// Evaluates `classifier` on `set` (its trials from `data`) with its own fall threshold.
Result<Evaluation> Evaluate(const PostureClassifier& classifier, const PostureData& data, imu::Split split,
                            int threads = 2);

struct TrainResult {
    std::string version;
    int epochs_run = 0, best_epoch = 0;
    double seconds = 0;
    int64_t parameters = 0;
    size_t weight_bytes = 0;
    float fall_threshold = 0.5F;
    Evaluation validation, test;
};

// Trains, picks the fall threshold on validation fall events, evaluates on validation and test, and
// writes `<out_dir>/posture.pt` and `<out_dir>/posture.manifest.json`.
Result<TrainResult> TrainPosture(const PostureData& data, const TrainOptions& options,
                                 const std::filesystem::path& out_dir, const std::filesystem::path& data_root);

// Sets the BLAS library's thread count (BLIS, linked by this module so that Debian's reference BLAS
// is never the one libtorch calls).
void SetBlasThreads(int threads);

}  // namespace vg::posture
