// The environment that Vault's plugin host (HashiCorp go-plugin) sets on the plugin process, and
// the choice of protocol version from what the host offers.
#ifndef PLUGIN_ENVIRONMENT_H_
#define PLUGIN_ENVIRONMENT_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace vault_qualtrics {

// go-plugin's magic cookie for Vault backend plugins. It only tells a plugin that Vault started
// it; it is not a secret.
inline constexpr std::string_view kMagicCookieKey = "VAULT_BACKEND_PLUGIN";
inline constexpr std::string_view kMagicCookieValue = "6669da05-b1c8-4f49-97d9-c8e5bed98e20";

// go-plugin's core protocol version, the first field of the handshake line.
inline constexpr int kCoreProtocolVersion = 1;
// The only Vault backend protocol version served: 5, with automatic mutual TLS and mount
// multiplexing.
inline constexpr int kBackendProtocolVersion = 5;

// Looks up one environment variable; std::nullopt when it is not set.
using EnvironmentLookup = std::function<std::optional<std::string>(std::string_view name)>;

// Returns a lookup that reads the process environment.
EnvironmentLookup ProcessEnvironment();

// What the host passed to this process. Boolean variables are true only when set to "true".
struct PluginEnvironment {
  bool magic_cookie_valid = false;
  // PLUGIN_PROTOCOL_VERSIONS as set, e.g. "5" or "3,4".
  std::string protocol_versions;
  // The host's client certificate (PEM) from PLUGIN_CLIENT_CERT; empty without AutoMTLS.
  std::string client_cert_pem;
  // Where to create the socket directory: PLUGIN_UNIX_SOCKET_DIR, else TMPDIR, else /tmp.
  std::string socket_parent_dir;
  // PLUGIN_UNIX_SOCKET_GROUP: a group name or numeric gid that may connect; empty for none.
  std::string socket_group;
  // PLUGIN_MULTIPLEX_GRPC: go-plugin broker multiplexing, which Vault does not request.
  bool broker_multiplexing = false;
  // VAULT_PLUGIN_AUTOMTLS_ENABLED (or OpenBao's BAO_PLUGIN_AUTOMTLS_ENABLED).
  bool automtls_enabled = false;
  // VAULT_PLUGIN_METADATA_MODE (or BAO_PLUGIN_METADATA_MODE).
  bool metadata_mode = false;
  // Whether VAULT_UNWRAP_TOKEN (or BAO_UNWRAP_TOKEN) is set: the legacy TLS set-up of protocol 4.
  bool has_unwrap_token = false;
  // VAULT_PLUGIN_MLOCK_ENABLED (or BAO_PLUGIN_MLOCK_ENABLED).
  bool mlock_enabled = false;
  // VAULT_VERSION (or BAO_VERSION); empty when not set.
  std::string vault_version;
};

PluginEnvironment ReadPluginEnvironment(const EnvironmentLookup& lookup);

// Picks the protocol version from the host's comma-separated offer. Returns
// kBackendProtocolVersion when offered, and kFailedPrecondition with a message naming the
// Vault and OpenBao releases that offer it otherwise. Entries that are not numbers are ignored,
// as go-plugin's Go server does.
absl::StatusOr<int> NegotiateProtocolVersion(std::string_view offered);

}  // namespace vault_qualtrics

#endif  // PLUGIN_ENVIRONMENT_H_
