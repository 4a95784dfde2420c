// Runs the plugin's gRPC server in-process and drives it as Vault's host does: mutual TLS with
// the host's certificate, a broker stream that announces the host's Storage listener, Setup,
// then requests whose storage calls go back to the host.
#include "plugin/plugin_server.h"

#include <grpcpp/grpcpp.h>
#include <stdlib.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "plugin/fake_backend.h"
#include "plugin/tls_identity.h"
#include "proto/backend.grpc.pb.h"
#include "proto/go_plugin.grpc.pb.h"
#include "proto/health.grpc.pb.h"
#include "proto/multiplexing.grpc.pb.h"
#include "proto/version.grpc.pb.h"

namespace vault_qualtrics {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Vault's Storage service on the brokered connection, backed by a map.
class HostCallbacks final : public pb::Storage::Service {
 public:
  grpc::Status Get(grpc::ServerContext*, const pb::StorageGetArgs* args,
                   pb::StorageGetReply* reply) override {
    absl::MutexLock lock(&mutex_);
    auto it = entries_.find(args->key());
    if (it != entries_.end()) {
      reply->mutable_entry()->set_key(it->first);
      reply->mutable_entry()->set_value(it->second);
    }
    return grpc::Status::OK;
  }
  grpc::Status Put(grpc::ServerContext*, const pb::StoragePutArgs* args,
                   pb::StoragePutReply* reply) override {
    absl::MutexLock lock(&mutex_);
    if (read_only_) {
      reply->set_err("cannot write to readonly storage");
      return grpc::Status::OK;
    }
    entries_[args->entry().key()] = args->entry().value();
    return grpc::Status::OK;
  }
  grpc::Status Delete(grpc::ServerContext*, const pb::StorageDeleteArgs* args,
                      pb::StorageDeleteReply*) override {
    absl::MutexLock lock(&mutex_);
    entries_.erase(args->key());
    return grpc::Status::OK;
  }
  grpc::Status List(grpc::ServerContext*, const pb::StorageListArgs* args,
                    pb::StorageListReply* reply) override {
    absl::MutexLock lock(&mutex_);
    for (const auto& [key, value] : entries_) {
      if (key.compare(0, args->prefix().size(), args->prefix()) == 0) {
        reply->add_keys(key.substr(args->prefix().size()));
      }
    }
    return grpc::Status::OK;
  }

  std::map<std::string, std::string> entries() {
    absl::MutexLock lock(&mutex_);
    return entries_;
  }
  void set_read_only(bool read_only) {
    absl::MutexLock lock(&mutex_);
    read_only_ = read_only;
  }

 private:
  absl::Mutex mutex_;
  std::map<std::string, std::string> entries_;
  bool read_only_ = false;
};

class HostSystemView final : public pb::SystemView::Service {
 public:
  grpc::Status PluginEnv(grpc::ServerContext*, const pb::Empty*,
                         pb::PluginEnvReply* reply) override {
    reply->mutable_plugin_environment()->set_vault_version("1.15.0");
    return grpc::Status::OK;
  }
};

class PluginServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/plugin-server-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;

    absl::StatusOr<TlsIdentity> plugin_identity = GenerateTlsIdentity();
    absl::StatusOr<TlsIdentity> host_identity = GenerateTlsIdentity();
    ASSERT_TRUE(plugin_identity.ok());
    ASSERT_TRUE(host_identity.ok());
    plugin_identity_ = std::make_unique<TlsIdentity>(*std::move(plugin_identity));
    host_identity_ = std::make_unique<TlsIdentity>(*std::move(host_identity));

    calls_ = std::make_shared<FakeBackendCalls>();
    PluginServerOptions options;
    options.factory = FakeBackendFactory(calls_);
    options.version = "v1.2.3";
    options.listen_address = "unix:" + dir_ + "/plugin.sock";
    options.server_credentials =
        AutoMtlsServerCredentials(*plugin_identity_, host_identity_->certificate_pem);
    options.broker_credentials =
        AutoMtlsChannelCredentials(*plugin_identity_, host_identity_->certificate_pem);
    // Long enough for ConnInfoMayArriveAfterSetupStarts's late announcement on a loaded machine.
    options.broker_wait_timeout = absl::Seconds(1);
    absl::StatusOr<std::unique_ptr<PluginServer>> server = PluginServer::Start(std::move(options));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);

    channel_ =
        HostChannel(AutoMtlsChannelCredentials(*host_identity_, plugin_identity_->certificate_pem));
    backend_ = pb::Backend::NewStub(channel_);
    broker_context_ = std::make_unique<grpc::ClientContext>();
    broker_stream_ = plugin::GRPCBroker::NewStub(channel_)->StartStream(broker_context_.get());
  }

  void TearDown() override {
    if (broker_stream_ != nullptr) {
      broker_stream_->WritesDone();
      broker_context_->TryCancel();
      broker_stream_->Finish();
    }
    server_.reset();
    for (auto& callback_server : callback_servers_) callback_server->Shutdown();
    callback_servers_.clear();
    std::string command = "rm -rf " + dir_;
    ASSERT_EQ(system(command.c_str()), 0);
  }

  std::shared_ptr<grpc::Channel> HostChannel(std::shared_ptr<grpc::ChannelCredentials> creds) {
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    return grpc::CreateCustomChannel("unix:" + dir_ + "/plugin.sock", creds, args);
  }

  // Serves `callbacks` as the host does for one mount and announces it as `broker_id`.
  void ServeCallbacks(uint32_t broker_id, HostCallbacks* callbacks) {
    std::string path = dir_ + "/broker-" + std::to_string(broker_id) + ".sock";
    grpc::ServerBuilder builder;
    builder.AddListeningPort(
        "unix:" + path,
        AutoMtlsServerCredentials(*host_identity_, plugin_identity_->certificate_pem));
    builder.RegisterService(callbacks);
    builder.RegisterService(&system_view_);
    callback_servers_.push_back(builder.BuildAndStart());
    ASSERT_NE(callback_servers_.back(), nullptr);
    Announce(broker_id, "unix", path);
  }

  void Announce(uint32_t broker_id, const std::string& network, const std::string& address) {
    plugin::ConnInfo info;
    info.set_service_id(broker_id);
    info.set_network(network);
    info.set_address(address);
    ASSERT_TRUE(broker_stream_->Write(info));
  }

  grpc::Status Setup(const std::string& mount, uint32_t broker_id,
                     std::map<std::string, std::string> config, pb::SetupReply* reply) {
    grpc::ClientContext context;
    if (!mount.empty()) context.AddMetadata("multiplex_id", mount);
    pb::SetupArgs args;
    args.set_broker_id(broker_id);
    args.mutable_config()->insert(config.begin(), config.end());
    args.set_backenduuid("uuid-" + mount);
    return backend_->Setup(&context, args, reply);
  }

  pb::HandleRequestReply Request(const std::string& mount, const std::string& operation,
                                 const std::string& path, const std::string& data,
                                 grpc::Status* status = nullptr) {
    grpc::ClientContext context;
    context.AddMetadata("multiplex_id", mount);
    pb::HandleRequestArgs args;
    args.mutable_request()->set_operation(operation);
    args.mutable_request()->set_path(path);
    args.mutable_request()->set_data(data);
    pb::HandleRequestReply reply;
    grpc::Status result = backend_->HandleRequest(&context, args, &reply);
    if (status != nullptr) {
      *status = result;
    } else {
      EXPECT_TRUE(result.ok()) << result.error_message();
    }
    return reply;
  }

  std::string dir_;
  std::unique_ptr<TlsIdentity> plugin_identity_;
  std::unique_ptr<TlsIdentity> host_identity_;
  std::shared_ptr<FakeBackendCalls> calls_;
  std::unique_ptr<PluginServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::Backend::Stub> backend_;
  std::unique_ptr<grpc::ClientContext> broker_context_;
  std::unique_ptr<grpc::ClientReaderWriter<plugin::ConnInfo, plugin::ConnInfo>> broker_stream_;
  HostSystemView system_view_;
  std::vector<std::unique_ptr<grpc::Server>> callback_servers_;
};

TEST_F(PluginServerTest, HealthReportsPluginServing) {
  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckRequest request;
  request.set_service("plugin");
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = health->Check(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(PluginServerTest, RejectsClientWithoutCertificate) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = plugin_identity_->certificate_pem;
  auto stub = pluginutil::multiplexing::PluginMultiplexing::NewStub(
      HostChannel(grpc::SslCredentials(options)));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  pluginutil::multiplexing::MultiplexingSupportResponse response;
  grpc::Status status = stub->MultiplexingSupport(
      &context, pluginutil::multiplexing::MultiplexingSupportRequest(), &response);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(PluginServerTest, RejectsClientWithUntrustedCertificate) {
  absl::StatusOr<TlsIdentity> stranger = GenerateTlsIdentity();
  ASSERT_TRUE(stranger.ok());
  auto stub = pluginutil::multiplexing::PluginMultiplexing::NewStub(
      HostChannel(AutoMtlsChannelCredentials(*stranger, plugin_identity_->certificate_pem)));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  pluginutil::multiplexing::MultiplexingSupportResponse response;
  grpc::Status status = stub->MultiplexingSupport(
      &context, pluginutil::multiplexing::MultiplexingSupportRequest(), &response);
  EXPECT_FALSE(status.ok());
}

TEST_F(PluginServerTest, ReportsMultiplexingVersionAndType) {
  auto multiplexing = pluginutil::multiplexing::PluginMultiplexing::NewStub(channel_);
  grpc::ClientContext multiplexing_context;
  pluginutil::multiplexing::MultiplexingSupportResponse multiplexing_response;
  ASSERT_TRUE(multiplexing
                  ->MultiplexingSupport(&multiplexing_context,
                                        pluginutil::multiplexing::MultiplexingSupportRequest(),
                                        &multiplexing_response)
                  .ok());
  EXPECT_TRUE(multiplexing_response.supported());

  auto version = logical::PluginVersion::NewStub(channel_);
  grpc::ClientContext version_context;
  logical::VersionReply version_reply;
  ASSERT_TRUE(version->Version(&version_context, logical::Empty(), &version_reply).ok());
  EXPECT_EQ(version_reply.plugin_version(), "v1.2.3");

  grpc::ClientContext type_context;
  pb::TypeReply type_reply;
  ASSERT_TRUE(backend_->Type(&type_context, pb::Empty(), &type_reply).ok());
  EXPECT_EQ(type_reply.type(), 1u);
}

TEST_F(PluginServerTest, WritesAndReadsThroughBrokeredStorage) {
  HostCallbacks storage;
  ServeCallbacks(1, &storage);
  pb::SetupReply setup;
  grpc::Status status = Setup("mount-a", 1, {{"plugin_type", "secret"}}, &setup);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(setup.err(), "");

  pb::HandleRequestReply write = Request("mount-a", "update", "kv/x", R"({"value":"hello"})");
  EXPECT_FALSE(write.has_err());
  EXPECT_THAT(write.response().warnings(), ElementsAre("stored"));
  EXPECT_EQ(write.response().data(), "{}");
  EXPECT_EQ(storage.entries()["kv/x"], "hello");

  pb::HandleRequestReply read = Request("mount-a", "read", "kv/x", "null");
  EXPECT_FALSE(read.has_err());
  EXPECT_EQ(nlohmann::json::parse(read.response().data())["value"], "hello");

  pb::HandleRequestReply list = Request("mount-a", "list", "kv/", "null");
  EXPECT_EQ(nlohmann::json::parse(list.response().data())["keys"], nlohmann::json({"x"}));

  pb::HandleRequestReply missing = Request("mount-a", "read", "kv/none", "");
  EXPECT_FALSE(missing.has_err());
  EXPECT_FALSE(missing.has_response());
}

TEST_F(PluginServerTest, MountsKeepSeparateStorage) {
  HostCallbacks storage_a;
  HostCallbacks storage_b;
  ServeCallbacks(1, &storage_a);
  ServeCallbacks(2, &storage_b);
  pb::SetupReply setup;
  ASSERT_TRUE(Setup("mount-a", 1, {}, &setup).ok());
  ASSERT_TRUE(Setup("mount-b", 2, {}, &setup).ok());
  EXPECT_EQ(server_->backend_server().InstanceCountForTesting(), 2u);

  Request("mount-a", "update", "kv/x", R"({"value":"a"})");
  Request("mount-b", "update", "kv/x", R"({"value":"b"})");
  EXPECT_EQ(storage_a.entries()["kv/x"], "a");
  EXPECT_EQ(storage_b.entries()["kv/x"], "b");
  EXPECT_EQ(
      nlohmann::json::parse(Request("mount-b", "read", "kv/x", "").response().data())["value"],
      "b");

  grpc::ClientContext cleanup_context;
  cleanup_context.AddMetadata("multiplex_id", "mount-a");
  pb::Empty empty;
  ASSERT_TRUE(backend_->Cleanup(&cleanup_context, pb::Empty(), &empty).ok());
  EXPECT_EQ(calls_->cleaned_up, 1);
  EXPECT_EQ(server_->backend_server().InstanceCountForTesting(), 1u);

  grpc::Status status;
  Request("mount-a", "read", "kv/x", "", &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(
      nlohmann::json::parse(Request("mount-b", "read", "kv/x", "").response().data())["value"],
      "b");
}

TEST_F(PluginServerTest, ConnInfoMayArriveAfterSetupStarts) {
  HostCallbacks storage;
  std::thread late_announcement([&] {
    absl::SleepFor(absl::Milliseconds(100));
    ServeCallbacks(7, &storage);
  });
  pb::SetupReply setup;
  grpc::Status status = Setup("mount-a", 7, {}, &setup);
  late_announcement.join();
  ASSERT_TRUE(status.ok()) << status.error_message();
  Request("mount-a", "update", "kv/late", R"({"value":"v"})");
  EXPECT_EQ(storage.entries()["kv/late"], "v");
}

TEST_F(PluginServerTest, SetupWithEmptyConfigDoesNotTouchStorage) {
  // The announced listener does not exist; Setup must still succeed because Vault's type
  // detection calls only Setup, SpecialPaths and Type.
  Announce(3, "unix", dir_ + "/nobody-listens.sock");
  pb::SetupReply setup;
  grpc::Status status = Setup("detect", 3, {}, &setup);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(setup.err(), "");

  grpc::ClientContext context;
  context.AddMetadata("multiplex_id", "detect");
  pb::SpecialPathsReply paths;
  ASSERT_TRUE(backend_->SpecialPaths(&context, pb::Empty(), &paths).ok());
  EXPECT_THAT(paths.paths().root(), ElementsAre("root/*"));
  EXPECT_THAT(paths.paths().unauthenticated(), ElementsAre("public"));

  grpc::Status request_status;
  pb::HandleRequestReply reply = Request("detect", "read", "kv/x", "", &request_status);
  ASSERT_TRUE(request_status.ok());
  EXPECT_EQ(reply.err().err_type(), 3u);
  EXPECT_EQ(reply.err().err_code(), 503);
}

TEST_F(PluginServerTest, SetupFailsWhenBrokerIdIsNeverAnnounced) {
  pb::SetupReply setup;
  grpc::Status status = Setup("mount-a", 42, {}, &setup);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_THAT(status.error_message(), HasSubstr("42"));
}

TEST_F(PluginServerTest, FactoryErrorIsReturnedInSetupReply) {
  HostCallbacks storage;
  ServeCallbacks(1, &storage);
  pb::SetupReply setup;
  ASSERT_TRUE(Setup("mount-a", 1, {{"fail_setup", "1"}}, &setup).ok());
  EXPECT_EQ(setup.err(), "setup rejected by configuration");
  EXPECT_EQ(server_->backend_server().InstanceCountForTesting(), 0u);
}

TEST_F(PluginServerTest, MapsBackendErrorsToVaultErrors) {
  HostCallbacks storage;
  ServeCallbacks(1, &storage);
  pb::SetupReply setup;
  ASSERT_TRUE(Setup("mount-a", 1, {}, &setup).ok());

  pb::HandleRequestReply unknown = Request("mount-a", "read", "nowhere", "");
  EXPECT_EQ(unknown.err().err_type(), 6u);
  EXPECT_FALSE(unknown.has_response());

  pb::HandleRequestReply invalid = Request("mount-a", "update", "kv/x", R"({"value":1})");
  EXPECT_EQ(invalid.err().err_type(), 4u);
  EXPECT_THAT(invalid.err().err_msg(), HasSubstr("value"));
  EXPECT_THAT(nlohmann::json::parse(invalid.response().data())["error"].get<std::string>(),
              HasSubstr("value"));

  pb::HandleRequestReply bad_json = Request("mount-a", "update", "kv/x", "{not json");
  EXPECT_EQ(bad_json.err().err_type(), 4u);

  pb::HandleRequestReply denied = Request("mount-a", "read", "fail/permission_denied", "");
  EXPECT_EQ(denied.err().err_type(), 3u);
  EXPECT_EQ(denied.err().err_code(), 403);
  EXPECT_FALSE(denied.has_response());

  pb::HandleRequestReply internal = Request("mount-a", "read", "fail/internal", "");
  EXPECT_EQ(internal.err().err_type(), 2u);
  EXPECT_FALSE(internal.has_response());

  pb::HandleRequestReply patch = Request("mount-a", "patch", "kv/x", "");
  EXPECT_EQ(patch.err().err_type(), 5u);
}

TEST_F(PluginServerTest, ReadOnlyStorageBecomesVaultReadOnlyError) {
  HostCallbacks storage;
  storage.set_read_only(true);
  ServeCallbacks(1, &storage);
  pb::SetupReply setup;
  ASSERT_TRUE(Setup("standby", 1, {}, &setup).ok());

  pb::HandleRequestReply reply = Request("standby", "update", "kv/x", R"({"value":"v"})");
  EXPECT_EQ(reply.err().err_type(), 0u);
  EXPECT_EQ(reply.err().err_msg(), "cannot write to readonly storage");
  EXPECT_FALSE(reply.has_response());
}

TEST_F(PluginServerTest, ExistenceCheckAndInitializeUseStorage) {
  HostCallbacks storage;
  ServeCallbacks(1, &storage);
  pb::SetupReply setup;
  ASSERT_TRUE(Setup("mount-a", 1, {}, &setup).ok());

  grpc::ClientContext init_context;
  init_context.AddMetadata("multiplex_id", "mount-a");
  pb::InitializeReply init;
  ASSERT_TRUE(backend_->Initialize(&init_context, pb::InitializeArgs(), &init).ok());
  EXPECT_FALSE(init.has_err());
  EXPECT_EQ(calls_->initialized, 1);

  auto exists = [&](const std::string& path) {
    grpc::ClientContext context;
    context.AddMetadata("multiplex_id", "mount-a");
    pb::HandleExistenceCheckArgs args;
    args.mutable_request()->set_operation("create");
    args.mutable_request()->set_path(path);
    pb::HandleExistenceCheckReply reply;
    EXPECT_TRUE(backend_->HandleExistenceCheck(&context, args, &reply).ok());
    return reply;
  };
  EXPECT_TRUE(exists("kv/x").check_found());
  EXPECT_FALSE(exists("kv/x").exists());
  Request("mount-a", "update", "kv/x", R"({"value":"v"})");
  EXPECT_TRUE(exists("kv/x").exists());
  EXPECT_FALSE(exists("other").check_found());
}

TEST_F(PluginServerTest, CallWithoutMultiplexIdUsesSingleInstance) {
  HostCallbacks storage;
  ServeCallbacks(1, &storage);
  pb::SetupReply setup;
  ASSERT_TRUE(Setup("", 1, {}, &setup).ok());
  Request("single", "update", "kv/x", R"({"value":"v"})");
  EXPECT_EQ(storage.entries()["kv/x"], "v");
}

TEST_F(PluginServerTest, RejectsEmptyMultiplexId) {
  grpc::ClientContext context;
  context.AddMetadata("multiplex_id", "");
  pb::SpecialPathsReply reply;
  grpc::Status status = backend_->SpecialPaths(&context, pb::Empty(), &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(PluginServerTest, ControllerShutdownNotifiesProcess) {
  EXPECT_FALSE(server_->shutdown_signal().notified());
  auto controller = plugin::GRPCController::NewStub(channel_);
  grpc::ClientContext context;
  plugin::Empty reply;
  ASSERT_TRUE(controller->Shutdown(&context, plugin::Empty(), &reply).ok());
  EXPECT_TRUE(server_->shutdown_signal().WaitFor(absl::Seconds(5)));
  EXPECT_THAT(server_->shutdown_signal().reason(), HasSubstr("requested shutdown"));
}

TEST_F(PluginServerTest, HostClosingBrokerStreamNotifiesProcess) {
  broker_stream_->WritesDone();
  EXPECT_TRUE(server_->shutdown_signal().WaitFor(absl::Seconds(5)));
  EXPECT_THAT(server_->shutdown_signal().reason(), HasSubstr("broker stream"));
  broker_stream_->Finish();
  broker_stream_.reset();
}

TEST_F(PluginServerTest, StdioStreamEndsOnStop) {
  auto stdio = plugin::GRPCStdio::NewStub(channel_);
  grpc::ClientContext context;
  auto reader = stdio->StreamStdio(&context, plugin::Empty());
  std::thread stopper([&] {
    absl::SleepFor(absl::Milliseconds(100));
    server_->Stop();
  });
  plugin::StdioData data;
  EXPECT_FALSE(reader->Read(&data));
  stopper.join();
  EXPECT_EQ(calls_->cleaned_up, 0);
}

TEST_F(PluginServerTest, StopLetsRunningCallFinish) {
  HostCallbacks storage;
  ServeCallbacks(1, &storage);
  pb::SetupReply setup;
  ASSERT_TRUE(Setup("mount-a", 1, {}, &setup).ok());

  pb::HandleRequestReply reply;
  grpc::Status status;
  std::thread caller([&] { reply = Request("mount-a", "read", "sleep/300", "", &status); });
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (calls_->sleeps_started == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(calls_->sleeps_started, 1);
  server_->Stop();
  caller.join();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(nlohmann::json::parse(reply.response().data())["slept_ms"], 300);
}

TEST_F(PluginServerTest, StopCleansUpInstances) {
  HostCallbacks storage;
  ServeCallbacks(1, &storage);
  pb::SetupReply setup;
  ASSERT_TRUE(Setup("mount-a", 1, {}, &setup).ok());
  absl::Time start = absl::Now();
  server_->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_EQ(calls_->cleaned_up, 1);
}

}  // namespace
}  // namespace vault_qualtrics
