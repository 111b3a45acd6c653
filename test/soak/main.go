// Command soak runs the real service for a long while against Pebble issuing short-lived
// certificates and watches DFP's stand-in every half second: does every name always hold a valid
// certificate, and is every renewal inside the CA's ARI window, none early, none missed?
//
//	go run ./test/soak                       # 6-minute certificates for an hour
//	go run ./test/soak -duration 10m -validity 2m
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/app"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/test"
	"github.com/dfp-letsencrypt/provisioner/test/testca"
)

func main() {
	duration := flag.Duration("duration", time.Hour, "how long to run")
	validity := flag.Duration("validity", 6*time.Minute, "lifetime of each certificate")
	flag.Parse()
	if err := run(*duration, *validity); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

type watch struct {
	firstValid   time.Time // when DFP first held a valid certificate for the name
	invalidTicks int       // half-second samples without a valid certificate since then
	minLeft      time.Duration
}

func run(duration, validity time.Duration) error {
	dir, err := os.MkdirTemp("", "dfp-letsencrypt-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	world, err := test.NewWorld(dir, testca.Options{Profiles: map[string]uint64{"short": uint64(validity.Seconds())}, ReuseAuthorizations: true})
	if err != nil {
		return err
	}
	defer world.Close()
	world.Env["ACME_PROFILE"] = "short"
	world.Env["EXCLUDE_DOMAINS"] = "late.test"
	world.Env["RECONCILE_INTERVAL"] = "1m"
	cfg, err := config.Load(world.Getenv)
	if err != nil {
		return err
	}
	logPath := filepath.Join(dir, "service.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- app.Run(ctx, cfg, app.NewLogger(cfg, logFile)) }()
	fmt.Printf("soak: %s of %s certificates; watching DFP every 500 ms\n", duration, validity)

	watches := map[string]*watch{}
	names := []string{"a.multi.test", "api.multi.test", "b.multi.test", "dsvc.test", "example.test", "old.multi.test", "www.example.test"}
	for _, n := range names {
		watches[n] = &watch{minLeft: validity}
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	report := time.NewTicker(5 * time.Minute)
	defer report.Stop()
	for time.Since(start) < duration {
		select {
		case <-tick.C:
		case <-report.C:
			fmt.Printf("soak: %s elapsed, %d certificates in DFP\n", time.Since(start).Round(time.Second), len(world.DFP.CertNames()))
			continue
		}
		now := time.Now()
		for _, n := range names {
			w := watches[n]
			pem, ok := world.DFP.Cert(n + ".pem")
			var b *bundle.Bundle
			if ok {
				b, err = bundle.Parse(pem)
			}
			valid := ok && err == nil && b.Check(n, now) == nil
			switch {
			case valid && w.firstValid.IsZero():
				w.firstValid = now
			case !valid && !w.firstValid.IsZero():
				w.invalidTicks++
			}
			if valid {
				w.minLeft = min(w.minLeft, b.Leaf.NotAfter.Sub(now))
			}
		}
	}
	cancel()
	if err := <-done; err != nil {
		return err
	}
	return summarise(logPath, names, watches, duration, validity)
}

func summarise(logPath string, names []string, watches map[string]*watch, duration, validity time.Duration) error {
	f, err := os.Open(logPath)
	if err != nil {
		return err
	}
	defer f.Close()
	type window struct{ start, end time.Time }
	windows := map[string]window{}     // fingerprint -> ARI window
	current := map[string]string{}     // name -> fingerprint of its newest certificate
	notAfter := map[string]time.Time{} // fingerprint -> expiry
	var renewals, inside, early, late, missed, failures, limited int
	var fromStart []time.Duration // renewal time as a fraction of the old certificate's lifetime
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e map[string]any
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		name, _ := e["domain"].(string)
		at, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(e["time"]))
		ev, _ := e["event"].(string)
		switch event.Name(ev) {
		case event.ARIWindow:
			s, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(e["window_start"]))
			en, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(e["window_end"]))
			windows[fmt.Sprint(e["fingerprint"])] = window{s, en}
		case event.IssuanceStarted:
			old, ok := current[name]
			if !ok {
				continue
			}
			renewals++
			w := windows[old]
			switch {
			case at.After(notAfter[old]):
				missed++
			case at.Before(w.start.Add(-time.Second)):
				early++
			case at.After(w.end.Add(time.Second)):
				late++
			default:
				inside++
			}
			life := notAfter[old].Sub(w.start)
			if life > 0 {
				fromStart = append(fromStart, at.Sub(w.start)*100/life)
			}
		case event.CertificateObtained:
			fp := fmt.Sprint(e["fingerprint"])
			current[name] = fp
			notAfter[fp], _ = time.Parse(time.RFC3339Nano, fmt.Sprint(e["not_after"]))
		case event.IssuanceFailed, event.PreflightFailed:
			failures++
		case event.RateLimited, event.CaRateLimited:
			limited++
		}
	}
	sort.Slice(fromStart, func(i, j int) bool { return fromStart[i] < fromStart[j] })
	fmt.Printf("\nsoak over %s with %s certificates, %d names:\n", duration, validity, len(names))
	fmt.Printf("renewals: %d; inside the ARI window %d, early %d, late %d, after expiry %d\n", renewals, inside, early, late, missed)
	if len(fromStart) > 0 {
		fmt.Printf("renewal time, %% of the old certificate's lifetime: min %d, median %d, max %d\n",
			fromStart[0], fromStart[len(fromStart)/2], fromStart[len(fromStart)-1])
	}
	fmt.Printf("failed orders or pre-flights: %d; rate limited: %d\n", failures, limited)
	gaps := 0
	for _, n := range names {
		w := watches[n]
		gaps += w.invalidTicks
		fmt.Printf("  %-18s valid in DFP from %s; samples without a valid certificate after that: %d; least lifetime left: %s\n",
			n, w.firstValid.Format(time.TimeOnly), w.invalidTicks, w.minLeft.Round(time.Second))
	}
	if gaps > 0 || missed > 0 || early > 0 {
		return fmt.Errorf("%d invalid samples, %d renewals after expiry, %d early", gaps, missed, early)
	}
	return nil
}
