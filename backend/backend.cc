#include "backend/backend.h"

#include <utility>

#include "backend/framework/framework.h"
#include "backend/logical/log.h"
#include "backend/paths.h"
#include "backend/qualtrics_adapter.h"

namespace vault_qualtrics {
namespace {

constexpr char kBackendHelp[] =
    "The Qualtrics secrets engine issues Qualtrics client certificates for keys it generates "
    "and keeps.\n"
    "\n"
    "Write config once, define roles, then read cert/<role> to get a current certificate: the\n"
    "engine creates one at Qualtrics when none exists or the current one is due for renewal.\n"
    "rotate/<role> forces a new one; certs/ lists what the mount holds at Qualtrics, and tidy\n"
    "frees slots held by expired and superseded certificates.";

class QualtricsBackend : public LogicalBackend {
 public:
  QualtricsBackend(std::unique_ptr<Engine> engine, framework::Router router, bool has_storage)
      : engine_(std::move(engine)), router_(std::move(router)), has_storage_(has_storage) {}

  absl::Status Initialize() override {
    if (!has_storage_ || engine_->IsPerformanceStandby()) return absl::OkStatus();
    absl::StatusOr<std::shared_ptr<const ConfigRecord>> config = engine_->LoadConfig();
    if (!config.ok() || *config == nullptr) return absl::OkStatus();
    // Issuances interrupted by a crash are rolled back at start-up. The periodic callback
    // retries any failure here, so a failure does not stop the mount from starting.
    Request request;
    request.operation = Operation::kRollback;
    absl::StatusOr<WalRollbackReport> cleared = engine_->RollbackWal(request);
    if (!cleared.ok()) {
      Log(LogLevel::kWarn, "start-up rollback of write-ahead entries failed",
          {{"error", std::string(cleared.status().message())}});
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Response> HandleRequest(const Request& request) override {
    if (!has_storage_ && request.operation != Operation::kHelp) {
      return absl::FailedPreconditionError("the backend was set up without storage");
    }
    return router_.HandleRequest(request);
  }

  absl::StatusOr<ExistenceResult> HandleExistenceCheck(const Request& request) override {
    if (!has_storage_)
      return absl::FailedPreconditionError("the backend was set up without storage");
    return router_.HandleExistenceCheck(request);
  }

  SpecialPaths GetSpecialPaths() const override {
    SpecialPaths paths;
    // Records with credentials and private keys; Vault Enterprise seal-wraps these.
    paths.seal_wrap_storage = {"config", "cert/", "certs/"};
    return paths;
  }

  void InvalidateKey(std::string_view key) override { engine_->Invalidate(key); }

  void Cleanup() override {}

 private:
  std::unique_ptr<Engine> engine_;
  framework::Router router_;
  bool has_storage_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<LogicalBackend>> NewQualtricsBackend(const BackendConfig& config,
                                                                    EngineOptions options) {
  options.storage = config.storage;
  options.system_view = config.system_view;
  auto engine = std::make_unique<Engine>(std::move(options));
  Engine* raw = engine.get();

  framework::BackendOptions router_options;
  router_options.help = kBackendHelp;
  router_options.paths.push_back(ConfigPath(raw));
  for (framework::Path& path : RolePaths(raw)) router_options.paths.push_back(std::move(path));
  router_options.paths.push_back(CertPath(raw));
  router_options.paths.push_back(RotatePath(raw));
  for (framework::Path& path : CertsPaths(raw)) router_options.paths.push_back(std::move(path));
  router_options.paths.push_back(TidyPath(raw));
  router_options.periodic = [raw](const Request& request) { return raw->Periodic(request); };
  router_options.is_performance_standby = [raw] { return raw->IsPerformanceStandby(); };

  absl::StatusOr<framework::Router> router = framework::Router::Create(std::move(router_options));
  if (!router.ok()) return router.status();
  bool has_storage = config.storage != nullptr;
  return std::unique_ptr<LogicalBackend>(
      new QualtricsBackend(std::move(engine), *std::move(router), has_storage));
}

absl::StatusOr<std::unique_ptr<LogicalBackend>> NewQualtricsBackend(const BackendConfig& config) {
  EngineOptions options;
  options.ca_factory = QualtricsCertificateAuthorityFactory();
  return NewQualtricsBackend(config, std::move(options));
}

}  // namespace vault_qualtrics
