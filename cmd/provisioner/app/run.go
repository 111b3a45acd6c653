// Package app is the wiring: it builds the actors and their peers (the CA, DFP, the store, the
// responder) from a Config and runs them, for one process (STORE=file) or for each term a replica
// leads (STORE=etcd). What it starts decides nothing; the rules live in the packages it connects.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/issuer"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/metrics"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/certificate"
	"github.com/dfp-letsencrypt/provisioner/actors/discovery"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter"
	"github.com/dfp-letsencrypt/provisioner/actors/supervisor"
	"github.com/dfp-letsencrypt/provisioner/actors/uploader"
	"github.com/dfp-letsencrypt/provisioner/actors/uploader/served"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/opsport"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/recovery"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/replica"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/shutdown"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/dnsname"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/proxyapi"
	"github.com/dfp-letsencrypt/provisioner/webroot"
)

// Version is set at build time with -ldflags "-X .../app.Version=...".
var Version = "dev"

const (
	// preflightConcurrency bounds pre-flight checks in flight (each a DNS lookup and a probe).
	preflightConcurrency = 32
	// baseOrderLease bounds how long a crashed holder can keep an order slot, for an order that
	// waits for no DNS propagation (see OrderLease).
	baseOrderLease = 10 * time.Minute
)

// NewLogger builds the one logger everything writes through.
func NewLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "text" {
		return slog.New(event.ScrubHandler(slog.NewTextHandler(w, opts)))
	}
	return slog.New(event.ScrubHandler(slog.NewJSONHandler(w, opts)))
}

// Faults puts a fault between the service and one of its peers. Production runs with none; the
// fault tests use it to make lego, the pre-flight or a DFP call panic, hang or fail on demand.
type Faults struct {
	ACME      func(http.RoundTripper) http.RoundTripper
	DFP       func(http.RoundTripper) http.RoundTripper
	Preflight func(certificate.Preflighter) certificate.Preflighter
	// System is handed the actor system once the supervisor runs, to restart actors mid-work.
	System func(*actor.ActorSystem)
}

// Run provisions certificates until ctx is done, then stops the actors, lets orders in flight
// store their result, and stops the responder last.
func Run(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	return RunWith(ctx, cfg, logger, Faults{})
}

// RunWith is Run with faults injected.
func RunWith(ctx context.Context, cfg config.Config, logger *slog.Logger, faults Faults) error {
	if cfg.DNSProvider != "" && cfg.DNS01Provider == nil {
		return &config.Error{Var: "DNS_PROVIDER", Msg: "set, but no provider was built for it"}
	}
	// Every peer error is scrubbed of these before it is logged, stored, shown or alerted.
	event.HideSecrets(cfg.Etcd.Password, cfg.EABHMAC, cfg.NotifyToken, cfg.AlertWebhookURL)
	event.HideSecrets(event.SecretsOf(os.Environ(), os.ReadFile)...)
	issuer.RouteLegoLogs(logger)
	if cfg.Store == "etcd" {
		return runReplicated(ctx, cfg, logger, faults)
	}
	lock, err := replica.HoldDataDir(ctx, cfg.DataDir, cfg.MetricsAddr, replica.Identity(Version), logger)
	if err != nil || lock == nil {
		return err // nil: stopped while standing by
	}
	defer lock.Release()
	st, err := store.Open(cfg.DataDir, cfg.DirectoryURL)
	if err != nil {
		return fmt.Errorf("DATA_DIR %s: %w", cfg.DataDir, err)
	}
	if n, err := store.RemoveLeftovers(cfg.DataDir); err != nil {
		logger.Warn("could not remove temporary files a killed process left", "event", event.LeftoversRemoved, "error", err)
	} else if n > 0 {
		logger.Info("removed temporary files a killed process left", "event", event.LeftoversRemoved, "files", n)
	}
	if problem := store.PersistenceProblem(cfg.DataDir); problem != "" {
		logger.Warn("DATA_DIR "+problem+": certificates, account and rate limits are lost with the container, and "+
			"every new container issues again; mount a named volume at DATA_DIR", "event", event.DataDirNotPersistent, "data_dir", cfg.DataDir)
	}
	tokens := webroot.NewTokens()
	responder, err := listenResponder(cfg, tokens, logger)
	if err != nil {
		return err
	}
	stopDeadline := shutdown.DeadlineAfter(ctx, cfg.ShutdownTimeout)
	err = lead(ctx, leading{cfg: cfg, logger: logger, faults: faults, store: st, answers: tokens, responder: responder.Addr().String()})
	return errors.Join(err, shutdown.Responder(responder, stopDeadline()))
}

func listenResponder(cfg config.Config, answers webroot.Answers, logger *slog.Logger) (*webroot.Server, error) {
	responder, err := webroot.Listen(cfg.ChallengeAddr, answers, logger)
	if err != nil {
		return nil, err
	}
	logger.Info("challenge responder listening", "event", event.ResponderStarted, "addr", responder.Addr().String())
	return responder, nil
}

// leading is what one term of work needs: with STORE=file the whole run, with STORE=etcd each
// time this replica leads.
type leading struct {
	cfg       config.Config
	logger    *slog.Logger
	faults    Faults
	store     *store.Store
	answers   webroot.Answers
	responder string // its address, for /healthz
	// term, when set, is closed when this replica stops leading: from then on no request reaches
	// the CA or DFP.
	term <-chan struct{}
	// watchNotify, when set, calls its func for each notification a standby passed on, until ctx ends.
	watchNotify func(ctx context.Context, notified func())
}

// lead runs discovery, ordering, renewal and uploads until ctx is done, then stops the actors and
// lets orders in flight store their result.
func lead(ctx context.Context, l leading) error {
	cfg, logger, faults, st := l.cfg, l.logger, l.faults, l.store
	if cfg.Email == "" {
		logger.Warn("CERTBOT_EMAIL is not set: the ACME account has no contact address", "event", event.NoContactEmail)
	}
	toCA := acmeTransport(cfg)
	iss := issuer.New(issuer.Config{
		DirectoryURL:   cfg.DirectoryURL,
		Email:          cfg.Email,
		KeyType:        cfg.KeyType,
		Transport:      replica.WhileLeading(l.term, wrap(faults.ACME, metrics.ACMETransport{Next: toCA})),
		UserAgent:      "dfp-letsencrypt/" + Version,
		HTTP01:         webroot.Provider{Answers: l.answers},
		Store:          st,
		Logger:         logger,
		Profile:        cfg.Profile,
		PreferredChain: cfg.PreferredChain,
		DNS:            dnsConfig(cfg, l.term),
		EAB:            issuer.EAB{KeyID: cfg.EABKeyID, HMAC: cfg.EABHMAC},
	})
	if err := prepareAccount(ctx, iss, logger); err != nil {
		return err
	}
	dfp := proxyapi.NewWithTransport(cfg.ProxyURL, 60*time.Second, replica.WhileLeading(l.term, wrap(faults.DFP, proxyapi.Transport()))).
		LimitBody(min(max(proxyapi.DefaultMaxBody, cfg.MaxNames*bytesPerName), maxDFPBody))
	pf := preflightChecker(cfg, l.answers, iss)
	if faults.Preflight != nil && pf != nil {
		pf = faults.Preflight(pf)
	}

	answered := &atomic.Int64{}                      // DFP's last answer, for /readyz
	book := served.NewBook(cfg.ServeCheckAddr != "") // what the proxy serves, for /metrics, /readyz, status
	managed := supervisor.NewManaged()               // the names with an actor, for /metrics and status
	live := certificate.NewLive()                    // each actor's view of its name, for /metrics and status
	recovery.FromDFP(ctx, dfp, st, iss, cfg, logger)
	releaseAfterWaves(ctx, iss, releaseEvery, toCA.CloseIdleConnections)
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return logger.With("component", "protoactor")
	}))
	sup := supervisor.Props(supervisor.Config{
		Store:     st,
		Issuer:    iss,
		Limiter:   ratelimiter.Props(limiterConfig(cfg, st, logger)),
		Preflight: pf,
		Uploader:  uploader.Props(uploader.Config{DFP: dfp, Distribute: true, Load: st.LoadBundle, Roots: cfg.IssuerRoots, ReconcileInterval: cfg.ReconcileInterval, ServeCheckAddr: cfg.ServeCheckAddr, ServeCheckDelay: 3 * time.Second, WatchInterval: cfg.DiscoveryInterval, Book: book, Timeout: 60 * time.Second, MinBackoff: time.Second, MaxBackoff: time.Minute, Logger: logger, Now: time.Now}),
		Discovery: discovery.Props(discovery.Config{DFP: dfp, Interval: cfg.DiscoveryInterval, Timeout: 30 * time.Second, Extra: cfg.Domains,
			Exclusions: dnsname.NewPatterns(cfg.Exclude), Wildcards: cfg.DNSProvider != "", Logger: logger, Now: time.Now, Answered: answered}),
		Logger:             logger,
		Now:                time.Now,
		RestartBase:        time.Second,
		RenewInterval:      cfg.RenewInterval,
		RemovedGrace:       cfg.RemovedGrace,
		Excluded:           dnsname.NewPatterns(cfg.Exclude).Match,
		MaxNames:           cfg.MaxNames,
		Alerter:            alerterProps(cfg, logger),
		AlertAfterFailures: cfg.AlertAfter,
		Managed:            managed,
		Live:               live,
	})
	// The root's default strategy gives up on an actor that fails ten times in ten seconds, which
	// would leave a live process that manages nothing; the supervisor is restarted, with a growing
	// delay, however often it fails.
	guarded := system.Root.WithGuardian(actor.NewExponentialBackoffStrategy(10*time.Minute, time.Second))
	supPID, err := guarded.SpawnNamed(sup, "supervisor")
	if err != nil {
		return fmt.Errorf("start actors: %w", err)
	}
	if faults.System != nil {
		faults.System(system)
	}
	if l.watchNotify != nil {
		l.watchNotify(ctx, func() { system.Root.Send(supPID, &messages.PollNow{}) })
	}
	stopping := shutdown.Plan{System: system, Supervisor: supPID, Issuer: iss, Store: st, Timeout: cfg.ShutdownTimeout, Logger: logger}
	if cfg.MetricsAddr != "" {
		deps := opsport.Deps{Cfg: cfg, Store: st, Book: book, Managed: managed, Live: live, Root: system.Root, Supervisor: supPID, Limiter: actor.NewPID(system.Address(), supPID.Id+"/ratelimiter"),
			Responder: l.responder, Answered: answered, Interval: cfg.DiscoveryInterval, Logger: logger}
		if stopping.Ops, err = opsport.Listen(cfg.MetricsAddr, deps); err != nil {
			_ = shutdown.Run(stopping)
			return err
		}
		logger.Info("internal port listening (swarm listener notifications, /healthz, /readyz)", "event", event.OpsStarted, "addr", stopping.Ops.Addr().String())
		if cfg.NotifyToken == "" {
			logger.Warn("NOTIFY_TOKEN is not set: anyone on the network can send notifications and read /status; set it and "+
				"add ?token= to the listener's URLs", "event", event.NotifyOpen)
		}
	}
	logger.Info("provisioner started", "event", event.ServiceStarted, "version", Version, "directory", cfg.DirectoryURL,
		"proxy", cfg.ProxyURL.Redacted(), "store", cfg.StoreText())

	<-ctx.Done()
	return shutdown.Run(stopping)
}
