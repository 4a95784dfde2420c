#include "backend/records.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "backend/logical/logical.h"
#include "backend/storage_keys.h"

namespace vault_qualtrics {
namespace {

using ::testing::HasSubstr;

TEST(RecordsTest, ConfigRoundTripsWithSecrets) {
  ConfigRecord config;
  config.datacenter = "fra1";
  config.organization_id = "ORG";
  config.api_token = SecretBytes("tok");
  config.oauth_client_secret = SecretBytes("sec");
  config.max_active_certificates = 7;
  config.mtls_role = "web";
  SecretBytes encoded = EncodeConfig(config);
  absl::StatusOr<ConfigRecord> decoded = DecodeConfig(encoded.view());
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->datacenter, "fra1");
  EXPECT_EQ(decoded->api_token.view(), "tok");
  EXPECT_EQ(decoded->oauth_client_secret.view(), "sec");
  EXPECT_EQ(decoded->max_active_certificates, 7);
  EXPECT_EQ(decoded->mtls_role, "web");
  EXPECT_THAT(std::string(encoded.view()), HasSubstr("\"version\":1"));
}

TEST(RecordsTest, ConfigDerivesUrlsFromDatacenter) {
  ConfigRecord config;
  config.datacenter = "iad1";
  EXPECT_EQ(config.EffectiveBaseUrl(), "https://iad1.qualtrics.com/API/v3");
  EXPECT_EQ(config.DefaultCommonName(), "iad1.qualtrics.com");
  EXPECT_EQ(config.EffectiveTokenUrl(), "https://iad1.qualtrics.com/oauth2/token");
  config.base_url = "https://127.0.0.1:8443/API/v3";
  EXPECT_EQ(config.EffectiveBaseUrl(), "https://127.0.0.1:8443/API/v3");
  EXPECT_EQ(config.DefaultCommonName(), "127.0.0.1");
  EXPECT_EQ(config.EffectiveTokenUrl(), "https://127.0.0.1:8443/oauth2/token");
}

TEST(RecordsTest, RoleAndCertAndWalRoundTrip) {
  RoleRecord role;
  role.name = "web";
  role.key_type = "rsa";
  role.key_bits = 3072;
  role.allow_key_export = true;
  absl::StatusOr<RoleRecord> decoded_role = DecodeRole(EncodeRole(role));
  ASSERT_TRUE(decoded_role.ok());
  EXPECT_EQ(decoded_role->key_bits, 3072);
  EXPECT_TRUE(decoded_role->allow_key_export);

  CertRecord cert;
  cert.id = "CC_1";
  cert.private_key_pem = SecretBytes("-----BEGIN PRIVATE KEY-----");
  cert.not_after = 99;
  absl::StatusOr<CertRecord> decoded_cert = DecodeCert(EncodeCert(cert).view());
  ASSERT_TRUE(decoded_cert.ok());
  EXPECT_EQ(decoded_cert->private_key_pem.view(), "-----BEGIN PRIVATE KEY-----");
  EXPECT_EQ(decoded_cert->not_after, 99);
  EXPECT_EQ(decoded_cert->state, "current");
  EXPECT_FALSE(decoded_cert->key_exportable);
  cert.key_exportable = true;
  absl::StatusOr<CertRecord> exportable = DecodeCert(EncodeCert(cert).view());
  ASSERT_TRUE(exportable.ok());
  EXPECT_TRUE(exportable->key_exportable);
  EXPECT_TRUE(cert.Clone().key_exportable);

  WalRecord wal;
  wal.id = "w1";
  wal.role = "web";
  wal.public_key_fingerprint = "ab";
  absl::StatusOr<WalRecord> decoded_wal = DecodeWal(EncodeWal(wal));
  ASSERT_TRUE(decoded_wal.ok());
  EXPECT_EQ(decoded_wal->public_key_fingerprint, "ab");
}

TEST(RecordsTest, RejectsNewerVersionAndGarbage) {
  absl::StatusOr<RoleRecord> newer = DecodeRole(R"({"version": 2, "name": "x"})");
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(newer.status().message()), HasSubstr("upgrade the plugin"));
  EXPECT_EQ(DecodeRole("not json").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeRole(R"({"name": "x"})").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeRole(R"({"version": 1, "key_bits": "many"})").status().code(),
            absl::StatusCode::kDataLoss);
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

bool WasZeroed(size_t size) {
  return std::find(ZeroedSizes().begin(), ZeroedSizes().end(), size) != ZeroedSizes().end();
}

TEST(RecordsTest, CertKeyCopiesInJsonAreZeroed) {
  CertRecord record;
  record.id = "CC_1";
  record.private_key_pem = SecretBytes(std::string(1777, 'k'));
  ZeroedSizes().clear();
  SetZeroedStringObserverForTesting(&RecordZeroed);
  SecretBytes encoded = EncodeCert(record);
  EXPECT_TRUE(WasZeroed(1777)) << "the encoder's JSON copy of the key was not zeroed";

  ZeroedSizes().clear();
  absl::StatusOr<CertRecord> decoded = DecodeCert(encoded.view());
  SetZeroedStringObserverForTesting(nullptr);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->private_key_pem.view(), std::string(1777, 'k'));
  EXPECT_TRUE(WasZeroed(1777)) << "the decoder's JSON copy of the key was not zeroed";
}

TEST(StorageKeysTest, PlainCertIdsAreStorable) {
  for (const std::string& id :
       {std::string("a"), std::string("CERT_abc-123"), std::string("x.y@z"), std::string(256, 'k')}) {
    EXPECT_TRUE(IsStorableCertId(id)) << id;
  }
}

TEST(StorageKeysTest, OtherCertIdsAreNotStorable) {
  for (const std::string& id :
       {std::string(""), std::string("../config"), std::string("a/b"), std::string("-a"),
        std::string("a."), std::string("a b"), std::string("a\nb"), std::string("caf\xc3\xa9"),
        std::string(257, 'k')}) {
    EXPECT_FALSE(IsStorableCertId(id)) << id;
  }
}

}  // namespace
}  // namespace vault_qualtrics
