package faults

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/vault-plugin-secrets-qualtrics/tests/host/vaulthost"
)

// Recognisable credentials: the simulator accepts hygieneToken; rejectedToken is unknown to it.
const (
	hygieneToken  = "HYGIENEtoken7f3a9c2e5b1d4a8f6e0c"
	rejectedToken = "REJECTEDtoken2b7e4d9a1c6f3e8b05"
)

// transcript collects everything a Vault operator or log reader would see: errors, response
// data and warnings.
type transcript struct {
	b strings.Builder
}

func (tr *transcript) add(label string, res *vaulthost.Result) {
	fmt.Fprintf(&tr.b, "== %s: status %d\n", label, res.Status)
	if res.Err != nil {
		fmt.Fprintf(&tr.b, "error: %s\n", res.Err.Error())
	}
	if res.Response != nil {
		data, err := json.Marshal(map[string]interface{}{
			"data": res.Response.Data, "warnings": res.Response.Warnings,
			"redirect": res.Response.Redirect,
		})
		if err != nil {
			fmt.Fprintf(&tr.b, "unencodable response: %v\n", err)
		}
		tr.b.Write(data)
		// The raw values too, because JSON escapes the line breaks of a PEM block.
		fmt.Fprintf(&tr.b, "\n%v\n%v\n", res.Response.Data, res.Response.Warnings)
		if res.Response.Secret != nil {
			fmt.Fprintf(&tr.b, "secret: %v\n", res.Response.Secret.InternalData)
		}
	}
}

// TestSecretHygiene runs every flow with a recognisable API token on a role without key export
// and checks that neither the token nor any private key the mount stores appears in the plugin's
// log, an error or a response.
func TestSecretHygiene(t *testing.T) {
	e := newEnv(t, "-api-token", hygieneToken)
	tr := &transcript{}
	do := func(label string, op logical.Operation, path string, data map[string]interface{}) *vaulthost.Result {
		res := e.do(op, path, data)
		tr.add(label, res)
		return res
	}

	do("config write", logical.UpdateOperation, "config", map[string]interface{}{"api_token": hygieneToken, "verify_connection": true})
	do("config read", logical.ReadOperation, "config", nil)
	do("role write", logical.UpdateOperation, "roles/app", map[string]interface{}{"allow_key_export": false})
	do("role read", logical.ReadOperation, "roles/app", nil)
	do("roles list", logical.ListOperation, "roles", nil)
	do("cert read", logical.ReadOperation, "cert/app", nil)
	do("cert read cached", logical.ReadOperation, "cert/app", nil)
	do("rotate", logical.UpdateOperation, "rotate/app", nil)
	held := e.heldIDs()
	do("certs list", logical.ListOperation, "certs", nil)
	for _, id := range held {
		do("certs read", logical.ReadOperation, "certs/"+id, nil)
	}
	do("tidy", logical.UpdateOperation, "tidy", nil)
	do("rollback", logical.RollbackOperation, "", nil)

	// Failures: every error path that handles the token or a key.
	e.sim.addFault(t, faultRule{Match: "create", Kind: "status", Status: 503, Count: -1})
	do("rotate during 503", logical.UpdateOperation, "rotate/app", nil)
	e.sim.clearFaults(t)
	e.sim.addFault(t, faultRule{Match: "create", Kind: "lost_response"})
	do("rotate with lost response", logical.UpdateOperation, "rotate/app", nil)
	e.sim.addFault(t, faultRule{Match: "create", Kind: "drop"})
	do("rotate with dropped connection", logical.UpdateOperation, "rotate/app", nil)
	e.storage.failPuts("certs/")
	do("rotate with storage failure", logical.UpdateOperation, "rotate/app", nil)
	e.storage.failPuts("")
	do("rollback after faults", logical.RollbackOperation, "", nil)
	do("bad field", logical.UpdateOperation, "roles/app", map[string]interface{}{"key_bits": "many"})
	do("unknown path", logical.ReadOperation, "nothing/here", nil)
	do("unknown role", logical.ReadOperation, "cert/missing", nil)
	do("help", logical.HelpOperation, "config", nil)
	do("config with a rejected token", logical.UpdateOperation, "config", map[string]interface{}{"api_token": rejectedToken, "verify_connection": true})
	do("config with a rejected token, unchecked", logical.UpdateOperation, "config", map[string]interface{}{"api_token": rejectedToken, "verify_connection": false})
	do("rotate with a rejected token", logical.UpdateOperation, "rotate/app", nil)
	do("config read with a rejected token", logical.ReadOperation, "config", nil)
	for _, id := range held {
		do("certs delete", logical.DeleteOperation, "certs/"+id, nil)
	}

	keys := storedPrivateKeys(t, e)
	if len(keys) == 0 {
		t.Fatal("no private key found in storage: the flows issued nothing, so the scan would prove nothing")
	}
	sources := map[string]string{"plugin and host log": e.logs.String(), "errors and responses": tr.b.String()}
	secrets := map[string]string{"API token": hygieneToken, "rejected API token": rejectedToken}
	for i, key := range keys {
		secrets[fmt.Sprintf("private key %d (PEM)", i)] = key
		// A key body split or re-encoded differently still shares its base64 lines.
		for j, line := range strings.Split(key, "\n") {
			if len(line) >= 40 && !strings.HasPrefix(line, "-----") {
				secrets[fmt.Sprintf("private key %d, base64 line %d", i, j)] = line
			}
		}
	}
	hits := 0
	for sourceName, text := range sources {
		for secretName, secret := range secrets {
			if strings.Contains(text, secret) {
				hits++
				t.Errorf("%s contains the %s", sourceName, secretName)
			}
		}
	}
	if !strings.Contains(e.logs.String(), "certificate") {
		t.Error("the plugin log has no certificate lines, so the log scan would prove nothing")
	}
	record(t, "secret scan of log, errors and responses (role without export)",
		"0 occurrences of the API tokens or any stored private key",
		fmt.Sprintf("%d hits over %d secrets, %d bytes of log, %d bytes of responses",
			hits, len(secrets), len(sources["plugin and host log"]), len(sources["errors and responses"])))
}

// storedPrivateKeys returns every private key PEM in the mount's certificate records.
func storedPrivateKeys(t *testing.T, e *env) []string {
	t.Helper()
	ctx := context.Background()
	var keys []string
	for _, prefix := range []string{"certs/", "cert/app/"} {
		names, err := e.storage.inner.List(ctx, prefix)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			entry, err := e.storage.inner.Get(ctx, prefix+name)
			if err != nil || entry == nil {
				continue
			}
			var record struct {
				PrivateKey string `json:"private_key"`
			}
			if json.Unmarshal(entry.Value, &record) == nil && strings.Contains(record.PrivateKey, "PRIVATE KEY") {
				keys = append(keys, record.PrivateKey)
			}
		}
	}
	return keys
}

// TestProcessHardening checks the running plugin: no core dumps, a private socket directory,
// and no TCP listener.
func TestProcessHardening(t *testing.T) {
	e := newEnv(t)
	proc := e.mount.Process()
	if proc == nil || proc.PID == 0 {
		t.Fatal("plugin process id unknown")
	}

	limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", proc.PID))
	if err != nil {
		t.Fatal(err)
	}
	coreLimit := ""
	for _, line := range strings.Split(string(limits), "\n") {
		if strings.HasPrefix(line, "Max core file size") {
			coreLimit = strings.Join(strings.Fields(strings.TrimPrefix(line, "Max core file size")), " ")
		}
	}
	if !strings.HasPrefix(coreLimit, "0 0 ") {
		t.Errorf("Max core file size is %q, want soft and hard limit 0", coreLimit)
	}

	if proc.Network != "unix" {
		t.Errorf("plugin listens on %s %s, want a Unix socket", proc.Network, proc.Address)
	}
	dirMode := "unknown"
	if info, err := os.Stat(filepath.Dir(proc.Address)); err != nil {
		t.Errorf("socket directory: %v", err)
	} else {
		dirMode = fmt.Sprintf("%04o", info.Mode().Perm())
		if info.Mode().Perm() != 0o700 {
			t.Errorf("socket directory %s has mode %s, want 0700", filepath.Dir(proc.Address), dirMode)
		}
	}

	listening := listeningInodes(t)
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", proc.PID))
	if err != nil {
		t.Fatal(err)
	}
	sockets, tcpListeners := 0, 0
	for _, fd := range fds {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", proc.PID, fd.Name()))
		if err != nil || !strings.HasPrefix(target, "socket:[") {
			continue
		}
		sockets++
		inode := strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")
		if addr, ok := listening[inode]; ok {
			tcpListeners++
			t.Errorf("plugin listens on TCP %s", addr)
		}
	}
	if len(listening) == 0 {
		t.Log("no TCP listener on the machine at all; the check is vacuous for this run")
	}
	record(t, "process hardening of the running plugin",
		"core file size 0, socket directory 0700, no TCP listener",
		fmt.Sprintf("core file size %q, socket directory %s, %d sockets, %d TCP listeners",
			coreLimit, dirMode, sockets, tcpListeners))
}

// listeningInodes returns the socket inodes of TCP listeners in /proc/net/tcp and tcp6, with
// their local addresses.
func listeningInodes(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(file)
		if err != nil {
			continue
		}
		scanner := bufio.NewScanner(f)
		for scanner.Scan() {
			fields := strings.Fields(scanner.Text())
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			if len(fields) < 10 || fields[3] != "0A" {
				continue
			}
			out[fields[9]] = fields[1]
		}
		f.Close()
	}
	return out
}
