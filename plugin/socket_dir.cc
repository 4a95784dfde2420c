#include "plugin/socket_dir.h"

#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace vault_qualtrics {
namespace {

constexpr char kSocketName[] = "plugin.sock";

std::string ErrnoText(int error) { return std::string(strerror(error)); }

}  // namespace

absl::StatusOr<gid_t> ResolveGroup(std::string_view group) {
  std::string name(group);
  uint32_t gid = 0;
  if (absl::SimpleAtoi(name, &gid)) return static_cast<gid_t>(gid);

  struct group entry;
  struct group* found = nullptr;
  std::vector<char> buffer(16384);
  int error = getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (error != 0 || found == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("PLUGIN_UNIX_SOCKET_GROUP: group \"", name,
                     "\" not found; set a group name or numeric gid"));
  }
  return found->gr_gid;
}

absl::StatusOr<std::unique_ptr<SocketDirectory>> SocketDirectory::Create(std::string_view parent,
                                                                         std::string_view group) {
  std::optional<gid_t> gid;
  if (!group.empty()) {
    absl::StatusOr<gid_t> resolved = ResolveGroup(group);
    if (!resolved.ok()) return resolved.status();
    gid = *resolved;
  }

  std::string parent_dir(parent);
  while (parent_dir.size() > 1 && parent_dir.back() == '/') parent_dir.pop_back();
  std::string template_path = absl::StrCat(parent_dir, "/vault-plugin-XXXXXX");
  size_t socket_path_length = template_path.size() + 1 + sizeof(kSocketName) - 1;
  if (socket_path_length >= sizeof(sockaddr_un{}.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "socket directory \"", parent_dir, "\" is too long for a Unix socket path (max ",
        sizeof(sockaddr_un{}.sun_path) - 1,
        " bytes); set PLUGIN_UNIX_SOCKET_DIR to a shorter path"));
  }

  // mkdtemp creates the directory with mode 0700.
  std::vector<char> path(template_path.begin(), template_path.end());
  path.push_back('\0');
  if (mkdtemp(path.data()) == nullptr) {
    int error = errno;
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot create the socket directory in \"", parent_dir, "\": ", ErrnoText(error),
        "; set PLUGIN_UNIX_SOCKET_DIR to a writable directory"));
  }
  std::unique_ptr<SocketDirectory> dir(new SocketDirectory(path.data(), gid));

  if (gid.has_value()) {
    if (chown(dir->directory_.c_str(), static_cast<uid_t>(-1), *gid) != 0 ||
        chmod(dir->directory_.c_str(), 0750) != 0) {
      int error = errno;
      return absl::FailedPreconditionError(absl::StrCat("cannot give group ", *gid, " access to \"",
                                                        dir->directory_, "\": ", ErrnoText(error)));
    }
  }
  return dir;
}

SocketDirectory::SocketDirectory(std::string directory, std::optional<gid_t> group)
    : directory_(std::move(directory)),
      socket_path_(absl::StrCat(directory_, "/", kSocketName)),
      group_(group) {}

SocketDirectory::~SocketDirectory() {
  unlink(socket_path_.c_str());
  rmdir(directory_.c_str());
}

absl::Status SocketDirectory::RestrictSocket() const {
  if (group_.has_value()) {
    if (chown(socket_path_.c_str(), static_cast<uid_t>(-1), *group_) != 0 ||
        chmod(socket_path_.c_str(), 0660) != 0) {
      int error = errno;
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot give group ", *group_, " access to \"", socket_path_, "\": ", ErrnoText(error)));
    }
    return absl::OkStatus();
  }
  if (chmod(socket_path_.c_str(), 0600) != 0) {
    int error = errno;
    return absl::FailedPreconditionError(
        absl::StrCat("cannot restrict \"", socket_path_, "\": ", ErrnoText(error)));
  }
  return absl::OkStatus();
}

}  // namespace vault_qualtrics
