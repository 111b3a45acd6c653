package config

import "strings"

// Variables is every variable the service reads, in the order the README's configuration table
// lists them: the names (a row may group a few that go together), the default as shown, and what it
// means. The README's table is this table (config_test.go keeps them equal); Load reads no variable
// that is not here.
var Variables = []Variable{
	{Names: []string{"PROXY_ADDRESS"}, Default: "(required)", Doc: "DFP's API: `host`, `host:port` or an `http(s)://` URL. A bare host gets port 8080."},
	{Names: []string{"CERTBOT_EMAIL"}, Default: "(none; a warning)", Doc: "contact address of the ACME account"},
	{Names: []string{"STAGING"}, Default: "`true`", Doc: "`false` selects Let's Encrypt production; anything but `true`/`false` is an error"},
	{Names: []string{"ACME_DIRECTORY"}, Default: "from `STAGING`", Doc: "any RFC 8555 directory URL (https); overrides `STAGING`"},
	{Names: []string{"LEGO_CA_CERTIFICATES"}, Default: "(system roots)", Doc: "extra PEM roots for the CA's HTTPS, paths joined by `:` (lego's variable)"},
	{Names: []string{"LEGO_CA_SYSTEM_CERT_POOL"}, Default: "`false`", Doc: "with the above, also trust the system roots (lego's variable); `true` or `false` only"},
	{Names: []string{"CA_ROOTS_FILE"}, Default: "(system roots)", Doc: "PEM file of the roots the CA's certificates chain to (set it for staging or a private CA); a certificate found in DFP that does not chain to them is never recovered or kept"},
	{Names: []string{"DATA_DIR"}, Default: "`/etc/letsencrypt`", Doc: "where certificates, account and state live with `STORE=file`; mount a volume here. With `STORE=etcd` only `provisioner migrate` reads it."},
	{Names: []string{"STORE"}, Default: "`file`", Doc: "`file` (`DATA_DIR`, one replica) or `etcd` (everything in etcd, several replicas; see Several replicas on etcd)"},
	{Names: []string{"ETCD_ENDPOINTS"}, Default: "(required with `STORE=etcd`)", Doc: "comma list of `host:port` or `http(s)://host:port` of the etcd members"},
	{Names: []string{"ETCD_PREFIX"}, Default: "`/dfp-letsencrypt`", Doc: "the key prefix everything is kept under (several installations can share one etcd)"},
	{Names: []string{"ETCD_CA_FILE", "ETCD_CERT_FILE", "ETCD_KEY_FILE"}, Default: "(none)", Doc: "client TLS: the CA that signed etcd's certificate, and a client certificate and key (both or neither); TLS is on when an endpoint is `https://` or a CA file is given"},
	{Names: []string{"ETCD_USERNAME", "ETCD_PASSWORD"}, Default: "(none)", Doc: "etcd's own authentication, both or neither; the password also as `ETCD_PASSWORD_FILE` (a Docker secret)"},
	{Names: []string{"ETCD_LEASE_TTL"}, Default: "`10s`", Doc: "how long a dead leader's term lasts before another replica leads (whole seconds, 2s to 5m); a shorter one fails over faster and lapses sooner when etcd is slow"},
	{Names: []string{"CHALLENGE_ADDR"}, Default: "`:80`", Doc: "listen address of the HTTP-01 responder"},
	{Names: []string{"DOMAINS"}, Default: "(none)", Doc: "extra names to manage that DFP cannot list (e.g. behind `hdr_dom(host)`), comma list; a wildcard (`*.example.com`) needs `DNS_PROVIDER`"},
	{Names: []string{"EXCLUDE_DOMAINS"}, Default: "(none)", Doc: "names never to manage, comma list; `*.example.com` excludes the subdomains. Spaces, case and literal quotes are tolerated."},
	{Names: []string{"DISCOVERY_INTERVAL"}, Default: "`30s`", Doc: "how often DFP's service list is read (at least `1s`)"},
	{Names: []string{"KEY_TYPE"}, Default: "`ec256`", Doc: "certificate key: `ec256`, `ec384`, `rsa2048`, `rsa3072`, `rsa4096`"},
	{Names: []string{"ORDER_CONCURRENCY"}, Default: "`8`", Doc: "ACME orders in flight at once (1 to 64)"},
	{Names: []string{"RATE_LIMITS"}, Default: "`production` for Let's Encrypt, `staging` for its staging, `none` for any other CA", Doc: "which limits to keep to: `production`, `staging` or `none` (the tables describe Let's Encrypt's; see Other CAs)"},
	{Names: []string{"RATE_LIMIT_MARGIN"}, Default: "`0.1`", Doc: "fraction of every limit kept in reserve (0 to 0.9): capacity and refill rate both shrink by it"},
	{Names: []string{"PREFLIGHT"}, Default: "`true`", Doc: "before ordering, check for free that the name's CAA records let the CA issue (RFC 8659, with RFC 8657's `accounturi` and `validationmethods`), that it resolves and that a probe token comes back: first the CA's way (from each resolved address, port 80, the name as Host, redirects followed), and through the proxy when those addresses cannot be reached from here (hairpin NAT)"},
	{Names: []string{"PREFLIGHT_ADDR"}, Default: "proxy host, port 80", Doc: "`host:port` where the probe asks for `/.well-known/acme-challenge/<probe>` with the name as Host"},
	{Names: []string{"PREFLIGHT_HTTP_PORT"}, Default: "`80`", Doc: "the port the CA connects to on the name's addresses; only test CAs (Pebble) use another"},
	{Names: []string{"PREFLIGHT_RESOLVER"}, Default: "(system resolver)", Doc: "`host:port` of a DNS server for the pre-flight's lookups, addresses and CAA (asked over TCP)"},
	{Names: []string{"SERVE_CHECK"}, Default: "`true`", Doc: "after each upload, check on the proxy's TLS port (by SNI) that HAProxy serves the new certificate"},
	{Names: []string{"SERVE_CHECK_ADDR"}, Default: "proxy host, port 443", Doc: "`host:port` of that check"},
	{Names: []string{"PREFERRED_CHAIN"}, Default: "(the CA's default)", Doc: "when the CA offers alternate chains, take the one whose top certificate is issued by this common name (lego's `--preferred-chain`, e.g. `ISRG Root X1`); a name no chain matches keeps the default, as lego does"},
	{Names: []string{"DNS_PROVIDER"}, Default: "(none: HTTP-01 only)", Doc: "a lego DNS provider code (`cloudflare`, `route53`, `ovh`, `rfc2136`, `httpreq`, `exec`, ... every provider lego v4.34 has), configured by that provider's own variables exactly as lego's documentation lists them, `_FILE` variants included; turns on wildcards and `DNS01_DOMAINS` (see DNS-01 and wildcards). Missing or wrong provider variables stop the start naming `DNS_PROVIDER`."},
	{Names: []string{"DNS01_DOMAINS"}, Default: "(none)", Doc: "names validated by DNS-01 instead of HTTP-01 (hosts the CA cannot reach on port 80), patterns as in `EXCLUDE_DOMAINS`; needs `DNS_PROVIDER`"},
	{Names: []string{"DNS_RESOLVERS"}, Default: "(the system's)", Doc: "comma list of `host[:port]` that lego asks for the zone and to see the record propagate (lego's `--dns.resolvers`); the DNS pre-flight asks them too"},
	{Names: []string{"DNS_PROPAGATION_TIMEOUT"}, Default: "(the provider's own, e.g. `CLOUDFLARE_PROPAGATION_TIMEOUT`)", Doc: "how long to wait for the record to propagate before the order fails (1s to 24h)"},
	{Names: []string{"DNS_PROPAGATION_WAIT"}, Default: "(none: check)", Doc: "a fixed wait instead of checking propagation (lego's `--dns.propagation-wait`)"},
	{Names: []string{"DNS_PROPAGATION_DISABLE_ANS"}, Default: "`false`", Doc: "`true` skips the check against the zone's authoritative servers (lego's `--dns.propagation-disable-ans`; for DNS servers that answer no SOA, as test servers); cannot be combined with `DNS_PROPAGATION_WAIT`"},
	{Names: []string{"ACME_EAB_KID", "ACME_EAB_HMAC"}, Default: "(none)", Doc: "External Account Binding for CAs that require it (ZeroSSL, Google Trust Services, Sectigo, most corporate ACME servers): the key ID and the base64url HMAC key, as the CA shows them. Each also as `_FILE` (a Docker secret). Both or neither."},
	{Names: []string{"ACME_PROFILE"}, Default: "(the CA's default)", Doc: "ACME profile to order, e.g. `classic`, `tlsserver`, `shortlived`; checked against the directory's `meta.profiles`"},
	{Names: []string{"RENEW_INTERVAL"}, Default: "`12h`", Doc: "sweep that re-checks every certificate (each also keeps its own timer); the first sweep comes at a random offset"},
	{Names: []string{"RECONCILE_INTERVAL"}, Default: "`5m`", Doc: "how often DFP's `GET /certs` is compared with the store"},
	{Names: []string{"MAX_NAMES"}, Default: "`5000`", Doc: "the most names managed at once; the rest wait, with one `max_names_reached` warning (a DFP that suddenly lists ten times its names does not start ten times the orders)"},
	{Names: []string{"REMOVED_GRACE"}, Default: "`7d`", Doc: "how long a name may be absent from DFP's (non-empty) service list before it is no longer renewed"},
	{Names: []string{"METRICS_ADDR"}, Default: "`:9102`", Doc: "the internal HTTP port, never routed through DFP: `/notify/create` and `/notify/remove` for docker-flow-swarm-listener (add them to its `DF_NOTIFY_*_SERVICE_URL`, see the stack); `/healthz` (200 when the supervisor and the rate limiter answer a ping within a second and the responder accepts connections; the image's `HEALTHCHECK` asks it through `provisioner health`) and `/readyz` (200 when DFP answered within the last three `DISCOVERY_INTERVAL`s), each with a JSON body saying what failed. A standby answers `/healthz` 200 and `/readyz` 503. `off` disables the port (`provisioner health` then asks the responder's port); polling stays either way."},
	{Names: []string{"PPROF"}, Default: "`false`", Doc: "`true` serves Go's profiles under `/debug/pprof/` on `METRICS_ADDR` (heap, goroutines, a CPU profile of up to 9 s), for a performance report; they show the code's paths, never certificate or key bytes"},
	{Names: []string{"GOGC", "GOMEMLIMIT"}, Default: "`50`, unset", Doc: "Go's own collector settings, honoured as set; without `GOGC` the service collects at 50 (half Go's default growth), which keeps its idle memory near what it holds (see Performance)"},
	{Names: []string{"NOTIFY_TOKEN"}, Default: "(none; a warning)", Doc: "a shared secret (16+ characters, also as `NOTIFY_TOKEN_FILE`) the internal port's `/notify/*`, `/status` and `/retry-now` then require as `?token=`: put it in the listener's URLs (see the stack)"},
	{Names: []string{"ALERT_WEBHOOK_URL"}, Default: "(none)", Doc: "a JSON POST when a name enters trouble (`expiring`, `paused`, `failing`, `not_served`, `spaced`) and when it recovers, once per change; its `text` field makes it a Slack, Mattermost or Rocket.Chat incoming-webhook message as it is (see Monitoring)"},
	{Names: []string{"ALERT_AFTER_FAILURES"}, Default: "`3`", Doc: "failures in a row after which a name counts as `failing` for alerts (1 to 100)"},
	{Names: []string{"SHUTDOWN_TIMEOUT"}, Default: "`8s`", Doc: "the longest a stop takes (SIGTERM to exit): orders in flight get until shortly before it to store their certificate, then are abandoned (recorded in their state; the booking is kept for the next start). Keep it under the stack's `stop_grace_period` (Docker's default is 10 s)."},
	{Names: []string{"LOG_FORMAT"}, Default: "`json`", Doc: "`json` or `text`"},
	{Names: []string{"LOG_LEVEL"}, Default: "`info`", Doc: "`debug`, `info`, `warn`, `error`"},
}

// Variable is one row of the configuration table.
type Variable struct {
	Names   []string // one, or a few that are set together
	Default string   // as the README shows it, in Markdown
	Doc     string   // one line, in Markdown
}

// Row is the variable's row in the README's configuration table.
func (v Variable) Row() string {
	names := make([]string, len(v.Names))
	for i, n := range v.Names {
		names[i] = "`" + n + "`"
	}
	return "| " + strings.Join(names, ", ") + " | " + v.Default + " | " + v.Doc + " |"
}
