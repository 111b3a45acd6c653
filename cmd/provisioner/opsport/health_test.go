package opsport

import (
	"net"
	"strings"
	"testing"
)

// With the internal port off, the health check says whether the responder's port accepts
// connections, instead of failing for ever (Swarm would replace the task every two minutes).
func TestHealthWithTheInternalPortOff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"METRICS_ADDR": "off", "CHALLENGE_ADDR": ln.Addr().String()}
	if err := HealthCheck(t.Context(), func(k string) string { return env[k] }); err != nil {
		t.Fatalf("a listening responder: %v", err)
	}
	ln.Close()
	err = HealthCheck(t.Context(), func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "METRICS_ADDR=off") {
		t.Fatalf("a closed responder: %v, want a failure saying what was asked", err)
	}
}
