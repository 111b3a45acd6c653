// Command sandbox shows the whole job on loopback, with no Docker and no Internet: it starts
// Let's Encrypt's test CA (Pebble) and a Docker Flow Proxy stand-in holding the services of a real
// DFP capture, runs the real provisioner against them, and prints what DFP ended up holding. The
// capture's wildcard is issued by DNS-01, through lego's httpreq provider and a stand-in DNS API.
//
//	go run ./test/sandbox            # stop once every name is served
//	go run ./test/sandbox -keep      # keep running (Ctrl-C to stop)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/go-acme/lego/v4/providers/dns/httpreq"

	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/app"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/test"
	"github.com/dfp-letsencrypt/provisioner/test/dfpstub"
	"github.com/dfp-letsencrypt/provisioner/test/etcdtest"
	"github.com/dfp-letsencrypt/provisioner/test/testca"
)

func main() {
	keep := flag.Bool("keep", false, "keep the service running after every name is served")
	timeout := flag.Duration("timeout", 2*time.Minute, "give up when not every name is served by then")
	flag.IntVar(&replicas, "replicas", 1, "with more than 1, that many replicas share a real etcd (STORE=etcd), challenges routed to any")
	flag.Parse()
	if err := run(*keep, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	}
}

// replicas is -replicas.
var replicas int

func run(keep bool, timeout time.Duration) error {
	dir, err := os.MkdirTemp("", "dfp-letsencrypt-sandbox-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	world, err := test.NewWorld(dir, testca.Options{})
	if err != nil {
		return err
	}
	defer world.Close()
	world.Env["EXCLUDE_DOMAINS"] = "late.test"
	api := world.CA.StartDNSAPI()
	defer api.Close()
	world.Env["DNS_PROVIDER"] = "httpreq"
	world.Env["DNS_RESOLVERS"] = world.CA.DNSAddr
	world.Env["DNS_PROPAGATION_DISABLE_ANS"] = "true" // the test DNS answers no SOA
	world.Env["DISCOVERY_INTERVAL"] = "5s"
	world.Env["LOG_FORMAT"] = "text"
	for _, k := range []string{"LOG_FORMAT", "LOG_LEVEL"} {
		if v, ok := os.LookupEnv(k); ok {
			world.Env[k] = v
		}
	}
	if replicas > 1 {
		etcd, err := etcdtest.Start(filepath.Join(dir, "etcd"), false)
		if err != nil {
			return err
		}
		defer etcd.Close()
		world.Env["STORE"], world.Env["ETCD_ENDPOINTS"], world.Env["ETCD_LEASE_TTL"] = "etcd", etcd.Endpoint, "3s"
	}
	endpoint, err := url.Parse(api.URL())
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	svcCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, replicas)
	start := time.Now()
	var responders []string
	for i := range max(replicas, 1) {
		if i > 0 { // each replica its own ports, as each task has its own address
			for _, k := range []string{"CHALLENGE_ADDR", "METRICS_ADDR"} {
				if world.Env[k], err = test.FreeLoopbackAddr(); err != nil {
					cancel()
					return err
				}
			}
		}
		cfg, err := config.Load(world.Getenv)
		if err != nil {
			cancel()
			return err
		}
		// The binary builds its provider from DNS_PROVIDER and HTTPREQ_ENDPOINT; in process, the
		// same provider is built here.
		if cfg.DNS01Provider, err = httpreq.NewDNSProviderConfig(&httpreq.Config{Endpoint: endpoint,
			PropagationTimeout: 30 * time.Second, PollingInterval: time.Second, HTTPClient: &http.Client{Timeout: 10 * time.Second}}); err != nil {
			cancel()
			return err
		}
		logger := app.NewLogger(cfg, os.Stdout)
		if replicas > 1 {
			logger = logger.With("replica", i+1)
		}
		responders = append(responders, cfg.ChallengeAddr)
		go func() { done <- app.Run(svcCtx, cfg, logger) }()
	}
	world.Frontend.SetBackends(responders...)
	dfp := world.DFP
	fmt.Printf("sandbox: Pebble at %s, DFP API stand-in at %s (services from a real DFP capture),\n"+
		"         proxy port 80 stand-in at %s, responders on %s\n\n",
		world.CA.DirectoryURL, dfp.URL(), world.Frontend.Addr(), strings.Join(responders, ", "))
	stopAll := func() error {
		cancel()
		var errs []error
		for range responders {
			errs = append(errs, <-done)
		}
		return errors.Join(errs...)
	}

	want := 8 // the capture's http names, the wildcard included, less the excluded late.test
	deadline := time.After(timeout)
	for len(dfp.CertNames()) < want {
		select {
		case <-deadline:
			_ = stopAll()
			return fmt.Errorf("only %d of %d names served after %s", len(dfp.CertNames()), want, timeout)
		case <-ctx.Done():
			return stopAll()
		case <-time.After(100 * time.Millisecond):
		}
	}
	elapsed := time.Since(start)
	time.Sleep(200 * time.Millisecond) // let the last upload's log line out before the table
	printCerts(dfp, elapsed)
	if keep {
		fmt.Println("\nsandbox: running; Ctrl-C to stop")
		<-ctx.Done()
	}
	return stopAll()
}

func printCerts(dfp *dfpstub.Stub, elapsed time.Duration) {
	fmt.Printf("\nDFP now holds %d certificates (issued and uploaded in %s):\n", len(dfp.CertNames()), elapsed.Round(time.Millisecond))
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tNAMES\tISSUER\tNOT AFTER")
	names := dfp.CertNames()
	sort.Strings(names)
	for _, n := range names {
		pem, _ := dfp.Cert(n)
		b, err := bundle.Parse(pem)
		if err != nil {
			fmt.Fprintf(tw, "%s\tunparseable: %v\t\t\n", n, err)
			continue
		}
		fmt.Fprintf(tw, "%s\t%v\t%s\t%s\n", n, b.Leaf.DNSNames, b.Leaf.Issuer.CommonName, b.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	tw.Flush()
}
