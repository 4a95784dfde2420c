package realserver

import (
	"net/http"
	"strings"
	"testing"
)

// The tests below check that the engine's errors reach a client of the real server with the HTTP
// status and message that deploy/README.md's troubleshooting table lists.

func TestErrorsReachClientThroughVault(t *testing.T) {
	e := newEngine(t)
	root := e.server.root()

	_, err := root.Logical().Read(mountPath + "/cert/missing")
	if code := statusCode(err); code != http.StatusBadRequest {
		t.Errorf("read cert/missing: status %d (err %v), want 400", code, err)
	}
	if err == nil || !strings.Contains(err.Error(), `role "missing" does not exist`) {
		t.Errorf("read cert/missing: err %v, want it to name the missing role", err)
	}

	// A second mount without config.
	e.mountAt(t, root, "qualtrics-unconfigured")
	if _, err := root.Logical().Write("qualtrics-unconfigured/roles/"+roleName, roleConfig()); err != nil {
		t.Fatalf("writing a role on the unconfigured mount: %v", err)
	}
	_, err = root.Logical().Read("qualtrics-unconfigured/cert/" + roleName)
	if code := statusCode(err); code != http.StatusBadRequest {
		t.Errorf("read cert on an unconfigured mount: status %d (err %v), want 400", code, err)
	}
	if err == nil || !strings.Contains(err.Error(), "the Qualtrics connection is not configured") {
		t.Errorf("read cert on an unconfigured mount: err %v, want the not-configured message", err)
	}

	config := engineConfig(t, e.sim)
	config["api_token"] = "not-a-valid-token"
	_, err = root.Logical().Write(mountPath+"/config", config)
	if code := statusCode(err); code != http.StatusBadRequest {
		t.Errorf("write config with a bad token: status %d (err %v), want 400", code, err)
	}
	if err == nil || !strings.Contains(err.Error(), "check config api_token") {
		t.Errorf("write config with a bad token: err %v, want it to point at api_token", err)
	}
}

func TestRoleFieldErrorIsBadRequest(t *testing.T) {
	e := newEngine(t)
	root := e.server.root()

	// Vault runs the path's existence check before a write to a new role. A field error must
	// still come back as 400 from the handler, not as a failed existence check (500).
	_, err := root.Logical().Write(mountPath+"/roles/bad", map[string]any{"key_type": "dsa"})
	if code := statusCode(err); code != http.StatusBadRequest {
		t.Errorf("write roles/bad key_type=dsa: status %d (err %v), want 400", code, err)
	}
	if err == nil || !strings.Contains(err.Error(), "key_type") {
		t.Errorf("write roles/bad key_type=dsa: err %v, want it to name key_type", err)
	}

}

func TestQuotaErrorNamesLimitAndFix(t *testing.T) {
	e := newEngine(t)
	root := e.server.root()

	// Fill the organization: one slot, held by a certificate this mount does not know of.
	e.sim.control(t, "POST", "/settings", map[string]any{"max_active": 1}, nil)
	e.sim.control(t, "POST", "/certificates", map[string]any{
		"organization_id": e.sim.OrganizationID,
	}, nil)
	config := engineConfig(t, e.sim)
	config["max_active_certificates"] = 1
	if _, err := root.Logical().Write(mountPath+"/config", config); err != nil {
		t.Fatalf("writing config max_active_certificates=1: %v", err)
	}

	_, err := root.Logical().Read(mountPath + "/cert/" + roleName)
	if code := statusCode(err); code != http.StatusTooManyRequests {
		t.Errorf("read cert with a full organization: status %d (err %v), want 429", code, err)
	}
	// The engine may refuse before calling Qualtrics or after Qualtrics rejects the create;
	// either way the message must name both ways to free a slot.
	if err == nil || !strings.Contains(err.Error(), "tidy") {
		t.Errorf("read cert with a full organization: err %v, want tidy named as a fix", err)
	}
	if err == nil || !strings.Contains(err.Error(), "certs/<id>") {
		t.Errorf("read cert with a full organization: err %v, want certs/<id> named as a fix", err)
	}
	if got := e.sim.createCount(t); got != 0 {
		t.Errorf("simulator create calls = %d, want 0 while the organization is full", got)
	}
}
