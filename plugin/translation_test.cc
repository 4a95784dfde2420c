#include "plugin/translation.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <string>

namespace vault_qualtrics {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(FromProtoRequestTest, CopiesFieldsAndParsesData) {
  pb::Request proto;
  proto.set_operation("update");
  proto.set_path("config");
  proto.set_data(R"({"organization_id":"org","timeout":30})");
  proto.set_id("req-1");
  proto.set_mount_point("qualtrics/");
  proto.set_mount_accessor("qualtrics_123");
  proto.set_entity_id("entity");
  proto.set_display_name("token");
  proto.set_client_token_accessor("accessor");
  proto.mutable_secret()->set_internal_data(R"({"id":"x"})");

  absl::StatusOr<Request> request = FromProtoRequest(proto);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->operation, Operation::kUpdate);
  EXPECT_EQ(request->path, "config");
  EXPECT_EQ(request->data["organization_id"], "org");
  EXPECT_EQ(request->data["timeout"], 30);
  EXPECT_EQ(request->id, "req-1");
  EXPECT_EQ(request->mount_point, "qualtrics/");
  EXPECT_EQ(request->mount_accessor, "qualtrics_123");
  EXPECT_EQ(request->entity_id, "entity");
  EXPECT_EQ(request->display_name, "token");
  EXPECT_EQ(request->client_token_accessor, "accessor");
  EXPECT_EQ(request->secret_internal_data, R"({"id":"x"})");
}

TEST(FromProtoRequestTest, NullAndEmptyDataBecomeEmptyObject) {
  for (const char* data : {"", "null", " null "}) {
    pb::Request proto;
    proto.set_operation("read");
    proto.set_data(data);
    absl::StatusOr<Request> request = FromProtoRequest(proto);
    ASSERT_TRUE(request.ok()) << data;
    EXPECT_TRUE(request->data.is_object()) << data;
    EXPECT_TRUE(request->data.empty()) << data;
  }
}

TEST(FromProtoRequestTest, RejectsInvalidJsonAndNonObjects) {
  for (const char* data : {"{", "[1,2]", "\"text\"", "42", "{\"a\":}"}) {
    pb::Request proto;
    proto.set_data(data);
    absl::StatusOr<Request> request = FromProtoRequest(proto);
    ASSERT_FALSE(request.ok()) << data;
    EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument) << data;
    EXPECT_THAT(std::string(request.status().message()), HasSubstr("data")) << data;
  }
}

TEST(FromProtoRequestTest, UnknownOperationIsKept) {
  pb::Request proto;
  proto.set_operation("frobnicate");
  absl::StatusOr<Request> request = FromProtoRequest(proto);
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->operation, Operation::kUnknown);
}

TEST(ToProtoResponseTest, DataIsAlwaysAJsonObject) {
  Response response;
  pb::Response proto;
  ToProtoResponse(response, &proto);
  EXPECT_EQ(proto.data(), "{}");

  Response with_data;
  with_data.data["a"] = "b";
  with_data.warnings = {"first", "second"};
  pb::Response proto_with_data;
  ToProtoResponse(with_data, &proto_with_data);
  EXPECT_EQ(proto_with_data.data(), R"({"a":"b"})");
  EXPECT_THAT(proto_with_data.warnings(), ElementsAre("first", "second"));

  Response not_object;
  not_object.data = nlohmann::json::array();
  pb::Response proto_not_object;
  ToProtoResponse(not_object, &proto_not_object);
  EXPECT_EQ(proto_not_object.data(), "{}");
}

TEST(ToProtoResponseTest, InvalidUtf8IsReplacedNotThrown) {
  Response response;
  response.data["bad"] = std::string("\xff\xfe");
  pb::Response proto;
  ToProtoResponse(response, &proto);
  EXPECT_THAT(proto.data(), HasSubstr("\"bad\""));
  EXPECT_EQ(nlohmann::json::parse(proto.data()).is_object(), true);
}

TEST(ToProtoResponseTest, SecretResponseSerialisesTheSame) {
  Response plain;
  plain.data = {{"private_key", "-----BEGIN PRIVATE KEY-----\n" + std::string(1600, 'k') + "\n"},
                {"bad", std::string("\xff")},
                {"key_bits", 256}};
  plain.warnings = {"renew soon"};
  Response secret = plain;
  secret.contains_secrets = true;

  pb::Response plain_proto;
  ToProtoResponse(plain, &plain_proto);
  pb::Response secret_proto;
  ToProtoResponse(secret, &secret_proto);
  EXPECT_EQ(secret_proto.data(), plain_proto.data());
  EXPECT_THAT(secret_proto.warnings(), ElementsAre("renew soon"));
  // The data was written into a buffer reserved at its final size.
  EXPECT_EQ(secret_proto.data().capacity(), secret_proto.data().size());
}

TEST(ToProtoResponseTest, SecretNonObjectBecomesEmptyObject) {
  Response secret;
  secret.contains_secrets = true;
  secret.data = nlohmann::json::array({"x"});
  pb::Response proto;
  ToProtoResponse(secret, &proto);
  EXPECT_EQ(proto.data(), "{}");
}

TEST(ToProtoErrorTest, RequestErrorCarriesErrorData) {
  VaultError error = ToVaultError(absl::InvalidArgumentError("field \"x\" is invalid"));
  pb::ProtoError proto;
  pb::Response response;
  ToProtoError(error, &proto, &response);
  EXPECT_EQ(proto.err_type(), 4u);
  EXPECT_EQ(proto.err_msg(), "field \"x\" is invalid");
  EXPECT_EQ(nlohmann::json::parse(response.data())["error"], "field \"x\" is invalid");
}

TEST(ToProtoErrorTest, InternalErrorHasNoResponse) {
  VaultError error = ToVaultError(absl::InternalError("boom"));
  pb::ProtoError proto;
  pb::Response response;
  ToProtoError(error, &proto, &response);
  EXPECT_EQ(proto.err_type(), 2u);
  EXPECT_TRUE(response.data().empty());
}

TEST(ToProtoErrorTest, CodedErrorCarriesHttpStatus) {
  VaultError error = ToVaultError(absl::UnavailableError("down"));
  pb::ProtoError proto;
  ToProtoError(error, &proto, nullptr);
  EXPECT_EQ(proto.err_type(), 3u);
  EXPECT_EQ(proto.err_code(), 503);
}

TEST(SetLeaseIssueTimeNowTest, SetsCurrentTime) {
  pb::LeaseOptions lease;
  SetLeaseIssueTimeNow(&lease);
  ASSERT_TRUE(lease.has_issue_time());
  int64_t now = absl::ToUnixSeconds(absl::Now());
  EXPECT_LE(std::abs(lease.issue_time().seconds() - now), 5);
  EXPECT_GE(lease.issue_time().nanos(), 0);
  EXPECT_LT(lease.issue_time().nanos(), 1000000000);
}

}  // namespace
}  // namespace vault_qualtrics
