package proxyapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A redirect is never followed: a 302 would turn the upload into a GET elsewhere that "succeeds",
// a 307 would send the private key to another host.
func TestRedirectsAreErrorsAndNeverFollowed(t *testing.T) {
	for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			var elsewhere atomic.Int32
			other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere.Add(1) }))
			defer other.Close()
			c := clientFor(t, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.URL+"/steal", code)
			})
			err := c.PutCert(context.Background(), "a.test.pem", []byte("-----BEGIN PRIVATE KEY-----"), true)
			var se *StatusError
			if !errors.As(err, &se) || se.Code != code || !strings.Contains(err.Error(), "/steal") {
				t.Fatalf("error = %v, want a %d StatusError naming the Location", err, code)
			}
			if errors.Is(err, ErrUnreachable) {
				t.Errorf("a redirect is an answer, not an outage: %v", err)
			}
			if n := elsewhere.Load(); n != 0 {
				t.Fatalf("the redirect was followed %d times", n)
			}
		})
	}
}

// DFP is on the overlay network; HTTP_PROXY (which the CA's traffic may need) would see every
// private key. Go reads the proxy variables once per process, so the transport itself is checked.
func TestDFPTrafficIgnoresHTTPProxy(t *testing.T) {
	c := New(&url.URL{Scheme: "http", Host: "proxy:8080"}, time.Second)
	tr, ok := c.http.Transport.(*http.Transport)
	if !ok || tr.Proxy != nil {
		t.Fatalf("DFP client transport = %T with Proxy set: %v; want a direct *http.Transport", c.http.Transport, ok)
	}
}

func TestHugeErrorTextIsCut(t *testing.T) {
	huge := strings.Repeat("x", 5<<20)
	c := clientFor(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"Status":"NOK","Message":"` + huge + `"}`))
	})
	_, err := c.Services(context.Background())
	if err == nil || len(err.Error()) > 1000 {
		t.Fatalf("error has %d bytes, want an error of at most a few hundred", len(err.Error()))
	}
}

// A list of certificates cut at the read limit would read as "DFP lost the rest".
func TestCertsLargerThanTheLimitFailLoudly(t *testing.T) {
	// The list is decoded as it arrives, and a 32 MiB string takes the race detector seconds.
	c := clientWithin(t, time.Minute, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"Status":"OK","Certs":[{"ProxyServiceName":"a.pem","CertContent":"`))
		_, _ = w.Write([]byte(strings.Repeat("A", DefaultMaxBody)))
		_, _ = w.Write([]byte(`"}]}`))
	})
	certs, err := c.Certs(context.Background())
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("Certs = %d certificates, %v; want an error saying the answer is too large", len(certs), err)
	}
}

// LimitBody moves the limit both ways: a service with many names reads a longer list.
func TestLimitBodyMovesTheLimit(t *testing.T) {
	c := clientFor(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"Status":"OK","Certs":[{"ProxyServiceName":"a.pem","CertContent":"`))
		_, _ = w.Write([]byte(strings.Repeat("A", 2<<20)))
		_, _ = w.Write([]byte(`"}]}`))
	})
	if _, err := c.LimitBody(1 << 20).Certs(context.Background()); err == nil || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Errorf("a 2 MiB list under a 1 MiB limit: %v, want an error", err)
	}
	if certs, err := c.LimitBody(4 << 20).Certs(context.Background()); err != nil || len(certs) != 1 {
		t.Errorf("a 2 MiB list under a 4 MiB limit: %d certificates, %v", len(certs), err)
	}
}
