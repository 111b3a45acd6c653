package async

import (
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/test/testkit"
)

type result struct{ err error }

func TestAPanicInBackgroundWorkBecomesTheActorsErrorResult(t *testing.T) {
	logs := &testkit.LogBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	system := actor.NewActorSystem()
	defer system.Shutdown()

	got := make(chan result, 1)
	props := actor.PropsFromFunc(func(ctx actor.Context) {
		switch msg := ctx.Message().(type) {
		case string:
			Do(ctx, log, func() result { panic("lego fell over") }, func(err error) result { return result{err: err} })
		case result:
			got <- msg
		}
	})
	pid := system.Root.Spawn(props)
	system.Root.Send(pid, "go")

	select {
	case r := <-got:
		var pe *PanicError
		if !errors.As(r.err, &pe) || pe.Value != "lego fell over" {
			t.Fatalf("result error = %v, want the recovered panic", r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the actor got no result: the panic was not turned into one")
	}

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want exactly one log line, got %d:\n%s", len(lines), logs.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["event"] != string(event.PanicRecovered) || !strings.Contains(rec["stack"].(string), "async_test.go") {
		t.Errorf("log line = %v, want panic_recovered with the stack", rec)
	}
}

func TestWorkThatReturnsIsPassedThrough(t *testing.T) {
	log := slog.New(slog.NewJSONHandler(&testkit.LogBuffer{}, nil))
	r := Recover(log, func() int { return 7 }, func(error) int { return -1 })
	if r != 7 {
		t.Fatalf("Recover = %d, want 7", r)
	}
}
