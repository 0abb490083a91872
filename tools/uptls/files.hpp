#pragma once
// Reading and writing the files the commands keep (certificates, keys).

#include <filesystem>
#include <string>

namespace uptls::cli {

/// The whole file at path.
/// @throws std::runtime_error when it cannot be read.
std::string read_text(const std::filesystem::path& path);

/// Writes text to path; a key (private) is readable by its owner only.
/// @throws std::system_error when it cannot be written.
void write_file(const std::filesystem::path& path, const std::string& text, bool private_key);

}  // namespace uptls::cli
