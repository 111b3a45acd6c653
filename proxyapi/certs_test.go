package proxyapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// GET /certs is decoded as a stream, one certificate at a time, whatever the envelope around the
// list; a list cut short is an error, never a shorter list, and fn can stop the stream.
func TestEachCertStreamsTheList(t *testing.T) {
	cases := []struct {
		name, body string
		want       []string // file names handed over, in order
		wantErr    bool
	}{
		{"DFP's answer", `{"Status":"OK","Message":"","Certs":[{"ProxyServiceName":"a.pem","CertsDir":"/certs","CertContent":"A"},{"ProxyServiceName":"b.pem","CertContent":"B"}]}`, []string{"a.pem", "b.pem"}, false},
		{"fields after the list", `{"Certs":[{"ProxyServiceName":"a.pem"}],"Status":"OK","Extra":{"x":[1,2]}}`, []string{"a.pem"}, false},
		{"keys in another case, as encoding/json reads them", `{"certs":[{"proxyServiceName":"a.pem"}]}`, []string{"a.pem"}, false},
		{"no certificate", `{"Status":"OK","Certs":null}`, nil, false},
		{"cut short", `{"Status":"OK","Certs":[{"ProxyServiceName":"a.pem"},{"ProxyServi`, []string{"a.pem"}, true},
		{"not an object", `[]`, nil, true},
		{"Certs not a list", `{"Certs":"a.pem"}`, nil, true},
		{"empty body", ``, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			client := clientFor(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(c.body)) })
			var got []string
			err := client.EachCert(context.Background(), func(cert Cert) error {
				got = append(got, cert.ProxyServiceName)
				return nil
			})
			if (err != nil) != c.wantErr || strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("handed %v, error %v; want %v, error %v", got, err, c.want, c.wantErr)
			}
		})
	}
	client := clientFor(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"Certs":[{"ProxyServiceName":"a.pem"},{"ProxyServiceName":"b.pem"}]}`))
	})
	stop := errors.New("enough")
	seen := 0
	if err := client.EachCert(context.Background(), func(Cert) error { seen++; return stop }); !errors.Is(err, stop) || seen != 1 {
		t.Errorf("fn's error: %v after %d certificates, want it back after 1", err, seen)
	}
	exact := `{"Certs":[]}`
	client = clientFor(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(exact)) })
	if err := client.LimitBody(len(exact)).EachCert(context.Background(), func(Cert) error { return nil }); err != nil {
		t.Errorf("a body exactly at the limit: %v", err)
	}
}
