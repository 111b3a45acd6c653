// Command proxywatch measures the proxy watch at scale, in-process, against Pebble, the DFP
// stand-in and its TLS port: N stored certificates that DFP holds and serves, plus one name that
// cannot validate. It prints what the watch costs per discovery poll while nothing happens
// (handshakes, bytes, GET /certs), how long after a wipe of DFP's /certs every name is served
// again (the wipe right after a poll, and right after a watch round), and `provisioner status`
// as the running service answers it.
//
//	go run ./test/proxywatch                    # N = 1000, DISCOVERY_INTERVAL = 30s
//	go run ./test/proxywatch -n 200 -interval 5s
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/uploader/served"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/app"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/opsport"
	"github.com/dfp-letsencrypt/provisioner/test"
	"github.com/dfp-letsencrypt/provisioner/test/testca"
)

func main() {
	n := flag.Int("n", 1000, "stored names")
	interval := flag.Duration("interval", 30*time.Second, "DISCOVERY_INTERVAL")
	rounds := flag.Int("rounds", 2, "quiet polls to measure")
	lines := flag.Int("status-lines", 12, "lines of status to print (0: all)")
	flag.Parse()
	if err := run(*n, *interval, *rounds, *lines); err != nil {
		fmt.Fprintln(os.Stderr, "proxywatch:", err)
		os.Exit(1)
	}
}

func run(n int, interval time.Duration, rounds, lines int) error {
	dir, err := os.MkdirTemp("", "proxywatch")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	w, err := test.NewWorld(dir, testca.Options{Unresolvable: []string{"dead.watch.test"}})
	if err != nil {
		return err
	}
	defer w.Close()
	w.DFP.Restart(false)
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("n%04d.watch.test", i)
	}
	if err := w.Seed(names); err != nil {
		return err
	}
	var b strings.Builder // DFP's service list: one http service per name
	b.WriteString("{")
	for i, name := range names {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"svc%d":{"ServiceName":"svc%d","ServiceDest":[{"ServiceDomain":[%q],"ReqMode":"http","Port":"80"}]}`, i, i, name)
	}
	b.WriteString("}")
	if err := w.DFP.Register([]byte(b.String())); err != nil {
		return err
	}
	w.Env["DOMAINS"] = "dead.watch.test"
	w.Env["DISCOVERY_INTERVAL"] = interval.String()
	w.Env["RATE_LIMITS"] = "none"
	w.Env["MAX_NAMES"] = fmt.Sprint(n + 100)
	w.Env["LOG_LEVEL"] = "warn"
	cfg, err := config.Load(w.Getenv)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, cfg, slog.New(slog.NewJSONHandler(io.Discard, nil))) }()
	defer func() { cancel(); <-done }()

	// Settled: every stored name compared with DFP's list (held) and the dead one failing.
	if err := until(2*time.Minute, func() bool {
		r, err := opsport.FetchStatus(ctx, w.Getenv)
		if err != nil {
			return false
		}
		held, failing := 0, 0
		for _, s := range r.Names {
			if s.Served == string(served.Held) || s.Served == string(served.Served) {
				held++
			}
			if s.State == "failing" {
				failing++
			}
		}
		return held == n && failing == 1
	}); err != nil {
		return fmt.Errorf("settling: %w", err)
	}

	polls, listings, accepted := w.DFP.ConfigReads(), w.DFP.CertListings(), w.TLS.Accepted()
	in, out := w.TLS.Bytes()
	cpu := cpuTime()
	time.Sleep(time.Duration(rounds)*interval + interval/2)
	p := w.DFP.ConfigReads() - polls
	in2, out2 := w.TLS.Bytes()
	fmt.Printf("N=%d, DISCOVERY_INTERVAL=%s, quiet, over %d polls: per poll %.1f handshakes, %.0f bytes to the proxy and %.0f from it, %.1f GET /certs (each %d KiB at this N), %s of CPU (the service, Pebble and the stand-ins together)\n",
		n, interval, p, float64(w.TLS.Accepted()-accepted)/float64(p), float64(in2-in)/float64(p), float64(out2-out)/float64(p),
		float64(w.DFP.CertListings()-listings)/float64(p), certsSize(w)/1024, ((cpuTime() - cpu) / time.Duration(p)).Round(100*time.Microsecond))
	fmt.Printf("the watch visits every name within %s (%d handshakes per interval)\n",
		(time.Duration((n+served.WatchSize(n, interval)-1)/served.WatchSize(n, interval)) * interval).Round(time.Second), served.WatchSize(n, interval))

	for _, phase := range []struct {
		what string
		wait func() error
	}{
		{"right after a discovery poll", func() error { return afterChange(w.DFP.ConfigReads, 2*interval) }},
		{"right after a watch round", func() error { return afterChange(w.TLS.Accepted, 2*interval) }},
	} {
		if err := phase.wait(); err != nil {
			return err
		}
		wiped := time.Now()
		w.DFP.Wipe()
		if err := until(2*interval+5*time.Minute, func() bool { return len(w.DFP.Loaded()) == n }); err != nil {
			return fmt.Errorf("after the wipe %s: %w", phase.what, err)
		}
		fmt.Printf("wiped %s: all %d served again after %s\n", phase.what, n, time.Since(wiped).Round(10*time.Millisecond))
		// Until every upload's own serve check has seen it: a check still to come would notice the
		// next wipe before the watch does.
		if err := until(time.Minute, func() bool { return servedCount(ctx, w) == n }); err != nil {
			return fmt.Errorf("the uploads' serve checks after the wipe %s: %w", phase.what, err)
		}
	}

	r, err := opsport.FetchStatus(ctx, w.Getenv)
	if err != nil {
		return err
	}
	var table strings.Builder
	if err := r.WriteTable(&table, false); err != nil {
		return err
	}
	out3 := strings.Split(strings.TrimRight(table.String(), "\n"), "\n")
	fmt.Printf("\n$ provisioner status   (%d lines)\n", len(out3))
	if lines > 0 && len(out3) > lines {
		out3 = append(out3[:lines-2], "...", out3[len(out3)-1])
	}
	fmt.Println(strings.Join(out3, "\n"))
	return nil
}

// cpuTime is the CPU this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// servedCount is how many names the running service has seen served.
func servedCount(ctx context.Context, w *test.World) int {
	r, err := opsport.FetchStatus(ctx, w.Getenv)
	if err != nil {
		return -1
	}
	count := 0
	for _, s := range r.Names {
		if s.Served == string(served.Served) {
			count++
		}
	}
	return count
}

func certsSize(w *test.World) int {
	total := 0
	for _, pem := range w.DFP.Loaded() {
		total += len(pem) + 100
	}
	return total
}

// afterChange waits until counter moves, then a moment for the rest of what moved it.
func afterChange[T comparable](counter func() T, timeout time.Duration) error {
	before := counter()
	if err := until(timeout, func() bool { return counter() != before }); err != nil {
		return err
	}
	time.Sleep(200 * time.Millisecond)
	return nil
}

func until(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}
