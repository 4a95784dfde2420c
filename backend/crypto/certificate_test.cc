#include "backend/crypto/certificate.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <string>

#include "backend/crypto/key.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vault_qualtrics {
namespace {

using ::testing::HasSubstr;

// Issues a self-signed certificate for `key` with fixed serial 0x0a1b2c, validity
// 2026-01-01 to 2027-01-01 and subject C=DE, O=Example Corp, CN=fra1.qualtrics.com.
std::string SelfSign(const PrivateKey& key, const std::string& name) {
  X509* certificate = X509_new();
  X509_set_version(certificate, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(certificate), 0x0a1b2c);
  ASN1_TIME_set(X509_getm_notBefore(certificate), 1767225600);
  ASN1_TIME_set(X509_getm_notAfter(certificate), 1798761600);
  X509_NAME* subject = X509_get_subject_name(certificate);
  X509_NAME_add_entry_by_txt(subject, "C", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("DE"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Example Corp"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("fra1.qualtrics.com"), -1,
                             -1, 0);
  X509_set_issuer_name(certificate, subject);
  X509_set_pubkey(certificate, key.get());
  const EVP_MD* digest = key.spec().type == KeyType::kEd25519 ? nullptr : EVP_sha256();
  EXPECT_GT(X509_sign(certificate, key.get(), digest), 0) << name;
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, certificate);
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(length));
  BIO_free(bio);
  X509_free(certificate);
  return pem;
}

TEST(CertificateTest, ParsesFields) {
  absl::StatusOr<PrivateKey> key = GenerateKey(*ParseKeySpec("ec", 256));
  ASSERT_TRUE(key.ok());
  std::string pem = SelfSign(*key, "parse");
  ASSERT_FALSE(pem.empty());

  absl::StatusOr<CertificateInfo> info = ParseCertificatePem(pem);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->serial_number, "0a:1b:2c");
  EXPECT_EQ(info->not_before, 1767225600);  // 2026-01-01T00:00:00Z
  EXPECT_EQ(info->not_after, 1798761600);   // 2027-01-01T00:00:00Z
  EXPECT_EQ(info->subject, "CN=fra1.qualtrics.com,O=Example Corp,C=DE");
  EXPECT_EQ(info->issuer, info->subject);
  EXPECT_EQ(info->public_key_fingerprint, *key->PublicKeyFingerprintSha256());
  EXPECT_EQ(info->certificate_pem, pem);
}

TEST(CertificateTest, ReadsFirstOfChain) {
  absl::StatusOr<PrivateKey> first = GenerateKey(*ParseKeySpec("ed25519", 0));
  absl::StatusOr<PrivateKey> second = GenerateKey(*ParseKeySpec("ec", 384));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  std::string chain = SelfSign(*first, "chain1") + SelfSign(*second, "chain2");
  absl::StatusOr<CertificateInfo> info = ParseCertificatePem(chain);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->public_key_fingerprint, *first->PublicKeyFingerprintSha256());
}

TEST(CertificateTest, MatchesOnlyItsOwnKey) {
  absl::StatusOr<PrivateKey> key = GenerateKey(*ParseKeySpec("rsa", 2048));
  absl::StatusOr<PrivateKey> other_rsa = GenerateKey(*ParseKeySpec("rsa", 2048));
  absl::StatusOr<PrivateKey> other_ec = GenerateKey(*ParseKeySpec("ec", 256));
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(other_rsa.ok());
  ASSERT_TRUE(other_ec.ok());
  std::string pem = SelfSign(*key, "match");

  absl::StatusOr<bool> same = CertificateMatchesKey(pem, *key);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_TRUE(*same);
  EXPECT_FALSE(*CertificateMatchesKey(pem, *other_rsa));
  EXPECT_FALSE(*CertificateMatchesKey(pem, *other_ec));

  // A key decoded from storage matches as well.
  absl::StatusOr<PrivateKey> reloaded = PrivateKeyFromPem(key->ToPkcs8Pem()->view());
  ASSERT_TRUE(reloaded.ok());
  EXPECT_TRUE(*CertificateMatchesKey(pem, *reloaded));
}

TEST(CertificateTest, RejectsNonCertificate) {
  absl::StatusOr<CertificateInfo> info = ParseCertificatePem("-----BEGIN CERTIFICATE-----\nxx\n");
  ASSERT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(info.status().message()), HasSubstr("not a PEM certificate"));

  absl::StatusOr<PrivateKey> key = GenerateKey(*ParseKeySpec("ec", 256));
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(CertificateMatchesKey("garbage", *key).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vault_qualtrics
