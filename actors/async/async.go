// Package async runs an actor's blocking work (an ACME order, an HTTP call) off its mailbox and
// delivers the result back to it as a message, so the actor stays responsive to timers and stops.
package async

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Do runs work in a goroutine and sends what it returns to the calling actor.
func Do(ctx actor.Context, work func() any) {
	self, root := ctx.Self(), ctx.ActorSystem().Root
	go func() { root.Send(self, work()) }()
}

// WithTimeout is Do for work that takes a context, cancelled after timeout.
func WithTimeout(ctx actor.Context, timeout time.Duration, work func(context.Context) any) {
	Do(ctx, func() any {
		c, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return work(c)
	})
}
