#pragma once
// ExpiringMap: a bounded string-keyed map whose entries expire, for the limiters' per-key state.
//
// Every entry carries the time it expires at (its owner moves it when the key acts again). Expired
// entries are found dead on lookup and removed by EvictExpired, which looks at a few entries of a
// time-ordered queue per call: the cost of eviction is spread over the calls (amortised O(1)),
// never a scan of all keys under the caller's lock.
// Memory is bounded: at most `max_keys` entries. When the map is full of live entries, Insert
// refuses the new key (nullptr) instead of evicting a live one: a flood of distinct keys (addresses,
// ids) must not make the limiter forget the keys it is slowing down. Callers answer 429 then.
// The queue holds one item per insertion or expiry move; it is compacted when it outgrows twice the
// map, so its size is bounded too.
// Thread-safety: none; the owning limiter holds its own mutex around every call.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "vg/common/clock.hpp"

namespace vg::auth {

template <typename V>
class ExpiringMap {
  public:
    explicit ExpiringMap(size_t max_keys) : max_keys_(std::max<size_t>(1, max_keys)) {}

    // The live entry of `key`, or nullptr (an expired one is removed).
    V* Find(std::string_view key, TimePoint now) {
        auto it = entries_.find(std::string(key));
        if (it == entries_.end()) return nullptr;
        if (it->second.expires_at <= now) {
            entries_.erase(it);
            return nullptr;
        }
        return &it->second.value;
    }

    // The live entry of `key`, created value-initialised and expiring at `expires_at` when absent.
    // nullptr when the key is absent and the map is full of live entries.
    V* FindOrInsert(std::string_view key, TimePoint now, TimePoint expires_at) {
        if (V* found = Find(key, now)) return found;
        if (entries_.size() >= max_keys_) {
            EvictExpired(now, max_keys_);  // bounded by the map: expired entries are reclaimed first
            if (entries_.size() >= max_keys_) return nullptr;
        }
        auto [it, inserted] = entries_.try_emplace(std::string(key));
        it->second = Entry{V{}, expires_at, ++generation_};
        Enqueue(it->first, it->second);
        return &it->second.value;
    }

    // Moves the expiry of a live entry (e.g. to its newest event plus the window). No-op when absent.
    void SetExpiry(std::string_view key, TimePoint expires_at) {
        auto it = entries_.find(std::string(key));
        if (it == entries_.end() || it->second.expires_at == expires_at) return;
        const bool later = expires_at > it->second.expires_at;
        it->second.expires_at = expires_at;
        // A later expiry is found by the queue item already there (it re-queues what is still live);
        // an earlier one needs an item of its own to be reclaimed on time.
        if (!later) {
            it->second.generation = ++generation_;
            Enqueue(it->first, it->second);
        }
    }

    void Erase(std::string_view key) { entries_.erase(std::string(key)); }

    // Removes up to `budget` expired entries that are due in the queue's order.
    void EvictExpired(TimePoint now, size_t budget) {
        while (budget > 0 && !queue_.empty() && queue_.front().due <= now) {
            QueueItem item = std::move(queue_.front());
            queue_.pop_front();
            auto it = entries_.find(item.key);
            if (it == entries_.end() || it->second.generation != item.generation) continue;  // stale item
            if (it->second.expires_at <= now) {
                entries_.erase(it);
                --budget;
            } else {
                queue_.push_back({it->second.expires_at, item.key, item.generation});  // moved later: look again then
            }
        }
    }

    // When the first queued entry may expire (for a Retry-After when full); `now` + 1 s when unknown.
    TimePoint EarliestExpiry(TimePoint now) const {
        TimePoint earliest = now + std::chrono::seconds(1);
        bool any = false;
        for (size_t i = 0; i < queue_.size() && i < 16; ++i) {
            if (!any || queue_[i].due < earliest) earliest = queue_[i].due;
            any = true;
        }
        return std::max(earliest, now);
    }

    size_t size() const { return entries_.size(); }
    size_t max_keys() const { return max_keys_; }
    size_t queued() const { return queue_.size(); }

  private:
    struct Entry {
        V value{};
        TimePoint expires_at{};
        uint64_t generation = 0;  // which queue item speaks for this entry
    };
    struct QueueItem {
        TimePoint due;
        std::string key;
        uint64_t generation;
    };

    void Enqueue(const std::string& key, const Entry& entry) {
        queue_.push_back({entry.expires_at, key, entry.generation});
        if (queue_.size() > 2 * max_keys_ + 16) Compact();
    }

    // Rebuilds the queue from the live entries, in expiry order. Rare: amortised over the insertions
    // that grew the queue to twice the map.
    void Compact() {
        std::deque<QueueItem> fresh;
        for (const auto& [key, entry] : entries_) fresh.push_back({entry.expires_at, key, entry.generation});
        std::sort(fresh.begin(), fresh.end(), [](const QueueItem& a, const QueueItem& b) { return a.due < b.due; });
        queue_ = std::move(fresh);
    }

    const size_t max_keys_;
    uint64_t generation_ = 0;
    std::unordered_map<std::string, Entry> entries_;
    std::deque<QueueItem> queue_;  // roughly in expiry order (items are appended as time goes on)
};

}  // namespace vg::auth
