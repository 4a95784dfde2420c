#include <string.h>

#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "backend/logical/logical.h"

namespace vault_qualtrics {
namespace {

ZeroedStringObserver zeroed_string_observer = nullptr;

// An output adapter that only counts the characters nlohmann::json's serializer writes.
// nlohmann::detail is the library's internal namespace. This was written against release
// 3.11.2, so an upgrade of the library may need it adjusted.
class CountingOutputAdapter : public nlohmann::detail::output_adapter_protocol<char> {
 public:
  void write_character(char /*c*/) override { ++count_; }
  void write_characters(const char* /*s*/, std::size_t length) override { count_ += length; }
  std::size_t count() const { return count_; }

 private:
  std::size_t count_ = 0;
};

void DumpTo(const nlohmann::json& value, nlohmann::detail::output_adapter_t<char> adapter,
            nlohmann::json::error_handler_t error_handler) {
  nlohmann::detail::serializer<nlohmann::json> serializer(std::move(adapter), ' ', error_handler);
  serializer.dump(value, /*pretty_print=*/false, /*ensure_ascii=*/false, /*indent_step=*/0);
}

}  // namespace

Response& Response::operator=(const Response& other) {
  if (this == &other) return *this;
  if (contains_secrets) ZeroJsonStrings(data);
  data = other.data;
  warnings = other.warnings;
  has_response = other.has_response;
  contains_secrets = other.contains_secrets;
  return *this;
}

Response& Response::operator=(Response&& other) noexcept {
  if (this == &other) return *this;
  if (contains_secrets) ZeroJsonStrings(data);
  data = std::move(other.data);
  warnings = std::move(other.warnings);
  has_response = other.has_response;
  contains_secrets = other.contains_secrets;
  return *this;
}

Response::~Response() {
  if (contains_secrets) ZeroJsonStrings(data);
}

void ZeroJsonStrings(nlohmann::json& value) {
  if (value.is_string()) {
    std::string& text = value.get_ref<std::string&>();
    // explicit_bzero is not removed by the optimiser even though the string is freed next.
    explicit_bzero(text.data(), text.size());
    if (zeroed_string_observer != nullptr) zeroed_string_observer(text.data(), text.size());
    return;
  }
  if (value.is_object() || value.is_array()) {
    for (nlohmann::json& item : value) ZeroJsonStrings(item);
  }
}

void SetZeroedStringObserverForTesting(ZeroedStringObserver observer) {
  zeroed_string_observer = observer;
}

void DumpJsonInPlace(const nlohmann::json& value, std::string* out,
                     nlohmann::json::error_handler_t error_handler) {
  auto counter = std::make_shared<CountingOutputAdapter>();
  DumpTo(value, counter, error_handler);
  out->reserve(out->size() + counter->count());
  DumpTo(value, nlohmann::detail::output_adapter<char>(*out), error_handler);
}

}  // namespace vault_qualtrics
