// In-memory Storage and SystemView for engine tests, with switches that make writes fail.
#ifndef BACKEND_TESTING_MEMORY_STORAGE_H_
#define BACKEND_TESTING_MEMORY_STORAGE_H_

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backend/logical/errors.h"
#include "backend/logical/logical.h"

namespace vault_qualtrics {
namespace testing {

class MemoryStorage : public Storage {
 public:
  absl::StatusOr<std::optional<std::string>> Get(std::string_view key) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++gets_;
    auto found = data_.find(std::string(key));
    if (found == data_.end()) return std::optional<std::string>();
    return std::optional<std::string>(found->second);
  }

  absl::Status Put(std::string_view key, std::string_view value) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (read_only_) return ReadOnlyError();
    if (FailsLocked(key)) return absl::UnavailableError("storage write failed (injected)");
    data_[std::string(key)] = std::string(value);
    return absl::OkStatus();
  }

  absl::Status Delete(std::string_view key) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (read_only_) return ReadOnlyError();
    if (FailsLocked(key)) return absl::UnavailableError("storage delete failed (injected)");
    data_.erase(std::string(key));
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> List(std::string_view prefix) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::set<std::string> keys;
    for (const auto& [key, value] : data_) {
      if (key.compare(0, prefix.size(), prefix) != 0) continue;
      std::string rest = key.substr(prefix.size());
      size_t slash = rest.find('/');
      keys.insert(slash == std::string::npos ? rest : rest.substr(0, slash + 1));
    }
    return std::vector<std::string>(keys.begin(), keys.end());
  }

  // Makes every write fail with Vault's read-only error, as on a performance standby.
  void SetReadOnly(bool read_only) {
    std::lock_guard<std::mutex> lock(mu_);
    read_only_ = read_only;
  }
  // Makes writes to keys starting with `prefix` fail; an empty prefix clears the switch.
  void FailWritesTo(std::string prefix) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_prefix_ = std::move(prefix);
  }
  std::map<std::string, std::string> Snapshot() {
    std::lock_guard<std::mutex> lock(mu_);
    return data_;
  }
  std::vector<std::string> KeysWithPrefix(std::string_view prefix) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> keys;
    for (const auto& [key, value] : data_) {
      if (key.compare(0, prefix.size(), prefix) == 0) keys.push_back(key);
    }
    return keys;
  }
  void Set(const std::string& key, const std::string& value) {
    std::lock_guard<std::mutex> lock(mu_);
    data_[key] = value;
  }
  int gets() {
    std::lock_guard<std::mutex> lock(mu_);
    return gets_;
  }

 private:
  bool FailsLocked(std::string_view key) const {
    return !fail_prefix_.empty() && key.compare(0, fail_prefix_.size(), fail_prefix_) == 0;
  }

  std::mutex mu_;
  std::map<std::string, std::string> data_;
  bool read_only_ = false;
  std::string fail_prefix_;
  int gets_ = 0;
};

class FakeSystemView : public SystemView {
 public:
  absl::StatusOr<uint32_t> ReplicationState() override { return state_.load(); }
  absl::StatusOr<bool> LocalMount() override { return false; }
  absl::StatusOr<std::string> VaultVersion() override { return std::string("1.15.0"); }

  void SetPerformanceStandby(bool standby) {
    state_ = standby ? kReplicationPerformanceStandby : 0;
  }

 private:
  std::atomic<uint32_t> state_{0};
};

}  // namespace testing
}  // namespace vault_qualtrics

#endif  // BACKEND_TESTING_MEMORY_STORAGE_H_
