#include "backend/testing/fake_qualtrics.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "absl/strings/str_cat.h"
#include "backend/crypto/certificate.h"
#include "backend/crypto/csr.h"

namespace vault_qualtrics {
namespace testing {
namespace {

EVP_PKEY* NewP256Key() { return EVP_EC_gen("P-256"); }

std::string ToPem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  return pem;
}

X509* NewCertificate(EVP_PKEY* subject_key, X509_NAME* subject, X509_NAME* issuer,
                     EVP_PKEY* signing_key, int64_t not_before, int64_t not_after, long serial) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
  ASN1_TIME_set(X509_getm_notBefore(cert), static_cast<time_t>(not_before));
  ASN1_TIME_set(X509_getm_notAfter(cert), static_cast<time_t>(not_after));
  X509_set_subject_name(cert, subject);
  X509_set_issuer_name(cert, issuer);
  X509_set_pubkey(cert, subject_key);
  X509_sign(cert, signing_key, EVP_sha256());
  return cert;
}

}  // namespace

FakeQualtrics::FakeQualtrics(std::function<int64_t()> now) : now_(std::move(now)) {
  EVP_PKEY* key = NewP256Key();
  X509_NAME* name = X509_NAME_new();
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Fake Qualtrics CA"), -1, -1,
                             0);
  X509* cert = NewCertificate(key, name, name, key, now_() - 86400, now_() + 20 * 365 * 86400, 1);
  X509_NAME_free(name);
  ca_key_ = key;
  ca_cert_ = cert;
  ca_pem_ = ToPem(cert);
}

FakeQualtrics::~FakeQualtrics() {
  X509_free(static_cast<X509*>(ca_cert_));
  EVP_PKEY_free(static_cast<EVP_PKEY*>(ca_key_));
}

absl::StatusOr<FakeQualtrics::Held> FakeQualtrics::Sign(std::string_view csr_pem, bool wrong_key) {
  if (!VerifyCsrPem(csr_pem).ok()) return absl::InvalidArgumentError("malformed CSR");
  BIO* bio = BIO_new_mem_buf(csr_pem.data(), static_cast<int>(csr_pem.size()));
  X509_REQ* request = PEM_read_bio_X509_REQ(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (request == nullptr) return absl::InvalidArgumentError("malformed CSR");
  EVP_PKEY* public_key = X509_REQ_get0_pubkey(request);
  EVP_PKEY* other = wrong_key ? NewP256Key() : nullptr;
  int64_t now = now_();
  long serial;
  {
    std::lock_guard<std::mutex> lock(mu_);
    serial = 1000 + next_id_;
  }
  X509* cert =
      NewCertificate(other != nullptr ? other : public_key, X509_REQ_get_subject_name(request),
                     X509_get_subject_name(static_cast<X509*>(ca_cert_)),
                     static_cast<EVP_PKEY*>(ca_key_), now - 60, now + lifetime_seconds_, serial);
  Held held;
  held.certificate_pem = ToPem(cert);
  held.expires_at = now + lifetime_seconds_;
  X509_free(cert);
  EVP_PKEY_free(other);
  X509_REQ_free(request);
  absl::StatusOr<CertificateInfo> info = ParseCertificatePem(held.certificate_pem);
  if (!info.ok()) return info.status();
  held.fingerprint = info->public_key_fingerprint;
  return held;
}

absl::StatusOr<IssuedCertificate> FakeQualtrics::Create(std::string_view csr_pem,
                                                        std::string_view public_key_fingerprint) {
  bool lose = false;
  bool wrong_key = false;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (holding_) {
      ++waiting_;
      cv_.notify_all();
      cv_.wait(lock, [this] { return !holding_; });
      --waiting_;
    }
    ++creates_;
    if (!next_create_error_.ok()) {
      absl::Status error = next_create_error_;
      next_create_error_ = absl::OkStatus();
      return error;
    }
    if (static_cast<int>(held_.size()) >= max_active_) {
      return MarkQuotaFull(absl::ResourceExhaustedError(
          "Qualtrics: the organization already has the maximum number of client certificates"));
    }
    lose = lose_next_create_;
    lose_next_create_ = false;
    wrong_key = wrong_key_next_;
    wrong_key_next_ = false;
  }
  absl::StatusOr<Held> held = Sign(csr_pem, wrong_key);
  if (!held.ok()) return held.status();
  std::lock_guard<std::mutex> lock(mu_);
  std::string id = absl::StrCat("CC_", next_id_++);
  held_[id] = *held;
  if (lose) {
    return MarkCreateOutcomeUnknown(
        absl::DeadlineExceededError("create timed out after the request was sent (injected)"));
  }
  IssuedCertificate issued;
  issued.id = id;
  issued.certificate_pem = held->certificate_pem;
  issued.request_id = absl::StrCat("R_", id);
  issued.notice = notice_;
  return issued;
}

absl::StatusOr<std::vector<HeldCertificate>> FakeQualtrics::List() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!next_list_error_.ok()) {
    absl::Status error = next_list_error_;
    next_list_error_ = absl::OkStatus();
    return error;
  }
  std::vector<HeldCertificate> list;
  for (const auto& [id, held] : held_) {
    HeldCertificate item;
    item.id = id;
    item.certificate_pem = held.certificate_pem;
    item.public_key_fingerprint = held.fingerprint;
    item.expires_at = held.expires_at;
    list.push_back(item);
  }
  return list;
}

absl::Status FakeQualtrics::Delete(std::string_view id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!next_delete_error_.ok()) {
    absl::Status error = next_delete_error_;
    next_delete_error_ = absl::OkStatus();
    return error;
  }
  if (held_.erase(std::string(id)) == 0) return absl::NotFoundError("unknown certificate id");
  ++deletes_;
  return absl::OkStatus();
}

void FakeQualtrics::AddForeignCertificate(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  held_[id] = Held{"", "foreign-" + id, now_() + lifetime_seconds_};
}

void FakeQualtrics::FailNextCreate(absl::Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  next_create_error_ = std::move(status);
}

void FakeQualtrics::LoseNextCreateResponse() {
  std::lock_guard<std::mutex> lock(mu_);
  lose_next_create_ = true;
}

void FakeQualtrics::ReturnWrongKeyOnNextCreate() {
  std::lock_guard<std::mutex> lock(mu_);
  wrong_key_next_ = true;
}

void FakeQualtrics::FailNextList(absl::Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  next_list_error_ = std::move(status);
}

void FakeQualtrics::FailNextDelete(absl::Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  next_delete_error_ = std::move(status);
}

void FakeQualtrics::HoldCreates() {
  std::lock_guard<std::mutex> lock(mu_);
  holding_ = true;
}

void FakeQualtrics::ReleaseCreates() {
  std::lock_guard<std::mutex> lock(mu_);
  holding_ = false;
  cv_.notify_all();
}

void FakeQualtrics::WaitForHeldCreates(int count) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::seconds(10), [&] { return waiting_ >= count; });
}

int FakeQualtrics::creates() const {
  std::lock_guard<std::mutex> lock(mu_);
  return creates_;
}

int FakeQualtrics::deletes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return deletes_;
}

std::vector<std::string> FakeQualtrics::ids() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> ids;
  for (const auto& [id, held] : held_) ids.push_back(id);
  return ids;
}

}  // namespace testing
}  // namespace vault_qualtrics
