package async

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

type tick struct{}

// Every ticks until cancelled, and a cancel while a tick fires is no data race (go test -race).
func TestEveryTicksUntilCancelled(t *testing.T) {
	system := actor.NewActorSystem()
	defer system.Shutdown()
	var ticks atomic.Int32
	cancels := make(chan func(), 1)
	pid := system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch ctx.Message().(type) {
		case *actor.Started:
			cancels <- Every(ctx, time.Millisecond, time.Millisecond, tick{})
		case tick:
			ticks.Add(1)
		}
	}))
	cancel := <-cancels
	deadline := time.Now().Add(5 * time.Second)
	for ticks.Load() < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("%d ticks in 5 s, want 5", ticks.Load())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	cancel() // twice is harmless
	time.Sleep(20 * time.Millisecond)
	after := ticks.Load()
	time.Sleep(50 * time.Millisecond)
	if n := ticks.Load(); n > after+1 {
		t.Fatalf("%d ticks after the cancel", n-after)
	}
	_ = system.Root.StopFuture(pid).Wait()
}
