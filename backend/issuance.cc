// Issue-on-read and rotation: key generation, CSR, the create at Qualtrics guarded by a
// write-ahead entry, and storing the result.
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "backend/crypto/certificate.h"
#include "backend/crypto/csr.h"
#include "backend/crypto/key.h"
#include "backend/engine.h"
#include "backend/logical/errors.h"
#include "backend/logical/log.h"
#include "backend/storage_keys.h"

namespace vault_qualtrics {
namespace {

std::string Rfc3339(int64_t unix_seconds) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(unix_seconds),
                          absl::UTCTimeZone());
}

Subject SubjectFor(const RoleRecord& role, const ConfigRecord& config) {
  Subject subject;
  subject.common_name = role.common_name.empty() ? config.DefaultCommonName() : role.common_name;
  subject.organization = role.organization;
  subject.organizational_unit = role.organizational_unit;
  subject.locality = role.locality;
  subject.province = role.province;
  subject.country = role.country;
  return subject;
}

void LogFailure(const std::string& role, std::string_view reason, const absl::Status& status,
                const Request& request) {
  // A failure the caller or operator can fix is logged once here at warn level, and the plugin
  // does not log it again. Server-side failures are errors.
  Log(IsClientError(status) ? LogLevel::kWarn : LogLevel::kError, "certificate issuance failed",
      {{"event", "failed"},
       {"operation", std::string(reason)},
       {"role", role},
       {"error", std::string(status.message())},
       {"request_id", request.id},
       {"entity_id", request.entity_id}});
}

}  // namespace

absl::StatusOr<std::shared_ptr<const RoleRecord>> Engine::RequireRole(const std::string& name,
                                                                      const Request& request) {
  absl::StatusOr<std::shared_ptr<const RoleRecord>> role = LoadRole(name);
  if (!role.ok()) return role.status();
  if (*role == nullptr) {
    return absl::NotFoundError(absl::StrCat("role \"", name, "\" does not exist; create it with ",
                                            "`vault write ", request.mount_point, "roles/", name,
                                            "`"));
  }
  return role;
}

absl::StatusOr<ServedCertificate> Engine::ReadCertificate(const std::string& role_name,
                                                          const Request& request) {
  absl::StatusOr<std::shared_ptr<const RoleRecord>> role = RequireRole(role_name, request);
  if (!role.ok()) return role.status();
  absl::StatusOr<std::shared_ptr<const CertRecord>> current = LoadCurrent(role_name, true);
  if (!current.ok()) return current.status();
  if (*current != nullptr && !NeedsRenewal(**current, **role)) {
    ServedCertificate served;
    served.record = *current;
    served.from_storage = true;
    return served;
  }
  // Issuing writes storage, which only the active node may do: Vault forwards on this error.
  if (IsPerformanceStandby()) return ReadOnlyError();

  // Join the role's running issuance, or start one that later readers join.
  std::promise<CertResult> promise;
  std::shared_future<CertResult> shared;
  bool leader = false;
  {
    std::lock_guard<std::mutex> lock(inflight_mu_);
    auto running = inflight_.find(role_name);
    if (running != inflight_.end()) {
      shared = running->second;
    } else {
      shared = promise.get_future().share();
      inflight_[role_name] = shared;
      leader = true;
    }
  }
  if (!leader) return shared.get();

  CertResult result =
      IssueIfNeeded(role_name, request, *current == nullptr ? "initial" : "renewal");
  promise.set_value(result);
  std::lock_guard<std::mutex> lock(inflight_mu_);
  inflight_.erase(role_name);
  return result;
}

absl::StatusOr<ServedCertificate> Engine::Rotate(const std::string& role_name,
                                                 const Request& request) {
  absl::StatusOr<std::shared_ptr<const RoleRecord>> role = RequireRole(role_name, request);
  if (!role.ok()) return role.status();
  if (IsPerformanceStandby()) return ReadOnlyError();
  absl::StatusOr<std::shared_ptr<const ConfigRecord>> config = RequireConfig(request);
  if (!config.ok()) return config.status();

  std::lock_guard<std::mutex> role_lock(RoleMutex(role_name));
  absl::StatusOr<std::shared_ptr<const CertRecord>> current = LoadCurrent(role_name, false);
  if (!current.ok()) return current.status();
  return IssueLocked(**config, **role, *current, request, "rotation");
}

Engine::CertResult Engine::IssueIfNeeded(const std::string& role_name, const Request& request,
                                         std::string_view reason) {
  std::lock_guard<std::mutex> role_lock(RoleMutex(role_name));
  absl::StatusOr<std::shared_ptr<const ConfigRecord>> config = RequireConfig(request);
  if (!config.ok()) return config.status();
  absl::StatusOr<std::shared_ptr<const RoleRecord>> role = LoadRole(role_name);
  if (!role.ok()) return role.status();
  if (*role == nullptr)
    return absl::NotFoundError(absl::StrCat("role \"", role_name, "\" was deleted"));

  // A rotation may have finished while this reader waited for the role's mutex.
  absl::StatusOr<std::shared_ptr<const CertRecord>> current = LoadCurrent(role_name, false);
  if (!current.ok()) return current.status();
  if (*current != nullptr && !NeedsRenewal(**current, **role)) {
    ServedCertificate served;
    served.record = *current;
    served.from_storage = true;
    return served;
  }
  return IssueLocked(**config, **role, *current, request, reason);
}

Engine::CertResult Engine::IssueLocked(const ConfigRecord& config, const RoleRecord& role,
                                       std::shared_ptr<const CertRecord> previous,
                                       const Request& request, std::string_view reason) {
  std::vector<std::string> warnings;

  // Quota: the mount counts the slots its records occupy. At the limit it frees one of its own
  // expired or superseded certificates before it requests a new one.
  absl::StatusOr<std::vector<std::string>> held_ids = ListCertIds();
  if (!held_ids.ok()) return held_ids.status();
  if (static_cast<int64_t>(held_ids->size()) >= config.max_active_certificates) {
    absl::StatusOr<bool> freed = FreeOneSlot(request, role.name, warnings);
    if (!freed.ok()) return freed.status();
    if (!*freed) {
      absl::Status status = QuotaError(config, absl::OkStatus(), request);
      LogFailure(role.name, reason, status, request);
      return status;
    }
  }

  // Key and CSR. The key stays in this process and in storage; only the CSR is sent.
  absl::StatusOr<KeySpec> spec = ParseKeySpec(role.key_type, static_cast<int>(role.key_bits));
  if (!spec.ok()) return spec.status();
  absl::StatusOr<SignatureDigest> digest = ParseSignatureDigest(role.signature_digest);
  if (!digest.ok()) return digest.status();
  absl::StatusOr<PrivateKey> key = GenerateKey(*spec);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> csr = CreateCsrPem(*key, SubjectFor(role, config), *digest);
  if (!csr.ok()) return csr.status();
  absl::StatusOr<std::string> fingerprint = key->PublicKeyFingerprintSha256();
  if (!fingerprint.ok()) return fingerprint.status();
  absl::StatusOr<std::shared_ptr<CertificateAuthority>> client = Client(config);
  if (!client.ok()) return client.status();

  // Write-ahead entry: if this process dies after the create, rollback finds the certificate
  // by this public key and revokes it, so no slot leaks.
  WalRecord wal;
  wal.id = NewRandomId();
  wal.role = role.name;
  wal.public_key_fingerprint = *fingerprint;
  wal.created_at = Now();
  wal.instance_id = instance_id_;
  {
    std::lock_guard<std::mutex> lock(inflight_mu_);
    active_wal_.insert(wal.id);
  }
  struct WalRelease {
    Engine* engine;
    std::string id;
    ~WalRelease() {
      std::lock_guard<std::mutex> lock(engine->inflight_mu_);
      engine->active_wal_.erase(id);
    }
  } release{this, wal.id};
  if (absl::Status status = storage_->Put(WalKey(wal.id), EncodeWal(wal)); !status.ok()) {
    return status;
  }
  auto drop_wal = [&]() {
    absl::Status status = storage_->Delete(WalKey(wal.id));
    if (!status.ok()) {
      Log(LogLevel::kWarn, "write-ahead entry not deleted; periodic rollback will clear it",
          {{"wal_id", wal.id}, {"error", std::string(status.message())}});
    }
  };

  // Create at Qualtrics.
  absl::StatusOr<IssuedCertificate> created = (*client)->Create(*csr, *fingerprint);
  if (!created.ok() && IsQuotaFull(created.status())) {
    // Other clients of the organization fill the remaining slots: free one of ours, retry once.
    absl::StatusOr<bool> freed = FreeOneSlot(request, role.name, warnings);
    if (freed.ok() && *freed) {
      created = (*client)->Create(*csr, *fingerprint);
      if (!created.ok() && IsQuotaFull(created.status())) {
        drop_wal();
        absl::Status status = QuotaError(config, created.status(), request);
        LogFailure(role.name, reason, status, request);
        return status;
      }
    } else {
      drop_wal();
      absl::Status status =
          freed.ok() ? QuotaError(config, created.status(), request) : freed.status();
      LogFailure(role.name, reason, status, request);
      return status;
    }
  }
  if (!created.ok() && IsCreateOutcomeUnknown(created.status())) {
    // The request may have created a certificate: look for it before anything else happens.
    absl::StatusOr<std::vector<HeldCertificate>> listed = (*client)->List();
    const HeldCertificate* found = nullptr;
    if (listed.ok()) {
      for (const HeldCertificate& candidate : *listed) {
        if (candidate.public_key_fingerprint == *fingerprint) found = &candidate;
      }
    }
    if (found != nullptr && !found->certificate_pem.empty()) {
      IssuedCertificate adopted;
      adopted.id = found->id;
      adopted.certificate_pem = found->certificate_pem;
      created = std::move(adopted);
    } else {
      // Keep the write-ahead entry: the certificate may still appear, and rollback revokes it.
      absl::Status status = absl::UnavailableError(absl::StrCat(
          "the create request for role ", role.name,
          " got no usable answer from Qualtrics and no certificate for the new key is listed "
          "yet (",
          std::string(created.status().message()),
          "); the engine revokes it if it appears later. Retry the read"));
      LogFailure(role.name, reason, status, request);
      return status;
    }
  }
  if (!created.ok()) {
    drop_wal();
    LogFailure(role.name, reason, created.status(), request);
    return created.status();
  }

  // Check what came back before keeping it: the certificate must carry our public key.
  absl::StatusOr<bool> matches = CertificateMatchesKey(created->certificate_pem, *key);
  absl::StatusOr<CertificateInfo> info = ParseCertificatePem(created->certificate_pem);
  absl::Status invalid;
  if (!matches.ok() || !info.ok()) {
    invalid = absl::InternalError("Qualtrics returned a certificate that cannot be parsed");
  } else if (!*matches) {
    invalid = absl::InternalError("Qualtrics returned a certificate for a different key");
  } else if (!IsStorableCertId(created->id)) {
    invalid = absl::InternalError("Qualtrics returned a certificate id that is not a plain name");
  }
  if (!invalid.ok()) {
    absl::Status deleted = (*client)->Delete(created->id);
    if (deleted.ok() || deleted.code() == absl::StatusCode::kNotFound) drop_wal();
    LogFailure(role.name, reason, invalid, request);
    return invalid;
  }
  wal.qualtrics_id = created->id;
  if (absl::Status status = storage_->Put(WalKey(wal.id), EncodeWal(wal)); !status.ok()) {
    Log(LogLevel::kWarn, "write-ahead entry not updated with the certificate id",
        {{"wal_id", wal.id}, {"error", std::string(status.message())}});
  }

  // Store the certificate and key, then retire the previous certificate.
  CertRecord record;
  record.id = created->id;
  record.role = role.name;
  record.state = std::string(kStateCurrent);
  record.certificate_pem = info->certificate_pem;
  absl::StatusOr<SecretBytes> key_pem = key->ToPkcs8Pem();
  if (!key_pem.ok()) return key_pem.status();
  record.private_key_pem = *std::move(key_pem);
  record.key_exportable = role.allow_key_export;
  record.serial_number = info->serial_number;
  record.not_before = info->not_before;
  record.not_after = info->not_after;
  record.subject = info->subject;
  record.issuer = info->issuer;
  record.public_key_fingerprint = *fingerprint;
  record.key_type = std::string(KeyTypeName(spec->type));
  record.key_bits = spec->bits;
  record.key_label = KeySpecLabel(*spec);
  record.issued_at = Now();
  record.qualtrics_request_id = created->request_id;
  record.notice = created->notice;
  if (absl::Status status = PutCert(record, /*also_current=*/false); !status.ok()) {
    // Without a record the certificate would occupy a slot that no record accounts for, so it
    // is revoked now. When that fails too, the write-ahead entry stays for rollback.
    absl::Status deleted = (*client)->Delete(record.id);
    if (deleted.ok() || deleted.code() == absl::StatusCode::kNotFound) drop_wal();
    LogFailure(role.name, reason, status, request);
    return status;
  }
  if (previous != nullptr && previous->id != record.id) {
    CertRecord superseded = previous->Clone();
    superseded.state = std::string(kStateSuperseded);
    superseded.superseded_at = Now();
    superseded.revoke_after = Now() + role.revoke_grace_seconds;
    absl::Status status = PutCert(superseded, false);
    if (!status.ok()) {
      warnings.push_back(absl::StrCat(
          "the previous certificate ", previous->id,
          " could not be marked superseded: ", std::string(status.message()),
          "; revoke it with `vault delete ", request.mount_point, "certs/", previous->id, "`"));
    }
  }
  if (absl::Status status = PutCert(record, /*also_current=*/true); !status.ok()) {
    // certs/<id> contains the record, so the slot is accounted for. The next read retries.
    drop_wal();
    LogFailure(role.name, reason, status, request);
    return status;
  }
  drop_wal();
  for (std::string& warning : EnforceRoleLimit(role, request))
    warnings.push_back(std::move(warning));

  if (!created->notice.empty()) {
    Log(LogLevel::kWarn, "Qualtrics returned a notice",
        {{"role", role.name}, {"notice", created->notice}, {"qualtrics_id", record.id}});
    // The notice is about the presented client certificate, which belongs to the mTLS role.
    // Renewing that role is the backstop for a renew window shorter than the notice period.
    if (!config.mtls_role.empty() && config.mtls_role != role.name) {
      std::lock_guard<std::mutex> lock(cache_mu_);
      mtls_renewal_requested_ = true;
    }
  }
  if (role.name == config.mtls_role) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    mtls_renewal_requested_ = false;
  }

  Log(LogLevel::kInfo, reason == "rotation" ? "certificate rotated" : "certificate issued",
      {{"event", reason == "rotation" ? "rotated" : "issued"},
       {"reason", std::string(reason)},
       {"role", role.name},
       {"qualtrics_id", record.id},
       {"serial_number", record.serial_number},
       {"expiration", Rfc3339(record.not_after)},
       {"superseded_id", previous ? previous->id : ""},
       {"qualtrics_request_id", record.qualtrics_request_id},
       {"request_id", request.id},
       {"entity_id", request.entity_id}});

  ServedCertificate served;
  served.record = std::make_shared<const CertRecord>(std::move(record));
  served.from_storage = false;
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    current_[role.name] = served.record;
  }
  served.warnings = std::move(warnings);
  return served;
}

}  // namespace vault_qualtrics
