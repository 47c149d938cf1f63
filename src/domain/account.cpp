#include "vg/domain/account.hpp"

#include <algorithm>
#include <cctype>

#include "vg/tz/tz.hpp"

namespace vg::domain {
namespace {

bool IsControl(char32_t cp) { return cp < 0x20 || (cp >= 0x7f && cp < 0xa0); }

// Unicode format characters (general category Cf) and the line/paragraph separators: invisible, they
// can reorder what a reader sees (bidi overrides: "U+202E" turns "kim 010" into "010 mik") or hide text in
// an SMS, an e-mail or the 119 report, and nobody types them in a name or an address. Unicode 15's Cf
// list, plus U+2028/U+2029 (Zl/Zp), which break lines where a line break is never meant.
bool IsFormatCharacter(char32_t cp) {
    if (cp < 0xad) return false;  // fast path: ASCII and Latin-1 before the soft hyphen
    return cp == 0xad || (cp >= 0x600 && cp <= 0x605) || cp == 0x61c || cp == 0x6dd || cp == 0x70f || cp == 0x890 ||
           cp == 0x891 || cp == 0x8e2 || cp == 0x180e || (cp >= 0x200b && cp <= 0x200f) ||
           (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x206f) ||
           cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb) || cp == 0x110bd || cp == 0x110cd ||
           (cp >= 0x13430 && cp <= 0x1343f) || (cp >= 0x1bca0 && cp <= 0x1bca3) || (cp >= 0x1d173 && cp <= 0x1d17a) ||
           cp == 0xe0001 || (cp >= 0xe0020 && cp <= 0xe007f);
}

// Decodes `s` as UTF-8; returns false on malformed input. Calls `visit` per code point.
template <typename Visit>
bool ForEachCodePoint(std::string_view s, Visit visit) {
    size_t i = 0;
    while (i < s.size()) {
        const auto b0 = static_cast<unsigned char>(s[i]);
        char32_t cp;
        size_t len;
        if (b0 < 0x80) {
            cp = b0;
            len = 1;
        } else if ((b0 & 0xe0) == 0xc0) {
            cp = b0 & 0x1f;
            len = 2;
        } else if ((b0 & 0xf0) == 0xe0) {
            cp = b0 & 0x0f;
            len = 3;
        } else if ((b0 & 0xf8) == 0xf0) {
            cp = b0 & 0x07;
            len = 4;
        } else {
            return false;
        }
        if (i + len > s.size()) return false;
        for (size_t k = 1; k < len; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            if ((b & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (b & 0x3f);
        }
        // Overlong encodings, surrogates and out-of-range values are malformed.
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
            return false;
        }
        visit(cp);
        i += len;
    }
    return true;
}

bool IsBlank(std::string_view s) {
    for (char c : s) {
        if (!std::isspace(static_cast<unsigned char>(c))) return false;
    }
    return true;
}

std::optional<std::string> CheckText(std::string_view text, bool required, size_t max_length) {
    if (text.empty() || IsBlank(text)) {
        if (required) return "is required";
        if (text.empty()) return std::nullopt;
        return "must not be only spaces";
    }
    size_t length = 0;
    bool has_control = false;
    bool has_format = false;
    if (!ForEachCodePoint(text, [&](char32_t cp) {
            ++length;
            if (IsControl(cp)) has_control = true;
            if (IsFormatCharacter(cp)) has_format = true;
        })) {
        return "must be valid UTF-8 text";
    }
    if (has_control) return "must not contain control characters";
    if (has_format) {
        return "must not contain invisible formatting characters (direction overrides, zero-width characters)";
    }
    if (length > max_length) return "must be at most " + std::to_string(max_length) + " characters";
    if (std::isspace(static_cast<unsigned char>(text.front())) ||
        std::isspace(static_cast<unsigned char>(text.back()))) {
        return "must not start or end with spaces";
    }
    return std::nullopt;
}

}  // namespace

std::optional<size_t> Utf8Length(std::string_view s) {
    size_t n = 0;
    if (!ForEachCodePoint(s, [&](char32_t) { ++n; })) return std::nullopt;
    return n;
}

std::optional<std::string> CheckUserId(std::string_view id) {
    if (id.empty()) return "is required";
    if (id.size() < kIdMinLength || id.size() > kIdMaxLength) {
        return "must be " + std::to_string(kIdMinLength) + " to " + std::to_string(kIdMaxLength) + " characters";
    }
    for (char c : id) {
        const bool allowed = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
        if (!allowed) return "may contain only lowercase letters a-z, digits 0-9, '_', '.' and '-'";
    }
    return std::nullopt;
}

std::optional<std::string> CheckPassword(std::string_view password, std::string_view id) {
    if (password.empty()) return "is required";
    if (password.size() > kPasswordMaxBytes) return "must be at most " + std::to_string(kPasswordMaxBytes) + " bytes";
    auto length = Utf8Length(password);
    if (!length) return "must be valid UTF-8 text";
    if (*length < kPasswordMinLength) return "must be at least " + std::to_string(kPasswordMinLength) + " characters";
    if (!id.empty() && password == id) return "must not be the same as the id";
    return std::nullopt;
}

std::optional<std::string> CheckPersonName(std::string_view name, bool required) {
    return CheckText(name, required, kNameMaxLength);
}

std::optional<std::string> CheckAddress(std::string_view address, bool required) {
    return CheckText(address, required, kAddressMaxLength);
}

std::optional<std::string> CheckDeviceName(std::string_view name) {
    return CheckText(name, true, kDeviceNameMaxLength);
}

std::optional<std::string> CheckAge(int age) {
    if (age < kAgeMin || age > kAgeMax) {
        return "must be between " + std::to_string(kAgeMin) + " and " + std::to_string(kAgeMax);
    }
    return std::nullopt;
}

std::optional<std::string> CheckPhoneNumber(std::string_view phone) {
    static constexpr const char* kFormats =
        "must be an international number like +821012345678 or a Korean number like 010-1234-5678";
    if (phone.empty()) return "is required";
    if (phone.front() == '+') {
        // E.164: '+', a country code not starting with 0, at most 15 digits in all.
        std::string_view digits = phone.substr(1);
        if (digits.size() < 8 || digits.size() > 15 || digits.front() == '0') return kFormats;
        for (char c : digits) {
            if (c < '0' || c > '9') return kFormats;
        }
        return std::nullopt;
    }
    // Korean domestic: trunk prefix 0, area/mobile code, then subscriber number; hyphens optional
    // but, when used, in the usual places (02-123-4567, 031-1234-5678, 010-1234-5678).
    std::string digits;
    int groups = 1;
    for (char c : phone) {
        if (c == '-') {
            ++groups;
        } else if (c >= '0' && c <= '9') {
            digits += c;
        } else {
            return kFormats;
        }
    }
    if (digits.size() < 9 || digits.size() > 11 || digits[0] != '0' || digits[1] == '0') return kFormats;
    if (groups != 1 && groups != 3) return kFormats;
    if (phone.front() == '-' || phone.back() == '-' || phone.find("--") != std::string_view::npos) return kFormats;
    return std::nullopt;
}

std::optional<std::string> CheckEmailAddress(std::string_view email) {
    static const std::string kShape = "must be a plain e-mail address such as guardian@example.org";
    if (email.size() > kEmailMaxBytes) return "must be at most " + std::to_string(kEmailMaxBytes) + " bytes";
    const size_t at = email.rfind('@');
    if (at == std::string_view::npos || at == 0 || at + 1 >= email.size()) return kShape;
    const std::string_view local = email.substr(0, at);
    const std::string_view domain = email.substr(at + 1);
    if (local.size() > 64) return "must have at most 64 bytes before the @";
    // Local part: RFC 5322 dot-atom (no quoted strings: they would let spaces and '@' through).
    static constexpr std::string_view kAtomSpecials = "!#$%&'*+-/=?^_`{|}~";
    for (char c : local) {
        const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && c != '.' && kAtomSpecials.find(c) == std::string_view::npos) return kShape;
    }
    if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) return kShape;
    // Domain: dot-separated labels of lower-case letters, digits and inner hyphens, at least two labels.
    size_t labels = 0;
    size_t start = 0;
    while (start <= domain.size()) {
        const size_t end = std::min(domain.find('.', start), domain.size());
        const std::string_view label = domain.substr(start, end - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return kShape;
        for (char c : label) {
            if (c >= 'A' && c <= 'Z') return "must have its domain in lower case";
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return kShape;
        }
        ++labels;
        start = end + 1;
    }
    if (labels < 2) return kShape;
    return std::nullopt;
}

std::string NormalizeEmailAddress(std::string_view email) {
    std::string out(email);
    const size_t at = out.rfind('@');
    if (at == std::string::npos) return out;
    for (size_t i = at + 1; i < out.size(); ++i) {
        if (out[i] >= 'A' && out[i] <= 'Z') out[i] = static_cast<char>(out[i] - 'A' + 'a');
    }
    return out;
}

std::string PhoneKey(std::string_view phone) {
    std::string digits;
    for (char c : phone) {
        if (c >= '0' && c <= '9') digits += c;
    }
    // +82 10-1234-5678 and 010-1234-5678 are one phone: Korean numbers keyed in their domestic form.
    if (phone.substr(0, 3) == "+82" && digits.size() > 2) digits = "0" + digits.substr(2);
    return digits;
}

bool ContainsFormatCharacter(std::string_view text) {
    bool found = false;
    ForEachCodePoint(text, [&](char32_t cp) { found = found || IsFormatCharacter(cp); });
    return found;
}

std::string WithoutInvisibleCharacters(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    size_t at = 0;
    const bool valid = ForEachCodePoint(text, [&](char32_t cp) {
        const size_t len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        if (!IsFormatCharacter(cp) && !IsControl(cp)) out.append(text.substr(at, len));
        at += len;
    });
    return valid ? out : std::string(text);
}

std::vector<FieldError> ValidateSignup(const SignupInput& input) {
    std::vector<FieldError> errors;
    auto add = [&](const char* field, std::optional<std::string> problem) {
        if (problem) errors.push_back({field, std::move(*problem)});
    };
    const UserProfile& p = input.profile;
    add("id", CheckUserId(p.id));
    add("password", CheckPassword(input.password, p.id));
    add("name", CheckPersonName(p.name, /*required=*/true));
    add("age", CheckAge(p.age));
    add("address", CheckAddress(p.address, /*required=*/true));
    add("detailed_address", CheckAddress(p.detailed_address, /*required=*/false));
    add("phone_num", CheckPhoneNumber(p.phone_num));
    const bool has_guard_name = !p.guard_name.empty();
    const bool has_guard_phone = !p.guard_phone_num.empty();
    if (has_guard_name || has_guard_phone) {
        // A guardian is only useful with both a name and a number to call.
        add("guard_name", has_guard_name ? CheckPersonName(p.guard_name, true)
                                         : std::optional<std::string>("is required when guard_phone_num is given"));
        add("guard_phone_num", has_guard_phone ? CheckPhoneNumber(p.guard_phone_num)
                                               : std::optional<std::string>("is required when guard_name is given"));
        if (has_guard_phone && PhoneKey(p.guard_phone_num) == PhoneKey(p.phone_num)) {
            add("guard_phone_num", "must differ from the wearer's own phone_num");
        }
    }
    if (!p.guard_email.empty()) add("guard_email", CheckEmailAddress(p.guard_email));
    add("time_zone", tz::CheckTimeZone(p.time_zone));
    return errors;
}

}  // namespace vg::domain
