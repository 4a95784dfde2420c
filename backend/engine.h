// The engine's state and operations behind the paths: cached config and roles, issue-on-read
// with one shared issuance per role, crash-safe creates with write-ahead entries, revocation,
// tidy, rollback and background renewal.
//
// Thread-safe, because Vault calls every path concurrently. A per-role mutex serializes issuance
// for one role. Concurrent readers of a role that needs a certificate wait for one shared
// issuance instead of starting their own.
#ifndef BACKEND_ENGINE_H_
#define BACKEND_ENGINE_H_

#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backend/certificate_authority.h"
#include "backend/logical/logical.h"
#include "backend/records.h"

namespace vault_qualtrics {

struct EngineOptions {
  Storage* storage = nullptr;
  SystemView* system_view = nullptr;
  CertificateAuthorityFactory ca_factory;
  // Current time in Unix seconds; defaults to the system clock.
  std::function<int64_t()> now;
  // Write-ahead entries written by another engine instance are rolled back only once they are
  // this old, because that instance (a node that just lost leadership) may still be waiting
  // for its create. Entries of this instance are rolled back as soon as no issuance owns them.
  int64_t wal_min_age_seconds = 120;
};

// A certificate returned to a reader.
struct ServedCertificate {
  std::shared_ptr<const CertRecord> record;
  // True when the certificate came from storage or the cache without a call to Qualtrics.
  bool from_storage = false;
  std::vector<std::string> warnings;
};

// The outcome of a tidy run.
// The outcome of rolling back write-ahead entries.
struct WalRollbackReport {
  // Entries whose interrupted create was resolved and which were deleted.
  int64_t cleared = 0;
  // Entries left in place: owned by a running issuance of this process, written by another
  // process less than wal_min_age_seconds ago, or with a revoke that failed.
  int64_t pending = 0;
};

struct TidyReport {
  std::vector<std::string> revoked;
  // id -> error message.
  std::map<std::string, std::string> failed;
  int64_t held_before = 0;
  int64_t held_after = 0;
  WalRollbackReport rollback;
  // The rollback error when the write-ahead rollback failed; the revocations still ran.
  std::string rollback_error;
};

// Returns a random 128-bit id in hex, for write-ahead entries and engine instances. Not a
// secret: std::mt19937_64 seeded from std::random_device.
std::string NewRandomId();

class Engine {
 public:
  explicit Engine(EngineOptions options);
  ~Engine();

  int64_t Now() const { return now_(); }
  Storage& storage() { return *storage_; }
  // True when Vault reports this node as a performance standby.
  bool IsPerformanceStandby() const;

  // Config. LoadConfig returns nullptr when none is stored.
  absl::StatusOr<std::shared_ptr<const ConfigRecord>> LoadConfig();
  // Loads the config or fails with FailedPrecondition telling the operator to write it.
  absl::StatusOr<std::shared_ptr<const ConfigRecord>> RequireConfig(const Request& request);
  absl::Status SaveConfig(const ConfigRecord& config);
  absl::Status DeleteConfig();
  // Builds a client for `config` (not the stored one) and lists certificates, to check the
  // endpoint and credentials before the config is stored.
  absl::Status VerifyConnection(const ConfigRecord& config);

  // Roles. LoadRole returns nullptr when the role does not exist.
  absl::StatusOr<std::shared_ptr<const RoleRecord>> LoadRole(const std::string& name);
  // Loads role `name`, failing with NotFound and the command that creates it when it is missing.
  absl::StatusOr<std::shared_ptr<const RoleRecord>> RequireRole(const std::string& name,
                                                                const Request& request);
  absl::Status SaveRole(const RoleRecord& role);
  absl::Status DeleteRole(const std::string& name);
  absl::StatusOr<std::vector<std::string>> ListRoles();

  // Returns the role's current certificate, issuing one when there is none or it is inside
  // its renew window. Fails with NotFound for an unknown role, FailedPrecondition without
  // config, ReadOnlyError on a performance standby that would have to issue.
  absl::StatusOr<ServedCertificate> ReadCertificate(const std::string& role_name,
                                                    const Request& request);
  // Issues a new certificate for the role now; the previous one becomes superseded and is
  // revoked after the role's grace period.
  absl::StatusOr<ServedCertificate> Rotate(const std::string& role_name, const Request& request);

  // Held certificates (certs/<id>).
  absl::StatusOr<std::vector<std::string>> ListCertIds();
  absl::StatusOr<std::shared_ptr<const CertRecord>> LoadCert(const std::string& id);
  // Revokes `id` at Qualtrics (an id Qualtrics reports as not found counts as revoked), then
  // drops its records. Fails with NotFound when the mount has no record of `id`.
  absl::Status RevokeCert(const std::string& id, const Request& request, std::string_view reason);
  // Rolls back leftover write-ahead entries, then revokes expired certificates and superseded
  // ones past their grace period.
  absl::StatusOr<TidyReport> Tidy(const Request& request, bool include_expired,
                                  bool include_superseded);

  // Vault's periodic callback: rolls back leftover write-ahead entries, revokes superseded
  // certificates past their grace period, and renews certificates inside their renew window.
  absl::Status Periodic(const Request& request);
  int64_t wal_min_age_seconds() const { return wal_min_age_seconds_; }
  // Rolls back write-ahead entries that no running issuance owns, and counts the ones left.
  absl::StatusOr<WalRollbackReport> RollbackWal(const Request& request);

  // Drops cached state derived from storage key `key`.
  void Invalidate(std::string_view key);
  // Returns the certificate state to report for `record` at the current time.
  std::string StateOf(const CertRecord& record) const;
  // Seconds until the role's renew window starts for `record`; 0 when inside it.
  int64_t RenewInSeconds(const CertRecord& record, const RoleRecord& role) const;
  // The role's renew_before, capped at half of `record`'s lifetime.
  int64_t EffectiveRenewBefore(const CertRecord& record, const RoleRecord& role) const;
  // A response warning when renew_before is capped for `record`; empty otherwise.
  std::string RenewWindowWarning(const CertRecord& record, const RoleRecord& role) const;

 private:
  using CertResult = absl::StatusOr<ServedCertificate>;

  absl::StatusOr<std::shared_ptr<const CertRecord>> LoadCurrent(const std::string& role,
                                                                bool use_cache);
  std::mutex& RoleMutex(const std::string& role);
  bool NeedsRenewal(const CertRecord& record, const RoleRecord& role) const;
  // Runs under the role's mutex: re-checks storage, then issues when still needed.
  CertResult IssueIfNeeded(const std::string& role_name, const Request& request,
                           std::string_view reason);
  // Issues unconditionally; the caller holds the role's mutex.
  CertResult IssueLocked(const ConfigRecord& config, const RoleRecord& role,
                         std::shared_ptr<const CertRecord> previous, const Request& request,
                         std::string_view reason);
  absl::StatusOr<std::shared_ptr<CertificateAuthority>> Client(const ConfigRecord& config);
  // Frees one slot held by this mount (expired first, then the superseded one revocable
  // soonest). The caller holds the mutex of `locked_role`. Returns false when nothing can be
  // freed.
  // Appends a warning to `warnings` when the freed certificate was superseded and still inside
  // its grace period.
  absl::StatusOr<bool> FreeOneSlot(const Request& request, const std::string& locked_role,
                                   std::vector<std::string>& warnings);
  // Builds the quota error naming the limit, this mount's holders and the fix. `rejection` is
  // Qualtrics' own quota error when the service rejected the create, else OK.
  absl::Status QuotaError(const ConfigRecord& config, const absl::Status& rejection,
                          const Request& request);
  // Revokes `id`. The record's role mutex guards the current-certificate pointer: it is
  // skipped when the caller already holds it (`locked_role`), and only tried when `blocking`
  // is false, which then fails with Aborted instead of waiting.
  absl::Status RevokeCertImpl(const std::string& id, const Request& request,
                              std::string_view reason, const std::string& locked_role,
                              bool blocking);
  absl::StatusOr<std::vector<std::shared_ptr<const CertRecord>>> LoadAllCerts();
  absl::Status PutCert(const CertRecord& record, bool also_current);
  absl::Status RevokeSupersededPastGrace(const Request& request);
  // Repairs records left in state "current" that are not their role's current certificate, as
  // an issuance interrupted between storing certs/<id> and cert/<role>/current leaves them. The
  // newer of the two (the stored record on a tie) becomes current and the other superseded. An
  // older stray record is revocable at once, because no reader ever received it.
  absl::Status ReconcileCurrentRecords(const Request& request);
  // Revokes the role's oldest superseded certificates while it holds more than its
  // max_certificates. The caller holds the role's mutex. Returns a warning per revocation.
  std::vector<std::string> EnforceRoleLimit(const RoleRecord& role, const Request& request);
  absl::Status RenewDue(const Request& request);
  void ResetClient();

  Storage* storage_;
  SystemView* system_view_;
  CertificateAuthorityFactory ca_factory_;
  std::function<int64_t()> now_;
  int64_t wal_min_age_seconds_;
  const std::string instance_id_;

  std::mutex cache_mu_;
  bool config_loaded_ = false;
  std::shared_ptr<const ConfigRecord> config_;
  std::map<std::string, std::shared_ptr<const RoleRecord>> roles_;
  std::map<std::string, std::shared_ptr<const CertRecord>> current_;
  std::shared_ptr<CertificateAuthority> client_;
  // The mTLS certificate id the cached client presents ("" when none).
  std::string client_identity_id_;
  // Set when a Qualtrics notice warns that the presented client certificate expires soon.
  bool mtls_renewal_requested_ = false;

  std::mutex role_locks_mu_;
  std::map<std::string, std::unique_ptr<std::mutex>> role_locks_;

  std::mutex inflight_mu_;
  std::map<std::string, std::shared_future<CertResult>> inflight_;
  // Write-ahead entries owned by a running issuance of this instance.
  std::set<std::string> active_wal_;

  // Serializes periodic runs: Vault may start the next before the previous one finished.
  std::mutex periodic_mu_;
};

}  // namespace vault_qualtrics

#endif  // BACKEND_ENGINE_H_
