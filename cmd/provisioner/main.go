// Command provisioner gives Docker Flow Proxy Let's Encrypt certificates. It is configured by
// environment variables (see README.md) and reports through its logs.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/app"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/dnsproviders"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/forecast"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/migrate"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/opsport"
	"github.com/dfp-letsencrypt/provisioner/messages/dnsname"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

// defaultGCPercent is the service's GOGC when the environment sets none.
const defaultGCPercent = 50

func main() {
	if len(os.Args) > 1 {
		os.Exit(command(os.Args[1], os.Args[2:]))
	}
	cfg, err := config.Load(os.Getenv)
	if err == nil && cfg.DNSProvider != "" {
		if cfg.DNS01Provider, err = dnsproviders.New(cfg.DNSProvider); err != nil {
			// lego names the provider's variables that are missing or wrong.
			err = &config.Error{Var: "DNS_PROVIDER", Msg: strings.ReplaceAll(err.Error(), "\n", " ")}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	logger := app.NewLogger(cfg, os.Stdout)
	if os.Getenv("GOGC") == "" {
		// The service holds about 12 KB per name and allocates in bursts (a discovery poll, a
		// reconciliation, a wave of orders); collecting at half the default growth keeps its idle
		// memory near what it holds, for a little more CPU in bursts. GOGC set by the user wins.
		debug.SetGCPercent(defaultGCPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := app.Run(ctx, cfg, logger); err != nil {
		var ce *config.Error
		if errors.As(err, &ce) { // the CA's answer that the configuration is wrong (EAB, contact)
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		logger.Error("provisioner stopped on an error", "event", event.Fatal, "error", err)
		os.Exit(1)
	}
}

// command runs an operator's one-off command beside the running service:
//
//	provisioner retry-now NAME...   retry these names now (after fixing DNS, or unpausing at the CA)
//	provisioner health              exit 0 when the service's /healthz says it is alive (HEALTHCHECK)
//	provisioner status [--all|--json] every name's state, what the proxy serves and the rate limits near binding
//	                                (--all: every bucket in use), from the running service (METRICS_ADDR), else
//	                                from the store alone (DATA_DIR or etcd)
//	provisioner plan [--days N] [--add NAME,...|N@DOMAIN] [--profile P] [--json]
//	                                the next days' orders, renewals, reloads and limits, from the store
//	provisioner migrate --to etcd   move DATA_DIR into etcd (STORE=etcd), with the service stopped
func command(name string, args []string) int {
	if name == "health" && len(args) == 0 {
		if err := opsport.HealthCheck(context.Background(), os.Getenv); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	}
	if name == "status" && (len(args) == 0 || len(args) == 1 && (args[0] == "--json" || args[0] == "--all")) {
		return status(len(args) == 1 && args[0] == "--json", len(args) == 1 && args[0] == "--all")
	}
	if name == "plan" {
		return runPlan(args)
	}
	if name == "migrate" && len(args) == 2 && args[0] == "--to" && args[1] == "etcd" {
		return runMigrate()
	}
	if name != "retry-now" || len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: provisioner [retry-now NAME... | health | status [--all|--json] | plan [--days N] [--add NAME,...|N@DOMAIN] [--profile P] [--json] | migrate --to etcd]")
		return 2
	}
	cfg, err := commandConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	st, closeStore, err := app.OpenStore(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "retry-now:", err)
		return 1
	}
	defer closeStore()
	var names []string
	for _, arg := range args {
		n, err := dnsname.NormaliseHost(arg, true)
		if err == nil {
			err = st.RequestRetry(n)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		names = append(names, n)
	}
	// The request is stored first, so that a stopped service finds it at its start.
	if err := opsport.PokeRetry(context.Background(), os.Getenv); err != nil {
		fmt.Printf("retry of %s requested; no running service answered on METRICS_ADDR (%v), so it is acted on at the "+
			"next discovery poll (DISCOVERY_INTERVAL=%s) or start\n", strings.Join(names, ", "), err, cfg.DiscoveryInterval)
		return 0
	}
	fmt.Printf("retry of %s requested; the running service reads it now: the pre-flight and, if it passes, an order "+
		"start within seconds unless a rate limit defers them (see provisioner status)\n", strings.Join(names, ", "))
	return 0
}

// commandConfig reads the same variables as the service; DFP's address is not needed by a
// command, which asks nobody but the store.
func commandConfig() (config.Config, error) {
	return config.Load(func(k string) string {
		if v := os.Getenv(k); v != "" || k != "PROXY_ADDRESS" {
			return v
		}
		return "unused-by-commands"
	})
}

// runMigrate moves DATA_DIR into the etcd that ETCD_* names, with the service stopped.
func runMigrate() int {
	cfg, err := config.Load(func(k string) string {
		switch v := os.Getenv(k); {
		case k == "STORE":
			return "etcd" // --to etcd
		case v == "" && k == "PROXY_ADDRESS":
			return "unused-by-commands"
		default:
			return v
		}
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := migrate.Run(context.Background(), cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "migrate:", err)
		return 1
	}
	return 0
}

// status prints what the running service, or else the store, says.
func status(asJSON, allBuckets bool) int {
	cfg, err := commandConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	report, err := opsport.FetchStatus(context.Background(), os.Getenv)
	if err != nil {
		if report, err = app.LoadStatus(cfg, time.Now()); err != nil {
			fmt.Fprintln(os.Stderr, "status:", err)
			return 1
		}
	}
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(report)
	} else {
		err = report.WriteTable(os.Stdout, allBuckets)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "status:", err)
		return 1
	}
	return 0
}

// runPlan prints the plan of the next days from the store.
func runPlan(args []string) int {
	opts, err := forecast.ParseArgs(args, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	cfg, err := commandConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	h, p, err := app.LoadPlan(cfg, opts, time.Now())
	if err == nil {
		if opts.JSON {
			err = forecast.WriteJSON(os.Stdout, h, p)
		} else {
			err = forecast.WriteText(os.Stdout, h, p, cfg.Limits)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
