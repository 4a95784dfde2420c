package realserver

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"
)

const (
	// mountPath is where every test enables the engine, as deploy/README.md does.
	mountPath = "qualtrics"
	// roleName is the role the tests issue certificates for.
	roleName = "web"
	// fallbackPluginVersion is registered when the plugin reports no version of its own.
	fallbackPluginVersion = "v0.1.0"
	// policyDir holds the operator's policies; the tests load these files so the shipped
	// policies are the ones being checked.
	policyDir = "../../deploy/policies"
)

// engine is one initialized Vault server with the plugin registered and mounted, config and a
// role written, and the deploy/ policies loaded.
type engine struct {
	bins    binaries
	server  *vaultServer
	sim     *simulator
	version string
	sha256  string
}

// newEngine starts a simulator and a single Vault server on file storage, then registers,
// mounts and configures the plugin.
func newEngine(t *testing.T) *engine {
	t.Helper()
	bins := requireBinaries(t)
	sim := startSimulator(t, bins)
	server := newVaultServer(t, bins, t.TempDir(), "node1", fileStorage)
	server.Start()
	server.Initialize()
	server.WaitActive()
	e := &engine{bins: bins, server: server, sim: sim}
	e.register(t, server.root())
	e.mount(t, server.root())
	e.configure(t, server.root())
	loadPolicies(t, server.root())
	return e
}

// register adds the plugin to the catalog with its SHA-256 and a version. Vault 1.14 rejects a
// version that differs from the one the plugin reports, so the plugin is first registered
// without one. Vault then files it under the version the plugin reported, if any, and that
// version is registered again explicitly.
func (e *engine) register(t *testing.T, client *vaultapi.Client) {
	t.Helper()
	e.sha256 = fileSHA256(t, e.bins.plugin)
	catalogPath := "sys/plugins/catalog/secret/" + pluginName
	if _, err := client.Logical().Write(catalogPath, map[string]any{
		"sha256":  e.sha256,
		"command": pluginName,
	}); err != nil {
		t.Fatalf("registering %s without a version: %v", pluginName, err)
	}
	e.version = reportedVersion(t, client, e.sha256)
	if e.version == "" {
		e.version = fallbackPluginVersion
	}
	if _, err := client.Logical().Write(catalogPath, map[string]any{
		"sha256":  e.sha256,
		"command": pluginName,
		"version": e.version,
	}); err != nil {
		t.Fatalf("registering %s version %s: %v", pluginName, e.version, err)
	}
}

// reportedVersion returns the version under which the catalog holds the plugin binary with the
// given digest, which is the version the plugin reported, or "" when it reported none.
func reportedVersion(t *testing.T, client *vaultapi.Client, sha256 string) string {
	t.Helper()
	catalog, err := client.Logical().Read("sys/plugins/catalog")
	if err != nil || catalog == nil {
		t.Fatalf("reading sys/plugins/catalog: %v", err)
	}
	entries, _ := catalog.Data["detailed"].([]any)
	for _, raw := range entries {
		entry, _ := raw.(map[string]any)
		if entry["name"] == pluginName && entry["sha256"] == sha256 {
			version, _ := entry["version"].(string)
			return version
		}
	}
	t.Fatalf("sys/plugins/catalog lists no %s with sha256 %s", pluginName, sha256)
	return ""
}

// mount enables the registered plugin version at mountPath.
func (e *engine) mount(t *testing.T, client *vaultapi.Client) {
	t.Helper()
	e.mountAt(t, client, mountPath)
}

// mountAt enables the registered plugin version at path.
func (e *engine) mountAt(t *testing.T, client *vaultapi.Client, path string) {
	t.Helper()
	if _, err := client.Logical().Write("sys/mounts/"+path, map[string]any{
		"type":           pluginName,
		"plugin_version": e.version,
		"description":    "Qualtrics client certificates",
	}); err != nil {
		t.Fatalf("enabling %s at %s/: %v", pluginName, path, err)
	}
}

// engineConfig returns the config write for the simulator.
// NOTE: the field names follow the engine's documented config path (base URL, organization
// id, API token, CA bundle); if the engine renames a field, this is the one place to change.
func engineConfig(t *testing.T, sim *simulator) map[string]any {
	return map[string]any{
		"base_url":        sim.BaseURL,
		"organization_id": sim.OrganizationID,
		"api_token":       sim.APIToken,
		"ca_bundle":       sim.caBundle(t),
	}
}

// roleConfig returns the role the tests issue certificates for.
func roleConfig() map[string]any {
	return map[string]any{"key_type": "ec", "key_bits": 256}
}

// configure writes the engine's config and the test role.
func (e *engine) configure(t *testing.T, client *vaultapi.Client) {
	t.Helper()
	if _, err := client.Logical().Write(mountPath+"/config", engineConfig(t, e.sim)); err != nil {
		t.Fatalf("writing %s/config: %v", mountPath, err)
	}
	if _, err := client.Logical().Write(mountPath+"/roles/"+roleName, roleConfig()); err != nil {
		t.Fatalf("writing %s/roles/%s: %v", mountPath, roleName, err)
	}
}

// loadPolicies writes every policy file of deploy/policies under its file name without .hcl.
func loadPolicies(t *testing.T, client *vaultapi.Client) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(policyDir, "*.hcl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no policy files in %s (err %v)", policyDir, err)
	}
	for _, file := range files {
		rules, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("reading %s: %v", file, err)
		}
		name := strings.TrimSuffix(filepath.Base(file), ".hcl")
		if err := client.Sys().PutPolicy(name, string(rules)); err != nil {
			t.Fatalf("writing policy %s: %v", name, err)
		}
	}
}

// tokenWithPolicy creates a token with only the named policy.
func tokenWithPolicy(t *testing.T, client *vaultapi.Client, policy string) string {
	t.Helper()
	secret, err := client.Auth().Token().Create(&vaultapi.TokenCreateRequest{
		Policies:        []string{policy},
		NoDefaultPolicy: true,
		TTL:             "1h",
	})
	if err != nil {
		t.Fatalf("creating a token with policy %s: %v", policy, err)
	}
	return secret.Auth.ClientToken
}

// issuedCert is the part of a cert/<role> response the tests compare.
type issuedCert struct {
	certificate string
	serial      string
	data        map[string]any
}

// readCert reads cert/<role> and fails the test unless a certificate comes back.
func readCert(t *testing.T, client *vaultapi.Client, role string) issuedCert {
	t.Helper()
	secret, err := client.Logical().Read(mountPath + "/cert/" + role)
	if err != nil {
		t.Fatalf("reading %s/cert/%s: %v", mountPath, role, err)
	}
	if secret == nil || secret.Data == nil {
		t.Fatalf("reading %s/cert/%s returned no data", mountPath, role)
	}
	cert, _ := secret.Data["certificate"].(string)
	serial, _ := secret.Data["serial_number"].(string)
	if !strings.Contains(cert, "-----BEGIN CERTIFICATE-----") {
		t.Fatalf("%s/cert/%s returned no PEM certificate; fields: %v", mountPath, role,
			keys(secret.Data))
	}
	if serial == "" {
		t.Fatalf("%s/cert/%s returned no serial_number; fields: %v", mountPath, role,
			keys(secret.Data))
	}
	return issuedCert{certificate: cert, serial: serial, data: secret.Data}
}

// rotate updates rotate/<role> and returns the error from the server, if any.
func rotate(client *vaultapi.Client, role string) error {
	_, err := client.Logical().Write(mountPath+"/rotate/"+role, map[string]any{})
	return err
}

// statusCode returns the HTTP status of an API error, or 0 if err is not one.
func statusCode(err error) int {
	var responseErr *vaultapi.ResponseError
	if errors.As(err, &responseErr) {
		return responseErr.StatusCode
	}
	return 0
}

func keys(m map[string]any) []string {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	return names
}
