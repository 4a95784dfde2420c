// Package faults tests the plugin under injected faults and crashes, and checks secret hygiene.
package faults
