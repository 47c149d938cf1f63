#pragma once
// CredentialCache: a short-lived copy of what authenticating a credential read from the store (a
// session with its user, or a device), keyed by the credential's hash, so that the hot paths
// (update_status, get_status) authenticate without a store read. An entry is used for at most `ttl`
// after it was read; Clear() drops everything at once (a session ended, a device unpaired) and bumps
// the generation, so that a read that began before the Clear cannot put its now stale copy back.
//
// Thread-safety: all methods may be called concurrently. Bounded: at most max_entries; when full,
// entries past their ttl are dropped, and if that frees nothing the new one is simply not kept.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "vg/common/clock.hpp"

namespace vg::auth {

template <class Value>
class CredentialCache {
  public:
    CredentialCache(std::chrono::milliseconds ttl, size_t max_entries) : ttl_(ttl), max_entries_(max_entries) {}

    bool enabled() const { return ttl_.count() > 0 && max_entries_ > 0; }

    // Read before the store reads whose result is to be Put.
    uint64_t generation() const {
        std::lock_guard lock(mu_);
        return generation_;
    }

    // The copy for `key` read at most ttl before `now`, if any.
    std::optional<Value> Find(std::string_view key, TimePoint now) const {
        if (!enabled()) return std::nullopt;
        std::lock_guard lock(mu_);
        auto it = entries_.find(std::string(key));
        if (it == entries_.end() || now - it->second.read_at >= ttl_ || it->second.read_at > now) return std::nullopt;
        return it->second.value;
    }

    // Keeps `value`, read at `read_at`, unless Clear() ran since `generation` was taken.
    void Put(std::string_view key, Value value, TimePoint read_at, uint64_t generation) {
        if (!enabled()) return;
        std::lock_guard lock(mu_);
        if (generation != generation_) return;
        if (entries_.size() >= max_entries_ && entries_.find(std::string(key)) == entries_.end()) {
            std::erase_if(entries_, [&](const auto& kv) { return read_at - kv.second.read_at >= ttl_; });
            if (entries_.size() >= max_entries_) return;
        }
        entries_.insert_or_assign(std::string(key), Entry{std::move(value), read_at});
    }

    void Clear() {
        std::lock_guard lock(mu_);
        ++generation_;
        entries_.clear();
    }

    size_t size() const {
        std::lock_guard lock(mu_);
        return entries_.size();
    }

  private:
    struct Entry {
        Value value;
        TimePoint read_at;
    };
    const std::chrono::milliseconds ttl_;
    const size_t max_entries_;
    mutable std::mutex mu_;
    uint64_t generation_ = 0;
    std::unordered_map<std::string, Entry> entries_;
};

}  // namespace vg::auth
