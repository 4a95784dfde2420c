#include "plugin/backend_server.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "backend/logical/errors.h"
#include "backend/logical/log.h"
#include "plugin/grpc_storage.h"
#include "plugin/status_mapping.h"
#include "plugin/translation.h"

namespace vault_qualtrics {
namespace {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

// Fills `reply_err` from a failed status.
void SetError(const absl::Status& status, pb::ProtoError* reply_err) {
  ToProtoError(ToVaultError(status), reply_err, nullptr);
}

// Fills the error of a HandleRequest reply, and its response only for request errors: Vault
// answers 400 to any plain error that comes with a response. Server-side failures are logged
// here because Vault shows the caller only the message.
void SetRequestError(const absl::Status& status, const pb::Request& request,
                     pb::HandleRequestReply* reply) {
  VaultError error = ToVaultError(status);
  if (error.http_status >= 500 && !IsReadOnly(status)) {
    Log(LogLevel::kError, "request failed",
        {{"request_id", request.id()},
         {"operation", request.operation()},
         {"path", request.path()},
         {"http_status", std::to_string(error.http_status)},
         {"error", error.message}});
  }
  pb::Response error_response;
  ToProtoError(error, reply->mutable_err(), &error_response);
  if (!error_response.data().empty()) *reply->mutable_response() = std::move(error_response);
}

}  // namespace

absl::StatusOr<std::string> InstanceIdFromMetadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  auto [begin, end] = metadata.equal_range(kMultiplexIdKey);
  if (begin == end) return std::string(kSingleInstanceId);
  if (std::next(begin) != end) {
    return absl::InvalidArgumentError("the call carries more than one multiplex_id");
  }
  std::string id(begin->second.data(), begin->second.size());
  if (id.empty()) return absl::InvalidArgumentError("the call carries an empty multiplex_id");
  return id;
}

BackendServer::BackendServer(BackendFactory factory, BrokerDialer dialer)
    : factory_(std::move(factory)), dialer_(std::move(dialer)) {}

BackendServer::~BackendServer() { CleanupAll(); }

grpc::Status BackendServer::Lookup(grpc::ServerContext* context, const char* method,
                                   std::shared_ptr<Instance>* instance) {
  absl::StatusOr<std::string> id = InstanceIdFromMetadata(context->client_metadata());
  if (!id.ok()) return ToGrpcStatus(id.status());
  absl::MutexLock lock(&mutex_);
  auto it = instances_.find(*id);
  if (it == instances_.end()) {
    std::string message = absl::StrCat("no backend instance for multiplex id \"", *id,
                                       "\": Setup was not called or the mount was cleaned up");
    Log(LogLevel::kWarn, "call for a mount without a backend instance",
        {{"multiplex_id", *id}, {"method", method}});
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, message);
  }
  *instance = it->second;
  return grpc::Status::OK;
}

grpc::Status BackendServer::Setup(grpc::ServerContext* context, const pb::SetupArgs* args,
                                  pb::SetupReply* reply) {
  CallGuard guard(this);
  absl::StatusOr<std::string> id = InstanceIdFromMetadata(context->client_metadata());
  if (!id.ok()) return ToGrpcStatus(id.status());

  // The channel connects lazily, so Setup does not call Vault: Vault runs Setup with an empty
  // config only to learn the plugin's type.
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = dialer_(args->broker_id());
  if (!channel.ok()) {
    Log(LogLevel::kError, "setup failed to reach the plugin host's broker",
        {{"multiplex_id", *id},
         {"broker_id", std::to_string(args->broker_id())},
         {"error", std::string(channel.status().message())}});
    return ToGrpcStatus(channel.status());
  }

  auto instance = std::make_shared<Instance>();
  instance->channel = *std::move(channel);
  instance->storage = std::make_unique<GrpcStorage>(instance->channel);
  instance->system_view = std::make_unique<GrpcSystemView>(instance->channel);

  BackendConfig config;
  config.config.insert(args->config().begin(), args->config().end());
  config.backend_uuid = args->backenduuid();
  config.storage = instance->storage.get();
  config.system_view = instance->system_view.get();
  absl::StatusOr<std::unique_ptr<LogicalBackend>> backend = factory_(config);
  if (!backend.ok()) {
    Log(LogLevel::kError, "backend factory failed",
        {{"multiplex_id", *id}, {"error", std::string(backend.status().message())}});
    reply->set_err(std::string(backend.status().message()));
    return grpc::Status::OK;
  }
  instance->backend = *std::move(backend);

  std::shared_ptr<Instance> replaced;
  {
    absl::MutexLock lock(&mutex_);
    std::shared_ptr<Instance>& slot = instances_[*id];
    replaced = std::move(slot);
    slot = std::move(instance);
  }
  if (replaced != nullptr) replaced->backend->Cleanup();
  Log(LogLevel::kDebug, "backend instance set up",
      {{"multiplex_id", *id}, {"backend_uuid", args->backenduuid()}});
  return grpc::Status::OK;
}

grpc::Status BackendServer::HandleRequest(grpc::ServerContext* context,
                                          const pb::HandleRequestArgs* args,
                                          pb::HandleRequestReply* reply) {
  CallGuard guard(this);
  std::shared_ptr<Instance> instance;
  grpc::Status lookup = Lookup(context, "HandleRequest", &instance);
  if (!lookup.ok()) return lookup;

  absl::StatusOr<Request> request = FromProtoRequest(args->request());
  if (!request.ok()) {
    SetRequestError(request.status(), args->request(), reply);
    return grpc::Status::OK;
  }

  absl::StatusOr<Response> response = instance->backend->HandleRequest(*request);
  if (!response.ok()) {
    SetRequestError(response.status(), args->request(), reply);
    return grpc::Status::OK;
  }
  if (response->has_response) ToProtoResponse(*response, reply->mutable_response());
  return grpc::Status::OK;
}

grpc::Status BackendServer::HandleExistenceCheck(grpc::ServerContext* context,
                                                 const pb::HandleExistenceCheckArgs* args,
                                                 pb::HandleExistenceCheckReply* reply) {
  CallGuard guard(this);
  std::shared_ptr<Instance> instance;
  grpc::Status lookup = Lookup(context, "HandleExistenceCheck", &instance);
  if (!lookup.ok()) return lookup;

  absl::StatusOr<Request> request = FromProtoRequest(args->request());
  if (!request.ok()) {
    SetError(request.status(), reply->mutable_err());
    return grpc::Status::OK;
  }
  absl::StatusOr<ExistenceResult> result = instance->backend->HandleExistenceCheck(*request);
  if (!result.ok()) {
    SetError(result.status(), reply->mutable_err());
    return grpc::Status::OK;
  }
  reply->set_check_found(result->check_found);
  reply->set_exists(result->exists);
  return grpc::Status::OK;
}

grpc::Status BackendServer::SpecialPaths(grpc::ServerContext* context, const pb::Empty*,
                                         pb::SpecialPathsReply* reply) {
  CallGuard guard(this);
  std::shared_ptr<Instance> instance;
  grpc::Status lookup = Lookup(context, "SpecialPaths", &instance);
  if (!lookup.ok()) return lookup;

  vault_qualtrics::SpecialPaths paths = instance->backend->GetSpecialPaths();
  pb::Paths* out = reply->mutable_paths();
  for (const std::string& path : paths.root) out->add_root(path);
  for (const std::string& path : paths.unauthenticated) out->add_unauthenticated(path);
  for (const std::string& path : paths.local_storage) out->add_local_storage(path);
  for (const std::string& path : paths.seal_wrap_storage) out->add_seal_wrap_storage(path);
  return grpc::Status::OK;
}

grpc::Status BackendServer::Initialize(grpc::ServerContext* context, const pb::InitializeArgs*,
                                       pb::InitializeReply* reply) {
  CallGuard guard(this);
  std::shared_ptr<Instance> instance;
  grpc::Status lookup = Lookup(context, "Initialize", &instance);
  if (!lookup.ok()) return lookup;

  absl::Status status = instance->backend->Initialize();
  if (!status.ok()) {
    Log(LogLevel::kError, "backend initialization failed",
        {{"error", std::string(status.message())}});
    SetError(status, reply->mutable_err());
  }
  return grpc::Status::OK;
}

grpc::Status BackendServer::InvalidateKey(grpc::ServerContext* context,
                                          const pb::InvalidateKeyArgs* args, pb::Empty*) {
  CallGuard guard(this);
  std::shared_ptr<Instance> instance;
  grpc::Status lookup = Lookup(context, "InvalidateKey", &instance);
  if (!lookup.ok()) return lookup;

  instance->backend->InvalidateKey(args->key());
  return grpc::Status::OK;
}

grpc::Status BackendServer::Cleanup(grpc::ServerContext* context, const pb::Empty*, pb::Empty*) {
  CallGuard guard(this);
  absl::StatusOr<std::string> id = InstanceIdFromMetadata(context->client_metadata());
  if (!id.ok()) return ToGrpcStatus(id.status());

  std::shared_ptr<Instance> instance;
  {
    absl::MutexLock lock(&mutex_);
    auto it = instances_.find(*id);
    if (it != instances_.end()) {
      instance = std::move(it->second);
      instances_.erase(it);
    }
  }
  // Cleaning up an unknown mount succeeds: the end state is the same.
  if (instance != nullptr) {
    instance->backend->Cleanup();
    Log(LogLevel::kDebug, "backend instance cleaned up", {{"multiplex_id", *id}});
  }
  return grpc::Status::OK;
}

grpc::Status BackendServer::Type(grpc::ServerContext*, const pb::Empty*, pb::TypeReply* reply) {
  reply->set_type(kBackendTypeLogical);
  return grpc::Status::OK;
}

void BackendServer::CleanupAll() {
  std::map<std::string, std::shared_ptr<Instance>> instances;
  {
    absl::MutexLock lock(&mutex_);
    instances.swap(instances_);
  }
  for (auto& [id, instance] : instances) instance->backend->Cleanup();
}

BackendServer::CallGuard::CallGuard(BackendServer* server) : server_(server) {
  absl::MutexLock lock(&server_->mutex_);
  ++server_->running_calls_;
}

BackendServer::CallGuard::~CallGuard() {
  absl::MutexLock lock(&server_->mutex_);
  --server_->running_calls_;
}

bool BackendServer::WaitForIdle(absl::Duration timeout) {
  absl::MutexLock lock(&mutex_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return running_calls_ == 0; };
  return mutex_.AwaitWithTimeout(absl::Condition(&idle), timeout);
}

size_t BackendServer::InstanceCountForTesting() {
  absl::MutexLock lock(&mutex_);
  return instances_.size();
}

grpc::Status VersionServer::Version(grpc::ServerContext*, const logical::Empty*,
                                    logical::VersionReply* reply) {
  reply->set_plugin_version(version_);
  return grpc::Status::OK;
}

grpc::Status MultiplexingServer::MultiplexingSupport(
    grpc::ServerContext*, const pluginutil::multiplexing::MultiplexingSupportRequest*,
    pluginutil::multiplexing::MultiplexingSupportResponse* reply) {
  reply->set_supported(true);
  return grpc::Status::OK;
}

}  // namespace vault_qualtrics
