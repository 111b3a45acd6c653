package status

import (
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/metrics"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/certificate"
	"github.com/dfp-letsencrypt/provisioner/actors/uploader/served"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
)

// Collector turns what "provisioner status" reports into gauges at each scrape, so that
// /metrics and status never disagree. A removed name has no series.
type Collector struct {
	cfg     config.Config
	store   *store.Store
	book    *served.Book      // nil: every name counts as served
	managed func() []string   // names managed whatever the store holds (nil: none)
	live    *certificate.Live // the actors' view of their names (nil: the store alone)
	recent  *recentReport     // nil: built at every scrape
	cache   *Cache
	logger  *slog.Logger
	now     func() time.Time
}

// NewCollector builds the report at each scrape from live (the actors' view; nil: the store
// alone) and st; book (nil: every name counts as served) is what the uploader knows of the proxy,
// and managed (nil: none) the names the supervisor manages.
func NewCollector(cfg config.Config, st *store.Store, live *certificate.Live, book *served.Book, managed func() []string, logger *slog.Logger) Collector {
	return Collector{cfg: cfg, store: st, live: live, book: book, managed: managed, cache: &Cache{}, recent: &recentReport{},
		logger: logger, now: time.Now}
}

// reportReuse is how long a report serves further scrapes: however many scrapers there are, the
// store is read at most about once a second.
const reportReuse = time.Second

// recentReport is the last report built, shared by the scrapes that come within reportReuse.
type recentReport struct {
	mu     sync.Mutex
	at     time.Time
	report StatusReport
}

// report builds the report, or reuses one built within reportReuse; a scrape that comes while
// another builds waits for it.
func (c Collector) report() (StatusReport, error) {
	if c.recent != nil {
		c.recent.mu.Lock()
		defer c.recent.mu.Unlock()
		if now := c.now(); !c.recent.at.IsZero() && now.Sub(c.recent.at) < reportReuse {
			return c.recent.report, nil
		}
	}
	var managed []string
	if c.managed != nil {
		managed = c.managed()
	}
	var live map[string]certificate.LiveName
	if c.live != nil {
		live = c.live.Snapshot()
	}
	report, err := LoadLive(c.store, c.cfg, c.now(), c.cache, live, managed)
	if err == nil && c.recent != nil {
		c.recent.at, c.recent.report = c.now(), report
	}
	return report, err
}

func gaugeDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(metrics.Prefix+"_"+name, help, labels, nil)
}

var (
	expirationDesc  = gaugeDesc("certificate_expiration_timestamp_seconds", "The certificate's not-after time.", "name")
	notBeforeDesc   = gaugeDesc("certificate_not_before_timestamp_seconds", "The certificate's not-before time.", "name")
	renewalDesc     = gaugeDesc("certificate_renewal_timestamp_seconds", "When the certificate is renewed (the CA's ARI time, or by lifetime).", "name")
	readyDesc       = gaugeDesc("certificate_ready_status", "1 when the name has a valid, unexpired certificate that the proxy serves (seen served, or held by DFP with no handshake against it).", "name")
	servedDesc      = gaugeDesc("certificate_served_status", "1 when the proxy serves the name's newest certificate (seen served, or held by DFP with no handshake against it); 0 when stored, queued, uploaded but not yet seen, or found not served.", "name")
	lastServedDesc  = gaugeDesc("certificate_last_served_timestamp_seconds", "When a handshake on the proxy's TLS port last presented the name's certificate (0: not seen yet).", "name")
	failuresDesc    = gaugeDesc("certificate_failures", "Consecutive failed attempts.", "name")
	nextAttemptDesc = gaugeDesc("certificate_next_attempt_timestamp_seconds", "When the next attempt comes after failures (0: none planned).", "name")
	pausedDesc      = gaugeDesc("certificate_paused", "1 when the CA paused the name.", "name")
	deferredDesc    = gaugeDesc("certificate_deferred_until_timestamp_seconds", "When an order the rate limits deferred is booked, by the limit that decided it.", "name", "limit")
	tokensDesc      = gaugeDesc("ratelimit_tokens_left", "Tokens left in a rate-limit bucket that is not full.", "bucket", "limit")
	fullDesc        = gaugeDesc("ratelimit_full_timestamp_seconds", "When a rate-limit bucket is full again.", "bucket", "limit")
	capacityDesc    = gaugeDesc("ratelimit_capacity", "How many tokens a rate-limit bucket that is not full holds when full.", "bucket", "limit")
)

func (c Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{expirationDesc, notBeforeDesc, renewalDesc, readyDesc, servedDesc, lastServedDesc, failuresDesc, nextAttemptDesc,
		pausedDesc, deferredDesc, tokensDesc, fullDesc, capacityDesc} {
		ch <- d
	}
}

func (c Collector) Collect(ch chan<- prometheus.Metric) {
	report, err := c.report()
	if err != nil {
		c.logger.Debug("metrics: could not read DATA_DIR", "error", err)
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	seconds := func(t time.Time) float64 {
		if t.IsZero() {
			return 0
		}
		return float64(t.UnixNano()) / 1e9
	}
	for _, n := range report.Names {
		if n.State == StateRemoved {
			continue
		}
		if !n.NotAfter.IsZero() {
			gauge(expirationDesc, seconds(n.NotAfter), n.Name)
			gauge(notBeforeDesc, seconds(n.NotBefore), n.Name)
			gauge(renewalDesc, seconds(n.RenewAt), n.Name)
		}
		served := c.served(n.Name)
		ready := 0.0
		if (n.State == StateValid || n.State == StateRenewing) && report.GeneratedAt.Before(n.NotAfter) && served {
			ready = 1
		}
		gauge(readyDesc, ready, n.Name)
		if c.book != nil && !n.NotAfter.IsZero() {
			gauge(servedDesc, boolGauge(served), n.Name)
			s, _ := c.book.Of(n.Name)
			gauge(lastServedDesc, seconds(s.LastServed), n.Name)
		}
		gauge(failuresDesc, float64(n.Failures), n.Name)
		gauge(nextAttemptDesc, seconds(n.NextAttempt), n.Name)
		paused := 0.0
		if n.State == StatePaused {
			paused = 1
		}
		gauge(pausedDesc, paused, n.Name)
		if n.State == StateDeferred {
			gauge(deferredDesc, seconds(n.DeferredUntil), n.Name, n.Limit)
		}
	}
	for _, b := range report.Buckets {
		gauge(tokensDesc, float64(b.TokensLeft), b.Bucket, b.Limit)
		gauge(fullDesc, seconds(b.FullAt), b.Bucket, b.Limit)
		gauge(capacityDesc, float64(b.Capacity), b.Bucket, b.Limit)
	}
}

// served says whether the proxy serves name's newest certificate, as far as the book knows; a
// name the uploader has no entry for is not (yet) uploaded.
func (c Collector) served(name string) bool {
	if c.book == nil {
		return true
	}
	s, ok := c.book.Of(name)
	return ok && s.Ready(c.book.Checked)
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
