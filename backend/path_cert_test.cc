#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "backend/crypto/certificate.h"
#include "backend/crypto/key.h"
#include "backend/logical/errors.h"
#include "backend/logical/log.h"
#include "backend/records.h"
#include "backend/storage_keys.h"
#include "backend/testing/test_backend.h"

namespace vault_qualtrics {
namespace {

using ::testing::HasSubstr;
using testing::kTestToken;
using ::testing::Not;
using testing::TestBackend;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

// Captures log lines for the lifetime of the object.
class LogCapture {
 public:
  LogCapture() { SetLogSinkForTesting(&lines_); }
  ~LogCapture() { SetLogSinkForTesting(nullptr); }
  const std::string& lines() const { return lines_; }

 private:
  std::string lines_;
};

std::string StoredKey(TestBackend& t, const std::string& role) {
  auto snapshot = t.storage().Snapshot();
  absl::StatusOr<CertRecord> record = DecodeCert(snapshot[CurrentCertKey(role)]);
  EXPECT_TRUE(record.ok());
  return std::string(record->private_key_pem.view());
}

TEST(PathCertTest, FirstReadIssues) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web", {{"organization", "Example"}}).ok());
  absl::StatusOr<Response> read = t.Read("cert/web");
  ASSERT_TRUE(read.ok()) << read.status();
  const nlohmann::json& data = read->data;
  EXPECT_EQ(t.qualtrics().creates(), 1);
  EXPECT_EQ(data["from_storage"], false);
  EXPECT_EQ(data["role"], "web");
  EXPECT_EQ(data["key_type"], "ec");
  EXPECT_EQ(data["key_bits"], 256);
  EXPECT_EQ(data["expiration"], t.now() + 365 * 86400);
  EXPECT_EQ(data["renew_in_seconds"], 305 * 86400);
  EXPECT_THAT(data["subject"].get<std::string>(), HasSubstr("CN=fra1.qualtrics.com"));
  EXPECT_THAT(data["subject"].get<std::string>(), HasSubstr("O=Example"));
  EXPECT_FALSE(data.contains("private_key"));
  EXPECT_FALSE(data.contains("private_key_type"));

  absl::StatusOr<CertificateInfo> info =
      ParseCertificatePem(data["certificate"].get<std::string>());
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(data["serial_number"], info->serial_number);
  EXPECT_EQ(data["public_key_fingerprint"], info->public_key_fingerprint);
  EXPECT_EQ(data["not_before"], info->not_before);

  // The stored key matches the certificate, and the write-ahead entry is gone.
  absl::StatusOr<PrivateKey> key = PrivateKeyFromPem(StoredKey(t, "web"));
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(*CertificateMatchesKey(data["certificate"].get<std::string>(), *key));
  EXPECT_TRUE(t.storage().KeysWithPrefix("wal/").empty());
  EXPECT_EQ(t.storage().KeysWithPrefix("certs/").size(), 1u);
}

TEST(PathCertTest, SecondReadIsServedFromCache) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  absl::StatusOr<Response> first = t.Read("cert/web");
  ASSERT_TRUE(first.ok());
  int gets_before = t.storage().gets();
  absl::StatusOr<Response> second = t.Read("cert/web");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(t.qualtrics().creates(), 1);
  EXPECT_EQ(second->data["from_storage"], true);
  EXPECT_EQ(second->data["certificate"], first->data["certificate"]);
  EXPECT_EQ(second->data["qualtrics_id"], first->data["qualtrics_id"]);
  EXPECT_EQ(t.storage().gets(), gets_before) << "a cached read must not touch storage";
}

TEST(PathCertTest, ReadRenewsInsideWindow) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web", {{"renew_before", "30d"}, {"revoke_grace", "1h"}}).ok());
  absl::StatusOr<Response> first = t.Read("cert/web");
  ASSERT_TRUE(first.ok());

  t.Advance(334 * 86400);  // one day before the window opens
  absl::StatusOr<Response> before = t.Read("cert/web");
  EXPECT_EQ(before->data["qualtrics_id"], first->data["qualtrics_id"]);
  EXPECT_EQ(before->data["renew_in_seconds"], 86400);

  t.Advance(86400);
  absl::StatusOr<Response> renewed = t.Read("cert/web");
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_NE(renewed->data["qualtrics_id"], first->data["qualtrics_id"]);
  EXPECT_NE(renewed->data["public_key_fingerprint"], first->data["public_key_fingerprint"]);
  EXPECT_EQ(renewed->data["from_storage"], false);
  EXPECT_EQ(t.qualtrics().creates(), 2);

  absl::StatusOr<Response> old = t.Read("certs/" + first->data["qualtrics_id"].get<std::string>());
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->data["state"], "superseded");
  EXPECT_EQ(old->data["revoke_after"], t.now() + 3600);
}

TEST(PathCertTest, RenewWindowCappedAtHalfLifetime) {
  TestBackend t;
  t.qualtrics().set_lifetime_seconds(30 * 86400);
  ASSERT_TRUE(t.Configure({{"max_active_certificates", 2}}).ok());
  // The default renew_before of 60 days exceeds the 30-day lifetime.
  ASSERT_TRUE(t.CreateRole("web", {{"revoke_grace", "1h"}}).ok());
  absl::StatusOr<Response> first = t.Read("cert/web");
  ASSERT_TRUE(first.ok()) << first.status();
  for (int i = 0; i < 10; ++i) {
    absl::StatusOr<Response> read = t.Read("cert/web");
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(read->data["qualtrics_id"], first->data["qualtrics_id"]) << "read " << i;
  }
  EXPECT_EQ(t.qualtrics().creates(), 1);
  // The fake backdates not_before a little, so the lifetime is slightly over 30 days.
  int64_t expiration = first->data["expiration"];
  int64_t lifetime = expiration - first->data["not_before"].get<int64_t>();
  EXPECT_EQ(first->data["renew_in_seconds"], expiration - lifetime / 2 - t.now());
  ASSERT_EQ(first->warnings.size(), 1u);
  EXPECT_THAT(first->warnings[0], HasSubstr("renew_before=5184000s"));
  EXPECT_THAT(first->warnings[0], HasSubstr("lifetime of " + std::to_string(lifetime) + "s"));

  t.Advance(first->data["renew_in_seconds"].get<int64_t>());
  absl::StatusOr<Response> renewed = t.Read("cert/web");
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_NE(renewed->data["qualtrics_id"], first->data["qualtrics_id"]);
  EXPECT_TRUE(t.Read("cert/web").ok());
  EXPECT_EQ(t.qualtrics().creates(), 2);
  EXPECT_EQ(t.Read("certs/" + first->data["qualtrics_id"].get<std::string>())->data["state"],
            "superseded");
}

TEST(PathCertTest, RenewWindowWithinHalfLifetimeHasNoWarning) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  absl::StatusOr<Response> read = t.Read("cert/web");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->warnings.empty());
}

TEST(PathCertTest, ConcurrentReadersShareOneIssuance) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  t.qualtrics().HoldCreates();
  constexpr int kReaders = 8;
  std::vector<absl::StatusOr<Response>> results(kReaders, absl::UnknownError("not run"));
  std::vector<std::thread> readers;
  for (int i = 0; i < kReaders; ++i) {
    readers.emplace_back([&t, &results, i] { results[i] = t.Read("cert/web"); });
  }
  t.qualtrics().WaitForHeldCreates(1);
  // Give the other readers time to reach the shared issuance before it completes.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  t.qualtrics().ReleaseCreates();
  for (std::thread& reader : readers) reader.join();

  EXPECT_EQ(t.qualtrics().creates(), 1);
  for (int i = 0; i < kReaders; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].status();
    EXPECT_EQ(results[i]->data["qualtrics_id"], results[0]->data["qualtrics_id"]);
  }
}

TEST(PathCertTest, ExportAllowedReturnsKey) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web", {{"allow_key_export", true}, {"key_type", "rsa"}}).ok());
  absl::StatusOr<Response> read = t.Read("cert/web");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->data["private_key_type"], "rsa");
  std::string key_pem = read->data["private_key"];
  EXPECT_THAT(key_pem, HasSubstr("BEGIN PRIVATE KEY"));
  absl::StatusOr<PrivateKey> key = PrivateKeyFromPem(key_pem);
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(*CertificateMatchesKey(read->data["certificate"].get<std::string>(), *key));
  EXPECT_EQ(read->data["key_bits"], 2048);
}

// Sizes of the buffers ZeroJsonStrings zeroed that held only zero bytes afterwards.
std::vector<size_t>& ZeroedSizes() {
  static std::vector<size_t> sizes;
  return sizes;
}

void RecordZeroed(const char* data, size_t size) {
  if (std::all_of(data, data + size, [](char c) { return c == 0; })) {
    ZeroedSizes().push_back(size);
  }
}

TEST(PathCertTest, ExportedKeyIsZeroedWithResponse) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web", {{"allow_key_export", true}}).ok());
  ASSERT_TRUE(t.Read("cert/web").ok());

  ZeroedSizes().clear();
  SetZeroedStringObserverForTesting(&RecordZeroed);
  size_t key_size = 0;
  {
    absl::StatusOr<Response> read = t.Read("cert/web");
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_TRUE(read->contains_secrets);
    key_size = read->data["private_key"].get_ref<const std::string&>().size();
    EXPECT_GT(key_size, 100u);
  }
  SetZeroedStringObserverForTesting(nullptr);
  EXPECT_NE(std::find(ZeroedSizes().begin(), ZeroedSizes().end(), key_size),
            ZeroedSizes().end())
      << "no zeroed buffer of the key's size " << key_size;
}

TEST(PathCertTest, ResponseWithoutKeyHasNoSecrets) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web", {}).ok());
  absl::StatusOr<Response> read = t.Read("cert/web");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_FALSE(read->contains_secrets);
  EXPECT_FALSE(read->data.contains("private_key"));
}

TEST(PathCertTest, ForbiddenExportHidesKey) {
  LogCapture logs;
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  absl::StatusOr<Response> first = t.Read("cert/web");
  ASSERT_TRUE(first.ok());
  absl::StatusOr<Response> rotated = t.Write("rotate/web");
  ASSERT_TRUE(rotated.ok());
  std::string key = StoredKey(t, "web");
  std::string key_body = key.substr(key.find('\n') + 1, 40);
  ASSERT_GT(key_body.size(), 20u);
  for (const Response& response :
       {*first, *rotated, *t.Read("cert/web"),
        *t.Read("certs/" + first->data["qualtrics_id"].get<std::string>()), *t.Read("config")}) {
    EXPECT_FALSE(response.data.contains("private_key"));
    EXPECT_THAT(response.data.dump(), Not(HasSubstr(key_body)));
    EXPECT_THAT(response.data.dump(), Not(HasSubstr("PRIVATE KEY")));
    EXPECT_THAT(response.data.dump(), Not(HasSubstr(kTestToken)));
  }
  EXPECT_THAT(logs.lines(), HasSubstr("\"event\":\"issued\""));
  EXPECT_THAT(logs.lines(), HasSubstr("\"event\":\"rotated\""));
  EXPECT_THAT(logs.lines(), Not(HasSubstr(key_body)));
  EXPECT_THAT(logs.lines(), Not(HasSubstr("PRIVATE KEY")));
  EXPECT_THAT(logs.lines(), Not(HasSubstr(kTestToken)));
}

TEST(PathCertTest, KeyFromBeforeExportStaysHidden) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  absl::StatusOr<Response> first = t.Read("cert/web");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(t.Write("roles/web", {{"allow_key_export", true}}).ok());

  absl::StatusOr<Response> later = t.Read("cert/web");
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ(later->data["qualtrics_id"], first->data["qualtrics_id"]);
  EXPECT_FALSE(later->data.contains("private_key"));
  EXPECT_THAT(later->data.dump(), Not(HasSubstr("PRIVATE KEY")));

  // A key generated after export was turned on may be returned, by cert/<role> only.
  absl::StatusOr<Response> rotated = t.Write("rotate/web");
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_FALSE(rotated->data.contains("private_key"));
  absl::StatusOr<Response> exported = t.Read("cert/web");
  ASSERT_TRUE(exported.ok()) << exported.status();
  EXPECT_EQ(exported->data["qualtrics_id"], rotated->data["qualtrics_id"]);
  EXPECT_THAT(exported->data.value("private_key", ""), HasSubstr("BEGIN PRIVATE KEY"));

  // Turning export off again hides even an exportable key.
  ASSERT_TRUE(t.Write("roles/web", {{"allow_key_export", false}}).ok());
  absl::StatusOr<Response> hidden = t.Read("cert/web");
  ASSERT_TRUE(hidden.ok()) << hidden.status();
  EXPECT_FALSE(hidden->data.contains("private_key"));
}

TEST(PathCertTest, AuditLineNamesRoleIdSerialAndRequest) {
  LogCapture logs;
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  absl::StatusOr<Response> read = t.Read("cert/web");
  ASSERT_TRUE(read.ok());
  EXPECT_THAT(logs.lines(), HasSubstr("\"role\":\"web\""));
  EXPECT_THAT(logs.lines(),
              HasSubstr("\"qualtrics_id\":\"" + read->data["qualtrics_id"].get<std::string>()));
  EXPECT_THAT(logs.lines(),
              HasSubstr("\"serial_number\":\"" + read->data["serial_number"].get<std::string>()));
  EXPECT_THAT(logs.lines(), HasSubstr("\"entity_id\":\"entity-7\""));
  EXPECT_THAT(logs.lines(), HasSubstr("\"request_id\":\"req-"));
  EXPECT_THAT(logs.lines(), HasSubstr("\"expiration\":\"2028-01-15T08:00:00Z\""));
}

TEST(PathCertTest, UnknownRoleAndMissingConfig) {
  TestBackend t;
  ASSERT_TRUE(t.CreateRole("web").ok());
  absl::StatusOr<Response> no_config = t.Read("cert/web");
  ASSERT_FALSE(no_config.ok());
  EXPECT_EQ(no_config.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Message(no_config.status()), HasSubstr("write the mount's config path"));
  EXPECT_THAT(Message(no_config.status()), HasSubstr("`vault write qualtrics/config "));
  EXPECT_THAT(Message(no_config.status()), Not(HasSubstr("<mount>")));

  ASSERT_TRUE(t.Configure().ok());
  absl::StatusOr<Response> no_role = t.Read("cert/api");
  ASSERT_FALSE(no_role.ok());
  EXPECT_EQ(no_role.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(no_role.status()), HasSubstr("role \"api\" does not exist"));
  EXPECT_EQ(t.qualtrics().creates(), 0);
}

TEST(PathCertTest, QuotaFullFreesSupersededFirst) {
  TestBackend t;
  ASSERT_TRUE(t.Configure({{"max_active_certificates", 2}}).ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  ASSERT_TRUE(t.CreateRole("api").ok());
  absl::StatusOr<Response> first = t.Read("cert/web");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(t.Write("rotate/web").ok());  // 2 held: one current, one superseded
  absl::StatusOr<Response> api = t.Read("cert/api");
  ASSERT_TRUE(api.ok()) << api.status();
  EXPECT_EQ(t.storage().KeysWithPrefix("certs/").size(), 2u);
  EXPECT_FALSE(t.Read("certs/" + first->data["qualtrics_id"].get<std::string>())->has_response);
  EXPECT_EQ(t.qualtrics().ids().size(), 2u);
  // The superseded certificate was still inside its grace period.
  ASSERT_EQ(api->warnings.size(), 1u);
  EXPECT_THAT(api->warnings[0], HasSubstr(first->data["qualtrics_id"].get<std::string>()));
  EXPECT_THAT(api->warnings[0], HasSubstr("before its grace period ended"));
  EXPECT_THAT(api->warnings[0], HasSubstr("quota"));
}

TEST(PathCertTest, QuotaFreeingPastGraceHasNoWarning) {
  TestBackend t;
  ASSERT_TRUE(t.Configure({{"max_active_certificates", 2}}).ok());
  ASSERT_TRUE(t.CreateRole("web", {{"revoke_grace", "1h"}}).ok());
  ASSERT_TRUE(t.CreateRole("api").ok());
  ASSERT_TRUE(t.Read("cert/web").ok());
  ASSERT_TRUE(t.Write("rotate/web").ok());
  t.Advance(7200);
  absl::StatusOr<Response> api = t.Read("cert/api");
  ASSERT_TRUE(api.ok()) << api.status();
  EXPECT_TRUE(api->warnings.empty());
}

TEST(PathCertTest, QuotaFullErrorNamesHolders) {
  TestBackend t;
  ASSERT_TRUE(t.Configure({{"max_active_certificates", 1}}).ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  ASSERT_TRUE(t.CreateRole("api").ok());
  absl::StatusOr<Response> web = t.Read("cert/web");
  ASSERT_TRUE(web.ok());
  absl::StatusOr<Response> api = t.Read("cert/api");
  ASSERT_FALSE(api.ok());
  EXPECT_EQ(api.status().code(), absl::StatusCode::kResourceExhausted);
  std::string message = Message(api.status());
  EXPECT_THAT(message, HasSubstr("the organization's maximum is 1"));
  EXPECT_THAT(message, HasSubstr(web->data["qualtrics_id"].get<std::string>() + " (role web"));
  EXPECT_THAT(message, HasSubstr("tidy"));
  EXPECT_THAT(message, HasSubstr("certs/<id>"));
  EXPECT_EQ(t.qualtrics().creates(), 1);
  EXPECT_TRUE(t.storage().KeysWithPrefix("wal/").empty());
}

TEST(PathCertTest, QuotaFullFreesExpired) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  ASSERT_TRUE(t.CreateRole("api", {{"renew_before", 0}}).ok());
  t.qualtrics().set_lifetime_seconds(86400);
  absl::StatusOr<Response> api = t.Read("cert/api");
  ASSERT_TRUE(api.ok());
  t.qualtrics().set_max_active(2);
  t.qualtrics().AddForeignCertificate("OTHER_1");
  t.Advance(2 * 86400);  // the api certificate has expired but still takes a slot
  absl::StatusOr<Response> web = t.Read("cert/web");
  ASSERT_TRUE(web.ok()) << web.status();
  EXPECT_EQ(t.qualtrics().ids().size(), 2u);
  EXPECT_FALSE(t.Read("certs/" + api->data["qualtrics_id"].get<std::string>())->has_response);
}

TEST(PathCertTest, QuotaFullAtQualtricsWithNothingToFree) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  t.qualtrics().set_max_active(1);
  t.qualtrics().AddForeignCertificate("OTHER_1");
  absl::StatusOr<Response> web = t.Read("cert/web");
  ASSERT_FALSE(web.ok());
  EXPECT_EQ(web.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(Message(web.status()), HasSubstr("maximum number of client certificates"));
  EXPECT_THAT(Message(web.status()), HasSubstr("any others are held outside this mount"));
  EXPECT_THAT(Message(web.status()), HasSubstr("tidy"));
  EXPECT_TRUE(t.storage().KeysWithPrefix("wal/").empty());
}

TEST(PathCertTest, CallerFailureLogsOnceAtWarn) {
  LogCapture logs;
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  t.qualtrics().FailNextCreate(absl::InvalidArgumentError("Qualtrics rejected the CSR"));
  ASSERT_FALSE(t.Read("cert/web").ok());
  const std::string& lines = logs.lines();
  size_t first = lines.find("certificate issuance failed");
  ASSERT_NE(first, std::string::npos) << lines;
  EXPECT_EQ(first, lines.rfind("certificate issuance failed")) << lines;
  EXPECT_THAT(lines, HasSubstr("\"@level\":\"warn\""));
  EXPECT_THAT(lines, Not(HasSubstr("\"@level\":\"error\"")));
}

TEST(PathCertTest, ServerFailureLogsAtError) {
  LogCapture logs;
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  t.qualtrics().FailNextCreate(absl::InternalError("Qualtrics returned 500"));
  ASSERT_FALSE(t.Read("cert/web").ok());
  EXPECT_THAT(logs.lines(), HasSubstr("\"@level\":\"error\""));
  EXPECT_THAT(logs.lines(), HasSubstr("certificate issuance failed"));
}

TEST(PathCertTest, LostCreateResponseIsReconciled) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  t.qualtrics().LoseNextCreateResponse();
  absl::StatusOr<Response> read = t.Read("cert/web");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(t.qualtrics().creates(), 1);
  EXPECT_EQ(t.qualtrics().ids().size(), 1u);
  EXPECT_EQ(read->data["qualtrics_id"], t.qualtrics().ids()[0]);
  EXPECT_TRUE(t.storage().KeysWithPrefix("wal/").empty());
}

TEST(PathCertTest, CreateFailureLeavesNothingBehind) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  t.qualtrics().FailNextCreate(absl::PermissionDeniedError("not a brand administrator"));
  absl::StatusOr<Response> read = t.Read("cert/web");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(t.storage().KeysWithPrefix("wal/").empty());
  EXPECT_TRUE(t.storage().KeysWithPrefix("certs/").empty());
  EXPECT_TRUE(t.Read("cert/web").ok()) << "the next read retries";
}

TEST(PathCertTest, CertificateForAnotherKeyIsRejectedAndRevoked) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  t.qualtrics().ReturnWrongKeyOnNextCreate();
  absl::StatusOr<Response> read = t.Read("cert/web");
  ASSERT_FALSE(read.ok());
  EXPECT_THAT(Message(read.status()), HasSubstr("different key"));
  EXPECT_TRUE(t.qualtrics().ids().empty());
  EXPECT_TRUE(t.storage().KeysWithPrefix("certs/").empty());
  EXPECT_TRUE(t.storage().KeysWithPrefix("wal/").empty());
}

TEST(PathCertTest, StorageFailureAfterCreateRevokes) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  t.storage().FailWritesTo("certs/");
  absl::StatusOr<Response> read = t.Read("cert/web");
  ASSERT_FALSE(read.ok());
  EXPECT_TRUE(t.qualtrics().ids().empty()) << "the created certificate must be revoked";
  EXPECT_TRUE(t.storage().KeysWithPrefix("wal/").empty());
}

TEST(PathCertTest, StandbyServesCurrentAndForwardsIssuance) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  ASSERT_TRUE(t.CreateRole("api").ok());
  absl::StatusOr<Response> active = t.Read("cert/web");
  ASSERT_TRUE(active.ok());

  t.system_view().SetPerformanceStandby(true);
  t.storage().SetReadOnly(true);
  t.backend().InvalidateKey("cert/web/current");
  absl::StatusOr<Response> standby = t.Read("cert/web");
  ASSERT_TRUE(standby.ok()) << standby.status();
  EXPECT_EQ(standby->data["qualtrics_id"], active->data["qualtrics_id"]);
  EXPECT_EQ(standby->data["from_storage"], true);

  absl::StatusOr<Response> needs_issue = t.Read("cert/api");
  ASSERT_FALSE(needs_issue.ok());
  EXPECT_TRUE(IsReadOnly(needs_issue.status()));
  EXPECT_EQ(t.qualtrics().creates(), 1);
}

TEST(PathCertTest, EveryKeyTypeIssues) {
  for (auto [type, bits, expected_bits] : std::vector<std::tuple<std::string, int, int>>{
           {"rsa", 3072, 3072}, {"ec", 384, 384}, {"ed25519", 0, 256}}) {
    TestBackend t;
    ASSERT_TRUE(t.Configure().ok());
    ASSERT_TRUE(
        t.CreateRole("web",
                     {{"key_type", type}, {"key_bits", bits}, {"signature_digest", "sha384"}})
            .ok());
    absl::StatusOr<Response> read = t.Read("cert/web");
    ASSERT_TRUE(read.ok()) << type << ": " << read.status();
    EXPECT_EQ(read->data["key_bits"], expected_bits);
    EXPECT_EQ(read->data["key_type"], type);
  }
}

}  // namespace
}  // namespace vault_qualtrics
