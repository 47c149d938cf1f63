#pragma once
// TempDir: a fresh directory that is removed (recursively) when the object goes away.
//
// Created with mkdtemp under $TMPDIR (or /tmp). Set VG_KEEP_TEMP=1 to keep
// the directories of a failing run for inspection.
// Thread-safety: distinct objects from any thread. Move-only; the moved-from
// object owns nothing.

#include <filesystem>
#include <string>
#include <string_view>

namespace vg::testing {

class TempDir {
  public:
    // Throws std::runtime_error when the directory cannot be created.
    explicit TempDir(std::string_view prefix = "vg-test");
    ~TempDir();
    TempDir(TempDir&& other) noexcept;
    TempDir& operator=(TempDir&& other) noexcept;
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    // path() / name, as a string (convenient for command-line arguments).
    [[nodiscard]] std::string file(std::string_view name) const;

  private:
    void Remove() noexcept;

    std::filesystem::path path_;
};

}  // namespace vg::testing
