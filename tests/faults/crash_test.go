package faults

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
)

// crashCase is one step at which the plugin is killed.
type crashCase struct {
	flow  string // issue, rotate or tidy
	match string // create or delete
	phase string // before_commit or after_commit
}

var crashCases = []crashCase{
	{"issue", "create", "before_commit"},
	{"issue", "create", "after_commit"},
	{"rotate", "create", "before_commit"},
	{"rotate", "create", "after_commit"},
	{"tidy", "delete", "before_commit"},
	{"tidy", "delete", "after_commit"},
}

// TestCrashAtEachStep kills the plugin while the simulator holds a create or delete, restarts
// it on the same storage, sends rollback and checks that the simulator and the mount agree.
func TestCrashAtEachStep(t *testing.T) {
	for _, c := range crashCases {
		c := c
		t.Run(fmt.Sprintf("%s_%s", c.flow, c.phase), func(t *testing.T) {
			e := newEnv(t)
			var op logical.Operation
			var path string
			switch c.flow {
			case "issue":
				op, path = logical.ReadOperation, "cert/app"
			case "rotate":
				e.mustDo(logical.ReadOperation, "cert/app", nil)
				op, path = logical.UpdateOperation, "rotate/app"
			case "tidy":
				// With revoke_grace 0 the first certificate is superseded and revocable at once.
				e.mustDo(logical.ReadOperation, "cert/app", nil)
				e.mustDo(logical.UpdateOperation, "rotate/app", nil)
				op, path = logical.UpdateOperation, "tidy"
			}
			before := e.heldIDs()

			e.sim.addFault(t, faultRule{Match: c.match, Kind: "hold", Phase: c.phase})
			results := e.doAsync(op, path, nil)
			if n := e.sim.waitHeld(t, 15*time.Second); n != 1 {
				t.Fatalf("%s was not held within 15s (held: %d)", c.match, n)
			}
			e.kill()
			interrupted := e.waitResult(results)
			if interrupted.Err == nil {
				t.Errorf("request to a killed plugin succeeded with status %d", interrupted.Status)
			}
			// The held request has lost its client; dropping it keeps a late release from
			// committing anything.
			e.sim.releaseAll(t, "drop")
			e.sim.clearFaults(t)
			atCrash := fmt.Sprintf("%d at Qualtrics, %d write-ahead", len(e.sim.activeIDs(t)), e.walCount())

			e.ageWAL(5 * time.Minute)
			e.start()
			e.rollback()
			diff := e.converged()
			afterRollback := e.counts()
			if diff != "" {
				t.Errorf("not converged after restart and rollback: %s", diff)
			}
			if n := e.walCount(); n != 0 {
				t.Errorf("%d write-ahead entries left after rollback", n)
			}
			after := e.heldIDs()
			switch c.flow {
			case "issue", "rotate":
				if len(after) != len(before) {
					t.Errorf("mount lists %v after the interrupted %s, want %v", after, c.flow, before)
				}
			case "tidy":
				if len(after) != 1 {
					t.Errorf("mount lists %v after the interrupted tidy and rollback, want only the current certificate", after)
				}
			}

			// The engine works after recovery: one more read serves a certificate.
			res := e.do(logical.ReadOperation, "cert/app", nil)
			if res.Err != nil {
				t.Errorf("read after recovery failed: %v", res.Err)
			}
			if diff := e.converged(); diff != "" {
				t.Errorf("not converged after a read following recovery: %s", diff)
			}
			observed := fmt.Sprintf("at kill: %s; after restart and rollback: %s; after one more read: %s",
				atCrash, afterRollback, e.counts())
			if diff != "" {
				observed += "; " + diff
			}
			record(t, fmt.Sprintf("SIGKILL during %s, %s held %s", c.flow, c.match, c.phase),
				"converged, no write-ahead entry left", observed)
		})
	}
}
