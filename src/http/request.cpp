// Request/Response helpers: plain lookups over the parsed message (no Beast here).

#include <algorithm>
#include <cctype>

#include "vg/http/server.hpp"

namespace vg::http {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
    });
}

}  // namespace

std::string_view Request::header(std::string_view name) const {
    for (const Header& h : headers) {
        // Names are stored lower-case, but callers may ask in any case ("X-CSRF-Token").
        if (EqualsIgnoreCase(h.name, name)) return h.value;
    }
    return {};
}

const std::string* Request::query_param(std::string_view name) const {
    for (const auto& [key, value] : query) {
        if (key == name) return &value;
    }
    return nullptr;
}

void Response::set_header(std::string name, std::string value) {
    auto same = [&](const Header& h) { return EqualsIgnoreCase(h.name, name); };
    auto it = std::find_if(headers.begin(), headers.end(), same);
    if (it == headers.end()) {
        headers.push_back(Header{std::move(name), std::move(value)});
        return;
    }
    // "Replaces" means exactly one header of that name remains.
    headers.erase(std::remove_if(std::next(it), headers.end(), same), headers.end());
    it->name = std::move(name);
    it->value = std::move(value);
}

std::pair<Response, Responder> Response::Later(std::chrono::milliseconds timeout, Response on_timeout) {
    auto pending = std::make_shared<internal::PendingResponse>(timeout, std::move(on_timeout));
    Response placeholder;
    placeholder.pending = pending;
    return {std::move(placeholder), Responder(std::move(pending))};
}

void Response::OnAnswer(std::function<void(Response&)> finish) { pending->AddFinisher(std::move(finish)); }

void Responder::Send(Response response) const { pending_->Answer(std::move(response)); }

namespace internal {

void PendingResponse::AddFinisher(std::function<void(Response&)> finish) {
    std::lock_guard lock(mu_);
    finishers_.push_back(std::move(finish));
}

void PendingResponse::Answer(Response response) {
    std::lock_guard lock(mu_);
    if (answered_) return;
    answered_ = true;
    answer_ = std::move(response);
    DeliverLocked();
}

void PendingResponse::OnDelivery(std::function<void(Response)> deliver) {
    std::lock_guard lock(mu_);
    deliver_ = std::move(deliver);
    DeliverLocked();
}

void PendingResponse::Abandon() {
    std::lock_guard lock(mu_);
    abandoned_ = true;
    answer_.reset();
    deliver_ = nullptr;  // what it holds (the connection) is released now
    finishers_.clear();
}

void PendingResponse::DeliverLocked() {
    if (abandoned_ || !answer_ || !deliver_) return;
    Response response = std::move(*answer_);
    answer_.reset();
    for (auto& finish : finishers_) finish(response);
    finishers_.clear();
    auto deliver = std::move(deliver_);
    deliver_ = nullptr;
    deliver(std::move(response));
}

}  // namespace internal

}  // namespace vg::http
