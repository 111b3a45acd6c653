package app

import (
	"context"
	"runtime/debug"
	"time"
)

// releaseEvery is how often the service looks for the end of a wave of orders.
const releaseEvery = 30 * time.Second

// orderCounts is what releaseAfterWaves reads from the issuer.
type orderCounts interface {
	Finished() uint64
	InFlight() []string
}

// releaseAfterWaves hands the memory a wave of orders used back to the operating system once the
// wave is over. Go returns freed memory slowly on its own, so after a first issuance of hundreds
// of names the process would sit for minutes at twice the memory it needs; one collection per
// wave costs a few milliseconds.
func releaseAfterWaves(ctx context.Context, orders orderCounts, every time.Duration) {
	go func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		var released uint64
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if finished := orders.Finished(); WaveOver(released, finished, len(orders.InFlight())) {
				debug.FreeOSMemory()
				released = finished
			}
		}
	}()
}

// WaveOver says whether orders have finished since the last release and none is running now.
func WaveOver(released, finished uint64, inFlight int) bool {
	return finished > released && inFlight == 0
}
