package test

import (
	"math"
	"net/http"
	"reflect"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/app"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/forecast"
	readmodel "github.com/dfp-letsencrypt/provisioner/cmd/provisioner/status"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/test/testca"
)

// scrape reads /metrics and parses it with Prometheus's own text parser.
func scrape(t *testing.T, w *World) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + w.Env["METRICS_ADDR"] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics is not Prometheus text: %v", err)
	}
	return families
}

// value is the metric of family whose labels include want, and whether there is one.
func value(families map[string]*dto.MetricFamily, family string, want map[string]string) (float64, bool) {
	f := families[family]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		for k, v := range want {
			found := false
			for _, l := range m.Label {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		}
	}
	return 0, false
}

// /metrics agrees with what DFP serves and with the log: each certificate's expiry, the dead name's
// failures and next attempt; the counters count orders and ACME requests.
func TestMetricsAgreeWithTheServedCertificatesAndTheLog(t *testing.T) {
	t.Parallel()
	w := newWorldWith(t, testca.Options{Unresolvable: []string{"dead.test"}})
	w.Env["DOMAINS"] = "dead.test"
	w.Env["PREFLIGHT"] = "false" // let the dead name reach the CA and fail there
	r := w.start(t)
	want := certFiles(fixtureNames)
	// Ready means seen served: each upload's serve check comes a few seconds after it.
	waitFor(t, "every name uploaded and seen served, and the dead one failed", 90*time.Second, r, func() bool {
		return reflect.DeepEqual(w.DFP.CertNames(), want) && len(r.logs.Events(event.CertificateServed)) >= len(fixtureNames) &&
			len(r.logs.Events(event.IssuanceFailed)) == 1
	})
	families := scrape(t, w)
	for _, name := range fixtureNames {
		pem, _ := w.DFP.Cert(name + ".pem")
		b, err := bundle.Parse(pem)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := value(families, "dfp_letsencrypt_certificate_expiration_timestamp_seconds", map[string]string{"name": name})
		if !ok || math.Abs(got-float64(b.Leaf.NotAfter.Unix())) > 1 {
			t.Errorf("%s: expiration metric %v (present %v), served certificate expires %d", name, got, ok, b.Leaf.NotAfter.Unix())
		}
		if ready, _ := value(families, "dfp_letsencrypt_certificate_ready_status", map[string]string{"name": name}); ready != 1 {
			t.Errorf("%s: ready %v, want 1", name, ready)
		}
	}
	failed := r.logs.Events(event.IssuanceFailed)[0]
	failures, _ := value(families, "dfp_letsencrypt_certificate_failures", map[string]string{"name": "dead.test"})
	next, _ := value(families, "dfp_letsencrypt_certificate_next_attempt_timestamp_seconds", map[string]string{"name": "dead.test"})
	retryAt := logTime(t, failed, "retry_at")
	if failures != failed["failures"].(float64) || math.Abs(next-float64(retryAt.UnixNano())/1e9) > 1 {
		t.Errorf("dead.test: failures %v next %v; the log says %v and %s", failures, next, failed["failures"], retryAt)
	}
	if ready, ok := value(families, "dfp_letsencrypt_certificate_ready_status", map[string]string{"name": "dead.test"}); !ok || ready != 0 {
		t.Errorf("dead.test: ready %v (present %v), want 0", ready, ok)
	}
	if n, _ := value(families, "dfp_letsencrypt_orders_total", map[string]string{"outcome": "issued"}); n < float64(len(fixtureNames)) {
		t.Errorf("orders_total{outcome=issued} = %v, want at least %d", n, len(fixtureNames))
	}
	if n, _ := value(families, "dfp_letsencrypt_ledger_writes_total", nil); n < 1 {
		t.Errorf("ledger_writes_total = %v; every permit granted wrote the ledger", n)
	}
	if n, _ := value(families, "dfp_letsencrypt_http_acme_client_request_count", map[string]string{"path": "new_order", "method": "POST"}); n < 1 {
		t.Errorf("no new_order request counted")
	}
	if _, ok := value(families, "dfp_letsencrypt_ratelimit_tokens_left", map[string]string{"limit": "new_orders_per_account"}); !ok {
		t.Errorf("no tokens_left for the account's new-orders bucket")
	}
	if families["go_goroutines"] == nil || families["process_resident_memory_bytes"] == nil {
		t.Errorf("the Go runtime and process collectors are missing")
	}
	checkAlertRules(t, families)
}

// A name the rate limits hold back shows the limit and its time, the same in /metrics and in
// "provisioner status".
func TestDeferredNameShowsItsLimitInMetricsAndStatus(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	onlyDomains(w, "held.test")
	w.Env["RATE_LIMITS"] = "production"
	w.CA.RateLimitNextOrders(1, time.Hour)
	r := w.start(t)
	waitFor(t, "the CA's refusal", 30*time.Second, r, func() bool { return len(r.logs.Events(event.RateLimited)) == 1 })
	if err := store.RequestRetry(w.Env["DATA_DIR"], "held.test"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deferral", 30*time.Second, r, func() bool { return len(r.logs.Events(event.IssuanceDeferred)) == 1 })
	deferred := r.logs.Events(event.IssuanceDeferred)[0]
	until, ok := value(scrape(t, w), "dfp_letsencrypt_certificate_deferred_until_timestamp_seconds",
		map[string]string{"name": "held.test", "limit": deferred["limit"].(string)})
	if !ok || math.Abs(until-float64(logTime(t, deferred, "retry_at").UnixNano())/1e9) > 1 {
		t.Errorf("deferred_until %v (present %v); the log says %v by %v", until, ok, deferred["retry_at"], deferred["limit"])
	}
	cfg, err := config.Load(w.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	report, err := app.LoadStatus(cfg, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Names) != 1 || report.Names[0].State != readmodel.StateDeferred || report.Names[0].Limit != deferred["limit"] ||
		math.Abs(float64(report.Names[0].DeferredUntil.UnixNano())/1e9-until) > 1 {
		t.Errorf("status = %+v, metrics say deferred until %v by %v", report.Names, until, deferred["limit"])
	}
	// The plan, from the same store, orders it when the limiter said, for the same limit.
	_, p, err := app.LoadPlan(cfg, forecast.Options{Days: 2}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Pending) != 1 || p.Pending[0].Name != "held.test" || p.Pending[0].WaitsFor != messages.Limit(deferred["limit"].(string)) ||
		math.Abs(float64(p.Pending[0].At.UnixNano())/1e9-until) > 1 {
		t.Errorf("plan = %+v, metrics say deferred until %v by %v", p.Pending, until, deferred["limit"])
	}
}
