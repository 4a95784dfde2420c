#include "plugin/fake_backend.h"

#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "backend/logical/errors.h"

namespace vault_qualtrics {
namespace {

constexpr char kKvPrefix[] = "kv/";
constexpr char kFailPrefix[] = "fail/";
constexpr char kSleepPrefix[] = "sleep/";

absl::Status FailureFor(const std::string& name) {
  if (name == "invalid_argument") return absl::InvalidArgumentError("field \"ttl\" is invalid");
  if (name == "permission_denied") return absl::PermissionDeniedError("not allowed");
  if (name == "unavailable") return absl::UnavailableError("upstream unavailable");
  if (name == "read_only") return ReadOnlyError();
  if (name == "unimplemented") return absl::UnimplementedError("not implemented");
  return absl::InternalError("internal failure");
}

class FakeBackend final : public LogicalBackend {
 public:
  FakeBackend(BackendConfig config, std::shared_ptr<FakeBackendCalls> calls)
      : config_(std::move(config)), calls_(std::move(calls)) {}

  absl::Status Initialize() override {
    ++calls_->initialized;
    return absl::OkStatus();
  }

  absl::StatusOr<Response> HandleRequest(const Request& request) override {
    if (absl::StartsWith(request.path, kFailPrefix)) {
      return FailureFor(request.path.substr(sizeof(kFailPrefix) - 1));
    }
    if (absl::StartsWith(request.path, kSleepPrefix)) {
      int milliseconds = 0;
      if (!absl::SimpleAtoi(request.path.substr(sizeof(kSleepPrefix) - 1), &milliseconds)) {
        return absl::InvalidArgumentError("sleep needs a number of milliseconds");
      }
      ++calls_->sleeps_started;
      absl::SleepFor(absl::Milliseconds(milliseconds));
      Response response;
      response.data["slept_ms"] = milliseconds;
      return response;
    }
    if (!absl::StartsWith(request.path, kKvPrefix)) return UnsupportedPathError(request.path);
    std::string key = request.path;

    switch (request.operation) {
      case Operation::kRead: {
        absl::StatusOr<std::optional<std::string>> value = config_.storage->Get(key);
        if (!value.ok()) return value.status();
        if (!value->has_value()) return Response::Empty();
        Response response;
        response.data["value"] = **value;
        return response;
      }
      case Operation::kCreate:
      case Operation::kUpdate: {
        auto it = request.data.find("value");
        if (it == request.data.end() || !it->is_string()) {
          return absl::InvalidArgumentError("field \"value\" must be a string");
        }
        absl::Status status = config_.storage->Put(key, it->get<std::string>());
        if (!status.ok()) return status;
        Response response;
        response.warnings.push_back("stored");
        return response;
      }
      case Operation::kDelete: {
        absl::Status status = config_.storage->Delete(key);
        if (!status.ok()) return status;
        return Response::Empty();
      }
      case Operation::kList: {
        absl::StatusOr<std::vector<std::string>> keys = config_.storage->List(key);
        if (!keys.ok()) return keys.status();
        Response response;
        response.data["keys"] = *keys;
        return response;
      }
      default:
        return UnsupportedOperationError(OperationName(request.operation), request.path);
    }
  }

  absl::StatusOr<ExistenceResult> HandleExistenceCheck(const Request& request) override {
    if (!absl::StartsWith(request.path, kKvPrefix)) return ExistenceResult{};
    absl::StatusOr<std::optional<std::string>> value = config_.storage->Get(request.path);
    if (!value.ok()) return value.status();
    return ExistenceResult{true, value->has_value()};
  }

  SpecialPaths GetSpecialPaths() const override {
    SpecialPaths paths;
    paths.root = {"root/*"};
    paths.unauthenticated = {"public"};
    return paths;
  }

  void InvalidateKey(std::string_view) override {}

  void Cleanup() override { ++calls_->cleaned_up; }

 private:
  BackendConfig config_;
  std::shared_ptr<FakeBackendCalls> calls_;
};

}  // namespace

BackendFactory FakeBackendFactory(std::shared_ptr<FakeBackendCalls> calls) {
  return [calls](const BackendConfig& config) -> absl::StatusOr<std::unique_ptr<LogicalBackend>> {
    ++calls->created;
    if (config.config.count("fail_setup") > 0) {
      return absl::InvalidArgumentError("setup rejected by configuration");
    }
    return std::unique_ptr<LogicalBackend>(new FakeBackend(config, calls));
  };
}

}  // namespace vault_qualtrics
