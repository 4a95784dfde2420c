// Package realserver runs the plugin inside a real Vault 1.14.2 server, which build-vault.sh
// builds from the MPL-2.0 hashicorp/vault module, and drives it through Vault's HTTP API. The
// tests cover catalog registration with the binary's SHA-256, the deploy/ policies and
// configurations, the file audit device, seal and unseal, plugin reload and upgrade, and
// request forwarding from a standby in a Raft cluster.
package realserver

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

func TestCatalogRejectsWrongSHA256(t *testing.T) {
	e := newEngine(t)
	client := e.server.root()

	// Vault 1.14 accepts any digest at registration and checks it when it starts the plugin
	// for a mount, so the wrong digest must make the mount fail.
	wrong := strings.Repeat("0", 64)
	if _, err := client.Logical().Write("sys/plugins/catalog/secret/qualtrics-wrong-sha", map[string]any{
		"sha256":  wrong,
		"command": pluginName,
		"version": e.version,
	}); err != nil {
		t.Fatalf("registering a second catalog entry with a wrong SHA-256: %v", err)
	}
	_, err := client.Logical().Write("sys/mounts/qualtrics-wrong-sha", map[string]any{
		"type":           "qualtrics-wrong-sha",
		"plugin_version": e.version,
	})
	if err == nil {
		t.Fatal("mounting a plugin registered with a wrong SHA-256 succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "checksums did not match") {
		t.Errorf("wrong SHA-256 mount error = %v, want it to say the checksums did not match", err)
	}
	t.Logf("mount with a wrong SHA-256 failed as expected: %v", err)

	entry, err := client.Logical().ReadWithData("sys/plugins/catalog/secret/"+pluginName,
		map[string][]string{"version": {e.version}})
	if err != nil || entry == nil {
		t.Fatalf("reading the catalog entry: %v", err)
	}
	if got := entry.Data["sha256"]; got != e.sha256 {
		t.Errorf("catalog sha256 = %v, want %s", got, e.sha256)
	}
	if got := entry.Data["version"]; got != e.version {
		t.Errorf("catalog version = %v, want %s", got, e.version)
	}

	mounts, err := client.Sys().ListMounts()
	if err != nil {
		t.Fatalf("listing mounts: %v", err)
	}
	mount, ok := mounts[mountPath+"/"]
	if !ok {
		t.Fatalf("mount %s/ missing from sys/mounts", mountPath)
	}
	if mount.Type != pluginName {
		t.Errorf("mount type = %q, want %q", mount.Type, pluginName)
	}
	if mount.RunningVersion != e.version {
		t.Errorf("running_plugin_version = %q, want %q", mount.RunningVersion, e.version)
	}
	if mount.RunningSha256 != e.sha256 {
		t.Errorf("running_sha256 = %q, want %q", mount.RunningSha256, e.sha256)
	}
}

func TestReaderReadsButCannotRotate(t *testing.T) {
	e := newEngine(t)
	root := e.server.root()
	reader := e.server.client(tokenWithPolicy(t, root, "qualtrics-reader"))
	rotator := e.server.client(tokenWithPolicy(t, root, "qualtrics-rotator"))

	first := readCert(t, reader, roleName)
	if _, present := first.data["private_key"]; present {
		t.Errorf("cert/%s returned private_key although the role does not allow it", roleName)
	}
	again := readCert(t, reader, roleName)
	if again.serial != first.serial {
		t.Errorf("second read serial = %s, want the stored certificate %s", again.serial,
			first.serial)
	}

	err := rotate(reader, roleName)
	if code := statusCode(err); code != http.StatusForbidden {
		t.Fatalf("reader update rotate/%s: status %d (err %v), want 403", roleName, code, err)
	}
	if _, err := rotator.Logical().Read(mountPath + "/config"); statusCode(err) != http.StatusForbidden {
		t.Errorf("rotator read config: err %v, want 403", err)
	}
	if _, err := reader.Logical().Write(mountPath+"/roles/"+roleName, roleConfig()); statusCode(err) != http.StatusForbidden {
		t.Errorf("reader write roles/%s: err %v, want 403", roleName, err)
	}

	if err := rotate(rotator, roleName); err != nil {
		t.Fatalf("rotator update rotate/%s: %v", roleName, err)
	}
	rotated := readCert(t, reader, roleName)
	if rotated.serial == first.serial {
		t.Errorf("after rotate, cert/%s still has serial %s", roleName, first.serial)
	}
}

// TestRotatorGetsNoKey checks that the rotator policy grants no read of keys: the rotate
// response leaves out the key even for an export-allowed role, and the engine's mTLS role is
// denied.
func TestRotatorGetsNoKey(t *testing.T) {
	e := newEngine(t)
	root := e.server.root()
	reader := e.server.client(tokenWithPolicy(t, root, "qualtrics-reader"))
	rotator := e.server.client(tokenWithPolicy(t, root, "qualtrics-rotator"))
	const exportRole = "exportable"
	exportConfig := roleConfig()
	exportConfig["allow_key_export"] = true
	if _, err := root.Logical().Write(mountPath+"/roles/"+exportRole, exportConfig); err != nil {
		t.Fatalf("writing roles/%s: %v", exportRole, err)
	}
	first := readCert(t, reader, exportRole)
	if _, present := first.data["private_key"]; !present {
		t.Fatalf("cert/%s returned no private_key although the role allows export", exportRole)
	}

	rotated, err := rotator.Logical().Write(mountPath+"/rotate/"+exportRole, map[string]any{})
	if err != nil {
		t.Fatalf("rotator update rotate/%s: %v", exportRole, err)
	}
	if rotated == nil || rotated.Data == nil {
		t.Fatalf("rotate/%s returned no data", exportRole)
	}
	for _, field := range []string{"private_key", "private_key_type"} {
		if _, present := rotated.Data[field]; present {
			t.Errorf("rotate/%s returned %s to the rotator", exportRole, field)
		}
	}
	serial, _ := rotated.Data["serial_number"].(string)
	if serial == "" || serial == first.serial {
		t.Errorf("rotate/%s serial_number = %q, want a new serial (old %s)", exportRole, serial,
			first.serial)
	}

	after := readCert(t, reader, exportRole)
	if after.serial != serial {
		t.Errorf("cert/%s after rotate: serial %s, want the rotated %s", exportRole, after.serial,
			serial)
	}
	newKey, _ := after.data["private_key"].(string)
	if !strings.Contains(newKey, "PRIVATE KEY") {
		t.Errorf("cert/%s after rotate returned no private_key", exportRole)
	} else if oldKey, _ := first.data["private_key"].(string); newKey == oldKey {
		t.Errorf("cert/%s after rotate returned the old private_key", exportRole)
	}

	if err := rotate(rotator, "qualtrics-mtls"); statusCode(err) != http.StatusForbidden {
		t.Errorf("rotator update rotate/qualtrics-mtls: err %v, want 403 from the rotator policy", err)
	}
}

func TestAdminPolicyManagesMount(t *testing.T) {
	e := newEngine(t)
	root := e.server.root()
	admin := e.server.client(tokenWithPolicy(t, root, "qualtrics-admin"))
	issued := readCert(t, root, roleName)

	if _, err := admin.Logical().Write(mountPath+"/config", engineConfig(t, e.sim)); err != nil {
		t.Errorf("admin write config: %v", err)
	}
	config, err := admin.Logical().Read(mountPath + "/config")
	if err != nil || config == nil {
		t.Fatalf("admin read config: %v", err)
	}
	if token, present := config.Data["api_token"]; present {
		t.Errorf("config read returned api_token %q, want it write-only", token)
	}
	if _, err := admin.Logical().Write(mountPath+"/roles/api", roleConfig()); err != nil {
		t.Errorf("admin write roles/api: %v", err)
	}
	roles, err := admin.Logical().List(mountPath + "/roles")
	if err != nil || roles == nil {
		t.Fatalf("admin list roles: %v", err)
	}
	if names := fmt.Sprint(roles.Data["keys"]); !strings.Contains(names, roleName) ||
		!strings.Contains(names, "api") {
		t.Errorf("roles list = %s, want %s and api", names, roleName)
	}
	certs, err := admin.Logical().List(mountPath + "/certs")
	if err != nil || certs == nil {
		t.Fatalf("admin list certs: %v", err)
	}
	ids, _ := certs.Data["keys"].([]any)
	if len(ids) == 0 {
		t.Fatalf("certs list is empty after issuing %s", issued.data["qualtrics_id"])
	}
	if id, _ := issued.data["qualtrics_id"].(string); id != "" {
		held, err := admin.Logical().Read(mountPath + "/certs/" + id)
		if err != nil || held == nil {
			t.Errorf("admin read certs/%s: %v", id, err)
		}
	}
	if _, err := admin.Logical().Write(mountPath+"/tidy", map[string]any{}); err != nil {
		t.Errorf("admin tidy: %v", err)
	}

	if _, err := admin.Logical().Read(mountPath + "/cert/" + roleName); statusCode(err) != http.StatusForbidden {
		t.Errorf("admin read cert/%s: err %v, want 403", roleName, err)
	}
	if err := rotate(admin, roleName); statusCode(err) != http.StatusForbidden {
		t.Errorf("admin rotate/%s: err %v, want 403", roleName, err)
	}
}

// auditEntry is the part of a file audit device line the test inspects.
type auditEntry struct {
	Type    string `json:"type"`
	Request struct {
		ID        string `json:"id"`
		Path      string `json:"path"`
		Operation string `json:"operation"`
	} `json:"request"`
	Response struct {
		Data map[string]any `json:"data"`
	} `json:"response"`
}

func TestAuditDeviceHashesIssuedCertificate(t *testing.T) {
	e := newEngine(t)
	root := e.server.root()
	auditLog := filepath.Join(e.server.dir, "audit", "vault-audit.log")
	if _, err := root.Logical().Write("sys/audit/file", map[string]any{
		"type":    "file",
		"options": map[string]any{"file_path": auditLog},
	}); err != nil {
		t.Fatalf("enabling the file audit device: %v", err)
	}

	reader := e.server.client(tokenWithPolicy(t, root, "qualtrics-reader"))
	issued := readCert(t, reader, roleName)

	raw, err := os.ReadFile(auditLog)
	if err != nil {
		t.Fatalf("reading the audit log: %v", err)
	}
	// The middle line of the PEM is base64 that can only come from this certificate.
	pemLines := strings.Split(strings.TrimSpace(issued.certificate), "\n")
	if len(pemLines) < 3 {
		t.Fatalf("certificate PEM has %d lines, want at least 3", len(pemLines))
	}
	if body := pemLines[len(pemLines)/2]; strings.Contains(string(raw), body) {
		t.Errorf("audit log contains the issued certificate in clear (line %q)", body)
	}

	var found *auditEntry
	scanner := bufio.NewScanner(strings.NewReader(string(raw)))
	scanner.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for scanner.Scan() {
		var entry auditEntry
		if err := json.Unmarshal(scanner.Bytes(), &entry); err != nil {
			t.Fatalf("audit line is not JSON: %v", err)
		}
		if entry.Type == "response" && entry.Request.Path == mountPath+"/cert/"+roleName {
			found = &entry
		}
	}
	if found == nil {
		t.Fatalf("no audit response entry for %s/cert/%s", mountPath, roleName)
	}
	hashed, _ := found.Response.Data["certificate"].(string)
	if !strings.HasPrefix(hashed, "hmac-sha256:") {
		t.Fatalf("audited certificate = %.40q, want an hmac-sha256 value", hashed)
	}
	hashedSerial, _ := found.Response.Data["serial_number"].(string)
	if !strings.HasPrefix(hashedSerial, "hmac-sha256:") {
		t.Errorf("audited serial_number = %q, want an hmac-sha256 value", hashedSerial)
	}

	// The device's own HMAC of the certificate must equal the logged value, which proves the
	// entry records this issuance.
	hash, err := root.Logical().Write("sys/audit-hash/file", map[string]any{"input": issued.certificate})
	if err != nil {
		t.Fatalf("sys/audit-hash/file: %v", err)
	}
	if got := hash.Data["hash"]; got != hashed {
		t.Errorf("audit-hash of the issued certificate = %v, logged value = %s", got, hashed)
	}

	// The engine's own issuance line, which Vault copies into the server log, names the same
	// request id as the audit entry and carries neither the certificate nor a key.
	serverLog, err := os.ReadFile(e.server.logPath)
	if err != nil {
		t.Fatalf("reading the server log: %v", err)
	}
	issuedLine := ""
	for _, line := range strings.Split(string(serverLog), "\n") {
		if strings.Contains(line, "certificate issued") && strings.Contains(line, found.Request.ID) {
			issuedLine = line
		}
	}
	if found.Request.ID == "" || issuedLine == "" {
		t.Errorf("server log has no \"certificate issued\" line with the audit request id %q",
			found.Request.ID)
	}
	if body := pemLines[len(pemLines)/2]; strings.Contains(string(serverLog), body) {
		t.Errorf("server log contains the issued certificate in clear (line %q)", body)
	}
	if strings.Contains(string(serverLog), "PRIVATE KEY") {
		t.Error("server log contains a PEM private key")
	}
}

func TestDataSurvivesSealUnsealAndRestart(t *testing.T) {
	e := newEngine(t)
	issued := readCert(t, e.server.root(), roleName)
	creates := e.sim.createCount(t)

	e.server.Seal()
	if _, err := e.server.root().Logical().Read(mountPath + "/cert/" + roleName); err == nil {
		t.Error("reading a certificate from a sealed server succeeded, want an error")
	}
	e.server.Unseal(e.server.unsealKey)
	e.server.WaitActive()
	afterUnseal := readCert(t, e.server.root(), roleName)
	if afterUnseal.serial != issued.serial {
		t.Errorf("after unseal serial = %s, want the stored %s", afterUnseal.serial, issued.serial)
	}

	e.server.Stop()
	e.server.Start()
	e.server.Unseal(e.server.unsealKey)
	e.server.WaitActive()
	afterRestart := readCert(t, e.server.root(), roleName)
	if afterRestart.serial != issued.serial {
		t.Errorf("after restart serial = %s, want the stored %s", afterRestart.serial,
			issued.serial)
	}
	if got := e.sim.createCount(t); got != creates {
		t.Errorf("simulator create calls = %d after unseal and restart, want %d (no reissue)",
			got, creates)
	}
}

func TestPluginReloadAndUpgrade(t *testing.T) {
	e := newEngine(t)
	root := e.server.root()
	issued := readCert(t, root, roleName)

	if _, err := root.Sys().ReloadPlugin(&vaultapi.ReloadPluginInput{Plugin: pluginName}); err != nil {
		t.Fatalf("reloading %s: %v", pluginName, err)
	}
	afterReload := readCert(t, root, roleName)
	if afterReload.serial != issued.serial {
		t.Errorf("after reload serial = %s, want the stored %s", afterReload.serial, issued.serial)
	}

	// An upgrade installs a new binary with deploy/register.sh, which registers its digest, pins
	// the mount to the version and reloads it. Bytes appended to an ELF file are not loaded, so
	// the copy runs the same code under a different SHA-256, which the catalog and the mount
	// must follow.
	upgradedBinary := filepath.Join(t.TempDir(), pluginName)
	copyFile(t, e.bins.plugin, upgradedBinary, 0o755)
	f, err := os.OpenFile(upgradedBinary, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatalf("opening %s: %v", upgradedBinary, err)
	}
	if _, err := f.Write([]byte("\x00upgrade-marker\x00")); err != nil {
		t.Fatalf("appending to %s: %v", upgradedBinary, err)
	}
	f.Close()
	upgradedSHA := fileSHA256(t, upgradedBinary)
	runRegisterScript(t, e, upgradedBinary, mountPath)

	mounts, err := root.Sys().ListMounts()
	if err != nil {
		t.Fatalf("listing mounts: %v", err)
	}
	if got := mounts[mountPath+"/"].RunningSha256; got != upgradedSHA {
		t.Errorf("running_sha256 after upgrade = %q, want %q", got, upgradedSHA)
	}
	afterUpgrade := readCert(t, root, roleName)
	if afterUpgrade.serial != issued.serial {
		t.Errorf("after upgrade serial = %s, want the stored %s", afterUpgrade.serial,
			issued.serial)
	}
	if err := rotate(root, roleName); err != nil {
		t.Fatalf("rotate after upgrade: %v", err)
	}
	if rotated := readCert(t, root, roleName); rotated.serial == issued.serial {
		t.Errorf("rotate after upgrade kept serial %s", issued.serial)
	}

	// The same script enables a new mount when the path is free.
	runRegisterScript(t, e, upgradedBinary, "qualtrics-second")
	mounts, err = root.Sys().ListMounts()
	if err != nil {
		t.Fatalf("listing mounts: %v", err)
	}
	second, ok := mounts["qualtrics-second/"]
	if !ok {
		t.Fatal("register.sh did not enable qualtrics-second/")
	}
	if second.Type != pluginName || second.RunningVersion != e.version {
		t.Errorf("qualtrics-second/ runs %s %s, want %s %s", second.Type, second.RunningVersion,
			pluginName, e.version)
	}
}

// runRegisterScript runs deploy/register.sh with the built Vault CLI against e's server.
func runRegisterScript(t *testing.T, e *engine, binary, mount string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "../../deploy/register.sh", binary, e.version)
	cmd.Env = append(filteredEnv("VAULT_"),
		"VAULT_CLI="+e.bins.vault,
		"VAULT_ADDR="+e.server.address(),
		"VAULT_TOKEN="+e.server.rootToken,
		"PLUGIN_DIRECTORY="+e.server.pluginDir,
		"MOUNT_PATH="+mount,
	)
	if e.server.caFile != "" {
		cmd.Env = append(cmd.Env, "VAULT_CACERT="+e.server.caFile)
	}
	output, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("deploy/register.sh %s %s (mount %s): %v\n%s", binary, e.version, mount, err,
			output)
	}
	t.Logf("deploy/register.sh output:\n%s", output)
}

func TestStandbyForwardsToActive(t *testing.T) {
	bins := requireBinaries(t)
	sim := startSimulator(t, bins)
	active := newVaultServer(t, bins, t.TempDir(), "node1", raftStorage)
	standby := newVaultServer(t, bins, t.TempDir(), "node2", raftStorage)
	active.Start()
	active.Initialize()
	active.WaitActive()

	standby.Start()
	joined, err := standby.client("").Logical().Write("sys/storage/raft/join", map[string]any{
		"leader_api_addr": active.address(),
	})
	if err != nil {
		t.Fatalf("node2 joining the Raft cluster of node1: %v", err)
	}
	if ok, _ := joined.Data["joined"].(bool); !ok {
		t.Fatalf("raft join returned %v, want joined=true", joined.Data)
	}
	standby.rootToken = active.rootToken
	standby.Unseal(active.unsealKey)
	standby.waitHealth(func(h *healthStatus) bool { return !h.Sealed && h.Standby }, "standby state")

	e := &engine{bins: bins, server: active, sim: sim}
	e.register(t, active.root())
	e.mount(t, active.root())
	e.configure(t, active.root())
	loadPolicies(t, active.root())

	reader := standby.client(tokenWithPolicy(t, active.root(), "qualtrics-reader"))
	rotator := standby.client(tokenWithPolicy(t, active.root(), "qualtrics-rotator"))
	issued := readCertEventually(t, reader, roleName)
	fromActive := readCert(t, active.root(), roleName)
	if fromActive.serial != issued.serial {
		t.Errorf("active serial %s differs from the one read through the standby %s",
			fromActive.serial, issued.serial)
	}
	if err := rotate(rotator, roleName); err != nil {
		t.Fatalf("rotate through the standby: %v", err)
	}
	if rotated := readCert(t, reader, roleName); rotated.serial == issued.serial {
		t.Errorf("rotate through the standby kept serial %s", issued.serial)
	}
	if err := rotate(reader, roleName); statusCode(err) != http.StatusForbidden {
		t.Errorf("reader rotate through the standby: err %v, want 403", err)
	}
	health, err := standby.client("").Sys().Health()
	if err != nil || !health.Standby {
		t.Errorf("node2 health = %+v (err %v), want it still a standby", health, err)
	}
}

// readCertEventually reads cert/<role> through a standby, retrying for a bounded time because
// a fresh standby can answer 500 until it has learned the active node's cluster address.
func readCertEventually(t *testing.T, client *vaultapi.Client, role string) issuedCert {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		secret, err := client.Logical().Read(mountPath + "/cert/" + role)
		if err == nil && secret != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reading %s/cert/%s through the standby for 30s: %v", mountPath, role,
				fmt.Sprint(err))
		}
		time.Sleep(500 * time.Millisecond)
	}
	return readCert(t, client, role)
}

func TestPathHelpAndOpenAPIThroughVault(t *testing.T) {
	e := newEngine(t)
	root := e.server.root()

	help, err := root.Logical().ReadWithData(mountPath+"/cert/"+roleName,
		map[string][]string{"help": {"1"}})
	if err != nil || help == nil {
		t.Fatalf("path-help %s/cert/%s: %v", mountPath, roleName, err)
	}
	if text, _ := help.Data["help"].(string); strings.TrimSpace(text) == "" {
		t.Errorf("path-help %s/cert/%s returned no help text: %v", mountPath, roleName, help.Data)
	}

	spec, err := root.Logical().Read("sys/internal/specs/openapi")
	if err != nil || spec == nil {
		t.Fatalf("reading sys/internal/specs/openapi: %v", err)
	}
	paths, _ := spec.Data["paths"].(map[string]any)
	for _, prefix := range []string{"/config", "/roles/", "/cert/", "/rotate/", "/certs/", "/tidy"} {
		found := false
		for path := range paths {
			if strings.HasPrefix(path, "/"+mountPath+prefix) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("OpenAPI document has no path under /%s%s", mountPath, prefix)
		}
	}
}
