// A fake Qualtrics for engine tests: an in-memory CertificateAuthority that signs real X.509
// certificates for the CSRs it gets (its own P-256 CA), enforces the active-certificate limit,
// counts calls, and injects failures.
#ifndef BACKEND_TESTING_FAKE_QUALTRICS_H_
#define BACKEND_TESTING_FAKE_QUALTRICS_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "backend/certificate_authority.h"

namespace vault_qualtrics {
namespace testing {

class FakeQualtrics : public CertificateAuthority {
 public:
  // `now` gives the Unix time used for validity periods.
  explicit FakeQualtrics(std::function<int64_t()> now);
  ~FakeQualtrics() override;

  absl::StatusOr<IssuedCertificate> Create(std::string_view csr_pem,
                                           std::string_view public_key_fingerprint) override;
  absl::StatusOr<std::vector<HeldCertificate>> List() override;
  absl::Status Delete(std::string_view id) override;

  // Adds a certificate held by another client of the organization (takes a slot).
  void AddForeignCertificate(const std::string& id);

  // Failure injection. Each applies to the next matching call only.
  void FailNextCreate(absl::Status status);
  // The next create succeeds at the service but returns an outcome-unknown error.
  void LoseNextCreateResponse();
  // The next create returns a certificate for a different key.
  void ReturnWrongKeyOnNextCreate();
  void FailNextList(absl::Status status);
  void FailNextDelete(absl::Status status);
  // While held, creates block until Release(); used to line up concurrent readers.
  void HoldCreates();
  void ReleaseCreates();
  // Blocks until `count` creates are waiting in HoldCreates.
  void WaitForHeldCreates(int count);

  void set_max_active(int max_active) { max_active_ = max_active; }
  void set_lifetime_seconds(int64_t seconds) { lifetime_seconds_ = seconds; }
  void set_notice(std::string notice) { notice_ = std::move(notice); }

  int creates() const;
  int deletes() const;
  std::vector<std::string> ids() const;
  std::string ca_certificate_pem() const { return ca_pem_; }

 private:
  struct Held {
    std::string certificate_pem;
    std::string fingerprint;
    int64_t expires_at;
  };
  absl::StatusOr<Held> Sign(std::string_view csr_pem, bool wrong_key);

  std::function<int64_t()> now_;
  void* ca_key_ = nullptr;   // EVP_PKEY*
  void* ca_cert_ = nullptr;  // X509*
  std::string ca_pem_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Held> held_;
  int next_id_ = 1;
  int max_active_ = 10;
  int64_t lifetime_seconds_ = 365 * 86400;
  std::string notice_;
  int creates_ = 0;
  int deletes_ = 0;
  absl::Status next_create_error_;
  bool lose_next_create_ = false;
  bool wrong_key_next_ = false;
  absl::Status next_list_error_;
  absl::Status next_delete_error_;
  bool holding_ = false;
  int waiting_ = 0;
};

}  // namespace testing
}  // namespace vault_qualtrics

#endif  // BACKEND_TESTING_FAKE_QUALTRICS_H_
