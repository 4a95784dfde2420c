// A private directory for the plugin's Unix socket, removed with the socket when the owner is
// destroyed.
#ifndef PLUGIN_SOCKET_DIR_H_
#define PLUGIN_SOCKET_DIR_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace vault_qualtrics {

class SocketDirectory {
 public:
  // Creates a fresh directory under `parent` (mode 0700, or 0750 owned by `group` when `group`
  // is a group name or numeric gid). Fails with kInvalidArgument for an unknown group or a path
  // too long for a socket address, and kFailedPrecondition naming `parent` when it cannot be
  // written.
  static absl::StatusOr<std::unique_ptr<SocketDirectory>> Create(std::string_view parent,
                                                                 std::string_view group);

  SocketDirectory(const SocketDirectory&) = delete;
  SocketDirectory& operator=(const SocketDirectory&) = delete;
  // Removes the socket and the directory.
  ~SocketDirectory();

  const std::string& directory() const { return directory_; }
  // Where the server should listen; nothing exists there until it does.
  const std::string& socket_path() const { return socket_path_; }

  // Sets the socket's mode once the server listens: 0600, or 0660 with the configured group.
  absl::Status RestrictSocket() const;

 private:
  SocketDirectory(std::string directory, std::optional<gid_t> group);

  std::string directory_;
  std::string socket_path_;
  std::optional<gid_t> group_;
};

// Resolves a group name or numeric gid; kInvalidArgument when no such group exists.
absl::StatusOr<gid_t> ResolveGroup(std::string_view group);

}  // namespace vault_qualtrics

#endif  // PLUGIN_SOCKET_DIR_H_
