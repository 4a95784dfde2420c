#include "backend/engine.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "backend/logical/errors.h"
#include "backend/logical/log.h"
#include "backend/storage_keys.h"

namespace vault_qualtrics {
namespace {

int64_t SystemNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string NewRandomId() {
  static std::mutex mu;
  static std::mt19937_64 generator{std::random_device{}()};
  std::lock_guard<std::mutex> lock(mu);
  return absl::StrCat(absl::Hex(generator(), absl::kZeroPad16),
                      absl::Hex(generator(), absl::kZeroPad16));
}

namespace {

std::string Rfc3339(int64_t unix_seconds) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(unix_seconds),
                          absl::UTCTimeZone());
}

// Reads `key` and zeroes the stored text once it is decoded, since records may hold secrets.
template <typename Record, typename Decode>
absl::StatusOr<std::optional<Record>> GetRecord(Storage& storage, std::string_view key,
                                                Decode decode) {
  absl::StatusOr<std::optional<std::string>> raw = storage.Get(key);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::optional<Record>();
  absl::StatusOr<Record> record = decode(**raw);
  SecretBytes wipe = SecretBytes::TakeString(std::move(**raw));
  if (!record.ok()) {
    return absl::Status(record.status().code(),
                        absl::StrCat(std::string(record.status().message()), " (storage key ",
                                     std::string(key), ")"));
  }
  return std::optional<Record>(*std::move(record));
}

}  // namespace

Engine::Engine(EngineOptions options)
    : storage_(options.storage),
      system_view_(options.system_view),
      ca_factory_(std::move(options.ca_factory)),
      now_(options.now ? std::move(options.now) : std::function<int64_t()>(SystemNow)),
      wal_min_age_seconds_(options.wal_min_age_seconds),
      instance_id_(NewRandomId()) {}

Engine::~Engine() = default;

bool Engine::IsPerformanceStandby() const {
  if (system_view_ == nullptr) return false;
  absl::StatusOr<uint32_t> state = system_view_->ReplicationState();
  return state.ok() && (*state & kReplicationPerformanceStandby) != 0;
}

// ---------------------------------------------------------------------------------------------
// Config

absl::StatusOr<std::shared_ptr<const ConfigRecord>> Engine::LoadConfig() {
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (config_loaded_) return config_;
  }
  absl::StatusOr<std::optional<ConfigRecord>> stored =
      GetRecord<ConfigRecord>(*storage_, kConfigKey, DecodeConfig);
  if (!stored.ok()) return stored.status();
  std::shared_ptr<const ConfigRecord> config;
  if (stored->has_value()) config = std::make_shared<const ConfigRecord>(std::move(**stored));

  std::lock_guard<std::mutex> lock(cache_mu_);
  config_ = config;
  config_loaded_ = true;
  return config;
}

absl::StatusOr<std::shared_ptr<const ConfigRecord>> Engine::RequireConfig(
    const Request& request) {
  absl::StatusOr<std::shared_ptr<const ConfigRecord>> config = LoadConfig();
  if (!config.ok()) return config.status();
  if (*config == nullptr) {
    // Requests that Vault starts itself, such as rollback, carry no mount point.
    std::string mount = request.mount_point.empty() ? "<mount>/" : request.mount_point;
    return absl::FailedPreconditionError(absl::StrCat(
        "the Qualtrics connection is not configured; write the mount's config path first, e.g. "
        "`vault write ",
        mount, "config datacenter=fra1 organization_id=... api_token=...`"));
  }
  return config;
}

absl::Status Engine::SaveConfig(const ConfigRecord& config) {
  SecretBytes encoded = EncodeConfig(config);
  absl::Status status = storage_->Put(kConfigKey, encoded.view());
  Invalidate(kConfigKey);
  return status;
}

absl::Status Engine::DeleteConfig() {
  absl::Status status = storage_->Delete(kConfigKey);
  Invalidate(kConfigKey);
  return status;
}

absl::Status Engine::VerifyConnection(const ConfigRecord& config) {
  ClientIdentity identity;
  bool has_identity = false;
  if (!config.mtls_role.empty()) {
    absl::StatusOr<std::shared_ptr<const CertRecord>> current =
        LoadCurrent(config.mtls_role, /*use_cache=*/true);
    if (current.ok() && *current != nullptr && (*current)->not_after > Now()) {
      identity.certificate_pem = (*current)->certificate_pem;
      identity.private_key_pem = (*current)->private_key_pem.Copy();
      has_identity = true;
    }
  }
  absl::StatusOr<std::shared_ptr<CertificateAuthority>> client =
      ca_factory_(config, has_identity ? &identity : nullptr);
  if (!client.ok()) return client.status();
  absl::StatusOr<std::vector<HeldCertificate>> listed = (*client)->List();
  if (!listed.ok()) {
    return absl::Status(
        listed.status().code(),
        absl::StrCat("checking the connection by listing client certificates at ",
                     config.EffectiveBaseUrl(), " failed: ", std::string(listed.status().message()),
                     "; fix the config, or write it with verify_connection=false to skip the "
                     "check"));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Roles

absl::StatusOr<std::shared_ptr<const RoleRecord>> Engine::LoadRole(const std::string& name) {
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto cached = roles_.find(name);
    if (cached != roles_.end()) return cached->second;
  }
  absl::StatusOr<std::optional<RoleRecord>> stored =
      GetRecord<RoleRecord>(*storage_, RoleKey(name), DecodeRole);
  if (!stored.ok()) return stored.status();
  std::shared_ptr<const RoleRecord> role;
  if (stored->has_value()) role = std::make_shared<const RoleRecord>(std::move(**stored));

  std::lock_guard<std::mutex> lock(cache_mu_);
  roles_[name] = role;
  return role;
}

absl::Status Engine::SaveRole(const RoleRecord& role) {
  absl::Status status = storage_->Put(RoleKey(role.name), EncodeRole(role));
  Invalidate(RoleKey(role.name));
  return status;
}

absl::Status Engine::DeleteRole(const std::string& name) {
  absl::StatusOr<std::shared_ptr<const RoleRecord>> role = LoadRole(name);
  if (!role.ok()) return role.status();
  std::lock_guard<std::mutex> role_lock(RoleMutex(name));

  // The role's current certificate would otherwise hold a Qualtrics slot until it expires:
  // mark it superseded so periodic maintenance revokes it after the grace period.
  absl::StatusOr<std::shared_ptr<const CertRecord>> current = LoadCurrent(name, false);
  if (!current.ok()) return current.status();
  if (*current != nullptr) {
    CertRecord superseded = (*current)->Clone();
    superseded.state = std::string(kStateSuperseded);
    superseded.superseded_at = Now();
    superseded.revoke_after =
        Now() + (*role != nullptr ? (*role)->revoke_grace_seconds : kDefaultRevokeGraceSeconds);
    if (absl::Status status = PutCert(superseded, false); !status.ok()) return status;
    if (absl::Status status = storage_->Delete(CurrentCertKey(name)); !status.ok()) return status;
    Invalidate(CurrentCertKey(name));
  }

  absl::Status status = storage_->Delete(RoleKey(name));
  Invalidate(RoleKey(name));
  return status;
}

absl::StatusOr<std::vector<std::string>> Engine::ListRoles() { return storage_->List(kRolePrefix); }

// ---------------------------------------------------------------------------------------------
// Certificates held by the mount

absl::StatusOr<std::shared_ptr<const CertRecord>> Engine::LoadCurrent(const std::string& role,
                                                                      bool use_cache) {
  if (use_cache) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto cached = current_.find(role);
    if (cached != current_.end()) return cached->second;
  }
  absl::StatusOr<std::optional<CertRecord>> stored =
      GetRecord<CertRecord>(*storage_, CurrentCertKey(role), DecodeCert);
  if (!stored.ok()) return stored.status();
  std::shared_ptr<const CertRecord> record;
  if (stored->has_value()) record = std::make_shared<const CertRecord>(std::move(**stored));

  std::lock_guard<std::mutex> lock(cache_mu_);
  current_[role] = record;
  return record;
}

absl::StatusOr<std::vector<std::string>> Engine::ListCertIds() {
  return storage_->List(kCertsPrefix);
}

absl::StatusOr<std::shared_ptr<const CertRecord>> Engine::LoadCert(const std::string& id) {
  // An id from Qualtrics that could not be stored has no record, and must not become a key.
  if (!IsStorableCertId(id)) return std::shared_ptr<const CertRecord>();
  absl::StatusOr<std::optional<CertRecord>> stored =
      GetRecord<CertRecord>(*storage_, CertKey(id), DecodeCert);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return std::shared_ptr<const CertRecord>();
  return std::make_shared<const CertRecord>(std::move(**stored));
}

absl::StatusOr<std::vector<std::shared_ptr<const CertRecord>>> Engine::LoadAllCerts() {
  absl::StatusOr<std::vector<std::string>> ids = ListCertIds();
  if (!ids.ok()) return ids.status();
  std::vector<std::shared_ptr<const CertRecord>> records;
  for (const std::string& id : *ids) {
    absl::StatusOr<std::shared_ptr<const CertRecord>> record = LoadCert(id);
    if (!record.ok()) return record.status();
    if (*record != nullptr) records.push_back(*record);
  }
  return records;
}

absl::Status Engine::PutCert(const CertRecord& record, bool also_current) {
  SecretBytes encoded = EncodeCert(record);
  if (absl::Status status = storage_->Put(CertKey(record.id), encoded.view()); !status.ok()) {
    return status;
  }
  if (!also_current) return absl::OkStatus();
  absl::Status status = storage_->Put(CurrentCertKey(record.role), encoded.view());
  Invalidate(CurrentCertKey(record.role));
  return status;
}

std::string Engine::StateOf(const CertRecord& record) const {
  if (record.not_after <= Now()) return "expired";
  return record.state;
}

namespace {

int64_t LifetimeOf(const CertRecord& record) {
  return std::max<int64_t>(0, record.not_after - record.not_before);
}

}  // namespace

// A renew window at or above the certificate's lifetime would renew on every read, and each
// renewal would supersede the certificate just issued. Capping the window at half the lifetime
// keeps a new certificate current for at least that half.
int64_t Engine::EffectiveRenewBefore(const CertRecord& record, const RoleRecord& role) const {
  return std::min<int64_t>(role.renew_before_seconds, LifetimeOf(record) / 2);
}

std::string Engine::RenewWindowWarning(const CertRecord& record, const RoleRecord& role) const {
  if (role.renew_before_seconds <= LifetimeOf(record) / 2) return "";
  return absl::StrCat("role \"", role.name, "\" has renew_before=", role.renew_before_seconds,
                      "s, more than half the certificate's lifetime of ", LifetimeOf(record),
                      "s, so the certificate is renewed ", EffectiveRenewBefore(record, role),
                      "s before it expires instead; lower renew_before to remove this warning");
}

bool Engine::NeedsRenewal(const CertRecord& record, const RoleRecord& role) const {
  return Now() >= record.not_after - EffectiveRenewBefore(record, role);
}

int64_t Engine::RenewInSeconds(const CertRecord& record, const RoleRecord& role) const {
  return std::max<int64_t>(0, record.not_after - EffectiveRenewBefore(record, role) - Now());
}

std::mutex& Engine::RoleMutex(const std::string& role) {
  std::lock_guard<std::mutex> lock(role_locks_mu_);
  std::unique_ptr<std::mutex>& mu = role_locks_[role];
  if (mu == nullptr) mu = std::make_unique<std::mutex>();
  return *mu;
}

// ---------------------------------------------------------------------------------------------
// Client

absl::StatusOr<std::shared_ptr<CertificateAuthority>> Engine::Client(const ConfigRecord& config) {
  ClientIdentity identity;
  std::string identity_id;
  if (!config.mtls_role.empty()) {
    absl::StatusOr<std::shared_ptr<const CertRecord>> current =
        LoadCurrent(config.mtls_role, /*use_cache=*/true);
    if (!current.ok()) return current.status();
    // Until the mTLS role has a certificate, calls present none. This is how the first
    // certificate is created before mutual TLS is turned on at Qualtrics.
    if (*current != nullptr && (*current)->not_after > Now()) {
      identity.certificate_pem = (*current)->certificate_pem;
      identity.private_key_pem = (*current)->private_key_pem.Copy();
      identity_id = (*current)->id;
    }
  }
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (client_ != nullptr && client_identity_id_ == identity_id) return client_;
  }
  absl::StatusOr<std::shared_ptr<CertificateAuthority>> client =
      ca_factory_(config, identity_id.empty() ? nullptr : &identity);
  if (!client.ok()) return client.status();
  std::lock_guard<std::mutex> lock(cache_mu_);
  client_ = *client;
  client_identity_id_ = identity_id;
  return client_;
}

void Engine::ResetClient() {
  std::lock_guard<std::mutex> lock(cache_mu_);
  client_.reset();
  client_identity_id_.clear();
}

// ---------------------------------------------------------------------------------------------
// Invalidation

void Engine::Invalidate(std::string_view key) {
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (key == kConfigKey) {
    config_loaded_ = false;
    config_.reset();
    client_.reset();
    client_identity_id_.clear();
    return;
  }
  if (key.substr(0, kRolePrefix.size()) == kRolePrefix) {
    roles_.erase(std::string(key.substr(kRolePrefix.size())));
    return;
  }
  if (key.substr(0, kCurrentCertPrefix.size()) == kCurrentCertPrefix &&
      key.size() > kCurrentCertPrefix.size() + kCurrentCertSuffix.size() &&
      key.substr(key.size() - kCurrentCertSuffix.size()) == kCurrentCertSuffix) {
    std::string role(key.substr(kCurrentCertPrefix.size(), key.size() - kCurrentCertPrefix.size() -
                                                               kCurrentCertSuffix.size()));
    current_.erase(role);
    // The mTLS client presents this role's certificate; a new one needs a new client.
    if (config_ != nullptr && config_->mtls_role == role) {
      client_.reset();
      client_identity_id_.clear();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Revocation, tidy and periodic maintenance

absl::Status Engine::RevokeCert(const std::string& id, const Request& request,
                                std::string_view reason) {
  return RevokeCertImpl(id, request, reason, "", /*blocking=*/true);
}

absl::Status Engine::RevokeCertImpl(const std::string& id, const Request& request,
                                    std::string_view reason, const std::string& locked_role,
                                    bool blocking) {
  absl::StatusOr<std::shared_ptr<const CertRecord>> record = LoadCert(id);
  if (!record.ok()) return record.status();
  if (*record != nullptr && (*record)->role != locked_role) {
    // Keeps a concurrent issuance of the record's role from writing a new current certificate
    // between the check and the delete below.
    std::unique_lock<std::mutex> role_lock(RoleMutex((*record)->role), std::defer_lock);
    if (blocking) {
      role_lock.lock();
    } else if (!role_lock.try_lock()) {
      return absl::AbortedError(absl::StrCat("role ", (*record)->role, " is being issued"));
    }
    return RevokeCertImpl(id, request, reason, (*record)->role, blocking);
  }
  if (*record == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("certificate not found: this mount has no record with id \"", id,
                     "\"; list the held ones with `vault list ", request.mount_point, "certs`"));
  }
  absl::StatusOr<std::shared_ptr<const ConfigRecord>> config = RequireConfig(request);
  if (!config.ok()) return config.status();
  absl::StatusOr<std::shared_ptr<CertificateAuthority>> client = Client(**config);
  if (!client.ok()) return client.status();

  // Revoke first, then forget: a crash in between leaves a record whose next revocation finds
  // the id gone at Qualtrics (NotFound) and only drops the record.
  absl::Status deleted = (*client)->Delete(id);
  if (!deleted.ok() && deleted.code() != absl::StatusCode::kNotFound) {
    Log(IsClientError(deleted) ? LogLevel::kWarn : LogLevel::kError,
        "certificate revocation failed",
        {{"event", "failed"},
         {"operation", "revoke"},
         {"role", (*record)->role},
         {"qualtrics_id", id},
         {"error", std::string(deleted.message())},
         {"request_id", request.id},
         {"entity_id", request.entity_id}});
    return absl::Status(deleted.code(),
                        absl::StrCat("revoking certificate ", id,
                                     " at Qualtrics failed: ", std::string(deleted.message())));
  }
  if (absl::Status status = storage_->Delete(CertKey(id)); !status.ok()) return status;
  absl::StatusOr<std::shared_ptr<const CertRecord>> current = LoadCurrent((*record)->role, false);
  if (current.ok() && *current != nullptr && (*current)->id == id) {
    if (absl::Status status = storage_->Delete(CurrentCertKey((*record)->role)); !status.ok()) {
      return status;
    }
  }
  Invalidate(CurrentCertKey((*record)->role));

  Log(LogLevel::kInfo, "certificate revoked",
      {{"event", "revoked"},
       {"reason", std::string(reason)},
       {"role", (*record)->role},
       {"qualtrics_id", id},
       {"serial_number", (*record)->serial_number},
       {"expiration", Rfc3339((*record)->not_after)},
       {"already_gone", deleted.ok() ? "false" : "true"},
       {"request_id", request.id},
       {"entity_id", request.entity_id}});
  return absl::OkStatus();
}

absl::StatusOr<TidyReport> Engine::Tidy(const Request& request, bool include_expired,
                                        bool include_superseded) {
  TidyReport report;
  // Leftover write-ahead entries are certificates at Qualtrics that no record accounts for, so
  // rolling them back frees slots too. Their revocations still run when this fails.
  absl::StatusOr<WalRollbackReport> rolled_back = RollbackWal(request);
  if (rolled_back.ok()) {
    report.rollback = *rolled_back;
  } else {
    report.rollback_error = std::string(rolled_back.status().message());
    Log(LogLevel::kWarn, "tidy rollback of write-ahead entries failed",
        {{"error", report.rollback_error}, {"request_id", request.id}});
  }
  if (absl::Status status = ReconcileCurrentRecords(request); !status.ok()) return status;
  absl::StatusOr<std::vector<std::shared_ptr<const CertRecord>>> records = LoadAllCerts();
  if (!records.ok()) return records.status();
  report.held_before = static_cast<int64_t>(records->size());
  for (const std::shared_ptr<const CertRecord>& record : *records) {
    bool expired = record->not_after <= Now();
    bool superseded_past_grace = record->state == kStateSuperseded && record->revoke_after <= Now();
    if (!((include_expired && expired) || (include_superseded && superseded_past_grace))) {
      continue;
    }
    absl::Status status = RevokeCert(record->id, request, expired ? "expired" : "superseded");
    if (status.ok()) {
      report.revoked.push_back(record->id);
    } else {
      report.failed[record->id] = std::string(status.message());
    }
  }
  report.held_after = report.held_before - static_cast<int64_t>(report.revoked.size());
  Log(LogLevel::kInfo, "tidy finished",
      {{"event", "tidied"},
       {"revoked", absl::StrJoin(report.revoked, ",")},
       {"failed", std::to_string(report.failed.size())},
       {"held", std::to_string(report.held_after)},
       {"rolled_back_issuances", std::to_string(report.rollback.cleared)},
       {"pending_issuances", std::to_string(report.rollback.pending)},
       {"request_id", request.id},
       {"entity_id", request.entity_id}});
  return report;
}

absl::StatusOr<bool> Engine::FreeOneSlot(const Request& request, const std::string& locked_role,
                                         std::vector<std::string>& warnings) {
  absl::StatusOr<std::vector<std::shared_ptr<const CertRecord>>> records = LoadAllCerts();
  if (!records.ok()) return records.status();

  // Expired certificates are useless but still take a slot, so the oldest go first; then the
  // superseded ones whose grace period ends first.
  std::vector<std::shared_ptr<const CertRecord>> candidates;
  for (const auto& record : *records) {
    if (record->not_after <= Now() || record->state == kStateSuperseded) {
      candidates.push_back(record);
    }
  }
  std::sort(candidates.begin(), candidates.end(), [this](const auto& a, const auto& b) {
    bool a_expired = a->not_after <= Now();
    bool b_expired = b->not_after <= Now();
    if (a_expired != b_expired) return a_expired;
    return a_expired ? a->not_after < b->not_after : a->revoke_after < b->revoke_after;
  });

  absl::Status first_error;
  for (const auto& candidate : candidates) {
    // A non-blocking revoke only try-locks another role's mutex, because that role's issuance
    // may be waiting for the mutex this caller holds.
    absl::Status status =
        RevokeCertImpl(candidate->id, request, "quota", locked_role, /*blocking=*/false);
    if (status.ok()) {
      bool expired = candidate->not_after <= Now();
      if (!expired && candidate->revoke_after > Now()) {
        warnings.push_back(absl::StrCat(
            "superseded certificate ", candidate->id, " of role \"", candidate->role,
            "\" was revoked before its grace period ended (revoke_after ",
            Rfc3339(candidate->revoke_after),
            ") because the organization's quota of client certificates was full"));
      }
      return true;
    }
    if (first_error.ok() && status.code() != absl::StatusCode::kAborted) first_error = status;
  }
  if (!first_error.ok()) return first_error;
  return false;
}

absl::Status Engine::QuotaError(const ConfigRecord& config, const absl::Status& rejection,
                                const Request& request) {
  std::vector<std::string> holders;
  absl::StatusOr<std::vector<std::shared_ptr<const CertRecord>>> records = LoadAllCerts();
  if (records.ok()) {
    for (const auto& record : *records) {
      holders.push_back(absl::StrCat(record->id, " (role ", record->role, ", ", StateOf(*record),
                                     ", expires ", Rfc3339(record->not_after), ")"));
    }
  }
  std::string limit =
      rejection.ok()
          ? absl::StrCat("quota reached: this mount holds ", holders.size(),
                         " client certificates and the organization's maximum is ",
                         config.max_active_certificates, " (config max_active_certificates)")
          : absl::StrCat("quota reached: ", std::string(rejection.message()),
                         "; this mount holds ", holders.size(),
                         " of the organization's client certificates, and any others are held "
                         "outside this mount");
  return MarkQuotaFull(absl::ResourceExhaustedError(
      absl::StrCat(limit, ". None of this mount's certificates is expired or superseded",
                   holders.empty() ? "" : ": ", absl::StrJoin(holders, ", "),
                   ". Free a slot with `vault delete ", request.mount_point,
                   "certs/<id>` or, once certificates expire or are superseded, `vault write ",
                   request.mount_point,
                   "tidy`; certificates held outside this mount must be deleted at "
                   "Qualtrics")));
}

absl::StatusOr<WalRollbackReport> Engine::RollbackWal(const Request& request) {
  WalRollbackReport report;
  absl::StatusOr<std::vector<std::string>> ids = storage_->List(kWalPrefix);
  if (!ids.ok()) return ids.status();
  if (ids->empty()) return report;
  absl::StatusOr<std::shared_ptr<const ConfigRecord>> config = RequireConfig(request);
  if (!config.ok()) return config.status();

  std::optional<std::vector<HeldCertificate>> remote;
  for (const std::string& id : *ids) {
    {
      std::lock_guard<std::mutex> lock(inflight_mu_);
      if (active_wal_.count(id) > 0) {
        ++report.pending;
        continue;
      }
    }
    absl::StatusOr<std::optional<WalRecord>> entry =
        GetRecord<WalRecord>(*storage_, WalKey(id), DecodeWal);
    if (!entry.ok()) {
      Log(LogLevel::kError, "unreadable write-ahead entry left in place",
          {{"wal_id", id}, {"error", std::string(entry.status().message())}});
      ++report.pending;
      continue;
    }
    if (!entry->has_value()) continue;
    const WalRecord& wal = **entry;
    if (wal.instance_id != instance_id_ && Now() - wal.created_at < wal_min_age_seconds_) {
      ++report.pending;
      continue;
    }

    if (!remote.has_value()) {
      absl::StatusOr<std::shared_ptr<CertificateAuthority>> client = Client(**config);
      if (!client.ok()) return client.status();
      absl::StatusOr<std::vector<HeldCertificate>> listed = (*client)->List();
      if (!listed.ok()) return listed.status();
      remote = *std::move(listed);
    }

    // Every certificate at Qualtrics for this entry's key that no record claims was created by
    // the interrupted issuance: revoke it so the slot is not lost.
    bool all_resolved = true;
    for (const HeldCertificate& held : *remote) {
      bool matches = (!wal.public_key_fingerprint.empty() &&
                      held.public_key_fingerprint == wal.public_key_fingerprint) ||
                     (!wal.qualtrics_id.empty() && held.id == wal.qualtrics_id);
      if (!matches) continue;
      absl::StatusOr<std::shared_ptr<const CertRecord>> stored = LoadCert(held.id);
      if (!stored.ok()) return stored.status();
      if (*stored != nullptr) continue;
      absl::StatusOr<std::shared_ptr<CertificateAuthority>> client = Client(**config);
      if (!client.ok()) return client.status();
      absl::Status deleted = (*client)->Delete(held.id);
      if (!deleted.ok() && deleted.code() != absl::StatusCode::kNotFound) {
        all_resolved = false;
        Log(LogLevel::kError, "rollback of an interrupted issuance failed",
            {{"event", "failed"},
             {"operation", "rollback"},
             {"role", wal.role},
             {"qualtrics_id", held.id},
             {"wal_id", wal.id},
             {"error", std::string(deleted.message())}});
        continue;
      }
      Log(LogLevel::kInfo, "interrupted issuance rolled back",
          {{"event", "rolled_back"},
           {"role", wal.role},
           {"qualtrics_id", held.id},
           {"wal_id", wal.id},
           {"expiration", held.expires_at > 0 ? Rfc3339(held.expires_at) : ""},
           {"request_id", request.id}});
    }
    if (!all_resolved) {
      ++report.pending;
      continue;
    }
    if (absl::Status status = storage_->Delete(WalKey(id)); !status.ok()) return status;
    ++report.cleared;
  }
  return report;
}

std::vector<std::string> Engine::EnforceRoleLimit(const RoleRecord& role, const Request& request) {
  std::vector<std::string> warnings;
  if (role.max_certificates <= 0) return warnings;
  absl::StatusOr<std::vector<std::shared_ptr<const CertRecord>>> records = LoadAllCerts();
  if (!records.ok()) {
    warnings.push_back(absl::StrCat("the role's max_certificates was not enforced: ",
                                    std::string(records.status().message())));
    return warnings;
  }
  std::vector<std::shared_ptr<const CertRecord>> superseded;
  int64_t held = 0;
  for (const auto& record : *records) {
    if (record->role != role.name) continue;
    ++held;
    if (record->state == kStateSuperseded) superseded.push_back(record);
  }
  std::sort(superseded.begin(), superseded.end(),
            [](const auto& a, const auto& b) { return a->superseded_at < b->superseded_at; });
  for (const auto& record : superseded) {
    if (held <= role.max_certificates) break;
    absl::Status status =
        RevokeCertImpl(record->id, request, "role limit", role.name, /*blocking=*/true);
    if (status.ok()) {
      --held;
      warnings.push_back(absl::StrCat("superseded certificate ", record->id,
                                      " was revoked before its grace period ended because the "
                                      "role's max_certificates is ",
                                      role.max_certificates));
    } else {
      warnings.push_back(absl::StrCat("superseded certificate ", record->id,
                                      " was not revoked: ", std::string(status.message())));
    }
  }
  return warnings;
}

absl::Status Engine::ReconcileCurrentRecords(const Request& request) {
  absl::StatusOr<std::vector<std::shared_ptr<const CertRecord>>> records = LoadAllCerts();
  if (!records.ok()) return records.status();
  for (const auto& record : *records) {
    if (record->state != kStateCurrent) continue;
    {
      std::lock_guard<std::mutex> lock(cache_mu_);
      auto cached = current_.find(record->role);
      if (cached != current_.end() && cached->second != nullptr &&
          cached->second->id == record->id) {
        continue;
      }
    }
    // Under the role's mutex no issuance of this role is between its two writes.
    std::lock_guard<std::mutex> role_lock(RoleMutex(record->role));
    absl::StatusOr<std::shared_ptr<const CertRecord>> current = LoadCurrent(record->role, false);
    if (!current.ok()) return current.status();
    if (*current != nullptr && (*current)->id == record->id) continue;
    absl::StatusOr<std::shared_ptr<const CertRecord>> fresh = LoadCert(record->id);
    if (!fresh.ok()) return fresh.status();
    if (*fresh == nullptr || (*fresh)->state != kStateCurrent) continue;
    absl::StatusOr<std::shared_ptr<const RoleRecord>> role = LoadRole(record->role);
    if (!role.ok()) return role.status();
    int64_t grace = *role != nullptr ? (*role)->revoke_grace_seconds : 0;

    bool promote =
        *role != nullptr && (*current == nullptr || (*fresh)->issued_at >= (*current)->issued_at);
    if (promote) {
      if (*current != nullptr) {
        CertRecord superseded = (*current)->Clone();
        superseded.state = std::string(kStateSuperseded);
        superseded.superseded_at = Now();
        superseded.revoke_after = Now() + grace;
        if (absl::Status status = PutCert(superseded, false); !status.ok()) return status;
      }
      if (absl::Status status = PutCert(**fresh, /*also_current=*/true); !status.ok()) {
        return status;
      }
    } else {
      CertRecord superseded = (*fresh)->Clone();
      superseded.state = std::string(kStateSuperseded);
      superseded.superseded_at = Now();
      superseded.revoke_after = Now();
      if (absl::Status status = PutCert(superseded, false); !status.ok()) return status;
    }
    Log(LogLevel::kInfo, "interrupted issuance reconciled",
        {{"event", "reconciled"},
         {"role", record->role},
         {"qualtrics_id", record->id},
         {"action", promote ? "made current" : "superseded"},
         {"request_id", request.id}});
  }
  return absl::OkStatus();
}

absl::Status Engine::RevokeSupersededPastGrace(const Request& request) {
  absl::StatusOr<std::vector<std::shared_ptr<const CertRecord>>> records = LoadAllCerts();
  if (!records.ok()) return records.status();
  absl::Status first_error;
  for (const auto& record : *records) {
    if (record->state != kStateSuperseded || record->revoke_after > Now()) continue;
    absl::Status status = RevokeCert(record->id, request, "grace period over");
    if (!status.ok() && first_error.ok()) first_error = status;
  }
  return first_error;
}

absl::Status Engine::RenewDue(const Request& request) {
  absl::StatusOr<std::vector<std::string>> names = ListRoles();
  if (!names.ok()) return names.status();
  absl::StatusOr<std::shared_ptr<const ConfigRecord>> config = RequireConfig(request);
  if (!config.ok()) return config.status();
  bool mtls_requested = false;
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    mtls_requested = mtls_renewal_requested_;
  }

  absl::Status first_error;
  for (const std::string& name : *names) {
    absl::StatusOr<std::shared_ptr<const RoleRecord>> role = LoadRole(name);
    if (!role.ok() || *role == nullptr) continue;
    absl::StatusOr<std::shared_ptr<const CertRecord>> current = LoadCurrent(name, true);
    if (!current.ok() || *current == nullptr) continue;
    bool notice_due = mtls_requested && name == (*config)->mtls_role;
    if (!NeedsRenewal(**current, **role) && !notice_due) continue;

    absl::StatusOr<ServedCertificate> renewed =
        notice_due ? Rotate(name, request) : ReadCertificate(name, request);
    if (!renewed.ok() && first_error.ok()) first_error = renewed.status();
  }
  return first_error;
}

absl::Status Engine::Periodic(const Request& request) {
  std::unique_lock<std::mutex> lock(periodic_mu_, std::try_to_lock);
  if (!lock.owns_lock()) return absl::OkStatus();
  if (IsPerformanceStandby()) return absl::OkStatus();
  absl::StatusOr<std::shared_ptr<const ConfigRecord>> config = LoadConfig();
  if (!config.ok()) return config.status();
  if (*config == nullptr) return absl::OkStatus();

  // Each step runs even when an earlier one failed. Every error is logged here with its step,
  // and the first one is returned for Vault to log.
  absl::Status first_error;
  absl::StatusOr<WalRollbackReport> rolled_back = RollbackWal(request);
  if (!rolled_back.ok()) {
    Log(LogLevel::kWarn, "periodic rollback of write-ahead entries failed",
        {{"error", std::string(rolled_back.status().message())}});
    first_error = rolled_back.status();
  }
  if (absl::Status status = ReconcileCurrentRecords(request); !status.ok()) {
    Log(LogLevel::kWarn, "periodic reconciliation of current certificates failed",
        {{"error", std::string(status.message())}});
    if (first_error.ok()) first_error = status;
  }
  if (absl::Status status = RevokeSupersededPastGrace(request); !status.ok()) {
    Log(LogLevel::kWarn, "periodic revocation of superseded certificates failed",
        {{"error", std::string(status.message())}});
    if (first_error.ok()) first_error = status;
  }
  if (absl::Status status = RenewDue(request); !status.ok()) {
    Log(LogLevel::kWarn, "periodic renewal failed", {{"error", std::string(status.message())}});
    if (first_error.ok()) first_error = status;
  }
  return first_error;
}

}  // namespace vault_qualtrics
