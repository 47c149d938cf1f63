#include "vg/imu/labels.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace vg::imu {
namespace {

using enum Label;
using S = Scenario;
using D = DatasetId;

constexpr ActivitySpec kActivities[] = {
    // SisFall (waist)
    {D::kSisFall, "D01", "walking slowly", S::kLocomotion, kWalking, kIgnore},
    {D::kSisFall, "D02", "walking quickly", S::kLocomotion, kWalking, kIgnore},
    {D::kSisFall, "D03", "jogging slowly", S::kLocomotion, kRunning, kIgnore},
    {D::kSisFall, "D04", "jogging quickly", S::kLocomotion, kRunning, kIgnore},
    {D::kSisFall, "D05", "up and down stairs slowly", S::kStairsMixed, kIgnore, kIgnore},
    {D::kSisFall, "D06", "up and down stairs quickly", S::kStairsMixed, kIgnore, kIgnore},
    {D::kSisFall, "D07", "slowly sit in half-height chair and get up", S::kChair, kIgnore, kIgnore},
    {D::kSisFall, "D08", "quickly sit in half-height chair and get up", S::kChair, kIgnore, kIgnore},
    {D::kSisFall, "D09", "slowly sit in low chair and get up", S::kChair, kIgnore, kIgnore},
    {D::kSisFall, "D10", "quickly sit in low chair and get up", S::kChair, kIgnore, kIgnore},
    {D::kSisFall, "D11", "sitting, try to get up, collapse into chair", S::kSeated, kIgnore, kIgnore},
    {D::kSisFall, "D12", "sitting, lie down slowly, sit again", S::kLieDown, kIgnore, kIgnore},
    {D::kSisFall, "D13", "sitting, lie down quickly, sit again", S::kLieDown, kIgnore, kIgnore},
    {D::kSisFall, "D14", "lying on back, turn to side, back again", S::kLying, kIgnore, kIgnore},
    {D::kSisFall, "D15", "standing, bend at knees, get up", S::kOtherActivity, kIgnore, kIgnore},
    {D::kSisFall, "D16", "standing, bend without bending knees, get up", S::kOtherActivity, kIgnore, kIgnore},
    {D::kSisFall, "D17", "get into a car, remain seated, get out", S::kChair, kIgnore, kIgnore},
    {D::kSisFall, "D18", "stumble while walking", S::kOtherActivity, kIgnore, kIgnore},
    {D::kSisFall, "D19", "gentle jump", S::kOtherActivity, kIgnore, kIgnore},
    {D::kSisFall, "F01", "forward slip while walking", S::kFall, kWalking, kStanding},
    {D::kSisFall, "F02", "backward slip while walking", S::kFall, kWalking, kStanding},
    {D::kSisFall, "F03", "lateral slip while walking", S::kFall, kWalking, kStanding},
    {D::kSisFall, "F04", "forward trip while walking", S::kFall, kWalking, kStanding},
    {D::kSisFall, "F05", "forward trip while jogging", S::kFall, kRunning, kStanding},
    {D::kSisFall, "F06", "vertical fall while walking (fainting)", S::kFall, kWalking, kStanding},
    {D::kSisFall, "F07", "fall while walking using hands on a table (fainting)", S::kFall, kWalking, kStanding},
    {D::kSisFall, "F08", "forward fall when trying to get up", S::kFall, kIgnore, kSitting},
    {D::kSisFall, "F09", "lateral fall when trying to get up", S::kFall, kIgnore, kSitting},
    {D::kSisFall, "F10", "forward fall when trying to sit down", S::kFall, kIgnore, kStanding},
    {D::kSisFall, "F11", "backward fall when trying to sit down", S::kFall, kIgnore, kStanding},
    {D::kSisFall, "F12", "lateral fall when trying to sit down", S::kFall, kIgnore, kStanding},
    {D::kSisFall, "F13", "forward fall while sitting (fainting/asleep)", S::kFall, kIgnore, kSitting},
    {D::kSisFall, "F14", "backward fall while sitting", S::kFall, kIgnore, kSitting},
    {D::kSisFall, "F15", "lateral fall while sitting", S::kFall, kIgnore, kSitting},
    // UMAFall (wrist and waist); the code is the file name's first activity word
    {D::kUmaFall, "Aplausing", "clapping", S::kOtherActivity, kIgnore, kIgnore},
    {D::kUmaFall, "Bending", "bending", S::kOtherActivity, kIgnore, kIgnore},
    {D::kUmaFall, "GoDownstairs", "going downstairs", S::kLocomotion, kDownstairs, kIgnore},
    {D::kUmaFall, "GoUpstairs", "going upstairs", S::kLocomotion, kUpstairs, kIgnore},
    {D::kUmaFall, "HandsUp", "raising the hands", S::kOtherActivity, kIgnore, kIgnore},
    {D::kUmaFall, "Hopping", "hopping", S::kOtherActivity, kIgnore, kIgnore},
    {D::kUmaFall, "Jogging", "jogging", S::kLocomotion, kRunning, kIgnore},
    {D::kUmaFall, "LyingDown", "lying down on a bed and getting up", S::kLieDown, kIgnore, kIgnore},
    {D::kUmaFall, "MakingACall", "making a phone call", S::kOtherActivity, kIgnore, kIgnore},
    {D::kUmaFall, "OpeningDoor", "opening a door", S::kOtherActivity, kIgnore, kIgnore},
    {D::kUmaFall, "Sitting", "sitting down and getting up from a chair", S::kChair, kIgnore, kIgnore},
    {D::kUmaFall, "Walking", "walking", S::kLocomotion, kWalking, kIgnore},
    {D::kUmaFall, "backwardFall", "backward fall", S::kFall, kIgnore, kStanding},
    {D::kUmaFall, "forwardFall", "forward fall", S::kFall, kIgnore, kStanding},
    {D::kUmaFall, "lateralFall", "lateral fall", S::kFall, kIgnore, kStanding},
    // HIFD (left wrist, gravity removed)
    {D::kHifd, "fall1", "clockwise forward fall", S::kFall, kIgnore, kStanding},
    {D::kHifd, "fall2", "clockwise backward fall", S::kFall, kIgnore, kStanding},
    {D::kHifd, "fall3", "right-to-left lateral fall", S::kFall, kIgnore, kStanding},
    {D::kHifd, "fall4", "counter-clockwise forward fall", S::kFall, kIgnore, kStanding},
    {D::kHifd, "fall5", "counter-clockwise backward fall", S::kFall, kIgnore, kStanding},
    {D::kHifd, "fall6", "left-to-right lateral fall", S::kFall, kIgnore, kStanding},
    {D::kHifd, "bed", "lying down and getting up", S::kLieDown, kIgnore, kIgnore},
    {D::kHifd, "chair", "sitting down and getting up", S::kChair, kIgnore, kIgnore},
    {D::kHifd, "clap", "clapping (hitting the sensor)", S::kOtherActivity, kIgnore, kIgnore},
    {D::kHifd, "cloth", "putting on clothes", S::kOtherActivity, kIgnore, kIgnore},
    {D::kHifd, "eat", "eating", S::kOtherActivity, kIgnore, kIgnore},
    {D::kHifd, "hair", "brushing hair", S::kOtherActivity, kIgnore, kIgnore},
    {D::kHifd, "shoe", "tying a shoelace", S::kOtherActivity, kIgnore, kIgnore},
    {D::kHifd, "stair", "up and down stairs", S::kStairsMixed, kIgnore, kIgnore},
    {D::kHifd, "teeth", "brushing teeth", S::kOtherActivity, kIgnore, kIgnore},
    {D::kHifd, "walk", "walking", S::kLocomotion, kWalking, kIgnore},
    {D::kHifd, "wash", "washing", S::kOtherActivity, kIgnore, kIgnore},
    {D::kHifd, "write", "writing", S::kOtherActivity, kIgnore, kIgnore},
    {D::kHifd, "zip", "rapidly zipping up and down", S::kOtherActivity, kIgnore, kIgnore},
    // WEDA-FALL (wrist); falls onto a mattress, young adults only. The subjects get up again near the end of
    // some falls; the first still run after the impact is lying on the mattress.
    {D::kWedaFall, "D01", "walking", S::kLocomotion, kWalking, kIgnore},
    {D::kWedaFall, "D02", "jogging", S::kLocomotion, kRunning, kIgnore},
    {D::kWedaFall, "D03", "walking up and down stairs", S::kStairsMixed, kIgnore, kIgnore},
    // Walk in, sit, wait, get up: the elderly sometimes start already seated, so the leading still run is not
    // named; after getting up they stand.
    {D::kWedaFall, "D04", "sitting on a chair, waiting a moment, getting up", S::kTransition, kIgnore, kIgnore,
     kSitting, kStanding},
    // Sit, try to get up, collapse back: seated between the moving runs; how the recording starts and ends
    // (walking in, getting up at last) is not named.
    {D::kWedaFall, "D05", "sitting, attempting to get up and collapsing into the chair", S::kTransition, kIgnore,
     kIgnore, kSitting, kIgnore},
    {D::kWedaFall, "D06", "crouching, tying shoes, getting up", S::kOtherActivity, kIgnore, kIgnore},
    {D::kWedaFall, "D07", "stumbling while walking", S::kOtherActivity, kIgnore, kIgnore},
    {D::kWedaFall, "D08", "gently jumping (reaching a high object)", S::kOtherActivity, kIgnore, kIgnore},
    {D::kWedaFall, "D09", "hitting a table with the hand", S::kOtherActivity, kIgnore, kIgnore},
    {D::kWedaFall, "D10", "clapping hands", S::kOtherActivity, kIgnore, kIgnore},
    {D::kWedaFall, "D11", "opening and closing a door", S::kOtherActivity, kIgnore, kIgnore},
    {D::kWedaFall, "F01", "fall forward while walking (slip)", S::kFall, kWalking, kStanding},
    {D::kWedaFall, "F02", "lateral fall while walking (slip)", S::kFall, kWalking, kStanding},
    {D::kWedaFall, "F03", "fall backward while walking (slip)", S::kFall, kWalking, kStanding},
    {D::kWedaFall, "F04", "fall forward while walking (trip)", S::kFall, kWalking, kStanding},
    {D::kWedaFall, "F05", "fall backward when trying to sit down", S::kFall, kIgnore, kStanding},
    {D::kWedaFall, "F06", "fall forward while sitting (fainting)", S::kFall, kIgnore, kSitting},
    {D::kWedaFall, "F07", "fall backward while sitting (fainting)", S::kFall, kIgnore, kSitting},
    {D::kWedaFall, "F08", "lateral fall while sitting (fainting)", S::kFall, kIgnore, kSitting},
    // FallAllD (wrist). Hand activities (A001–A012), stumbling, jumping and bending are Other. Start/stop trials
    // mix the activity with fidgeting before it starts or slowing down after it (no annotation): their moving
    // samples are Ignore, their still ones Standing. Standing in a lift or a bus is Standing when still.
    {D::kFallAllD, "A001", "start clapping hands", S::kOtherActivity, kIgnore, kIgnore},
    {D::kFallAllD, "A002", "clapping hands", S::kOtherActivity, kIgnore, kIgnore},
    {D::kFallAllD, "A003", "stop clapping hands", S::kOtherActivity, kIgnore, kIgnore},
    {D::kFallAllD, "A004", "clapping hands (variant 1)", S::kOtherActivity, kIgnore, kIgnore},
    {D::kFallAllD, "A005", "start waving hands", S::kOtherActivity, kIgnore, kIgnore},
    {D::kFallAllD, "A006", "waving hands", S::kOtherActivity, kIgnore, kIgnore},
    {D::kFallAllD, "A007", "stop waving hands", S::kOtherActivity, kIgnore, kIgnore},
    {D::kFallAllD, "A008", "raising a hand up", S::kOtherActivity, kIgnore, kIgnore},
    {D::kFallAllD, "A009", "moving a hand down", S::kOtherActivity, kIgnore, kIgnore},
    {D::kFallAllD, "A010", "moving a hand up then down", S::kOtherActivity, kIgnore, kIgnore},
    {D::kFallAllD, "A011", "hand shaking", S::kOtherActivity, kIgnore, kIgnore},
    {D::kFallAllD, "A012", "beating a table", S::kOtherActivity, kIgnore, kIgnore},
    {D::kFallAllD, "A013", "sitting down", S::kTransition, kIgnore, kStanding, kIgnore, kSitting},
    {D::kFallAllD, "A014", "standing up", S::kTransition, kIgnore, kSitting, kIgnore, kStanding},
    {D::kFallAllD, "A015", "failing to stand up", S::kSeated, kIgnore, kIgnore},
    // Lying down from sitting or standing on the bed (not said which); rising up to either.
    {D::kFallAllD, "A016", "lying down", S::kTransition, kIgnore, kIgnore, kIgnore, kLying},
    {D::kFallAllD, "A017", "turning while lying", S::kLying, kIgnore, kIgnore},
    {D::kFallAllD, "A018", "rising up from lying", S::kTransition, kIgnore, kLying, kIgnore, kIgnore},
    {D::kFallAllD, "A019", "start walking", S::kLocomotion, kIgnore, kIgnore},
    {D::kFallAllD, "A020", "walking slowly", S::kLocomotion, kWalking, kIgnore},
    {D::kFallAllD, "A021", "stop walking", S::kLocomotion, kIgnore, kIgnore},
    {D::kFallAllD, "A022", "walking quickly", S::kLocomotion, kWalking, kIgnore},
    {D::kFallAllD, "A023", "stumbling", S::kOtherActivity, kIgnore, kIgnore},
    {D::kFallAllD, "A024", "jogging slowly", S::kLocomotion, kRunning, kIgnore},
    {D::kFallAllD, "A025", "jogging quickly", S::kLocomotion, kRunning, kIgnore},
    {D::kFallAllD, "A026", "jumping slightly", S::kOtherActivity, kIgnore, kIgnore},
    {D::kFallAllD, "A027", "jumping strongly", S::kOtherActivity, kIgnore, kIgnore},
    {D::kFallAllD, "A028", "bending down", S::kOtherActivity, kIgnore, kIgnore},
    {D::kFallAllD, "A029", "start going upstairs", S::kLocomotion, kIgnore, kIgnore},
    {D::kFallAllD, "A030", "going upstairs", S::kLocomotion, kUpstairs, kIgnore},
    {D::kFallAllD, "A031", "stop going upstairs", S::kLocomotion, kIgnore, kIgnore},
    {D::kFallAllD, "A032", "start going downstairs", S::kLocomotion, kIgnore, kIgnore},
    {D::kFallAllD, "A033", "going downstairs", S::kLocomotion, kDownstairs, kIgnore},
    {D::kFallAllD, "A034", "stop going downstairs", S::kLocomotion, kIgnore, kIgnore},
    {D::kFallAllD, "A035", "going upstairs quickly", S::kLocomotion, kUpstairs, kIgnore},
    {D::kFallAllD, "A036", "going downstairs quickly", S::kLocomotion, kDownstairs, kIgnore},
    {D::kFallAllD, "A037", "lift: start ascending", S::kLocomotion, kIgnore, kIgnore},
    {D::kFallAllD, "A038", "lift: stop ascending", S::kLocomotion, kIgnore, kIgnore},
    {D::kFallAllD, "A039", "lift: start descending", S::kLocomotion, kIgnore, kIgnore},
    {D::kFallAllD, "A040", "lift: stop descending", S::kLocomotion, kIgnore, kIgnore},
    {D::kFallAllD, "A041", "standing in a moving bus", S::kLocomotion, kIgnore, kIgnore},
    {D::kFallAllD, "A042", "sitting in a moving bus", S::kSeated, kIgnore, kIgnore},
    {D::kFallAllD, "A043", "start jogging", S::kLocomotion, kIgnore, kIgnore},
    {D::kFallAllD, "A044", "stop jogging", S::kLocomotion, kIgnore, kIgnore},
    // Falls "with recovery" are falls; the subject gets up again, so what follows the impact is not Lying.
    {D::kFallAllD, "A101", "forward fall while walking (trip)", S::kFall, kWalking, kStanding},
    {D::kFallAllD, "A102", "forward fall while walking (trip), with recovery", S::kFall, kWalking, kStanding, kIgnore,
     kIgnore},
    {D::kFallAllD, "A103", "forward fall while walking (slip)", S::kFall, kWalking, kStanding},
    {D::kFallAllD, "A104", "forward fall while walking (slip), with recovery", S::kFall, kWalking, kStanding, kIgnore,
     kIgnore},
    {D::kFallAllD, "A105", "forward fall while walking (slip, rotation)", S::kFall, kWalking, kStanding},
    {D::kFallAllD, "A106", "forward fall while walking (slip, rotation), with recovery", S::kFall, kWalking, kStanding,
     kIgnore, kIgnore},
    {D::kFallAllD, "A107", "backward fall while walking (slip)", S::kFall, kWalking, kStanding},
    {D::kFallAllD, "A108", "backward fall while walking (slip), with recovery", S::kFall, kWalking, kStanding, kIgnore,
     kIgnore},
    {D::kFallAllD, "A109", "backward fall while walking (slip, rotation)", S::kFall, kWalking, kStanding},
    {D::kFallAllD, "A110", "backward fall while walking (slip, rotation), with recovery", S::kFall, kWalking, kStanding,
     kIgnore, kIgnore},
    {D::kFallAllD, "A111", "forward fall while walking (syncope)", S::kFall, kWalking, kStanding},
    {D::kFallAllD, "A112", "backward fall while walking (syncope)", S::kFall, kWalking, kStanding},
    {D::kFallAllD, "A113", "lateral fall while walking (syncope)", S::kFall, kWalking, kStanding},
    {D::kFallAllD, "A114", "syncope near a table", S::kFall, kIgnore, kStanding},
    {D::kFallAllD, "A115", "forward fall when trying to sit", S::kFall, kIgnore, kStanding},
    {D::kFallAllD, "A116", "forward fall when trying to sit, with recovery", S::kFall, kIgnore, kStanding, kIgnore,
     kIgnore},
    {D::kFallAllD, "A117", "backward fall when trying to sit", S::kFall, kIgnore, kStanding},
    {D::kFallAllD, "A118", "backward fall when trying to sit, with recovery", S::kFall, kIgnore, kStanding, kIgnore,
     kIgnore},
    {D::kFallAllD, "A119", "lateral fall when trying to sit", S::kFall, kIgnore, kStanding},
    {D::kFallAllD, "A120", "lateral fall when trying to sit, with recovery", S::kFall, kIgnore, kStanding, kIgnore,
     kIgnore},
    {D::kFallAllD, "A121", "forward fall while jogging (trip)", S::kFall, kRunning, kStanding},
    {D::kFallAllD, "A122", "forward fall while jogging (trip), with recovery", S::kFall, kRunning, kStanding, kIgnore,
     kIgnore},
    {D::kFallAllD, "A123", "forward fall while jogging (slip)", S::kFall, kRunning, kStanding},
    {D::kFallAllD, "A124", "forward fall while jogging (slip), with recovery", S::kFall, kRunning, kStanding, kIgnore,
     kIgnore},
    {D::kFallAllD, "A125", "forward fall while jogging (slip, rotation)", S::kFall, kRunning, kStanding},
    {D::kFallAllD, "A126", "forward fall while jogging (slip, rotation), with recovery", S::kFall, kRunning, kStanding,
     kIgnore, kIgnore},
    // From bed: lying or sitting on it before (not said which).
    {D::kFallAllD, "A127", "lateral fall from bed", S::kFall, kIgnore, kIgnore},
    {D::kFallAllD, "A128", "lateral fall from bed, with recovery", S::kFall, kIgnore, kIgnore, kIgnore, kIgnore},
    {D::kFallAllD, "A129", "forward fall from a chair (syncope)", S::kFall, kIgnore, kSitting},
    {D::kFallAllD, "A130", "backward fall from a chair (syncope)", S::kFall, kIgnore, kSitting},
    {D::kFallAllD, "A131", "lateral fall from a chair (syncope)", S::kFall, kIgnore, kSitting},
    {D::kFallAllD, "A132", "forward fall while standing (syncope)", S::kFall, kIgnore, kStanding},
    {D::kFallAllD, "A133", "backward fall while standing (syncope)", S::kFall, kIgnore, kStanding},
    {D::kFallAllD, "A134", "lateral fall while standing (syncope)", S::kFall, kIgnore, kStanding},
    // Ends sitting on the floor against the wall, not lying.
    {D::kFallAllD, "A135", "syncope, sliding down a wall", S::kFall, kIgnore, kStanding, kIgnore, kIgnore},
};

struct Run {
    size_t begin;
    size_t end;  // exclusive
    bool still;
};

// The device axis that points up when the wearer stands, where gravity is present and the sensor sits
// on the waist (SisFall: y; UMAFall SensorTag on the belt: x). -1: no usable gravity direction.
int VerticalAxis(const TrialInfo& info, bool gravity_removed) {
    if (gravity_removed || info.placement != Placement::kWaist) return -1;
    if (info.dataset == DatasetId::kSisFall) return 1;
    if (info.dataset == DatasetId::kUmaFall) return 0;
    return -1;
}

}  // namespace

std::string_view LabelName(Label label) {
    switch (label) {
        case kDownstairs:
            return "Downstairs";
        case kUpstairs:
            return "Upstairs";
        case kRunning:
            return "Running";
        case kSitting:
            return "Sitting";
        case kStanding:
            return "Standing";
        case kWalking:
            return "Walking";
        case kLying:
            return "Lying";
        case kFall:
            return "Fall";
        case kOther:
            return "Other";
        case kIgnore:
            return "Ignore";
    }
    return "?";
}

std::span<const ActivitySpec> Activities() { return kActivities; }

const ActivitySpec* FindActivity(DatasetId dataset, std::string_view code) {
    for (const ActivitySpec& a : kActivities)
        if (a.dataset == dataset && a.code == code) return &a;
    return nullptr;
}

Result<SampleLabels> LabelSamples(const TrialInfo& info, const Series& series, const LabelParams& params) {
    const ActivitySpec* spec = FindActivity(info.dataset, info.activity_code);
    if (spec == nullptr)
        return Status::Error(ErrorCode::kValidationFailed,
                             info.path.string() + ": unknown activity code '" + info.activity_code + "'");
    const size_t n = series.samples.size();
    const size_t half = static_cast<size_t>(series.rate_hz / 2);  // ±0.5 s
    if (n < 2 * half + 1) return Status::Error(ErrorCode::kValidationFailed, info.path.string() + ": shorter than 1 s");

    // |a| and its running std over 1 s; the 1-s mean acceleration vector (gravity direction).
    std::vector<double> mag(n), sum(n + 1, 0), sum2(n + 1, 0);
    std::vector<std::array<double, 3>> acc_sum(n + 1, {0, 0, 0});
    for (size_t i = 0; i < n; ++i) {
        const auto& s = series.samples[i];
        mag[i] = std::sqrt(double{s[0]} * s[0] + double{s[1]} * s[1] + double{s[2]} * s[2]);
        sum[i + 1] = sum[i] + mag[i];
        sum2[i + 1] = sum2[i] + mag[i] * mag[i];
        for (size_t c = 0; c < 3; ++c) acc_sum[i + 1][c] = acc_sum[i][c] + s[c];
    }
    const int axis = VerticalAxis(info, series.gravity_removed);
    std::vector<bool> still(n);
    std::vector<double> tilt(n, -1);  // degrees; -1 unknown
    for (size_t i = 0; i < n; ++i) {
        const size_t lo = i >= half ? i - half : 0, hi = std::min(n, i + half + 1);
        const double k = static_cast<double>(hi - lo);
        const double mean = (sum[hi] - sum[lo]) / k;
        const double var = std::max(0.0, (sum2[hi] - sum2[lo]) / k - mean * mean);
        still[i] = std::sqrt(var) < params.still_std_g;
        if (axis >= 0) {
            std::array<double, 3> g{};
            double norm = 0;
            for (size_t c = 0; c < 3; ++c) {
                g[c] = (acc_sum[hi][c] - acc_sum[lo][c]) / k;
                norm += g[c] * g[c];
            }
            norm = std::sqrt(norm);
            if (norm > 0.5)
                tilt[i] =
                    std::acos(std::min(1.0, std::abs(g[static_cast<size_t>(axis)]) / norm)) * 180 / std::numbers::pi;
        }
    }
    // Runs of still/moving; still runs shorter than min_still_s count as moving.
    std::vector<Run> runs;
    const size_t min_still = static_cast<size_t>(params.min_still_s * series.rate_hz);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && still[j] == still[i]) ++j;
        bool s = still[i] && j - i >= min_still;
        if (!runs.empty() && runs.back().still == s)
            runs.back().end = j;
        else
            runs.push_back({i, j, s});
        i = j;
    }
    auto lying = [&](size_t i) { return tilt[i] > params.lying_tilt_deg; };

    SampleLabels out;
    out.labels.assign(n, kIgnore);
    auto& L = out.labels;
    auto fill = [&](const Run& r, Label l) {
        std::fill(L.begin() + static_cast<long>(r.begin), L.begin() + static_cast<long>(r.end), l);
    };
    // Still runs between the first and the last moving run, and the longest of them.
    auto inner_still = [&]() -> std::pair<std::vector<size_t>, std::optional<size_t>> {
        std::vector<size_t> inner;
        std::optional<size_t> longest;
        for (size_t r = 1; r + 1 < runs.size(); ++r) {
            if (!runs[r].still) continue;
            inner.push_back(r);
            if (!longest || runs[r].end - runs[r].begin > runs[*longest].end - runs[*longest].begin) longest = r;
        }
        return {inner, longest};
    };

    switch (spec->scenario) {
        case S::kOtherActivity:
            std::fill(L.begin(), L.end(), kOther);
            break;
        case S::kLying:
            std::fill(L.begin(), L.end(), kLying);
            break;
        case S::kLocomotion:
        case S::kStairsMixed:
            for (const Run& r : runs) {
                if (!r.still)
                    fill(r, spec->scenario == S::kLocomotion ? spec->moving : kIgnore);
                else
                    for (size_t i = r.begin; i < r.end; ++i) L[i] = lying(i) ? kIgnore : kStanding;
            }
            break;
        case S::kSeated:
            for (const Run& r : runs)
                if (r.still)
                    for (size_t i = r.begin; i < r.end; ++i) L[i] = lying(i) ? kIgnore : kSitting;
            break;
        case S::kChair: {
            if (runs.size() < 3) break;  // no stand–sit–stand structure to be seen: leave it Ignore
            if (runs.front().still) fill(runs.front(), kStanding);
            if (runs.back().still) fill(runs.back(), kStanding);
            if (auto [inner, longest] = inner_still(); longest) fill(runs[*longest], kSitting);
            for (size_t i = 0; i < n; ++i)
                if (lying(i)) L[i] = kIgnore;
            break;
        }
        case S::kLieDown: {
            if (axis >= 0) {
                for (const Run& r : runs)
                    if (r.still)
                        for (size_t i = r.begin; i < r.end; ++i) L[i] = lying(i) ? kLying : kIgnore;
            } else if (runs.size() >= 3) {
                if (auto [inner, longest] = inner_still(); longest) fill(runs[*longest], kLying);
            }
            break;
        }
        case S::kTransition: {
            // Before and after are told apart only by the change itself: with no moving run, name nothing.
            if (std::none_of(runs.begin(), runs.end(), [](const Run& r) { return !r.still; })) break;
            for (const Run& r : runs)
                if (!r.still) fill(r, spec->moving);
            if (runs.front().still) fill(runs.front(), spec->still);
            if (runs.back().still) fill(runs.back(), spec->after_still);
            if (auto [inner, longest] = inner_still(); longest) fill(runs[*longest], spec->inner_still);
            if (axis >= 0)  // where tilt is known, it must agree with the named posture
                for (size_t i = 0; i < n; ++i)
                    if (L[i] != kIgnore && (L[i] == kLying) != lying(i)) L[i] = kIgnore;
            break;
        }
        case S::kFall: {
            // The impact is the |a| peak, searched near the annotated fall where the data set has one.
            size_t search_begin = 0, search_end = n - 1;  // inclusive
            if (info.annotated_fall) {
                const auto nearest_sample = [&](double t_s) {
                    return static_cast<size_t>(
                        std::clamp(std::round(t_s * series.rate_hz), 0.0, static_cast<double>(n - 1)));
                };
                search_begin = nearest_sample(info.annotated_fall->begin_s - params.impact_search_margin_s);
                search_end =
                    std::max(search_begin, nearest_sample(info.annotated_fall->end_s + params.impact_search_margin_s));
            }
            const auto peak = std::max_element(mag.begin() + static_cast<long>(search_begin),
                                               mag.begin() + static_cast<long>(search_end) + 1);
            const size_t impact = static_cast<size_t>(peak - mag.begin());
            out.impact = impact;
            const size_t before = static_cast<size_t>(params.fall_before_s * series.rate_hz);
            const size_t after = static_cast<size_t>(params.fall_after_s * series.rate_hz);
            const size_t fall_begin = impact >= before ? impact - before : 0;
            const size_t fall_end = std::min(n, impact + after + 1);
            std::vector<bool> still_run(n, false);
            for (const Run& r : runs)
                for (size_t i = r.begin; i < r.end; ++i) still_run[i] = r.still;
            for (size_t i = 0; i < n; ++i) {
                if (i >= fall_begin && i < fall_end)
                    L[i] = kFall;
                else if (i < fall_begin)
                    L[i] = still_run[i] ? (lying(i) ? kIgnore : spec->still) : spec->moving;
                else
                    L[i] = still_run[i] && (axis < 0 || lying(i)) ? spec->after_still : kIgnore;
            }
            break;
        }
    }
    return out;
}

std::vector<LabelledWindow> LabelWindows(const SampleLabels& samples, const WindowSpec& spec, const LabelParams& params,
                                         double rate_hz) {
    const auto& L = samples.labels;
    const size_t margin = static_cast<size_t>(params.impact_margin_s * rate_hz);
    std::vector<LabelledWindow> out;
    for (size_t start : WindowStarts(L.size(), spec)) {
        const size_t end = start + spec.length;
        LabelledWindow w{start, kIgnore};
        if (samples.impact && *samples.impact >= start + margin && *samples.impact + margin < end) {
            w.label = kFall;
        } else if (std::find(L.begin() + static_cast<long>(start), L.begin() + static_cast<long>(end), kFall) ==
                   L.begin() + static_cast<long>(end)) {
            std::array<size_t, kNumClasses> count{};
            for (size_t i = start; i < end; ++i)
                if (L[i] != kIgnore) ++count[static_cast<size_t>(L[i])];
            const auto best = std::max_element(count.begin(), count.end());
            if (static_cast<double>(*best) >= params.min_majority * static_cast<double>(spec.length))
                w.label = static_cast<Label>(best - count.begin());
        }
        out.push_back(w);
    }
    return out;
}

}  // namespace vg::imu
