// SecretBytes: an owned byte buffer for key material and credentials that overwrites itself with
// OPENSSL_cleanse before its memory is released.
//
// The buffer is allocated once at its final size and never grows, so no stale copy is left behind
// by a reallocation. Copying is explicit (Copy()); moving transfers the buffer and leaves the
// source empty. Not thread-safe for concurrent mutation; concurrent reads are fine.
//
// Example:
//   SecretBytes token = SecretBytes::TakeString(std::move(raw_token));
//   UseToken(token.view());
#ifndef BACKEND_CRYPTO_SECRET_BYTES_H_
#define BACKEND_CRYPTO_SECRET_BYTES_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace vault_qualtrics {

class SecretBytes {
 public:
  SecretBytes() = default;
  // Copies `bytes` into a new buffer. The caller stays responsible for zeroing `bytes`.
  explicit SecretBytes(std::string_view bytes);
  // Allocates `size` zero bytes, for callers that fill the buffer through mutable_data().
  static SecretBytes OfSize(size_t size);
  // Copies `bytes` into a new buffer, then zeroes the string's characters before it is dropped.
  static SecretBytes TakeString(std::string&& bytes);

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  // Returns an independent copy; both copies zero themselves.
  SecretBytes Copy() const;
  // Zeroes and releases the buffer; the object becomes empty.
  void Clear();

  std::string_view view() const { return std::string_view(data_.get(), size_); }
  const char* data() const { return data_.get(); }
  char* mutable_data() { return data_.get(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Compares contents in time that depends only on the sizes.
  bool Equals(std::string_view other) const;

  // Test hook: when set, called with each buffer right after it was zeroed and before it is
  // freed, so a test can inspect the bytes. Pass nullptr to remove it. Not thread-safe.
  using CleanseObserver = void (*)(const char* data, size_t size);
  static void SetCleanseObserverForTesting(CleanseObserver observer);

 private:
  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
};

// Overwrites the characters of `text` with zeros (OPENSSL_cleanse), then empties it. For
// transient std::string copies of secrets, such as a parsed response body holding a token.
void ZeroString(std::string& text);

}  // namespace vault_qualtrics

#endif  // BACKEND_CRYPTO_SECRET_BYTES_H_
