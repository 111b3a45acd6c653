package async

import (
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"
)

// Every sends msg to the calling actor after first and then every interval, until the returned
// function is called. It replaces protoactor's scheduler.SendRepeatedly, whose timer reads its
// cancelled flag without synchronisation: a cancel while a tick fires is a data race.
func Every(ctx actor.Context, first, interval time.Duration, msg any) scheduler.CancelFunc {
	self, root := ctx.Self(), ctx.ActorSystem().Root
	stop := make(chan struct{})
	go func() {
		timer := time.NewTimer(first)
		defer timer.Stop()
		for {
			select {
			case <-stop:
				return
			case <-timer.C:
				root.Send(self, msg)
				timer.Reset(interval)
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(stop) }) }
}
