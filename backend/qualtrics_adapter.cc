#include "backend/qualtrics_adapter.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "backend/qualtrics/client.h"

namespace vault_qualtrics {
namespace {

class QualtricsCertificateAuthority : public CertificateAuthority {
 public:
  explicit QualtricsCertificateAuthority(std::unique_ptr<QualtricsClient> client)
      : client_(std::move(client)) {}

  absl::StatusOr<IssuedCertificate> Create(std::string_view csr_pem,
                                           std::string_view public_key_fingerprint) override {
    absl::StatusOr<CreatedCertificate> created =
        client_->CreateCertificate(csr_pem, public_key_fingerprint);
    if (!created.ok()) {
      absl::Status status = created.status();
      if (IsOutcomeUnknown(status)) status = MarkCreateOutcomeUnknown(std::move(status));
      if (IsQuotaExceeded(status)) status = MarkQuotaFull(std::move(status));
      return status;
    }
    IssuedCertificate issued;
    issued.id = created->id;
    issued.certificate_pem = created->certificate_pem;
    issued.request_id = created->request_id;
    issued.notice = created->notice;
    return issued;
  }

  absl::StatusOr<std::vector<HeldCertificate>> List() override {
    absl::StatusOr<std::vector<RemoteCertificate>> listed = client_->ListCertificates();
    if (!listed.ok()) return listed.status();
    std::vector<HeldCertificate> held;
    held.reserve(listed->size());
    for (RemoteCertificate& remote : *listed) {
      HeldCertificate item;
      item.id = std::move(remote.id);
      item.certificate_pem = std::move(remote.certificate_pem);
      item.public_key_fingerprint = std::move(remote.public_key_fingerprint);
      item.expires_at = remote.expires_at;
      held.push_back(std::move(item));
    }
    return held;
  }

  // A 404 means "already gone" to the engine, which then drops its record. A wrong delete_path
  // also gives 404, so a 404 counts only when a list no longer shows the certificate.
  absl::Status Delete(std::string_view id) override {
    absl::Status deleted = client_->DeleteCertificate(id);
    if (deleted.code() != absl::StatusCode::kNotFound) return deleted;
    absl::StatusOr<std::vector<RemoteCertificate>> listed = client_->ListCertificates();
    if (!listed.ok()) {
      return absl::UnavailableError(absl::StrCat(
          "deleting certificate \"", std::string(id),
          "\" at Qualtrics returned 404 Not Found, and listing the certificates to confirm it is "
          "gone failed: ",
          listed.status().message()));
    }
    for (const RemoteCertificate& remote : *listed) {
      if (remote.id != id) continue;
      return absl::FailedPreconditionError(absl::StrCat(
          "deleting certificate \"", std::string(id),
          "\" at Qualtrics returned 404 Not Found, but Qualtrics still lists it, so delete_path "
          "is probably wrong. Set delete_path in config to the path of the Qualtrics API that "
          "deletes a client certificate"));
    }
    return deleted;
  }

 private:
  std::unique_ptr<QualtricsClient> client_;
};

}  // namespace

CertificateAuthorityFactory QualtricsCertificateAuthorityFactory() {
  return
      [](const ConfigRecord& config,
         const ClientIdentity* identity) -> absl::StatusOr<std::shared_ptr<CertificateAuthority>> {
        ClientOptions options;
        options.base_url = config.EffectiveBaseUrl();
        options.organization_id = config.organization_id;
        if (!config.oauth_client_id.empty()) {
          OAuthCredentials oauth;
          oauth.token_url = config.EffectiveTokenUrl();
          oauth.client_id = config.oauth_client_id;
          oauth.client_secret = config.oauth_client_secret.Copy();
          oauth.scope = config.oauth_scope;
          options.oauth = std::move(oauth);
        } else {
          options.api_token = config.api_token.Copy();
        }
        options.ca_bundle_pem = config.ca_bundle;
        options.server_name = config.tls_server_name;
        if (identity != nullptr) {
          options.client_certificate_pem = identity->certificate_pem;
          options.client_key_pem = identity->private_key_pem.Copy();
        }
        options.connect_timeout = absl::Seconds(config.connect_timeout_seconds);
        options.request_timeout = absl::Seconds(config.request_timeout_seconds);
        options.retry.max_retries = static_cast<int>(config.max_retries);
        if (!config.create_path.empty()) options.paths.create = config.create_path;
        if (!config.list_path.empty()) options.paths.list = config.list_path;
        if (!config.delete_path.empty()) options.paths.remove = config.delete_path;

        absl::StatusOr<std::unique_ptr<QualtricsClient>> client =
            NewQualtricsClient(std::move(options));
        if (!client.ok()) return client.status();
        return std::make_shared<QualtricsCertificateAuthority>(*std::move(client));
      };
}

}  // namespace vault_qualtrics
