#include "backend/crypto/key.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "backend/crypto/key_internal.h"
#include "backend/crypto/openssl_error.h"
#include "backend/crypto/openssl_ptr.h"

namespace vault_qualtrics {

using crypto_internal::BioPtr;
using crypto_internal::ClearOpenSslErrors;
using crypto_internal::EvpPkeyPtr;
using crypto_internal::OpenSslBytesPtr;
using crypto_internal::OpenSslError;

namespace crypto_internal {

absl::StatusOr<KeySpec> SpecOfKey(EVP_PKEY* key) {
  KeySpec spec;
  if (EVP_PKEY_is_a(key, "RSA")) {
    spec.type = KeyType::kRsa;
    spec.curve = EcCurve::kNone;
    spec.bits = EVP_PKEY_get_bits(key);
    if (spec.bits != 2048 && spec.bits != 3072 && spec.bits != 4096) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unsupported RSA key size ", spec.bits, " bits: supported sizes are 2048, 3072, 4096"));
    }
    return spec;
  }
  if (EVP_PKEY_is_a(key, "ED25519")) {
    spec.type = KeyType::kEd25519;
    spec.curve = EcCurve::kNone;
    spec.bits = 256;
    return spec;
  }
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[80] = {0};
    size_t group_length = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof(group), &group_length) != 1) {
      return OpenSslError(absl::StatusCode::kInvalidArgument, "reading the EC key's curve failed");
    }
    int nid = OBJ_txt2nid(group);
    if (nid == NID_undef) nid = EC_curve_nist2nid(group);
    spec.type = KeyType::kEc;
    if (nid == NID_X9_62_prime256v1) {
      spec.curve = EcCurve::kP256;
      spec.bits = 256;
      return spec;
    }
    if (nid == NID_secp384r1) {
      spec.curve = EcCurve::kP384;
      spec.bits = 384;
      return spec;
    }
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported EC curve ", group, ": supported curves are P-256, P-384"));
  }
  return absl::InvalidArgumentError(
      "unsupported key type: supported types are RSA, EC (P-256, P-384) and Ed25519");
}

absl::StatusOr<std::string> FingerprintOfPublicKey(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  int der_length = i2d_PUBKEY(key, &der);
  if (der_length <= 0) {
    return OpenSslError(absl::StatusCode::kInternal, "encoding the public key as DER failed");
  }
  OpenSslBytesPtr owned_der(der);

  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  if (EVP_Digest(der, static_cast<size_t>(der_length), digest, &digest_length, EVP_sha256(),
                 nullptr) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "hashing the public key failed");
  }

  static constexpr char kHexDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(digest_length * 2);
  for (unsigned int i = 0; i < digest_length; ++i) {
    hex.push_back(kHexDigits[digest[i] >> 4]);
    hex.push_back(kHexDigits[digest[i] & 0x0f]);
  }
  return hex;
}

}  // namespace crypto_internal

absl::StatusOr<KeySpec> ParseKeySpec(std::string_view key_type, int key_bits) {
  KeySpec spec;
  if (key_type == "rsa") {
    spec.type = KeyType::kRsa;
    spec.curve = EcCurve::kNone;
    spec.bits = key_bits == 0 ? 2048 : key_bits;
    if (spec.bits != 2048 && spec.bits != 3072 && spec.bits != 4096) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid key_bits ", key_bits, " for key_type rsa: allowed values are 2048, 3072, 4096"));
    }
    return spec;
  }
  if (key_type == "ec") {
    spec.type = KeyType::kEc;
    spec.bits = key_bits == 0 ? 256 : key_bits;
    if (spec.bits == 256) {
      spec.curve = EcCurve::kP256;
    } else if (spec.bits == 384) {
      spec.curve = EcCurve::kP384;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid key_bits ", key_bits,
                       " for key_type ec: allowed values are 256 (P-256) and 384 (P-384)"));
    }
    return spec;
  }
  if (key_type == "ed25519") {
    if (key_bits != 0 && key_bits != 256) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid key_bits ", key_bits, " for key_type ed25519: allowed values are 0 and 256"));
    }
    spec.type = KeyType::kEd25519;
    spec.curve = EcCurve::kNone;
    spec.bits = 256;
    return spec;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("invalid key_type \"", std::string(key_type),
                   "\": allowed values are rsa, ec, ed25519"));
}

std::string_view KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kRsa:
      return "rsa";
    case KeyType::kEc:
      return "ec";
    case KeyType::kEd25519:
      return "ed25519";
  }
  return "unknown";
}

std::string KeySpecLabel(const KeySpec& spec) {
  switch (spec.type) {
    case KeyType::kRsa:
      return absl::StrCat("rsa-", spec.bits);
    case KeyType::kEc:
      return spec.curve == EcCurve::kP384 ? "ec-p384" : "ec-p256";
    case KeyType::kEd25519:
      return "ed25519";
  }
  return "unknown";
}

PrivateKey::PrivateKey(PrivateKey&& other) noexcept
    : key_(std::exchange(other.key_, nullptr)), spec_(other.spec_) {}

PrivateKey& PrivateKey::operator=(PrivateKey&& other) noexcept {
  if (this != &other) {
    EVP_PKEY_free(key_);
    key_ = std::exchange(other.key_, nullptr);
    spec_ = other.spec_;
  }
  return *this;
}

PrivateKey::~PrivateKey() { EVP_PKEY_free(key_); }

absl::StatusOr<SecretBytes> PrivateKey::ToPkcs8Pem() const {
  ClearOpenSslErrors();
  // A secure-memory BIO: OpenSSL clears its buffer when it grows and when it is freed.
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (bio == nullptr) {
    return OpenSslError(absl::StatusCode::kInternal, "allocating a memory BIO failed");
  }
  if (PEM_write_bio_PKCS8PrivateKey(bio.get(), key_, nullptr, nullptr, 0, nullptr, nullptr) !=
      1) {
    return OpenSslError(absl::StatusCode::kInternal, "encoding the private key as PKCS#8 failed");
  }
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  if (length <= 0 || data == nullptr) {
    return absl::InternalError("encoding the private key as PKCS#8 produced no output");
  }
  return SecretBytes(std::string_view(data, static_cast<size_t>(length)));
}

absl::StatusOr<std::string> PrivateKey::PublicKeyPem() const {
  ClearOpenSslErrors();
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_PUBKEY(bio.get(), key_) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "encoding the public key as PEM failed");
  }
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

absl::StatusOr<std::string> PrivateKey::PublicKeyFingerprintSha256() const {
  ClearOpenSslErrors();
  return crypto_internal::FingerprintOfPublicKey(key_);
}

absl::StatusOr<PrivateKey> GenerateKey(const KeySpec& spec) {
  ClearOpenSslErrors();
  EVP_PKEY* key = nullptr;
  switch (spec.type) {
    case KeyType::kRsa:
      if (spec.bits != 2048 && spec.bits != 3072 && spec.bits != 4096) {
        return absl::InvalidArgumentError(absl::StrCat(
            "invalid RSA key size ", spec.bits, ": allowed values are 2048, 3072, 4096"));
      }
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(spec.bits));
      break;
    case KeyType::kEc:
      if (spec.curve == EcCurve::kP256) {
        key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      } else if (spec.curve == EcCurve::kP384) {
        key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
      } else {
        return absl::InvalidArgumentError("EC key spec without a curve: use ParseKeySpec");
      }
      break;
    case KeyType::kEd25519:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
  }
  if (key == nullptr) {
    return OpenSslError(absl::StatusCode::kInternal,
                        absl::StrCat("generating a ", KeySpecLabel(spec), " key failed"));
  }
  EvpPkeyPtr owned(key);
  absl::StatusOr<KeySpec> actual = crypto_internal::SpecOfKey(key);
  if (!actual.ok()) return actual.status();
  return PrivateKey(owned.release(), *actual);
}

absl::StatusOr<PrivateKey> PrivateKeyFromPem(std::string_view pem) {
  ClearOpenSslErrors();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) {
    return OpenSslError(absl::StatusCode::kInternal, "allocating a memory BIO failed");
  }
  // An empty passphrase callback result makes an encrypted key fail instead of prompting.
  auto no_passphrase = [](char*, int, int, void*) -> int { return 0; };
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr);
  if (key == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "the text is not an unencrypted PEM private key");
  }
  EvpPkeyPtr owned(key);
  absl::StatusOr<KeySpec> spec = crypto_internal::SpecOfKey(key);
  if (!spec.ok()) return spec.status();
  return PrivateKey(owned.release(), *spec);
}

absl::StatusOr<std::string> PublicKeyFingerprintFromPem(std::string_view public_key_pem) {
  ClearOpenSslErrors();
  BioPtr bio(BIO_new_mem_buf(public_key_pem.data(), static_cast<int>(public_key_pem.size())));
  EVP_PKEY* key = bio == nullptr ? nullptr
                                 : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "the text is not a PEM public key (BEGIN PUBLIC KEY)");
  }
  EvpPkeyPtr owned(key);
  return crypto_internal::FingerprintOfPublicKey(key);
}

SecretBytes Base64Encode(std::string_view bytes) {
  // EVP_EncodeBlock writes 4 characters per 3 input bytes plus a terminating NUL.
  size_t encoded_size = 4 * ((bytes.size() + 2) / 3);
  SecretBytes buffer = SecretBytes::OfSize(encoded_size + 1);
  int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(buffer.mutable_data()),
                      reinterpret_cast<const unsigned char*>(bytes.data()),
                      static_cast<int>(bytes.size()));
  return SecretBytes(std::string_view(buffer.data(), static_cast<size_t>(written)));
}

}  // namespace vault_qualtrics
