#pragma once
// Reading and writing the files the commands keep (certificates, keys).

#include <filesystem>
#include <functional>
#include <string>

#include "uptls/tls/authority.hpp"

namespace uptls::cli {

/// The whole file at path.
/// @throws std::runtime_error when it cannot be read.
std::string read_text(const std::filesystem::path& path);

/// Who may read a file written.
enum class Readers { anyone, owner_only };

/// What to do when the file to write exists.
enum class Existing { refuse, replace };

/// Writes text to path as one step: into a new temporary file beside it
/// (created with O_EXCL|O_NOFOLLOW and its final mode from the start: 0600
/// for owner_only, 0644 otherwise), then renamed into place. A reader sees
/// the old file or the whole new one, never part of one, and a symlink
/// planted at path is replaced, never written through.
/// @throws std::system_error when it cannot be written, or (errc::file_exists)
///         when path exists and existing is refuse; either way path is as
///         it was.
void write_file(const std::filesystem::path& path, const std::string& text, Readers readers,
                Existing existing);

/// The development CA kept at cert (its certificate) and key: read when
/// both exist, made and written when neither does (the key first, owner
/// only; then the certificate), so that every run with the same files signs
/// with the same CA and clients keep trusting it. say is told which.
/// @throws std::runtime_error when only one of the two exists (nothing is
///         replaced), or a file cannot be read or written.
tls::DevAuthority kept_authority(const std::filesystem::path& cert,
                                 const std::filesystem::path& key, const std::string& common_name,
                                 const std::function<void(const std::string&)>& say);

}  // namespace uptls::cli
