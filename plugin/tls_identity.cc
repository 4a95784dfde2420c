#include "plugin/tls_identity.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"

namespace vault_qualtrics {
namespace {

struct OpenSslDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
  void operator()(X509* cert) const { X509_free(cert); }
  void operator()(BIO* bio) const { BIO_free(bio); }
  void operator()(BIGNUM* bn) const { BN_free(bn); }
  void operator()(X509_EXTENSION* ext) const { X509_EXTENSION_free(ext); }
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
  OpenSslPtr<EVP_PKEY> key(EVP_EC_gen("P-256"));
  if (key == nullptr) return OpenSslError("generating the P-256 key");

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
      X509_set_issuer_name(cert.get(), name) != 1 || X509_set_pubkey(cert.get(), key.get()) != 1) {
    return OpenSslError("setting the subject and public key");
  }

  // Vault trusts this certificate as its own root and dials "localhost", and the same
  // certificate authenticates the plugin as a TLS client on the brokered connection.
  for (const auto& [nid, value] : {
           std::pair<int, const char*>{NID_basic_constraints, "critical,CA:TRUE"},
           {NID_key_usage, "critical,digitalSignature,keyCertSign"},
           {NID_ext_key_usage, "serverAuth,clientAuth"},
           {NID_subject_alt_name, "DNS:localhost"},
           {NID_subject_key_identifier, "hash"},
       }) {
    absl::Status status = AddExtension(cert.get(), nid, value);
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

  // BIO_free releases the memory BIO's buffer without clearing it, so the key bytes are cleared
  // here first.
  OpenSslPtr<BIO> key_bio(BIO_new(BIO_s_mem()));
  if (key_bio == nullptr || PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0,
                                                     nullptr, nullptr) != 1) {
    return OpenSslError("writing the private key PEM");
  }
  char* key_data = nullptr;
  long key_length = BIO_get_mem_data(key_bio.get(), &key_data);
  if (key_length <= 0 || key_data == nullptr) return OpenSslError("reading the private key PEM");
  identity.private_key_pem = SecretString(std::string(key_data, static_cast<size_t>(key_length)));
  OPENSSL_cleanse(key_data, static_cast<size_t>(key_length));
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
