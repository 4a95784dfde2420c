#include "plugin/tls_identity.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace vault_qualtrics {
namespace {

struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};

std::unique_ptr<X509, X509Free> ParseDer(const std::string& der) {
  const unsigned char* data = reinterpret_cast<const unsigned char*>(der.data());
  return std::unique_ptr<X509, X509Free>(d2i_X509(nullptr, &data, static_cast<long>(der.size())));
}

TEST(GenerateTlsIdentityTest, CertificateFitsAutoMtls) {
  absl::StatusOr<TlsIdentity> identity = GenerateTlsIdentity();
  ASSERT_TRUE(identity.ok()) << identity.status();
  auto cert = ParseDer(identity->certificate_der);
  ASSERT_NE(cert, nullptr);

  EXPECT_EQ(X509_check_host(cert.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ca(cert.get()), 1);
  EXPECT_EQ(X509_check_purpose(cert.get(), X509_PURPOSE_SSL_SERVER, 0), 1);
  EXPECT_EQ(X509_check_purpose(cert.get(), X509_PURPOSE_SSL_CLIENT, 0), 1);
  EXPECT_EQ(X509_check_issued(cert.get(), cert.get()), X509_V_OK);

  EVP_PKEY* key = X509_get0_pubkey(cert.get());
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(EVP_PKEY_get_base_id(key), EVP_PKEY_EC);
  EXPECT_EQ(X509_verify(cert.get(), key), 1);

  EXPECT_LT(X509_cmp_current_time(X509_get0_notBefore(cert.get())), 0);
  EXPECT_GT(X509_cmp_current_time(X509_get0_notAfter(cert.get())), 0);
}

TEST(GenerateTlsIdentityTest, PemMatchesDerAndKeyMatchesCertificate) {
  absl::StatusOr<TlsIdentity> identity = GenerateTlsIdentity();
  ASSERT_TRUE(identity.ok()) << identity.status();

  BIO* cert_bio = BIO_new_mem_buf(identity->certificate_pem.data(),
                                  static_cast<int>(identity->certificate_pem.size()));
  X509* from_pem = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
  BIO_free(cert_bio);
  ASSERT_NE(from_pem, nullptr);
  auto from_der = ParseDer(identity->certificate_der);
  EXPECT_EQ(X509_cmp(from_pem, from_der.get()), 0);

  const std::string& key_pem = identity->private_key_pem.value();
  BIO* key_bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(key_bio);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(X509_check_private_key(from_pem, key), 1);
  EVP_PKEY_free(key);
  X509_free(from_pem);
}

// The key and the certificate's public key are encoded without OpenSSL's encoder framework, so
// they are compared with what that framework writes for the same key.
TEST(GenerateTlsIdentityTest, EncodingsMatchOpenSslEncoders) {
  absl::StatusOr<TlsIdentity> identity = GenerateTlsIdentity();
  ASSERT_TRUE(identity.ok()) << identity.status();
  const std::string& key_pem = identity->private_key_pem.value();
  EXPECT_EQ(key_pem.rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);

  BIO* key_bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(key_bio);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(EVP_PKEY_get_base_id(key), EVP_PKEY_EC);
  char group[64] = "";
  size_t group_length = 0;
  ASSERT_EQ(EVP_PKEY_get_group_name(key, group, sizeof(group), &group_length), 1);
  EXPECT_EQ(std::string(group, group_length), "prime256v1");

  BIO* reencoded_bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PrivateKey(reencoded_bio, key, nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* reencoded = nullptr;
  long reencoded_length = BIO_get_mem_data(reencoded_bio, &reencoded);
  EXPECT_EQ(std::string(reencoded, static_cast<size_t>(reencoded_length)), key_pem);
  BIO_free(reencoded_bio);

  auto cert = ParseDer(identity->certificate_der);
  ASSERT_NE(cert, nullptr);
  unsigned char* spki_from_key = nullptr;
  int spki_from_key_length = i2d_PUBKEY(key, &spki_from_key);
  ASSERT_GT(spki_from_key_length, 0);
  unsigned char* spki_from_cert = nullptr;
  int spki_from_cert_length = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), &spki_from_cert);
  ASSERT_GT(spki_from_cert_length, 0);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(spki_from_cert), spki_from_cert_length),
            std::string(reinterpret_cast<char*>(spki_from_key), spki_from_key_length));
  OPENSSL_free(spki_from_key);
  OPENSSL_free(spki_from_cert);
  EVP_PKEY_free(key);
}

TEST(GenerateTlsIdentityTest, EachCallMakesANewKey) {
  absl::StatusOr<TlsIdentity> first = GenerateTlsIdentity();
  absl::StatusOr<TlsIdentity> second = GenerateTlsIdentity();
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  EXPECT_NE(first->private_key_pem.value(), second->private_key_pem.value());
  EXPECT_NE(first->certificate_der, second->certificate_der);
}

TEST(ValidateCertificatePemTest, AcceptsGeneratedCertificate) {
  absl::StatusOr<TlsIdentity> identity = GenerateTlsIdentity();
  ASSERT_TRUE(identity.ok());
  EXPECT_TRUE(ValidateCertificatePem(identity->certificate_pem).ok());
}

TEST(ValidateCertificatePemTest, RejectsEmptyAndGarbage) {
  EXPECT_EQ(ValidateCertificatePem("").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateCertificatePem("not a certificate").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateCertificatePem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SecretStringTest, MoveLeavesSourceEmpty) {
  SecretString first(std::string("key material"));
  SecretString second(std::move(first));
  EXPECT_EQ(second.value(), "key material");
  EXPECT_TRUE(first.value().empty());  // NOLINT(bugprone-use-after-move)
}

}  // namespace
}  // namespace vault_qualtrics
