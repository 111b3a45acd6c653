package proxyapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

func clientFor(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	return clientWithin(t, 2*time.Second, h)
}

// clientWithin is clientFor with another request timeout.
func clientWithin(t *testing.T, timeout time.Duration, h http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return New(u, timeout)
}

func TestServicesParsesJSONWhateverTheContentType(t *testing.T) {
	c := clientFor(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/docker-flow-proxy/config" || r.URL.Query().Get("type") != "json" {
			t.Errorf("asked %s", r.URL)
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(`{"web":{"ServiceName":"web","ServiceDest":[{"ServiceDomain":["a.test"],"ReqMode":"http"}]}}`))
	})
	got, err := c.Services(context.Background())
	if err != nil || got["web"].ServiceDest[0].ServiceDomain[0] != "a.test" {
		t.Fatalf("Services = %+v, %v", got, err)
	}
}

func TestBadAnswersAreErrorsNotCrashes(t *testing.T) {
	cases := map[string]http.HandlerFunc{
		"html instead of JSON": func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<html>")) },
		"an array":             func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`[{"ServiceName":"x"}]`)) },
		"truncated":            func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"web":{"ServiceDest":[`)) },
		"500":                  func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", 500) },
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := clientFor(t, h).Services(context.Background()); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestPutCertErrors(t *testing.T) {
	c := clientFor(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || r.URL.Query().Get("certName") != "a.test.pem" || r.URL.Query().Get("distribute") != "true" {
			t.Errorf("asked %s %s", r.Method, r.URL)
		}
		w.WriteHeader(http.StatusBadRequest) // no Content-Type, as DFP's cert errors
		_, _ = w.Write([]byte(`{"Status":"NOK","Message":"Could not perform DNS lookup for tasks.proxy. If the proxy is not called 'proxy', you must set SERVICE_NAME=<name-of-the-proxy> on the proxy service.","Certs":null}`))
	})
	err := c.PutCert(context.Background(), "a.test.pem", []byte("pem"), true)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 400 || !IsDistributeLookupFailure(err) {
		t.Fatalf("error = %v, want a 400 StatusError recognised as the distribute lookup failure", err)
	}

	down := New(&url.URL{Scheme: "http", Host: "127.0.0.1:1"}, time.Second)
	if err := down.PutCert(context.Background(), "a.test.pem", []byte("pem"), false); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("unreachable DFP gave %v", err)
	}
}
