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

// Checks that a Qualtrics certificate id can be a storage key and a path segment: 1 to 256
// characters, letters, digits, '_', '.', '@' and '-', starting and ending with a letter, digit
// or '_'. Records exist only under such ids.
inline bool IsStorableCertId(std::string_view id) {
  auto is_word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  if (id.empty() || id.size() > 256 || !is_word(id.front()) || !is_word(id.back())) return false;
  for (char c : id) {
    if (!is_word(c) && c != '.' && c != '@' && c != '-') return false;
  }
  return true;
}
inline std::string WalKey(std::string_view id) { return std::string(kWalPrefix).append(id); }

}  // namespace vault_qualtrics

#endif  // BACKEND_STORAGE_KEYS_H_
