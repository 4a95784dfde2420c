#include "backend/crypto/secret_bytes.h"

#include <openssl/crypto.h>

#include <cstring>
#include <utility>

namespace vault_qualtrics {
namespace {

SecretBytes::CleanseObserver cleanse_observer = nullptr;

void CleanseBuffer(char* data, size_t size) {
  if (data == nullptr) return;
  OPENSSL_cleanse(data, size);
  if (cleanse_observer != nullptr) cleanse_observer(data, size);
}

}  // namespace

SecretBytes::SecretBytes(std::string_view bytes) : size_(bytes.size()) {
  if (size_ == 0) return;
  data_ = std::make_unique<char[]>(size_);
  std::memcpy(data_.get(), bytes.data(), size_);
}

SecretBytes SecretBytes::OfSize(size_t size) {
  SecretBytes secret;
  if (size == 0) return secret;
  secret.data_ = std::make_unique<char[]>(size);  // Value-initialized: all zero.
  secret.size_ = size;
  return secret;
}

SecretBytes SecretBytes::TakeString(std::string&& bytes) {
  SecretBytes secret(bytes);
  ZeroString(bytes);
  return secret;
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::move(other.data_)), size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Clear();
    data_ = std::move(other.data_);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SecretBytes::~SecretBytes() { Clear(); }

SecretBytes SecretBytes::Copy() const { return SecretBytes(view()); }

void SecretBytes::Clear() {
  CleanseBuffer(data_.get(), size_);
  data_.reset();
  size_ = 0;
}

bool SecretBytes::Equals(std::string_view other) const {
  if (other.size() != size_) return false;
  if (size_ == 0) return true;
  return CRYPTO_memcmp(data_.get(), other.data(), size_) == 0;
}

void ZeroString(std::string& text) {
  OPENSSL_cleanse(text.data(), text.size());
  text.clear();
}

void SecretBytes::SetCleanseObserverForTesting(CleanseObserver observer) {
  cleanse_observer = observer;
}

}  // namespace vault_qualtrics
