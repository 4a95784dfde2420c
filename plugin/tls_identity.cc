#include "plugin/tls_identity.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"

namespace vault_qualtrics {
namespace {

struct OpenSslDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
  void operator()(X509* cert) const { X509_free(cert); }
  void operator()(BIO* bio) const { BIO_free(bio); }
  void operator()(BIGNUM* bn) const { BN_clear_free(bn); }
  void operator()(X509_EXTENSION* ext) const { X509_EXTENSION_free(ext); }
  void operator()(EVP_PKEY_CTX* context) const { EVP_PKEY_CTX_free(context); }
  void operator()(PKCS8_PRIV_KEY_INFO* info) const { PKCS8_PRIV_KEY_INFO_free(info); }
};

template <typename T>
using OpenSslPtr = std::unique_ptr<T, OpenSslDeleter>;

// Returns kInternal with `what` and the oldest OpenSSL error, and clears the error queue.
absl::Status OpenSslError(std::string_view what) {
  unsigned long code = ERR_get_error();
  char text[256] = "unknown error";
  if (code != 0) ERR_error_string_n(code, text, sizeof(text));
  ERR_clear_error();
  return absl::InternalError(absl::StrCat(absl::string_view(what.data(), what.size()), ": ", text));
}

absl::Status AddExtension(X509* cert, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, cert, cert, nullptr, nullptr, 0);
  OpenSslPtr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &context, nid, value));
  if (ext == nullptr || X509_add_ext(cert, ext.get(), -1) != 1) {
    return OpenSslError(absl::StrCat("adding certificate extension ", OBJ_nid2sn(nid)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> BioContents(BIO* bio) {
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  if (length < 0 || data == nullptr) return OpenSslError("reading memory BIO");
  return std::string(data, static_cast<size_t>(length));
}

// Sizes of a P-256 key in the encodings of SEC 1: the private scalar, and the public point in
// uncompressed form (0x04, X, Y).
constexpr size_t kP256ScalarSize = 32;
constexpr size_t kP256PointSize = 1 + 2 * kP256ScalarSize;

// The DER of an RFC 5915 ECPrivateKey for P-256 without the optional curve parameters, which
// PKCS#8 carries in the algorithm identifier instead:
//   SEQUENCE { INTEGER 1, OCTET STRING scalar, [1] EXPLICIT BIT STRING point }
// This is the form OpenSSL's own PKCS#8 encoder writes for EC keys.
constexpr std::array<unsigned char, 7> kEcPrivateKeyPrefix = {0x30, 0x6b, 0x02, 0x01,
                                                              0x01, 0x04, 0x20};
constexpr std::array<unsigned char, 5> kEcPublicKeyPrefix = {0xa1, 0x44, 0x03, 0x42, 0x00};
constexpr size_t kEcPrivateKeySize =
    kEcPrivateKeyPrefix.size() + kP256ScalarSize + kEcPublicKeyPrefix.size() + kP256PointSize;
static_assert(kEcPrivateKeySize == 2 + 0x6b, "the SEQUENCE length in kEcPrivateKeyPrefix");

// Generates a P-256 key through the default provider's "EC" key management.
OpenSslPtr<EVP_PKEY> GenerateP256Key() {
  OpenSslPtr<EVP_PKEY_CTX> context(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (context == nullptr || EVP_PKEY_keygen_init(context.get()) != 1) return nullptr;
  char group[] = SN_X9_62_prime256v1;
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_end(),
  };
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_CTX_set_params(context.get(), params) != 1 ||
      EVP_PKEY_generate(context.get(), &key) != 1) {
    return nullptr;
  }
  return OpenSslPtr<EVP_PKEY>(key);
}

// Reads the public point of a P-256 key in uncompressed form.
absl::Status GetPublicPoint(EVP_PKEY* key, std::array<unsigned char, kP256PointSize>* point) {
  size_t length = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point->data(), point->size(),
                                      &length) != 1) {
    return OpenSslError("reading the public key");
  }
  if (length != point->size() || (*point)[0] != POINT_CONVERSION_UNCOMPRESSED) {
    return absl::InternalError("the public key is not an uncompressed P-256 point");
  }
  return absl::OkStatus();
}

// Sets the certificate's SubjectPublicKeyInfo (RFC 5480: id-ecPublicKey with the prime256v1
// named curve) from the point directly. X509_set_pubkey would produce the same DER but runs
// OpenSSL 3's generic encoder framework, which costs several million instructions on first use.
absl::Status SetP256PublicKey(X509* cert, const std::array<unsigned char, kP256PointSize>& point) {
  unsigned char* encoded = static_cast<unsigned char*>(OPENSSL_memdup(point.data(), point.size()));
  if (encoded == nullptr ||
      X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(cert), OBJ_nid2obj(NID_X9_62_id_ecPublicKey),
                             V_ASN1_OBJECT, OBJ_nid2obj(NID_X9_62_prime256v1), encoded,
                             static_cast<int>(point.size())) != 1) {
    OPENSSL_free(encoded);
    return OpenSslError("setting the public key");
  }
  return absl::OkStatus();
}

// Encodes the key as PKCS#8 PrivateKeyInfo in PEM ("PRIVATE KEY"), byte for byte what
// PEM_write_bio_PrivateKey writes for an EC key, without the encoder framework (see
// SetP256PublicKey).
absl::StatusOr<SecretString> EncodeP256PrivateKeyPem(
    EVP_PKEY* key, const std::array<unsigned char, kP256PointSize>& point) {
  BIGNUM* scalar_bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &scalar_bn) != 1) {
    return OpenSslError("reading the private key");
  }
  OpenSslPtr<BIGNUM> scalar(scalar_bn);

  // PKCS8_pkey_set0 takes ownership of `der`, and PKCS8_PRIV_KEY_INFO_free clears it.
  unsigned char* der = static_cast<unsigned char*>(OPENSSL_zalloc(kEcPrivateKeySize));
  if (der == nullptr) return OpenSslError("allocating the private key");
  unsigned char* out = der;
  std::memcpy(out, kEcPrivateKeyPrefix.data(), kEcPrivateKeyPrefix.size());
  out += kEcPrivateKeyPrefix.size();
  if (BN_bn2binpad(scalar.get(), out, static_cast<int>(kP256ScalarSize)) !=
      static_cast<int>(kP256ScalarSize)) {
    OPENSSL_clear_free(der, kEcPrivateKeySize);
    return OpenSslError("encoding the private key");
  }
  out += kP256ScalarSize;
  std::memcpy(out, kEcPublicKeyPrefix.data(), kEcPublicKeyPrefix.size());
  out += kEcPublicKeyPrefix.size();
  std::memcpy(out, point.data(), point.size());

  OpenSslPtr<PKCS8_PRIV_KEY_INFO> info(PKCS8_PRIV_KEY_INFO_new());
  if (info == nullptr ||
      PKCS8_pkey_set0(info.get(), OBJ_nid2obj(NID_X9_62_id_ecPublicKey), 0, V_ASN1_OBJECT,
                      OBJ_nid2obj(NID_X9_62_prime256v1), der,
                      static_cast<int>(kEcPrivateKeySize)) != 1) {
    OPENSSL_clear_free(der, kEcPrivateKeySize);
    return OpenSslError("encoding the private key");
  }

  // BIO_free releases the memory BIO's buffer without clearing it, so the key bytes are cleared
  // here first.
  OpenSslPtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_PKCS8_PRIV_KEY_INFO(bio.get(), info.get()) != 1) {
    return OpenSslError("writing the private key PEM");
  }
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  if (length <= 0 || data == nullptr) return OpenSslError("reading the private key PEM");
  SecretString pem(std::string(data, static_cast<size_t>(length)));
  OPENSSL_cleanse(data, static_cast<size_t>(length));
  return pem;
}

}  // namespace

SecretString& SecretString::operator=(SecretString&& other) noexcept {
  if (this != &other) {
    Clear();
    value_ = std::move(other.value_);
    other.Clear();
  }
  return *this;
}

void SecretString::Clear() {
  if (!value_.empty()) OPENSSL_cleanse(value_.data(), value_.size());
  value_.clear();
}

absl::StatusOr<TlsIdentity> GenerateTlsIdentity(absl::Duration lifetime) {
  OpenSslPtr<EVP_PKEY> key = GenerateP256Key();
  if (key == nullptr) return OpenSslError("generating the P-256 key");
  std::array<unsigned char, kP256PointSize> point;
  absl::Status status = GetPublicPoint(key.get(), &point);
  if (!status.ok()) return status;

  OpenSslPtr<X509> cert(X509_new());
  if (cert == nullptr || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return OpenSslError("creating the certificate");
  }

  // A random positive 127-bit serial number.
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof(serial_bytes)) != 1) {
    return OpenSslError("generating the serial number");
  }
  serial_bytes[0] &= 0x7f;
  OpenSslPtr<BIGNUM> serial(BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr));
  if (serial == nullptr ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return OpenSslError("setting the serial number");
  }

  // Starts a minute in the past so that small clock differences between the host's checks and
  // ours do not reject a fresh certificate.
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), static_cast<int>(lifetime / absl::Hours(24)),
                       static_cast<long>(absl::ToInt64Seconds(lifetime % absl::Hours(24))),
                       nullptr) == nullptr) {
    return OpenSslError("setting the validity period");
  }

  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("localhost"), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1) {
    return OpenSslError("setting the subject");
  }
  status = SetP256PublicKey(cert.get(), point);
  if (!status.ok()) return status;

  // Vault trusts this certificate as its own root and dials "localhost", and the same
  // certificate authenticates the plugin as a TLS client on the brokered connection.
  for (const auto& [nid, value] : {
           std::pair<int, const char*>{NID_basic_constraints, "critical,CA:TRUE"},
           {NID_key_usage, "critical,digitalSignature,keyCertSign"},
           {NID_ext_key_usage, "serverAuth,clientAuth"},
           {NID_subject_alt_name, "DNS:localhost"},
           {NID_subject_key_identifier, "hash"},
       }) {
    status = AddExtension(cert.get(), nid, value);
    if (!status.ok()) return status;
  }

  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    return OpenSslError("signing the certificate");
  }

  TlsIdentity identity;
  int der_length = i2d_X509(cert.get(), nullptr);
  if (der_length <= 0) return OpenSslError("encoding the certificate");
  identity.certificate_der.resize(static_cast<size_t>(der_length));
  unsigned char* out = reinterpret_cast<unsigned char*>(identity.certificate_der.data());
  if (i2d_X509(cert.get(), &out) != der_length) return OpenSslError("encoding the certificate");

  OpenSslPtr<BIO> cert_bio(BIO_new(BIO_s_mem()));
  if (cert_bio == nullptr || PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1) {
    return OpenSslError("writing the certificate PEM");
  }
  absl::StatusOr<std::string> cert_pem = BioContents(cert_bio.get());
  if (!cert_pem.ok()) return cert_pem.status();
  identity.certificate_pem = *std::move(cert_pem);

  absl::StatusOr<SecretString> key_pem = EncodeP256PrivateKeyPem(key.get(), point);
  if (!key_pem.ok()) return key_pem.status();
  identity.private_key_pem = *std::move(key_pem);
  return identity;
}

absl::Status ValidateCertificatePem(std::string_view pem) {
  if (pem.empty()) return absl::InvalidArgumentError("the certificate PEM is empty");
  OpenSslPtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return OpenSslError("reading the certificate PEM");
  OpenSslPtr<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        "the certificate PEM does not contain a parsable X.509 CERTIFICATE block");
  }
  return absl::OkStatus();
}

}  // namespace vault_qualtrics
