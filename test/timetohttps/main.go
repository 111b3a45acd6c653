// Command timetohttps measures how long a new service waits for HTTPS: from the moment DFP lists
// it to the moment the proxy serves its certificate, with the swarm listener's notification and
// with polling alone (DISCOVERY_INTERVAL), against in-process Pebble and the DFP stand-in. It
// prints each run and the medians.
//
//	go run ./test/timetohttps              # 5 runs each, polling every 30 s (the default)
//	go run ./test/timetohttps -runs 3 -interval 10s
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"time"

	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/app"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/proxyapi"
	"github.com/dfp-letsencrypt/provisioner/test"
	"github.com/dfp-letsencrypt/provisioner/test/testca"
)

func main() {
	runs := flag.Int("runs", 5, "runs per mode")
	interval := flag.Duration("interval", 30*time.Second, "DISCOVERY_INTERVAL when polling alone")
	flag.Parse()
	for _, notified := range []bool{true, false} {
		var took []time.Duration
		for i := 0; i < *runs; i++ {
			d, err := once(notified, *interval, i)
			if err != nil {
				fmt.Fprintln(os.Stderr, "timetohttps:", err)
				os.Exit(1)
			}
			fmt.Printf("notified=%-5v run %d: %s\n", notified, i+1, d.Round(10*time.Millisecond))
			took = append(took, d)
		}
		slices.Sort(took)
		fmt.Printf("notified=%-5v median of %d: %s\n", notified, *runs, took[len(took)/2].Round(10*time.Millisecond))
	}
}

// once starts the service on an empty DFP, adds a service, and times until HTTPS serves it.
func once(notified bool, interval time.Duration, run int) (time.Duration, error) {
	dir, err := os.MkdirTemp("", "timetohttps-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	w, err := test.NewWorld(dir, testca.Options{})
	if err != nil {
		return 0, err
	}
	defer w.Close()
	w.DFP.Restart(false)
	w.Env["DISCOVERY_INTERVAL"] = interval.String()
	w.Env["LOG_LEVEL"] = "error"
	cfg, err := config.Load(w.Getenv)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, cfg, app.NewLogger(cfg, io.Discard)) }()
	defer func() { cancel(); <-done }()
	// Let the first poll pass, and land the new service at a different point of the interval
	// each run, as a real deployment would.
	time.Sleep(time.Second + time.Duration(run)*interval/time.Duration(5))

	name := fmt.Sprintf("new%d.test", run)
	q := url.Values{"serviceName": {"new"}, "serviceDomain": {name}, "port": {"80"}}
	begin := time.Now()
	if err := get(w.DFP.URL() + "/v1/docker-flow-proxy/reconfigure?" + q.Encode()); err != nil {
		return 0, err
	}
	if notified {
		if err := get("http://" + w.Env["METRICS_ADDR"] + "/notify/create?" + q.Encode()); err != nil {
			return 0, err
		}
	}
	want := ""
	for deadline := time.Now().Add(2*interval + time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		pem, ok := w.DFP.Cert(name + ".pem")
		if !ok {
			continue
		}
		if want == "" {
			b, err := bundle.Parse(pem)
			if err != nil {
				return 0, err
			}
			want = b.Fingerprint()
		}
		c, cancelCheck := context.WithTimeout(context.Background(), time.Second)
		got, err := proxyapi.ServedFingerprint(c, w.TLS.Addr(), name)
		cancelCheck()
		if err == nil && got == want {
			return time.Since(begin), nil
		}
	}
	return 0, fmt.Errorf("%s not served in time", name)
}

func get(u string) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d", u, resp.StatusCode)
	}
	return nil
}
