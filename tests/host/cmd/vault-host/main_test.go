package main

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/go-multierror"

	"github.com/vault-plugin-secrets-qualtrics/tests/host/vaulthost/hosttest"
)

func TestSplitWordsQuotesAndEscapes(t *testing.T) {
	cases := []struct {
		line string
		want []string
	}{
		{`read qualtrics/config`, []string{"read", "qualtrics/config"}},
		{`write p a="b c" d='e "f"'`, []string{"write", "p", "a=b c", `d=e "f"`}},
		{`write p a=b\ c`, []string{"write", "p", "a=b c"}},
		{"  list\tp/  ", []string{"list", "p/"}},
		{`write p a=""`, []string{"write", "p", "a="}},
	}
	for _, c := range cases {
		got, err := splitWords(c.line)
		if err != nil {
			t.Errorf("splitWords(%q): %v", c.line, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("splitWords(%q) = %q, want %q", c.line, got, c.want)
		}
	}
	for _, bad := range []string{`write p a="b`, `write p a=b\`} {
		if _, err := splitWords(bad); err == nil {
			t.Errorf("splitWords(%q) accepted an unterminated line", bad)
		}
	}
}

func TestParseFieldsKeepsStrings(t *testing.T) {
	got, err := parseFields([]string{"organization_id=ORG", "empty=", "url=https://h/?a=b"}, strings.NewReader(""))
	if err != nil {
		t.Fatalf("parseFields: %v", err)
	}
	want := map[string]interface{}{"organization_id": "ORG", "empty": "", "url": "https://h/?a=b"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseFields = %v, want %v", got, want)
	}
	if _, err := parseFields([]string{"novalue"}, strings.NewReader("")); err == nil {
		t.Error("parseFields accepted an argument without '='")
	}
	got, err = parseFields([]string{"pem=-"}, strings.NewReader("PEM DATA"))
	if err != nil || got["pem"] != "PEM DATA" {
		t.Errorf("parseFields from stdin = %v, %v; want PEM DATA", got, err)
	}
}

func TestFormatErrorListsEachError(t *testing.T) {
	got := formatError(400, errors.New("invalid base_url"))
	want := "Code: 400. Errors:\n\n* invalid base_url"
	if got != want {
		t.Errorf("formatError = %q, want %q", got, want)
	}
	merr := multierror.Append(nil, errors.New("first"), errors.New("second"))
	if got := formatError(500, merr); !strings.HasSuffix(got, "* first\n* second") {
		t.Errorf("formatError(multierror) = %q, want one bullet per error", got)
	}
}

// TestCommandsKeepStorageBetweenRuns runs vault-host twice against the plugin binary, so the
// second run reads what the first wrote through the storage file.
func TestCommandsKeepStorageBetweenRuns(t *testing.T) {
	plugin := hosttest.PluginBinary(t)
	storage := filepath.Join(t.TempDir(), "storage.json")
	base := []string{"-plugin", plugin, "-storage", storage, "-log-level", "off"}

	var stdout, stderr strings.Builder
	code := run(append(base, "write", "qualtrics/config", "organization_id=ORG_CLI",
		"base_url=https://127.0.0.1:8443/API/v3", "api_token=cli-token", "verify_connection=false"),
		strings.NewReader(""), &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("write exited %d\nstdout: %s\nstderr: %s", code, stdout.String(), stderr.String())
	}

	stdout.Reset()
	stderr.Reset()
	code = run(append(base, "read", "-field=organization_id", "qualtrics/config"), strings.NewReader(""), &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("read exited %d\nstderr: %s", code, stderr.String())
	}
	if got := strings.TrimSpace(stdout.String()); got != "ORG_CLI" {
		t.Errorf("read -field=organization_id printed %q, want ORG_CLI", got)
	}

	stdout.Reset()
	stderr.Reset()
	code = run(append(base, "read", "qualtrics/no/such/path"), strings.NewReader(""), &stdout, &stderr)
	if code != exitResponse {
		t.Errorf("read of an unknown path exited %d, want %d", code, exitResponse)
	}
	if !strings.HasPrefix(stderr.String(), "Error reading qualtrics/no/such/path: Code: 404. Errors:") {
		t.Errorf("unexpected error output: %q", stderr.String())
	}
}

func TestShellRunsCommandsOnOneProcess(t *testing.T) {
	plugin := hosttest.PluginBinary(t)
	script := strings.Join([]string{
		"# comments and blank lines are skipped",
		"",
		`write qualtrics/config organization_id="ORG.SHELL" base_url='https://127.0.0.1:8443/API/v3' api_token=t verify_connection=false`,
		"read -format=json -field=organization_id qualtrics/config",
	}, "\n")
	var stdout, stderr strings.Builder
	code := run([]string{"-plugin", plugin, "-log-level", "off", "shell"}, strings.NewReader(script), &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("shell exited %d\nstdout: %s\nstderr: %s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), `"ORG.SHELL"`) {
		t.Errorf("shell output lacks the organization id written earlier:\n%s", stdout.String())
	}
}
