#include "plugin/plugin_server.h"

#include <grpcpp/health_check_service_interface.h>

#include <climits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "backend/logical/log.h"

namespace vault_qualtrics {

std::shared_ptr<grpc::ServerCredentials> AutoMtlsServerCredentials(
    const TlsIdentity& identity, const std::string& client_cert_pem) {
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = client_cert_pem;
  options.pem_key_cert_pairs.push_back(
      {identity.private_key_pem.value(), identity.certificate_pem});
  return grpc::SslServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> AutoMtlsChannelCredentials(
    const TlsIdentity& identity, const std::string& client_cert_pem) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = client_cert_pem;
  options.pem_private_key = identity.private_key_pem.value();
  options.pem_cert_chain = identity.certificate_pem;
  return grpc::SslCredentials(options);
}

void ShutdownSignal::Notify(std::string reason) {
  absl::MutexLock lock(&mutex_);
  if (notified_) return;
  notified_ = true;
  reason_ = std::move(reason);
}

bool ShutdownSignal::notified() {
  absl::MutexLock lock(&mutex_);
  return notified_;
}

std::string ShutdownSignal::reason() {
  absl::MutexLock lock(&mutex_);
  return reason_;
}

bool ShutdownSignal::WaitFor(absl::Duration timeout) {
  absl::MutexLock lock(&mutex_);
  mutex_.AwaitWithTimeout(absl::Condition(&notified_), timeout);
  return notified_;
}

// GRPCController: the host's request to exit. The stop is signalled after the reply is sent,
// because a stop signalled in the handler can cancel the host's Shutdown call.
class PluginServer::ControllerService final : public plugin::GRPCController::CallbackService {
 public:
  explicit ControllerService(ShutdownSignal* shutdown) : shutdown_(shutdown) {}

  grpc::ServerUnaryReactor* Shutdown(grpc::CallbackServerContext*, const plugin::Empty*,
                                     plugin::Empty*) override {
    return new NotifyWhenDone(shutdown_);
  }

 private:
  class NotifyWhenDone final : public grpc::ServerUnaryReactor {
   public:
    explicit NotifyWhenDone(ShutdownSignal* shutdown) : shutdown_(shutdown) {
      Finish(grpc::Status::OK);
    }

    void OnDone() override {
      shutdown_->Notify("the plugin host requested shutdown");
      delete this;
    }

   private:
    ShutdownSignal* shutdown_;
  };

  ShutdownSignal* shutdown_;
};

// GRPCStdio: go-plugin forwards a Go plugin's stdout and stderr on this stream. This process
// logs to stderr, which the host reads directly, so the stream stays open without data until
// the process stops or the host cancels it.
class PluginServer::StdioService final : public plugin::GRPCStdio::Service {
 public:
  explicit StdioService(ShutdownSignal* shutdown) : shutdown_(shutdown) {}

  grpc::Status StreamStdio(grpc::ServerContext* context, const plugin::Empty*,
                           grpc::ServerWriter<plugin::StdioData>*) override {
    while (!context->IsCancelled()) {
      if (shutdown_->WaitFor(absl::Milliseconds(200))) break;
    }
    return grpc::Status::OK;
  }

 private:
  ShutdownSignal* shutdown_;
};

absl::StatusOr<std::unique_ptr<PluginServer>> PluginServer::Start(PluginServerOptions options) {
  std::unique_ptr<PluginServer> server(new PluginServer());
  server->options_ = std::move(options);
  PluginServer* self = server.get();

  server->broker_ = std::make_unique<Broker>(
      [self]() { self->shutdown_.Notify("the plugin host closed the broker stream"); });
  server->backend_ = std::make_unique<BackendServer>(
      server->options_.factory, [self](uint32_t broker_id) { return self->DialBroker(broker_id); });
  server->version_ = std::make_unique<VersionServer>(server->options_.version);
  server->multiplexing_ = std::make_unique<MultiplexingServer>();
  server->controller_ = std::make_unique<ControllerService>(&server->shutdown_);
  server->stdio_ = std::make_unique<StdioService>(&server->shutdown_);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(server->options_.listen_address, server->options_.server_credentials);
  // Vault's Go side allows messages of any size; gRPC C++ limits receives to 4 MiB by default.
  builder.SetMaxReceiveMessageSize(INT_MAX);
  builder.SetMaxSendMessageSize(INT_MAX);
  builder.RegisterService(server->backend_.get());
  builder.RegisterService(server->version_.get());
  builder.RegisterService(server->multiplexing_.get());
  builder.RegisterService(server->broker_.get());
  builder.RegisterService(server->controller_.get());
  builder.RegisterService(server->stdio_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", server->options_.listen_address));
  }
  server->server_->GetHealthCheckService()->SetServingStatus(kHealthServiceName, true);
  return server;
}

PluginServer::~PluginServer() { Stop(); }

absl::StatusOr<std::shared_ptr<grpc::Channel>> PluginServer::DialBroker(uint32_t broker_id) {
  absl::StatusOr<plugin::ConnInfo> info = broker_->Take(broker_id, options_.broker_wait_timeout);
  if (!info.ok()) return info.status();

  std::string target;
  if (info->network() == "unix") {
    target = absl::StrCat("unix:", info->address());
  } else if (info->network() == "tcp") {
    target = info->address();
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "broker id ", broker_id, " names unsupported network \"", info->network(), "\""));
  }

  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  args.SetMaxReceiveMessageSize(INT_MAX);
  args.SetMaxSendMessageSize(INT_MAX);
  return grpc::CreateCustomChannel(target, options_.broker_credentials, args);
}

void PluginServer::Stop() {
  {
    absl::MutexLock lock(&stop_mutex_);
    if (stopped_) return;
    stopped_ = true;
  }
  shutdown_.Notify("the plugin server is stopping");
  if (server_ != nullptr) {
    server_->GetHealthCheckService()->SetServingStatus(kHealthServiceName, false);
    broker_->Shutdown();
    // gRPC's own graceful shutdown can wait for its whole deadline while a client connection
    // stays open, even with no call running (seen with gRPC 1.51). So running Backend calls are
    // awaited here, and gRPC then gets a short deadline to send the replies of calls that have
    // just returned. A deadline of now would cancel those replies.
    if (!backend_->WaitForIdle(kShutdownGracePeriod)) {
      Log(LogLevel::kWarn, "cancelling backend calls still running at shutdown");
    }
    server_->Shutdown(absl::ToChronoTime(absl::Now() + kReplyFlushTime));
    server_->Wait();
  }
  if (backend_ != nullptr) backend_->CleanupAll();
}

}  // namespace vault_qualtrics
