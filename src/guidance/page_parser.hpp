#pragma once
// Parsing of one knowledge page (Markdown with a small front matter); private to the module.
// The format is documented for clinicians in docs/guidance.md.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vg/common/status.hpp"
#include "vg/guidance/knowledge_base.hpp"

namespace vg::guidance::internal {

// Parses `text`, the content of `file` (path relative to the knowledge directory, e.g.
// "en/fall.md"; its first component, when there is one, must equal the page's language). Appends one
// FieldError per problem to `problems`, with field "<file>:<field>"; returns the page only when it
// has none.
std::optional<Page> ParsePage(std::string_view text, const std::string& file, std::vector<FieldError>& problems);

// Whitespace trimmed from both ends.
std::string_view Trim(std::string_view s);

}  // namespace vg::guidance::internal
