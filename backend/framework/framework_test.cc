#include "backend/framework/framework.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "backend/logical/errors.h"

namespace vault_qualtrics {
namespace framework {
namespace {

using ::testing::HasSubstr;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

Path RolesPath() {
  Path path;
  path.pattern = "roles/{name}";
  path.fields = {StringField("name", "Name of the role."),
                 EnumField("key_type", "Key algorithm.", {"rsa", "ec"}, "ec"),
                 IntField("key_bits", "Key size in bits.", 256, 256, 4096),
                 BoolField("allow_key_export", "Return the key.", false),
                 DurationField("renew_before", "Renew window.", 60 * 86400),
                 SliceField("tags", "Labels.")};
  path.operations[Operation::kRead] = {
      [](const Request&, const FieldData& data) -> absl::StatusOr<Response> {
        Response response;
        response.data = {{"name", data.GetString("name")},
                         {"key_type", data.GetString("key_type")},
                         {"key_bits", data.GetInt("key_bits")},
                         {"allow_key_export", data.GetBool("allow_key_export")},
                         {"renew_before", data.GetDurationSeconds("renew_before")},
                         {"tags", data.GetStrings("tags")},
                         {"key_bits_set", data.Has("key_bits")}};
        return response;
      },
      "Read a role."};
  path.operations[Operation::kUpdate] = {
      [](const Request&, const FieldData&) -> absl::StatusOr<Response> {
        return Response::Empty();
      },
      "Write a role.", /*forward_performance_standby=*/true};
  path.existence_check = [](const Request&, const FieldData& data) -> absl::StatusOr<bool> {
    return data.GetString("name") == "existing";
  };
  path.help_synopsis = "Manage roles.";
  path.help_description = "Roles describe keys.";
  return path;
}

Path RolesListPath() {
  Path path;
  path.pattern = "roles/?";
  path.operations[Operation::kList] = {
      [](const Request&, const FieldData&) -> absl::StatusOr<Response> {
        Response response;
        response.data = {{"keys", {"a", "b"}}};
        return response;
      },
      "List roles."};
  path.help_synopsis = "List roles.";
  return path;
}

struct TestRouter {
  Router router;
  std::atomic<int> periodic_calls{0};
};

Router MakeRouter(std::atomic<int>* periodic_calls, bool standby = false) {
  BackendOptions options;
  options.help = "Test backend.\nMore text.";
  options.paths = {RolesPath(), RolesListPath()};
  options.periodic = [periodic_calls](const Request&) {
    ++*periodic_calls;
    return absl::OkStatus();
  };
  options.is_performance_standby = [standby] { return standby; };
  absl::StatusOr<Router> router = Router::Create(std::move(options));
  EXPECT_TRUE(router.ok()) << router.status();
  return *std::move(router);
}

Request MakeRequest(Operation op, std::string path,
                    nlohmann::json data = nlohmann::json::object()) {
  Request request;
  request.operation = op;
  request.path = std::move(path);
  request.data = std::move(data);
  return request;
}

TEST(ParseDurationTest, AcceptsSecondsAndUnits) {
  EXPECT_EQ(*ParseDurationSeconds("90"), 90);
  EXPECT_EQ(*ParseDurationSeconds("90s"), 90);
  EXPECT_EQ(*ParseDurationSeconds("15m"), 900);
  EXPECT_EQ(*ParseDurationSeconds("1h30m"), 5400);
  EXPECT_EQ(*ParseDurationSeconds("30d"), 30 * 86400);
  EXPECT_EQ(*ParseDurationSeconds("0"), 0);
}

TEST(ParseDurationTest, RejectsMalformedValues) {
  for (const char* text : {"", "-5", "1x", "h", "1h30", "abc", "99999999999999999999999d",
                           "9223372036854775807d", "1.5h"}) {
    EXPECT_FALSE(ParseDurationSeconds(text).ok()) << text;
  }
}

TEST(ValidateFieldsTest, ConvertsEveryType) {
  std::vector<FieldSchema> fields = {StringField("s", ""), IntField("i", ""),
                                     BoolField("b", ""),   DurationField("d", ""),
                                     SliceField("l", ""),  EnumField("e", "", {"x", "y"})};
  absl::StatusOr<FieldData> data = ValidateFields(
      fields, {{"s", 12}, {"i", "42"}, {"b", "true"}, {"d", "2h"}, {"l", "a, b,,c"}, {"e", "y"}});
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->GetString("s"), "12");
  EXPECT_EQ(data->GetInt("i"), 42);
  EXPECT_TRUE(data->GetBool("b"));
  EXPECT_EQ(data->GetDurationSeconds("d"), 7200);
  EXPECT_THAT(data->GetStrings("l"), ::testing::ElementsAre("a", "b", "c"));
  EXPECT_EQ(data->GetString("e"), "y");
}

TEST(ValidateFieldsTest, AppliesDefaultsOnlyWhenUnset) {
  std::vector<FieldSchema> fields = {IntField("i", "", 7), StringField("s", "", "dflt")};
  absl::StatusOr<FieldData> data = ValidateFields(fields, nlohmann::json::object());
  ASSERT_TRUE(data.ok());
  EXPECT_FALSE(data->Has("i"));
  EXPECT_EQ(data->GetInt("i"), 7);
  EXPECT_EQ(data->GetString("s"), "dflt");
  EXPECT_EQ(data->GetString("undeclared"), "");
}

TEST(ValidateFieldsTest, RejectsUnknownFieldsByName) {
  absl::StatusOr<FieldData> data =
      ValidateFields({StringField("known", "")}, {{"typo", 1}, {"other", 2}});
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(data.status()), HasSubstr("\"typo\""));
  EXPECT_THAT(Message(data.status()), HasSubstr("\"other\""));
  EXPECT_THAT(Message(data.status()), HasSubstr("accepts: known"));
}

TEST(ValidateFieldsTest, NamesFieldWithWrongType) {
  struct Case {
    FieldSchema field;
    nlohmann::json value;
    std::string expected;
  };
  std::vector<Case> cases = {
      {IntField("key_bits", ""), "many", "expected an integer"},
      {IntField("key_bits", ""), 1.5, "expected an integer"},
      {IntField("key_bits", "", nullptr, 1, 10), 11, "above the maximum 10"},
      {IntField("key_bits", "", nullptr, 1, 10), 0, "below the minimum 1"},
      {IntField("key_bits", ""), "99999999999999999999", "expected an integer"},
      {IntField("key_bits", "", 256), "many", "expected an integer such as 256"},
      {IntField("key_bits", "", nullptr, 3, 10), "many", "expected an integer such as 3"},
      {BoolField("key_bits", ""), "yes", "expected true or false"},
      {DurationField("key_bits", ""), "soon", "duration such as"},
      {DurationField("key_bits", ""), -1, "cannot be negative"},
      {EnumField("key_bits", "", {"rsa", "ec"}), "dsa", "use one of: rsa, ec"},
      {StringField("key_bits", ""), nlohmann::json::object(), "expected a string"},
      {StringField("key_bits", ""), std::string(5000, 'a'), "the maximum is 4096"},
      {SliceField("key_bits", ""), nlohmann::json::array({1}), "list of strings"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<FieldData> data = ValidateFields({c.field}, {{"key_bits", c.value}});
    ASSERT_FALSE(data.ok()) << c.value.dump();
    EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(Message(data.status()), HasSubstr("\"key_bits\"")) << c.value.dump();
    EXPECT_THAT(Message(data.status()), HasSubstr(c.expected)) << c.value.dump();
  }
}

TEST(CompiledPathTest, MatchesNamedSegments) {
  absl::StatusOr<CompiledPath> path = CompiledPath::Compile(RolesPath());
  ASSERT_TRUE(path.ok());
  auto match = path->Match("roles/web-1.prod");
  ASSERT_TRUE(match.has_value());
  EXPECT_EQ((*match)["name"], "web-1.prod");
  EXPECT_FALSE(path->Match("roles/").has_value());
  EXPECT_FALSE(path->Match("roles/-bad").has_value());
  EXPECT_FALSE(path->Match("roles/a/b").has_value());
  EXPECT_FALSE(path->Match("xroles/a").has_value());
  EXPECT_EQ(path->OpenApiPath(), "/roles/{name}");
}

TEST(CompiledPathTest, RejectsCaptureWithoutField) {
  Path path;
  path.pattern = "cert/{role}";
  EXPECT_FALSE(CompiledPath::Compile(path).ok());
}

TEST(RouterTest, DispatchesWithPathCapture) {
  std::atomic<int> calls{0};
  Router router = MakeRouter(&calls);
  absl::StatusOr<Response> response =
      router.HandleRequest(MakeRequest(Operation::kRead, "roles/web", {{"key_bits", 2048}}));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->data["name"], "web");
  EXPECT_EQ(response->data["key_type"], "ec");
  EXPECT_EQ(response->data["key_bits"], 2048);
  EXPECT_EQ(response->data["key_bits_set"], true);
}

TEST(RouterTest, PathSegmentOverridesBody) {
  std::atomic<int> calls{0};
  Router router = MakeRouter(&calls);
  absl::StatusOr<Response> response =
      router.HandleRequest(MakeRequest(Operation::kRead, "roles/web", {{"name", "other"}}));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->data["name"], "web");
}

TEST(RouterTest, UnknownPathIsUnsupportedPath) {
  std::atomic<int> calls{0};
  Router router = MakeRouter(&calls);
  absl::StatusOr<Response> response = router.HandleRequest(MakeRequest(Operation::kRead, "nope"));
  ASSERT_FALSE(response.ok());
  EXPECT_TRUE(IsUnsupportedPath(response.status()));
}

TEST(RouterTest, UnknownOperationIsUnsupportedOperation) {
  std::atomic<int> calls{0};
  Router router = MakeRouter(&calls);
  absl::StatusOr<Response> response =
      router.HandleRequest(MakeRequest(Operation::kDelete, "roles/web"));
  ASSERT_FALSE(response.ok());
  EXPECT_TRUE(IsUnsupportedOperation(response.status()));
}

TEST(RouterTest, CreateFallsBackToUpdate) {
  std::atomic<int> calls{0};
  Router router = MakeRouter(&calls);
  absl::StatusOr<Response> response =
      router.HandleRequest(MakeRequest(Operation::kCreate, "roles/web"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_FALSE(response->has_response);
}

TEST(RouterTest, StandbyForwardsMarkedWrites) {
  std::atomic<int> calls{0};
  Router router = MakeRouter(&calls, /*standby=*/true);
  absl::StatusOr<Response> write =
      router.HandleRequest(MakeRequest(Operation::kUpdate, "roles/web"));
  ASSERT_FALSE(write.ok());
  EXPECT_TRUE(IsReadOnly(write.status()));
  EXPECT_TRUE(router.HandleRequest(MakeRequest(Operation::kRead, "roles/web")).ok());
}

TEST(RouterTest, ListMatchesWithAndWithoutSlash) {
  std::atomic<int> calls{0};
  Router router = MakeRouter(&calls);
  EXPECT_TRUE(router.HandleRequest(MakeRequest(Operation::kList, "roles/")).ok());
  EXPECT_TRUE(router.HandleRequest(MakeRequest(Operation::kList, "roles")).ok());
}

TEST(RouterTest, RollbackRunsPeriodicHook) {
  std::atomic<int> calls{0};
  Router router = MakeRouter(&calls);
  absl::StatusOr<Response> response = router.HandleRequest(MakeRequest(Operation::kRollback, ""));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(calls.load(), 1);
}

TEST(RouterTest, ExistenceCheck) {
  std::atomic<int> calls{0};
  Router router = MakeRouter(&calls);
  absl::StatusOr<ExistenceResult> found =
      router.HandleExistenceCheck(MakeRequest(Operation::kCreate, "roles/existing"));
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->check_found);
  EXPECT_TRUE(found->exists);
  absl::StatusOr<ExistenceResult> missing =
      router.HandleExistenceCheck(MakeRequest(Operation::kCreate, "roles/new"));
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->exists);
  // Invalid body fields do not fail the check: the write itself reports them as a 400.
  Request invalid_body = MakeRequest(Operation::kCreate, "roles/new", {{"key_bits", "many"}});
  absl::StatusOr<ExistenceResult> with_invalid_body = router.HandleExistenceCheck(invalid_body);
  ASSERT_TRUE(with_invalid_body.ok()) << with_invalid_body.status();
  EXPECT_FALSE(with_invalid_body->exists);
  absl::StatusOr<ExistenceResult> none =
      router.HandleExistenceCheck(MakeRequest(Operation::kList, "roles/"));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->check_found);
}

TEST(RouterTest, PathHelpHasHelpSeeAlsoAndOpenApi) {
  std::atomic<int> calls{0};
  Router router = MakeRouter(&calls);
  absl::StatusOr<Response> response =
      router.HandleRequest(MakeRequest(Operation::kHelp, "roles/web"));
  ASSERT_TRUE(response.ok());
  const nlohmann::json& data = response->data;
  EXPECT_THAT(data["help"].get<std::string>(), HasSubstr("Manage roles."));
  EXPECT_THAT(data["help"].get<std::string>(), HasSubstr("key_type (string)"));
  EXPECT_THAT(data["help"].get<std::string>(), HasSubstr("Roles describe keys."));
  EXPECT_TRUE(data["see_also"].is_array());
  const nlohmann::json& openapi = data["openapi"];
  EXPECT_EQ(openapi["openapi"], "3.0.2");
  ASSERT_TRUE(openapi["paths"].contains("/roles/{name}"));
  EXPECT_FALSE(openapi["paths"].contains("/roles/"));
  const nlohmann::json& item = openapi["paths"]["/roles/{name}"];
  EXPECT_EQ(item["parameters"][0]["name"], "name");
  EXPECT_EQ(item["parameters"][0]["in"], "path");
  EXPECT_EQ(item["get"]["operationId"], "readRolesName");
  auto properties =
      item["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"];
  EXPECT_EQ(properties["key_type"]["enum"], nlohmann::json({"rsa", "ec"}));
  EXPECT_EQ(properties["key_bits"]["type"], "integer");
  EXPECT_FALSE(properties.contains("name"));
}

TEST(RouterTest, RootHelpListsEveryPath) {
  std::atomic<int> calls{0};
  Router router = MakeRouter(&calls);
  absl::StatusOr<Response> response = router.HandleRequest(MakeRequest(Operation::kHelp, ""));
  ASSERT_TRUE(response.ok());
  std::string help = response->data["help"];
  EXPECT_THAT(help, HasSubstr("roles/{name}"));
  EXPECT_THAT(help, HasSubstr("roles/?"));
  EXPECT_TRUE(response->data["openapi"]["paths"].contains("/roles/"));
  EXPECT_EQ(response->data["openapi"]["paths"]["/roles/"]["get"]["parameters"][0]["name"], "list");
}

}  // namespace
}  // namespace framework
}  // namespace vault_qualtrics
