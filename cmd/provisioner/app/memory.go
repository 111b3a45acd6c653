package app

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// releaseEvery is how often the service looks for the end of a wave of orders: a look reads two
// counters, and a wave's memory goes back within seconds of its end rather than half a minute.
const releaseEvery = 5 * time.Second

// orderCounts is what releaseAfterWaves reads from the issuer.
type orderCounts interface {
	Finished() uint64
	InFlight() []string
}

// releaseAfterWaves hands the memory a wave of work used back to the operating system once the
// wave is over (its heap, its connections to the CA, the code it ran): the start's (every certificate loaded, DFP's whole list compared) and each wave of
// orders. Go returns freed memory slowly on its own, so after a first issuance of hundreds of names,
// or a start with thousands, the process would sit for minutes at twice the memory it needs; one
// collection per wave costs a few milliseconds. closeIdle drops the connections to the CA a wave
// of orders left open (one per order in flight, each with its buffers and two goroutines).
func releaseAfterWaves(ctx context.Context, orders orderCounts, every time.Duration, closeIdle func()) {
	go func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		var released uint64
		releasedOnce := false
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if finished := orders.Finished(); WaveOver(releasedOnce, released, finished, len(orders.InFlight()), unreturnedFree()) {
				closeIdle()
				debug.FreeOSMemory()
				released, releasedOnce = finished, true
			}
			if CodeHeld(len(orders.InFlight()), residentCode()) {
				_, _ = releaseCodePages() // best effort: what it cannot release stays resident, as before
			}
		}
	}()
}

// WaveOver says whether a wave is over and its memory may go back: none is running now, and this
// is the first look since the start, orders have finished since the last release, or other work
// (a comparison with DFP's whole list, 35 MB at 10,000 names) left at least releaseAbove of the
// heap free and still held.
func WaveOver(releasedOnce bool, released, finished uint64, inFlight int, unreturned uint64) bool {
	return inFlight == 0 && (!releasedOnce || finished > released || unreturned >= releaseAbove)
}

// CodeHeld says whether the executable's pages are worth giving back: no order is running, and the
// resident code is codeAbove or more. An idle service runs about 2 MiB of its code; a wave of
// orders, uploads and serve checks touches some 22 MiB, which would otherwise stay counted in its
// resident set for good (see releaseCodePages).
func CodeHeld(inFlight int, residentCode int64) bool {
	return inFlight == 0 && residentCode >= codeAbove
}

// codeAbove is how much resident code is worth a release: well above the idle service's own, so
// that idling never re-reads and re-releases the same pages.
const codeAbove = 8 << 20

// releaseAbove is how much free heap still held from the OS is worth a collection to give back.
const releaseAbove = 16 << 20

// unreturnedFree is the heap Go holds free and has not given back to the OS.
func unreturnedFree() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return sample[0].Value.Uint64()
}
