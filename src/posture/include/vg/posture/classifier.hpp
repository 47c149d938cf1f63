#pragma once
// The posture/fall classifier as the serving path sees it: a fixed-size 6-axis IMU window in, the
// probabilities of the eight postures plus the model-internal "Other" out.
//
// This header knows nothing of libtorch: the network lives in the adapter `posture/torch`
// (vg/posture/torch/torch_classifier.hpp), which only the app and the CLI name. Tests of the logic
// that consumes predictions may implement this interface with a deterministic classifier.
//
// Thread-safety: implementations must allow concurrent Classify() calls on one object.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vg/common/status.hpp"

namespace vg::posture {

// The seed's UserPosture classes (the API's numbers).
enum class Posture : uint8_t {
    kDownstairs = 0,
    kUpstairs = 1,
    kRunning = 2,
    kSitting = 3,
    kStanding = 4,
    kWalking = 5,
    kLying = 6,
    kFall = 7,
};
inline constexpr size_t kNumPostures = 8;
// The model's outputs: the eight postures, then "Other" (activities that are none of them: clapping,
// bending, tying shoes…; never a fall). Other never reaches the API as a class of its own.
inline constexpr size_t kNumModelClasses = 9;
inline constexpr size_t kOtherClass = 8;

// The model's class names, for logs, training and evaluation reports: "Downstairs", "Upstairs", "Running",
// "Sitting", "Standing", "Walking", "Lying", "Fall".
std::string_view PostureName(Posture posture);
// The API's and the live events' names: the seed's labels exactly (its API table, update_posture):
// "Downstair", "Upstair", "Running", "Sitdown", "StandUp", "Walking", "Lying", "Fall". Also the keys of
// update_posture's `probabilities` (the seed defines none; its names for consistency), beside "Other".
std::string_view WireName(Posture posture);

enum class Placement : uint8_t { kWrist, kWaist };
std::string_view PlacementName(Placement placement);  // "wrist", "waist"

// The model's input: 2.56 s at 50 Hz, channels ax, ay, az (g), gx, gy, gz (°/s), time-major:
// values[t * kChannels + c].
inline constexpr double kModelRateHz = 50.0;
inline constexpr size_t kWindowSamples = 128;
inline constexpr size_t kChannels = 6;

struct ModelWindow {
    Placement placement = Placement::kWrist;
    bool gravity_removed = false;  // the device removed gravity from the acceleration (HIFD does)
    std::array<float, kWindowSamples * kChannels> values{};
};

struct PosturePrediction {
    std::array<float, kNumModelClasses> probabilities{};  // sum to 1; index kOtherClass is Other
    size_t model_class = 0;                               // argmax over all nine
    // The API's class: model_class when it is a posture, else the most probable of the non-fall
    // postures 0–6 ("Other" maps to the nearest posture and is never a fall).
    Posture posture = Posture::kStanding;
    bool other = false;  // model_class == kOtherClass
    float fall_probability() const { return probabilities[static_cast<size_t>(Posture::kFall)]; }
};

// Builds a prediction from nine probabilities (sets model_class, posture and other as above).
PosturePrediction PredictionFromProbabilities(const std::array<float, kNumModelClasses>& probabilities);

struct ClassifierInfo {
    std::string version;          // the manifest's version, e.g. "posture-mvit3-w16-20261202"
    float fall_threshold = 0.5F;  // a window with fall_probability() >= this is a fall candidate
};

class PostureClassifier {
  public:
    virtual ~PostureClassifier() = default;
    // One prediction per window, in order. kInternal when the model fails (never for valid input).
    virtual Result<std::vector<PosturePrediction>> Classify(std::span<const ModelWindow> windows) const = 0;
    virtual const ClassifierInfo& info() const = 0;
};

}  // namespace vg::posture
