package status

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/metrics"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/uploader"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
)

// Collector turns what "provisioner status" reports into gauges at each scrape, so that
// /metrics and status never disagree. A removed name has no series.
type Collector struct {
	cfg      config.Config
	store    *store.Store
	verdicts *uploader.Verdicts // nil: every name counts as served
	cache    *Cache
	logger   *slog.Logger
	now      func() time.Time
}

// NewCollector reads st at each scrape; verdicts (nil: every name counts as served) are the
// uploader's serve checks.
func NewCollector(cfg config.Config, st *store.Store, verdicts *uploader.Verdicts, logger *slog.Logger) Collector {
	return Collector{cfg: cfg, store: st, verdicts: verdicts, cache: &Cache{}, logger: logger, now: time.Now}
}

func gaugeDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(metrics.Prefix+"_"+name, help, labels, nil)
}

var (
	expirationDesc  = gaugeDesc("certificate_expiration_timestamp_seconds", "The certificate's not-after time.", "name")
	notBeforeDesc   = gaugeDesc("certificate_not_before_timestamp_seconds", "The certificate's not-before time.", "name")
	renewalDesc     = gaugeDesc("certificate_renewal_timestamp_seconds", "When the certificate is renewed (the CA's ARI time, or by lifetime).", "name")
	readyDesc       = gaugeDesc("certificate_ready_status", "1 when the name has a valid, unexpired certificate that the proxy serves.", "name")
	failuresDesc    = gaugeDesc("certificate_failures", "Consecutive failed attempts.", "name")
	nextAttemptDesc = gaugeDesc("certificate_next_attempt_timestamp_seconds", "When the next attempt comes after failures (0: none planned).", "name")
	pausedDesc      = gaugeDesc("certificate_paused", "1 when the CA paused the name.", "name")
	deferredDesc    = gaugeDesc("certificate_deferred_until_timestamp_seconds", "When an order the rate limits deferred is booked, by the limit that decided it.", "name", "limit")
	tokensDesc      = gaugeDesc("ratelimit_tokens_left", "Tokens left in a rate-limit bucket that is not full.", "bucket", "limit")
	fullDesc        = gaugeDesc("ratelimit_full_timestamp_seconds", "When a rate-limit bucket is full again.", "bucket", "limit")
)

func (c Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{expirationDesc, notBeforeDesc, renewalDesc, readyDesc, failuresDesc, nextAttemptDesc,
		pausedDesc, deferredDesc, tokensDesc, fullDesc} {
		ch <- d
	}
}

func (c Collector) Collect(ch chan<- prometheus.Metric) {
	report, err := Load(c.store, c.cfg, c.now(), c.cache)
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
		ready := 0.0
		if (n.State == StateValid || n.State == StateRenewing) && report.GeneratedAt.Before(n.NotAfter) && !c.verdicts.NotServed(n.Name) {
			ready = 1
		}
		gauge(readyDesc, ready, n.Name)
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
	}
}
