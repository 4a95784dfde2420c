// Storage keys of the engine, relative to the mount. Every value is a JSON record with a
// "version" field (see records.h).
#ifndef BACKEND_STORAGE_KEYS_H_
#define BACKEND_STORAGE_KEYS_H_

#include <string>
#include <string_view>

namespace vault_qualtrics {

// The connection config: endpoint, organization, credentials, limits.
inline constexpr std::string_view kConfigKey = "config";
// Prefix of role definitions: role/<name>.
inline constexpr std::string_view kRolePrefix = "role/";
// Prefix of each role's current certificate: cert/<role>/current, a copy of certs/<id>.
inline constexpr std::string_view kCurrentCertPrefix = "cert/";
inline constexpr std::string_view kCurrentCertSuffix = "/current";
// Prefix of every certificate this mount holds at Qualtrics, with its key: certs/<id>.
inline constexpr std::string_view kCertsPrefix = "certs/";
// Prefix of write-ahead entries for creates at Qualtrics not yet stored: wal/<id>.
inline constexpr std::string_view kWalPrefix = "wal/";

inline std::string RoleKey(std::string_view name) { return std::string(kRolePrefix).append(name); }
inline std::string CurrentCertKey(std::string_view role) {
  return std::string(kCurrentCertPrefix).append(role).append(kCurrentCertSuffix);
}
inline std::string CertKey(std::string_view id) { return std::string(kCertsPrefix).append(id); }
inline std::string WalKey(std::string_view id) { return std::string(kWalPrefix).append(id); }

}  // namespace vault_qualtrics

#endif  // BACKEND_STORAGE_KEYS_H_
