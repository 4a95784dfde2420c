// Pins the set of request paths each pattern accepts, and checks the piece-by-piece matcher
// against the regular expression each pattern compiles to.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "backend/framework/framework.h"

namespace vault_qualtrics {
namespace framework {
namespace {

// The patterns the engine registers, plus shapes that exercise each kind of piece.
const std::vector<std::string>& Patterns() {
  static const std::vector<std::string> patterns = {
      "config",         "roles/{name}", "roles/?",      "cert/{role}",
      "rotate/{role}",  "certs/?",      "certs/{id}",   "tidy",
      "a/{x}/b/{y}",    "a/{x}/?",      "v1.0/{x}+raw", "keys/{x}:{y}",
  };
  return patterns;
}

// Every pattern's segments get a string field of the same name.
CompiledPath CompileOrDie(const std::string& pattern) {
  Path path;
  path.pattern = pattern;
  size_t open = pattern.find('{');
  while (open != std::string::npos) {
    size_t close = pattern.find('}', open);
    path.fields.push_back(StringField(pattern.substr(open + 1, close - open - 1), ""));
    open = pattern.find('{', close);
  }
  absl::StatusOr<CompiledPath> compiled = CompiledPath::Compile(std::move(path));
  EXPECT_TRUE(compiled.ok()) << pattern << ": " << compiled.status();
  return *std::move(compiled);
}

// Request paths that probe every pattern: odd encodings, empty segments, trailing slashes,
// UTF-8, control bytes and long names.
std::vector<std::string> ProbePaths() {
  std::vector<std::string> paths = {
      "",
      "/",
      "config",
      "config/",
      "/config",
      "configs",
      "Config",
      "config?x=1",
      "roles",
      "roles/",
      "roles//",
      "roles/web",
      "roles/web/",
      "roles//web",
      "roles/web/extra",
      "roles/a",
      "roles/_",
      "roles/0",
      "roles/-a",
      "roles/a-",
      "roles/.a",
      "roles/a.",
      "roles/@a",
      "roles/a@",
      "roles/a-.@b",
      "roles/a.b@c-d_e",
      "roles/a b",
      "roles/a%20b",
      "roles/%61",
      "roles/a%2Fb",
      "roles/a+b",
      "roles/a~b",
      "roles/a:b",
      "roles/../a",
      "roles/./a",
      "roles/a\n",
      "roles/a\tb",
      std::string("roles/a\0b", 9),
      "roles/\xc3\xa9",
      "roles/a\xc3\xa9",
      "roles/a\xc3\xa9z",
      "roles/\xe2\x80\x8b" "a",
      "roles/\xff",
      "cert/web",
      "cert/web/",
      "cert/",
      "cert",
      "cert//web",
      "CERT/web",
      "cert/web?x",
      "certs",
      "certs/",
      "certs/abc123",
      "certs/abc123/",
      "certs//",
      "rotate/web",
      "rotate/",
      "tidy",
      "tidy/",
      "tidyx",
      "a/x/b/y",
      "a/x/b/y/",
      "a/x//b/y",
      "a//b/y",
      "a/x/b/",
      "a/x.y/b/z-w",
      "a/x",
      "a/x/",
      "a/x//",
      "a/",
      "a",
      "v1.0/x+raw",
      "v1.0/x.y+raw",
      "v1.0/x+raw/",
      "v1x0/x+raw",
      "v1.0/+raw",
      "v1.0/x.+raw",
      "keys/a:b",
      "keys/a.b:c",
      "keys/a::b",
      "keys/a:",
      "keys/:b",
      "keys/a:b:c",
  };
  // libstdc++'s std::regex recurses once per character and overflows an 8 MiB stack near
  // 30,000 characters, so the paths compared with it stay well below that.
  std::string long_name(2000, 'n');
  paths.push_back("roles/" + long_name);
  paths.push_back("cert/" + long_name);
  paths.push_back("cert/" + long_name + "-");
  paths.push_back("cert/" + long_name + "/");
  paths.push_back("cert/" + std::string(2000, '.'));
  paths.push_back("roles/a" + std::string(2000, '-') + "b");
  paths.push_back("certs/" + long_name + "/");
  return paths;
}

// Returns the regular expression's match result for `path`, which the matcher must reproduce.
std::optional<std::vector<std::string>> RegexMatch(const CompiledPath& compiled,
                                                   const std::string& path) {
  std::regex regex(compiled.regex_source(), std::regex::ECMAScript);
  std::smatch match;
  if (!std::regex_match(path, match, regex)) return std::nullopt;
  std::vector<std::string> captures;
  for (size_t i = 1; i < match.size(); ++i) captures.push_back(match[i].str());
  return captures;
}

TEST(PathMatchTest, AgreesWithRegexOnEveryProbe) {
  for (const std::string& pattern : Patterns()) {
    CompiledPath compiled = CompileOrDie(pattern);
    std::vector<std::string> names;
    for (const FieldSchema& field : compiled.path().fields) names.push_back(field.name);
    for (const std::string& path : ProbePaths()) {
      std::optional<std::vector<std::string>> expected = RegexMatch(compiled, path);
      std::optional<std::map<std::string, std::string>> actual = compiled.Match(path);
      std::string printable = path.size() > 80 ? path.substr(0, 80) + "..." : path;
      ASSERT_EQ(actual.has_value(), expected.has_value())
          << "pattern " << pattern << ", path \"" << printable << "\"";
      if (!actual) continue;
      ASSERT_EQ(actual->size(), expected->size()) << pattern << " " << printable;
      for (size_t i = 0; i < names.size(); ++i) {
        EXPECT_EQ(actual->at(names[i]), (*expected)[i]) << pattern << " " << printable;
      }
    }
  }
}

TEST(PathMatchTest, EnginePatternsAvoidRegex) {
  for (const std::string& pattern : Patterns()) {
    if (pattern == "keys/{x}:{y}") continue;
    EXPECT_FALSE(CompileOrDie(pattern).uses_regex()) << pattern;
  }
}

TEST(PathMatchTest, AmbiguousPatternsFallBackToRegex) {
  EXPECT_TRUE(CompileOrDie("keys/{x}.pem").uses_regex());
  EXPECT_TRUE(CompileOrDie("keys/{x}{y}").uses_regex());
  EXPECT_TRUE(CompileOrDie("keys/{x}-old").uses_regex());
  EXPECT_TRUE(CompileOrDie("keys/{x}_{y}").uses_regex());
  // ':' is not a name character, so the segment before it ends unambiguously.
  EXPECT_FALSE(CompileOrDie("keys/{x}:{y}").uses_regex());
}

TEST(PathMatchTest, FallbackPatternMatchesLikeRegex) {
  CompiledPath compiled = CompileOrDie("keys/{x}.pem");
  std::optional<std::map<std::string, std::string>> match = compiled.Match("keys/a.b.pem");
  ASSERT_TRUE(match.has_value());
  EXPECT_EQ(match->at("x"), "a.b");
  EXPECT_FALSE(compiled.Match("keys/a.pem/").has_value());
  EXPECT_FALSE(compiled.Match("keys/.pem").has_value());
}

struct Case {
  std::string pattern;
  std::string path;
  // The captured value of the pattern's only segment, or "" for none; unset when rejected.
  std::optional<std::string> capture;
};

TEST(PathMatchTest, PinnedAcceptedAndRejectedPaths) {
  const std::string long_name(100000, 'n');
  const std::vector<Case> cases = {
      {"config", "config", ""},
      {"config", "config/", std::nullopt},
      {"config", "/config", std::nullopt},
      {"config", "", std::nullopt},
      {"roles/?", "roles", ""},
      {"roles/?", "roles/", ""},
      {"roles/?", "roles//", std::nullopt},
      {"roles/?", "roles/web", std::nullopt},
      {"roles/{name}", "roles/web", "web"},
      {"roles/{name}", "roles/a", "a"},
      {"roles/{name}", "roles/_", "_"},
      {"roles/{name}", "roles/a-.@b", "a-.@b"},
      {"roles/{name}", "roles/" + long_name, long_name},
      {"roles/{name}", "roles/web/", std::nullopt},
      {"roles/{name}", "roles/", std::nullopt},
      {"roles/{name}", "roles//web", std::nullopt},
      {"roles/{name}", "roles/-a", std::nullopt},
      {"roles/{name}", "roles/a-", std::nullopt},
      {"roles/{name}", "roles/.a", std::nullopt},
      {"roles/{name}", "roles/a@", std::nullopt},
      {"roles/{name}", "roles/a b", std::nullopt},
      {"roles/{name}", "roles/a%20b", std::nullopt},
      {"roles/{name}", "roles/%61", std::nullopt},
      {"roles/{name}", "roles/../a", std::nullopt},
      {"roles/{name}", "roles/\xc3\xa9", std::nullopt},
      {"roles/{name}", "roles/a\xc3\xa9z", std::nullopt},
      {"roles/{name}", std::string("roles/a\0b", 9), std::nullopt},
      {"roles/{name}", "roles/a\n", std::nullopt},
      {"cert/{role}", "cert/web", "web"},
      {"cert/{role}", "cert/web/", std::nullopt},
      {"cert/{role}", "cert/", std::nullopt},
      {"cert/{role}", "CERT/web", std::nullopt},
      {"cert/{role}", "cert/" + long_name + "-", std::nullopt},
      {"cert/{role}", "cert/" + long_name + "/", std::nullopt},
      {"cert/{role}", "cert/a" + std::string(100000, '-') + "b", "a" + std::string(100000, '-') + "b"},
      {"certs/?", "certs/", ""},
      {"certs/{id}", "certs/abc123", "abc123"},
      {"certs/{id}", "certs/abc123/", std::nullopt},
      {"a/{x}/?", "a/x/", "x"},
      {"a/{x}/?", "a/x", "x"},
      {"a/{x}/?", "a/x//", std::nullopt},
  };
  for (const Case& c : cases) {
    CompiledPath compiled = CompileOrDie(c.pattern);
    std::optional<std::map<std::string, std::string>> match = compiled.Match(c.path);
    std::string printable = c.path.size() > 80 ? c.path.substr(0, 80) + "..." : c.path;
    ASSERT_EQ(match.has_value(), c.capture.has_value())
        << "pattern " << c.pattern << ", path \"" << printable << "\"";
    if (!match || match->empty()) continue;
    EXPECT_EQ(match->begin()->second, *c.capture) << c.pattern << " " << printable;
  }
}

}  // namespace
}  // namespace framework
}  // namespace vault_qualtrics
