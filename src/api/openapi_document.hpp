#pragma once
// The bytes of docs/openapi.json, embedded at build time (src/api/CMakeLists.txt writes
// openapi_document.cpp into the build tree), so that an installed server serves the document it was
// built with. Static data: valid for the program's lifetime, safe from any thread.

#include <string_view>

namespace vg::api::detail {

std::string_view OpenApiDocumentText();

}  // namespace vg::api::detail
