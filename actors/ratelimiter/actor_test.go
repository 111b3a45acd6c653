package ratelimiter

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/test"
)

// An unreadable ledger is set aside, not overwritten, and the limiter still answers.
func TestCorruptLedgerIsSetAside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ledger.json")
	if err := os.WriteFile(path, []byte("{torn"), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &test.LogBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	defer system.Shutdown()
	pid := system.Root.Spawn(Props(Config{Table: Production, LedgerPath: path, Concurrency: 1, Lease: time.Minute, Logger: logger, Now: time.Now}))

	reply, err := system.Root.RequestFuture(pid, &messages.PermitRequest{Name: "a.example.com"}, 5*time.Second).Result()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := reply.(*messages.PermitGranted); !ok {
		t.Fatalf("reply = %#v, want a grant", reply)
	}
	if len(logs.Events(event.LedgerCorrupt)) != 1 {
		t.Errorf("ledger_corrupt not logged; log:\n%s", logs.String())
	}
	aside, _ := filepath.Glob(path + ".corrupt-*")
	if len(aside) != 1 {
		t.Fatalf("corrupt ledger not set aside: %v", aside)
	}
	if data, _ := os.ReadFile(aside[0]); string(data) != "{torn" {
		t.Errorf("the set-aside copy changed: %q", data)
	}
}
