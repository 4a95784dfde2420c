package realserver

import (
	"net/http"
	"strings"
	"testing"
)

// mtlsRole is the role deploy/README.md names for the engine's own identity at Qualtrics.
const mtlsRole = "qualtrics-mtls"

// TestMTLSBootstrapOrder follows deploy/README.md's order for turning on mutual TLS at
// Qualtrics: create the mTLS role and its first certificate while mutual TLS is off, set
// mtls_role, then turn mutual TLS on at the simulator.
func TestMTLSBootstrapOrder(t *testing.T) {
	e := newEngine(t)
	root := e.server.root()

	// A second mount that never gets an mTLS role shows what happens without the bootstrap.
	e.mountAt(t, root, "qualtrics-no-mtls")
	if _, err := root.Logical().Write("qualtrics-no-mtls/config", engineConfig(t, e.sim)); err != nil {
		t.Fatalf("configuring qualtrics-no-mtls/: %v", err)
	}
	if _, err := root.Logical().Write("qualtrics-no-mtls/roles/"+roleName, roleConfig()); err != nil {
		t.Fatalf("writing qualtrics-no-mtls/roles/%s: %v", roleName, err)
	}

	if _, err := root.Logical().Write(mountPath+"/roles/"+mtlsRole, roleConfig()); err != nil {
		t.Fatalf("writing roles/%s: %v", mtlsRole, err)
	}
	if _, err := root.Logical().Write(mountPath+"/config", map[string]any{"mtls_role": mtlsRole}); err != nil {
		t.Fatalf("setting config mtls_role: %v", err)
	}
	identity := readCert(t, root, mtlsRole)

	e.sim.control(t, "POST", "/settings", map[string]any{"mtls": true}, nil)

	if _, err := root.Logical().Write(mountPath+"/config", map[string]any{"verify_connection": true}); err != nil {
		t.Fatalf("verifying the connection with mutual TLS on: %v", err)
	}
	reader := e.server.client(tokenWithPolicy(t, root, "qualtrics-reader"))
	issued := readCert(t, reader, roleName)
	if issued.serial == identity.serial {
		t.Errorf("cert/%s returned the mTLS identity's certificate", roleName)
	}
	if _, err := reader.Logical().Read(mountPath + "/cert/" + mtlsRole); statusCode(err) != http.StatusForbidden {
		t.Errorf("reader read cert/%s: err %v, want 403 from the reader policy", mtlsRole, err)
	}

	_, err := root.Logical().Read("qualtrics-no-mtls/cert/" + roleName)
	if code := statusCode(err); code != http.StatusBadRequest {
		t.Errorf("read without an mTLS identity: status %d (err %v), want 400", code, err)
	}
	if err == nil || !strings.Contains(err.Error(), "mutual TLS") {
		t.Errorf("read without an mTLS identity: err %v, want it to name mutual TLS", err)
	}
}
