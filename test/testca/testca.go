// Package testca runs Let's Encrypt's test CA, Pebble, inside the test process: its web front end
// over TLS on loopback, its validation authority, and a tiny DNS server that resolves every name to
// 127.0.0.1, so HTTP-01 challenges reach the provisioner's responder with no network and no Docker.
// The DNS server answers TXT records from challtestsrv, Let's Encrypt's challenge test server (its
// record store, used as a library), for DNS-01.
package testca

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/letsencrypt/challtestsrv"
	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"
)

// Options shape the CA.
type Options struct {
	// ChallengePort is the port Pebble's validator connects to for HTTP-01 (Let's Encrypt uses 80).
	ChallengePort int
	// Validity of issued certificates, in seconds; 0 means Pebble's default (90 days).
	ValiditySeconds uint64
	// Log receives Pebble's own log; nil discards it.
	Log io.Writer
	// Unresolvable names (and their subdomains) get no address, so their validation fails.
	Unresolvable []string
	// Addresses gives names (and their subdomains) another IPv4 address than 127.0.0.1.
	Addresses map[string]string
	// Profiles adds profiles (name -> validity in seconds) beside "default"; an order that names
	// none gets a random one, so tests that add profiles set ACME_PROFILE.
	Profiles map[string]uint64
	// ReuseAuthorizations makes Pebble reuse an account's valid authorizations (as Let's Encrypt
	// does); otherwise every order validates again.
	ReuseAuthorizations bool
	// NoARI hides the renewalInfo endpoint from the directory: a CA without ARI.
	NoARI bool
	// ChallengeRetryAfter, when set, is the Retry-After of the answer to a challenge's POST. Pebble
	// and Let's Encrypt send none, so lego polls the authorization after about 5 s; benchmarks set
	// it to measure the clients rather than that wait.
	ChallengeRetryAfter time.Duration
	// AlternateRoots adds roots, each with its own chain to the same intermediate key: the CA offers
	// every certificate with alternate chains (Link rel="alternate"), as Let's Encrypt did with
	// its cross-signed root.
	AlternateRoots int
	// EAB, when set, makes Pebble require External Account Binding, with these key IDs and
	// base64url HMAC keys.
	EAB map[string]string
	// WindowsOpenNow answers every renewal-info request with a window open since an hour and
	// closing in a minute: a CA that wants each new certificate renewed at once, exempt from the
	// limits (a renewal loop's cause).
	WindowsOpenNow bool
	// OneRequestAtATime serializes Pebble's HTTP handlers. Under many concurrent orders Pebble's
	// in-memory store can deadlock (readers of its RWMutex never come back); the bulk command,
	// which runs dozens of orders at once, sets it.
	OneRequestAtATime bool
}

var startMu sync.Mutex

// CA is a running Pebble.
type CA struct {
	DirectoryURL string
	// Roots trusts the TLS certificate of the ACME endpoint (LEGO_CA_CERTIFICATES in production terms).
	Roots *x509.CertPool
	// TLSRootPEM is that certificate as PEM, for writing to a LEGO_CA_CERTIFICATES file.
	TLSRootPEM []byte

	// DNSAddr is the DNS server (TCP and UDP) that answers 127.0.0.1 for every resolvable name.
	DNSAddr string
	// Records holds the TXT and CAA records (and SERVFAIL names) the DNS server answers with: what a DNS
	// provider writes for DNS-01 lands here.
	Records *challtestsrv.ChallSrv

	ca     *ca.CAImpl
	server *httptest.Server
	dns    *dnsServer

	log           *log.Logger
	challengePort int
	orders        atomic.Int64
	finalizations atomic.Int64
	mu            sync.Mutex
	limitOrders   int           // how many of the next new-order requests are refused as rate limited
	retryAfter    time.Duration // the Retry-After those refusals carry

	challengeRetryAfter time.Duration
	serialize           bool
	serving             sync.Mutex // held around each request when serialize
}

// Start runs a CA whose single profile ("default") gives every certificate the same lifetime:
// with several profiles Pebble picks one at random per order.
func Start(opts Options) (*CA, error) {
	// Pebble reads its settings from the environment while it is built; tests that build CAs in
	// parallel take turns.
	startMu.Lock()
	defer startMu.Unlock()
	// No random validation sleeps, no rejected nonces.
	os.Setenv("PEBBLE_VA_NOSLEEP", "1")
	os.Setenv("PEBBLE_WFE_NONCEREJECT", "0")
	reuse := "0"
	if opts.ReuseAuthorizations {
		reuse = "100"
	}
	os.Setenv("PEBBLE_AUTHZREUSE", reuse)

	out := opts.Log
	if out == nil {
		out = discard{} // not io.Discard: log.Logger skips its lock for that, see limitingHandler
	}
	logger := log.New(out, "pebble ", log.LstdFlags)

	var err error
	c := &CA{log: logger, challengePort: opts.ChallengePort, challengeRetryAfter: opts.ChallengeRetryAfter, serialize: opts.OneRequestAtATime}
	if c.Records, err = newRecords(); err != nil {
		return nil, err
	}
	dnsAddr, dnsServer, err := startDNS(opts.Addresses, opts.Unresolvable, c.Records)
	if err != nil {
		return nil, err
	}
	c.dns = dnsServer
	store := db.NewMemoryStore()
	for kid, key := range opts.EAB {
		if err := store.AddExternalAccountKeyByID(kid, key); err != nil {
			return nil, fmt.Errorf("testca: EAB key %s: %w", kid, err)
		}
	}
	profiles := map[string]ca.Profile{"default": {Description: "the default profile", ValidityPeriod: opts.ValiditySeconds}}
	for name, validity := range opts.Profiles {
		profiles[name] = ca.Profile{Description: name, ValidityPeriod: validity}
	}
	c.ca = ca.New(logger, store, "", "ecdsa", opts.AlternateRoots, 1, profiles)
	validator := va.New(logger, opts.ChallengePort, 0, false, dnsAddr, store)
	front := wfe.New(logger, store, validator, c.ca, []string{"pebble.letsencrypt.org"}, false, len(opts.EAB) > 0, 1, 1)

	c.DNSAddr = dnsAddr
	handler := c.limitingHandler(front.Handler())
	if opts.NoARI {
		handler = withoutARI(handler)
	}
	if opts.WindowsOpenNow {
		handler = windowsOpenNow(handler)
	}
	c.server = httptest.NewUnstartedServer(handler)
	c.server.StartTLS()
	c.DirectoryURL = c.server.URL + wfe.DirectoryPath
	c.Roots = x509.NewCertPool()
	c.Roots.AddCert(c.server.Certificate())
	c.TLSRootPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.server.Certificate().Raw})
	return c, nil
}

// discard drops Pebble's log while keeping log.Logger's locking.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Pebble's new-order endpoint, and the prefix of its challenges' URLs.
const (
	newOrderPath  = "/order-plz"
	finalizePath  = "/finalize-order/"
	challengePath = "/chalZ/"
	// renewalInfoPath is where Pebble answers ARI.
	renewalInfoPath = "/draft-ietf-acme-ari-03/renewalInfo/"
)

// RateLimitNextOrders makes the next n new-order requests fail as Let's Encrypt's do when the
// new-orders limit is reached: 429, urn:ietf:params:acme:error:rateLimited, a Retry-After header
// and the time again in the detail.
func (c *CA) RateLimitNextOrders(n int, retryAfter time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.limitOrders, c.retryAfter = n, retryAfter
}

// RootNames are the common names of the CA's roots: the default chain's first, then the
// alternates'.
func (c *CA) RootNames() []string {
	names := make([]string, c.ca.GetNumberOfRootCerts())
	for i := range names {
		names[i] = c.ca.GetRootCert(i).Cert.Subject.CommonName
	}
	return names
}

// Orders counts the new-order requests Pebble itself received (rate-limited ones excluded).
func (c *CA) Orders() int64 { return c.orders.Load() }

// Finalizations counts the finalize requests Pebble received: the certificates asked for.
func (c *CA) Finalizations() int64 { return c.finalizations.Load() }

func (c *CA) limitingHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.challengeRetryAfter > 0 && r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, challengePath) {
			w.Header().Set("Retry-After", strconv.Itoa(int(c.challengeRetryAfter.Round(time.Second).Seconds())))
		}
		if r.Method == http.MethodPost && r.URL.Path == newOrderPath {
			// Pebble's finalize goroutine marks a replaced certificate without a lock the new-order
			// handler takes, then logs. Logging here too orders the two through the logger's mutex,
			// so the race detector sees what is, in time, already ordered.
			c.log.Print("new order")
			c.mu.Lock()
			limited, retryAfter := c.limitOrders > 0, c.retryAfter
			if limited {
				c.limitOrders--
			}
			c.mu.Unlock()
			if limited {
				secs := int(retryAfter.Round(time.Second).Seconds())
				at := time.Now().Add(retryAfter).UTC().Format("2006-01-02 15:04:05 UTC")
				w.Header().Set("Content-Type", "application/problem+json")
				w.Header().Set("Retry-After", strconv.Itoa(secs))
				w.WriteHeader(http.StatusTooManyRequests)
				fmt.Fprintf(w, `{"type":"urn:ietf:params:acme:error:rateLimited","status":429,"detail":"too many new orders (300) from this account in the last 3h0m0s, retry after %s"}`, at)
				return
			}
			c.orders.Add(1)
		}
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, finalizePath) {
			c.finalizations.Add(1)
		}
		if c.serialize {
			c.serving.Lock()
			defer c.serving.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

// windowsOpenNow answers renewal-info requests with a window from an hour ago to a minute ahead.
func windowsOpenNow(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, renewalInfoPath) {
			next.ServeHTTP(w, r)
			return
		}
		now := time.Now().UTC()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "21600")
		fmt.Fprintf(w, `{"suggestedWindow":{"start":%q,"end":%q}}`, now.Add(-time.Hour).Format(time.RFC3339), now.Add(time.Minute).Format(time.RFC3339))
	})
}

// withoutARI drops renewalInfo from the directory, so clients see a CA without ARI.
func withoutARI(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != wfe.DirectoryPath {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var dir map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &dir); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		delete(dir, "renewalInfo")
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		_ = json.NewEncoder(w).Encode(dir)
	})
}

// ChallengePort is the port the validator connects to for HTTP-01.
func (c *CA) ChallengePort() int { return c.challengePort }

// IssuerRoots is the pool of Pebble's issuing roots, to verify the chains it hands out.
func (c *CA) IssuerRoots() *x509.CertPool {
	pool := x509.NewCertPool()
	for i := 0; i < c.ca.GetNumberOfRootCerts(); i++ {
		pool.AddCert(c.ca.GetRootCert(i).Cert)
	}
	return pool
}

// IssuerRootsPEM is Pebble's issuing roots in PEM, as an operator would give them to the service.
func (c *CA) IssuerRootsPEM() []byte {
	var out []byte
	for i := 0; i < c.ca.GetNumberOfRootCerts(); i++ {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.ca.GetRootCert(i).Cert.Raw})...)
	}
	return out
}

// Close stops the CA.
func (c *CA) Close() {
	c.server.Close()
	_ = c.dns.Shutdown()
}

// StartDNS serves DNS over TCP and UDP on loopback: 127.0.0.1 for every name, except the names
// (and subdomains) in addresses, which get theirs, and those in unresolvable, which get none.
// Tests start a second one when the pre-flight must see other addresses than the CA (hairpin NAT).
func StartDNS(addresses map[string]string, unresolvable []string) (string, interface{ Shutdown() error }, error) {
	return startDNS(addresses, unresolvable, nil)
}

// newRecords is a challtestsrv used only as a record store: New wants an address for some
// server, and none is run (its DNS server registers with miekg/dns's global mux, which parallel
// tests would share).
func newRecords() (*challtestsrv.ChallSrv, error) {
	return challtestsrv.New(challtestsrv.Config{HTTPOneAddrs: []string{"127.0.0.1:0"}, Log: log.New(io.Discard, "", 0)})
}

// dnsServer is the TCP and the UDP server on one port.
type dnsServer struct{ tcp, udp *dns.Server }

func (s *dnsServer) Shutdown() error {
	return errors.Join(s.tcp.Shutdown(), s.udp.Shutdown())
}

// startDNS is StartDNS with TXT and CAA records and SERVFAIL names from records (nil: none). lego checks
// propagation over UDP, Pebble validates over TCP.
func startDNS(addresses map[string]string, unresolvable []string, records *challtestsrv.ChallSrv) (string, *dnsServer, error) {
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		for _, q := range req.Question {
			switch {
			case records != nil && records.GetDNSServFailRecord(q.Name):
				m.Rcode = dns.RcodeServerFailure
			case q.Qtype == dns.TypeTXT && records != nil:
				for _, v := range records.GetDNSTXTRecords(q.Name) {
					m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET}, Txt: []string{v}})
				}
			case q.Qtype == dns.TypeCAA && records != nil:
				for _, p := range records.GetDNSCAARecord(q.Name) {
					m.Answer = append(m.Answer, &dns.CAA{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeCAA, Class: dns.ClassINET}, Tag: p.Tag, Value: p.Value})
				}
			case q.Qtype == dns.TypeA && !matches(unresolvable, q.Name):
				ip := net.IPv4(127, 0, 0, 1)
				for name, addr := range addresses {
					if matches([]string{name}, q.Name) {
						ip = net.ParseIP(addr)
					}
				}
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 0}, A: ip})
			}
		}
		_ = w.WriteMsg(m)
	})
	for attempt := 0; ; attempt++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", nil, fmt.Errorf("testca: dns listen: %w", err)
		}
		pc, err := net.ListenPacket("udp", ln.Addr().String())
		if err != nil { // the port is taken for UDP: try another
			ln.Close()
			if attempt < 10 {
				continue
			}
			return "", nil, fmt.Errorf("testca: dns listen udp: %w", err)
		}
		s := &dnsServer{tcp: &dns.Server{Listener: ln, Net: "tcp", Handler: handler}, udp: &dns.Server{PacketConn: pc, Net: "udp", Handler: handler}}
		go func() { _ = s.tcp.ActivateAndServe() }()
		go func() { _ = s.udp.ActivateAndServe() }()
		return ln.Addr().String(), s, nil
	}
}

// Port returns the numeric port of a host:port address.
func Port(addr string) (int, error) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(p)
}

func matches(names []string, fqdn string) bool {
	name := strings.ToLower(strings.TrimSuffix(fqdn, "."))
	for _, n := range names {
		if name == n || strings.HasSuffix(name, "."+n) {
			return true
		}
	}
	return false
}
