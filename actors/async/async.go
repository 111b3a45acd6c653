// Package async runs an actor's blocking work (an ACME order, an HTTP call) off its mailbox and
// delivers the result back to it as a message, so the actor stays responsive to timers and stops.
//
// protoactor recovers panics only inside Receive; a panic in a goroutine of ours would end the
// process, challenge responder included. So every goroutine started here turns a panic into the
// caller's own error result: the actor fails or retries as for any other error.
package async

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

// PanicError is the error a recovered panic becomes.
type PanicError struct {
	Value any
}

func (e *PanicError) Error() string {
	return "recovered from a panic: " + event.PeerText(fmt.Sprint(e.Value))
}

// Do runs work in a goroutine and sends what it returns to the calling actor. If work panics, the
// panic is logged once with its stack (event panic_recovered) and failed(err) is sent instead.
func Do[T any](ctx actor.Context, log *slog.Logger, work func() T, failed func(error) T) {
	self, root := ctx.Self(), ctx.ActorSystem().Root
	go func() { root.Send(self, Recover(log, work, failed)) }()
}

// WithTimeout is Do for work that takes a context, cancelled after timeout.
func WithTimeout[T any](ctx actor.Context, log *slog.Logger, timeout time.Duration, work func(context.Context) T, failed func(error) T) {
	Do(ctx, log, func() T {
		c, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return work(c)
	}, failed)
}

// Recover calls work and returns its result, or failed(err) if it panics.
func Recover[T any](log *slog.Logger, work func() T, failed func(error) T) (result T) {
	defer func() {
		if v := recover(); v != nil {
			err := &PanicError{Value: v}
			log.Error("background work panicked; treated as a failure of that step", "event", event.PanicRecovered,
				"error", err, "stack", string(debug.Stack()))
			result = failed(err)
		}
	}()
	return work()
}
