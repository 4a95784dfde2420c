package docs

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vault-plugin-secrets-qualtrics/tests/host/vaulthost"
	"github.com/vault-plugin-secrets-qualtrics/tests/host/vaulthost/hosttest"
)

// repositoryRoot is the repository root relative to this package's directory, where go test runs.
const repositoryRoot = "../../.."

func TestPathReferenceIsCurrent(t *testing.T) {
	catalog, _ := hosttest.NewCatalog(t)
	mount := hosttest.Enable(t, catalog, vaulthost.MountOptions{Path: "qualtrics/"})
	got, err := Render(hosttest.Context(t, time.Minute), mount)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}

	path := filepath.Join(repositoryRoot, ReferencePath)
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s cannot be read (%v); generate it with:\n%s", ReferencePath, err, RegenerateCommand)
	}
	if string(got) != string(want) {
		line, gotLine, wantLine := firstDifference(string(got), string(want))
		t.Fatalf("%s is stale: line %d is %q in the file but the plugin's help renders %q.\n"+
			"Regenerate it from the repository root with:\n%s",
			ReferencePath, line, wantLine, gotLine, RegenerateCommand)
	}
}

func TestRenderIndependentOfMountPath(t *testing.T) {
	catalog, _ := hosttest.NewCatalog(t)
	first := hosttest.Enable(t, catalog, vaulthost.MountOptions{Path: "qualtrics/"})
	second := hosttest.Enable(t, catalog, vaulthost.MountOptions{Path: "team/certs/"})
	ctx := hosttest.Context(t, time.Minute)
	firstDoc, err := Render(ctx, first)
	if err != nil {
		t.Fatalf("Render at qualtrics/: %v", err)
	}
	secondDoc, err := Render(ctx, second)
	if err != nil {
		t.Fatalf("Render at team/certs/: %v", err)
	}
	if string(firstDoc) != string(secondDoc) {
		line, a, b := firstDifference(string(firstDoc), string(secondDoc))
		t.Fatalf("reference differs between mounts at line %d: %q at qualtrics/, %q at team/certs/", line, a, b)
	}
}

func TestRenderListsEveryOpenAPIPath(t *testing.T) {
	catalog, _ := hosttest.NewCatalog(t)
	mount := hosttest.Enable(t, catalog, vaulthost.MountOptions{Path: "qualtrics/"})
	ctx := hosttest.Context(t, time.Minute)
	markdown, err := Render(ctx, mount)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	_, openapi, err := requestHelp(ctx, mount, "")
	if err != nil {
		t.Fatalf("root help: %v", err)
	}
	doc, err := parseDocument(openapi)
	if err != nil {
		t.Fatalf("parseDocument: %v", err)
	}
	if len(doc.Paths) == 0 {
		t.Fatal("the plugin's OpenAPI document lists no paths")
	}
	for pattern, item := range doc.Paths {
		heading := "\n## " + displayPath(pattern) + "\n"
		if !strings.Contains(string(markdown), heading) {
			t.Errorf("reference has no section %q", strings.TrimSpace(heading))
		}
		if item.Post == nil || item.Post.RequestBody == nil {
			continue
		}
		for _, media := range item.Post.RequestBody.Content {
			for name := range media.Schema.Properties {
				if !strings.Contains(string(markdown), "| `"+name+"` |") {
					t.Errorf("reference has no row for field %s of %s", name, pattern)
				}
			}
		}
	}
}

func TestWritePathResponseAndRefFields(t *testing.T) {
	// The plugin's document has no response schemas yet, so this one is written by hand in the
	// form Vault's SDK emits: a response schema referenced from components.schemas.
	raw := `{
	  "paths": {"/roles/{name}": {
	    "description": "Manage roles.",
	    "x-vault-createSupported": true,
	    "parameters": [{"name": "name", "in": "path", "description": "Role name."}],
	    "get": {"summary": "Read a role.", "responses": {"200": {"description": "OK",
	      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RoleResponse"}}}}}},
	    "post": {"summary": "Write a role.", "requestBody": {"content": {"application/json": {"schema": {
	      "type": "object", "required": ["key_type"], "properties": {
	        "key_type": {"type": "string", "default": "ec", "enum": ["rsa", "ec"], "description": "Key | type."},
	        "ttl": {"type": "string", "format": "duration", "minimum": 1, "description": "For cert/<role>."}}}}}},
	      "responses": {"204": {"description": "empty body"}}}
	  }},
	  "components": {"schemas": {"RoleResponse": {"type": "object", "properties": {
	    "key_bits": {"type": "integer", "description": "Key size in bits."}}}}}
	}`
	var value interface{}
	if err := json.Unmarshal([]byte(raw), &value); err != nil {
		t.Fatalf("test document: %v", err)
	}
	doc, err := parseDocument(value)
	if err != nil {
		t.Fatalf("parseDocument: %v", err)
	}
	var b strings.Builder
	if err := writePath(&b, doc, "/roles/{name}", doc.Paths["/roles/{name}"], ""); err != nil {
		t.Fatalf("writePath: %v", err)
	}
	out := b.String()
	wantLines := []string{
		"## roles/{name}",
		"| read | `GET` | Read a role. |",
		"| create, update | `POST` | Write a role. |",
		"| `name` | Role name. |",
		"Request fields (create, update):",
		"| `key_type` | string | `ec` | Key \\| type. Required. One of: `rsa`, `ec`. |",
		"| `ttl` | string (duration) |  | For cert/\\<role\\>. Minimum: 1. |",
		"Response fields (read, 200):",
		"| `key_bits` | integer |  | Key size in bits. |",
	}
	for _, line := range wantLines {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("section has no line %q; section:\n%s", line, out)
		}
	}
}

func TestWritePathRejectsUnknownRef(t *testing.T) {
	doc := &document{}
	item := &pathItem{Get: &operation{Responses: map[string]*response{"200": {
		Content: map[string]*mediaType{"application/json": {Schema: &schema{Ref: "#/components/schemas/Missing"}}},
	}}}}
	var b strings.Builder
	if err := writePath(&b, doc, "/x", item, ""); err == nil {
		t.Error("writePath accepted a reference to a schema that does not exist")
	}
}

func TestEscapeProseKeepsCodeSpans(t *testing.T) {
	cases := []struct{ in, want string }{
		{"read cert/<role>", `read cert/\<role\>`},
		{"set `a<b` or <c>", "set `a<b` or \\<c\\>"},
		{`a\b`, `a\\b`},
	}
	for _, c := range cases {
		if got := escapeProse(c.in); got != c.want {
			t.Errorf("escapeProse(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestEscapeCellJoinsLinesAndPipes(t *testing.T) {
	if got, want := escapeCell("a |\n b"), `a \| b`; got != want {
		t.Errorf("escapeCell = %q, want %q", got, want)
	}
}

func TestAnchorMatchesGitHubHeadingIDs(t *testing.T) {
	cases := map[string]string{
		"roles/{name}":  "rolesname",
		"certs/":        "certs",
		"rotate/{role}": "rotaterole",
		"tidy_all":      "tidy_all",
	}
	for heading, want := range cases {
		if got := anchor(heading); got != want {
			t.Errorf("anchor(%q) = %q, want %q", heading, got, want)
		}
	}
}

// firstDifference returns the 1-based number of the first line where got and want differ, with
// both lines. A line past the end of one text is returned as "(end of file)".
func firstDifference(got, want string) (int, string, string) {
	gotLines := strings.Split(got, "\n")
	wantLines := strings.Split(want, "\n")
	for i := 0; i < len(gotLines) || i < len(wantLines); i++ {
		g, w := "(end of file)", "(end of file)"
		if i < len(gotLines) {
			g = gotLines[i]
		}
		if i < len(wantLines) {
			w = wantLines[i]
		}
		if g != w {
			return i + 1, g, w
		}
	}
	return 0, "", ""
}
