// A Qualtrics backend wired to in-memory storage, a fake system view, a fake Qualtrics and a
// manual clock, with helpers that send requests the way Vault does.
#ifndef BACKEND_TESTING_TEST_BACKEND_H_
#define BACKEND_TESTING_TEST_BACKEND_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "backend/backend.h"
#include "backend/testing/fake_qualtrics.h"
#include "backend/testing/memory_storage.h"

namespace vault_qualtrics {
namespace testing {

// 2027-01-15T08:00:00Z.
inline constexpr int64_t kStartTime = 1800000000;
inline constexpr char kTestToken[] = "token-SECRET-4242-do-not-log";

class TestBackend {
 public:
  TestBackend() : now_(kStartTime) {
    qualtrics_ = std::make_shared<FakeQualtrics>([this] { return now_.load(); });
    EngineOptions options;
    options.now = [this] { return now_.load(); };
    options.ca_factory = [this](const ConfigRecord& config, const ClientIdentity* identity)
        -> absl::StatusOr<std::shared_ptr<CertificateAuthority>> {
      std::lock_guard<std::mutex> lock(mu_);
      ++factory_calls_;
      presented_certificate_ = identity != nullptr ? identity->certificate_pem : "";
      if (identity != nullptr && identity->private_key_pem.empty()) {
        return absl::InternalError("identity without key");
      }
      last_base_url_ = config.EffectiveBaseUrl();
      if (!factory_error_.ok()) return factory_error_;
      return std::shared_ptr<CertificateAuthority>(qualtrics_);
    };
    BackendConfig config;
    config.storage = &storage_;
    config.system_view = &system_view_;
    absl::StatusOr<std::unique_ptr<LogicalBackend>> backend =
        NewQualtricsBackend(config, std::move(options));
    backend_ = *std::move(backend);
  }

  absl::StatusOr<Response> Do(Operation op, const std::string& path,
                              nlohmann::json data = nlohmann::json::object()) {
    Request request;
    request.operation = op;
    request.path = path;
    request.data = std::move(data);
    request.id = "req-" + std::to_string(++request_count_);
    request.entity_id = "entity-7";
    request.mount_point = "qualtrics/";
    return backend_->HandleRequest(request);
  }
  absl::StatusOr<Response> Read(const std::string& path) { return Do(Operation::kRead, path); }
  absl::StatusOr<Response> Write(const std::string& path, nlohmann::json data = {}) {
    if (data.is_null()) data = nlohmann::json::object();
    return Do(Operation::kUpdate, path, std::move(data));
  }
  absl::StatusOr<Response> Delete(const std::string& path) { return Do(Operation::kDelete, path); }
  absl::StatusOr<Response> List(const std::string& path) { return Do(Operation::kList, path); }

  // Writes a working config (API token auth, connection check on).
  absl::Status Configure(nlohmann::json extra = nlohmann::json::object()) {
    nlohmann::json data = {
        {"datacenter", "fra1"}, {"organization_id", "ORG_1"}, {"api_token", kTestToken}};
    data.update(extra);
    return Write("config", data).status();
  }
  absl::Status CreateRole(const std::string& name, nlohmann::json data = nlohmann::json::object()) {
    return Do(Operation::kCreate, "roles/" + name, std::move(data)).status();
  }

  void Advance(int64_t seconds) { now_ += seconds; }
  int64_t now() const { return now_.load(); }

  LogicalBackend& backend() { return *backend_; }
  MemoryStorage& storage() { return storage_; }
  FakeSystemView& system_view() { return system_view_; }
  FakeQualtrics& qualtrics() { return *qualtrics_; }
  int factory_calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return factory_calls_;
  }
  std::string presented_certificate() {
    std::lock_guard<std::mutex> lock(mu_);
    return presented_certificate_;
  }
  void FailFactory(absl::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    factory_error_ = std::move(status);
  }

 private:
  std::atomic<int64_t> now_;
  MemoryStorage storage_;
  FakeSystemView system_view_;
  std::shared_ptr<FakeQualtrics> qualtrics_;
  std::unique_ptr<LogicalBackend> backend_;
  std::atomic<int> request_count_{0};
  std::mutex mu_;
  int factory_calls_ = 0;
  std::string presented_certificate_;
  std::string last_base_url_;
  absl::Status factory_error_;
};

}  // namespace testing
}  // namespace vault_qualtrics

#endif  // BACKEND_TESTING_TEST_BACKEND_H_
