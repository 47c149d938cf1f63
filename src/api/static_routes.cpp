// The web dashboard's built files (web/dist), served from the same origin as the API.
#include <cctype>
#include <fstream>
#include <sstream>

#include "api_impl.hpp"

namespace vg::api {
namespace {

// The dashboard talks only to its own origin (fetch and the WebSocket); styles may be set by script
// (ECharts, React's style props) but no inline <script> or foreign resource is allowed.
constexpr std::string_view kDashboardPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'";

std::string_view ContentType(std::string_view path) {
    auto ends = [&](std::string_view ext) {
        return path.size() >= ext.size() && path.substr(path.size() - ext.size()) == ext;
    };
    if (ends(".html")) return "text/html; charset=utf-8";
    if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
    if (ends(".css")) return "text/css; charset=utf-8";
    if (ends(".json") || ends(".webmanifest")) return "application/json";
    if (ends(".svg")) return "image/svg+xml";
    if (ends(".png")) return "image/png";
    if (ends(".ico")) return "image/x-icon";
    if (ends(".woff2")) return "font/woff2";
    if (ends(".txt")) return "text/plain; charset=utf-8";
    return "application/octet-stream";
}

bool SafeRelativePath(std::string_view p) {
    if (p.empty() || p.front() == '/' || p.find('\\') != std::string_view::npos ||
        p.find('\0') != std::string_view::npos) {
        return false;
    }
    size_t start = 0;
    while (start <= p.size()) {
        size_t slash = p.find('/', start);
        if (slash == std::string_view::npos) slash = p.size();
        const std::string_view part = p.substr(start, slash - start);
        if (part.empty() || part == "." || part == ".." || part.front() == '.') return false;
        start = slash + 1;
    }
    return true;
}

// Whether an Accept-Encoding header (RFC 9110 §12.5.3) accepts `coding`: named, or covered by "*",
// with a quality above zero. Codings are case-insensitive; whitespace around parts is ignored.
bool AcceptsEncoding(std::string_view header, std::string_view coding) {
    auto lower_equals = [](std::string_view a, std::string_view b) {
        if (a.size() != b.size()) return false;
        for (size_t i = 0; i < a.size(); ++i) {
            if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
        }
        return true;
    };
    auto trim = [](std::string_view v) {
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
        while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
        return v;
    };
    std::optional<bool> named, wildcard;
    while (!header.empty()) {
        const size_t comma = header.find(',');
        std::string_view item = header.substr(0, comma);
        header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
        const size_t semi = item.find(';');
        const std::string_view name = trim(item.substr(0, semi));
        bool accepted = true;
        if (semi != std::string_view::npos) {
            std::string_view param = trim(item.substr(semi + 1));
            if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
                // q=0, q=0.0, q=0.000 refuse; anything else accepts.
                const std::string_view q = trim(param.substr(2));
                accepted = q.find_first_not_of("0.") != std::string_view::npos;
            }
        }
        if (lower_equals(name, coding)) named = accepted;
        if (name == "*") wildcard = accepted;
    }
    return named.value_or(wildcard.value_or(false));
}

bool Compressible(std::string_view content_type) {
    return content_type.rfind("text/", 0) == 0 || content_type == "application/json" || content_type == "image/svg+xml";
}

std::optional<std::string> ReadFile(const std::filesystem::path& file) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) return std::nullopt;
    std::ifstream in(file, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

}  // namespace

std::optional<http::Response> Api::Impl::ServeStatic(const http::Request& request) const {
    if (options_.web_dir.empty() || (request.method != "GET" && request.method != "HEAD")) return std::nullopt;
    const std::string_view path = request.path;
    if (path == "/api" || path.rfind("/api/", 0) == 0 || path == "/healthz" || path == "/readyz" ||
        path == "/metrics") {
        return std::nullopt;  // the API's own 404s stay JSON
    }
    const std::filesystem::path root(options_.web_dir);
    std::string relative(path.size() > 1 ? path.substr(1) : std::string_view("index.html"));
    if (!relative.empty() && relative.back() == '/') relative += "index.html";
    std::optional<std::string> body;
    std::string served = relative;
    if (SafeRelativePath(relative)) body = ReadFile(root / relative);
    const bool is_asset = relative.rfind("assets/", 0) == 0;
    if (!body) {
        // A missing hashed asset is a 404; any other path is a page of the single-page app.
        if (is_asset || relative.find('.') != std::string::npos) return std::nullopt;
        body = ReadFile(root / "index.html");
        served = "index.html";
        if (!body) return std::nullopt;
    }
    http::Response r;
    r.status = 200;
    const std::string_view content_type = ContentType(served);
    r.set_header("Content-Type", std::string(content_type));
    if (Compressible(content_type)) {
        // The build writes <file>.br and <file>.gz beside every text file worth compressing
        // (web/scripts/precompress.mjs): served as they are, so no request pays for compression.
        r.set_header("Vary", "Accept-Encoding");
        const std::string_view accept = request.header("accept-encoding");
        for (auto [coding, suffix] : {std::pair{"br", ".br"}, std::pair{"gzip", ".gz"}}) {
            if (!AcceptsEncoding(accept, coding)) continue;
            if (auto compressed = ReadFile(root / (served + suffix))) {
                body = std::move(compressed);
                r.set_header("Content-Encoding", coding);
                break;
            }
        }
    }
    // Vite puts a content hash in every file name under assets/: cache them for a year. Pages are
    // revalidated every time, so a new deployment is picked up at once.
    r.set_header("Cache-Control", is_asset ? "public, max-age=31536000, immutable" : "no-cache");
    r.set_header("Content-Security-Policy", std::string(kDashboardPolicy));
    r.body = std::move(*body);  // for HEAD the server announces its length and sends none
    return r;
}

}  // namespace vg::api
