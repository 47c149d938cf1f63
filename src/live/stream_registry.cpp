#include "vg/live/stream_registry.hpp"

#include <algorithm>
#include <utility>

namespace vg::live {

StreamSlot::~StreamSlot() { registry_.Release(id_); }

void StreamSlot::Attach(StreamEnder ender) { registry_.Attach(id_, std::move(ender)); }

StreamRegistry::StreamRegistry(size_t max_per_user) : max_per_user_(std::max<size_t>(1, max_per_user)) {}

StreamRegistry::~StreamRegistry() = default;

std::shared_ptr<StreamSlot> StreamRegistry::Reserve(int64_t user, const std::string& session_key,
                                                    StreamTime session_ends_at) {
    std::lock_guard lock(mu_);
    size_t& count = per_user_[user];
    if (count >= max_per_user_) return nullptr;
    ++count;
    const uint64_t id = next_id_++;
    streams_.emplace(id, Entry{user, session_key, nullptr, false});
    auto [it, inserted] = sessions_.try_emplace(session_key, Session{session_ends_at, session_ends_at, 0});
    if (inserted) it->second.checked_at = StreamTime::min();
    it->second.ends_at = session_ends_at;
    ++it->second.streams;
    return std::shared_ptr<StreamSlot>(new StreamSlot(*this, id));
}

void StreamRegistry::Release(uint64_t id) {
    std::lock_guard lock(mu_);
    auto it = streams_.find(id);
    if (it == streams_.end()) return;
    if (auto u = per_user_.find(it->second.user); u != per_user_.end() && --u->second == 0) per_user_.erase(u);
    if (!it->second.ended) {
        if (auto s = sessions_.find(it->second.session_key); s != sessions_.end() && --s->second.streams <= 0) {
            sessions_.erase(s);
        }
    }
    streams_.erase(it);
}

void StreamRegistry::Attach(uint64_t id, StreamEnder ender) {
    bool end_now = false;
    {
        std::lock_guard lock(mu_);
        auto it = streams_.find(id);
        if (it == streams_.end()) return;
        if (it->second.ended) {
            end_now = true;
        } else {
            it->second.ender = ender;
        }
    }
    if (end_now && ender) ender(kSessionEnded, "Your session has ended. Please log in again.");
}

void StreamRegistry::CollectEnders(const std::string& session_key, std::vector<StreamEnder>& out) {
    sessions_.erase(session_key);
    for (auto& [id, entry] : streams_) {
        if (entry.session_key != session_key || entry.ended) continue;
        entry.ended = true;
        if (entry.ender) out.push_back(std::move(entry.ender));
        entry.ender = nullptr;
    }
}

int StreamRegistry::EndSession(const std::string& session_key, const std::string& reason) {
    std::vector<StreamEnder> enders;
    {
        std::lock_guard lock(mu_);
        CollectEnders(session_key, enders);
    }
    for (auto& end : enders) end(kSessionEnded, reason);
    return static_cast<int>(enders.size());
}

int StreamRegistry::Sweep(StreamTime now, std::chrono::milliseconds recheck, const SessionCheck& check,
                          const std::string& reason) {
    std::vector<std::string> due;
    {
        std::lock_guard lock(mu_);
        for (const auto& [key, session] : sessions_) {
            if (session.ends_at <= now || session.checked_at == StreamTime::min() ||
                session.checked_at + recheck <= now) {
                due.push_back(key);
            }
        }
    }
    std::vector<StreamEnder> enders;
    for (const std::string& key : due) {
        const std::optional<StreamTime> ends_at = check(key);
        std::lock_guard lock(mu_);
        if (!ends_at || *ends_at <= now) {
            CollectEnders(key, enders);
        } else if (auto s = sessions_.find(key); s != sessions_.end()) {
            s->second.ends_at = *ends_at;
            s->second.checked_at = now;
        }
    }
    for (auto& end : enders) end(kSessionEnded, reason);
    return static_cast<int>(enders.size());
}

size_t StreamRegistry::open_streams() const {
    std::lock_guard lock(mu_);
    return streams_.size();
}

size_t StreamRegistry::streams_of(int64_t user) const {
    std::lock_guard lock(mu_);
    auto it = per_user_.find(user);
    return it == per_user_.end() ? 0 : it->second;
}

}  // namespace vg::live
