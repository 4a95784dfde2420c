// The plugin's TLS identity for go-plugin's automatic mutual TLS: a fresh key pair and a
// self-signed certificate per process start. The same certificate is the server certificate
// Vault pins from the handshake line and the client certificate presented when dialing Vault's
// brokered Storage/SystemView listener.
#ifndef PLUGIN_TLS_IDENTITY_H_
#define PLUGIN_TLS_IDENTITY_H_

#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace vault_qualtrics {

// A std::string for key material that overwrites its bytes when destroyed. Copies made by
// callers (gRPC keeps its own) are outside this guarantee.
class SecretString {
 public:
  SecretString() = default;
  explicit SecretString(std::string value) : value_(std::move(value)) {}
  SecretString(const SecretString&) = delete;
  SecretString& operator=(const SecretString&) = delete;
  SecretString(SecretString&& other) noexcept : value_(std::move(other.value_)) { other.Clear(); }
  SecretString& operator=(SecretString&& other) noexcept;
  ~SecretString() { Clear(); }

  const std::string& value() const { return value_; }

 private:
  void Clear();

  std::string value_;
};

struct TlsIdentity {
  std::string certificate_pem;
  // The certificate's DER, for the handshake line.
  std::string certificate_der;
  // The PKCS#8 private key in PEM form.
  SecretString private_key_pem;
};

// The default lifetime of the generated certificate (see GenerateTlsIdentity).
inline constexpr absl::Duration kTlsIdentityLifetime = absl::Hours(24 * 3650);

// Generates an ECDSA P-256 key and a self-signed certificate for "localhost" (CN and DNS SAN)
// with CA:TRUE and the serverAuth and clientAuth extended key usages, valid from one minute ago
// for `lifetime`. Fails with kInternal when OpenSSL fails.
absl::StatusOr<TlsIdentity> GenerateTlsIdentity(absl::Duration lifetime = kTlsIdentityLifetime);

// Checks that `pem` holds at least one X.509 certificate and nothing unparsable before it.
// Returns kInvalidArgument naming what is wrong otherwise.
absl::Status ValidateCertificatePem(std::string_view pem);

}  // namespace vault_qualtrics

#endif  // PLUGIN_TLS_IDENTITY_H_
