package dfpstub

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"testing"
)

// The embedded fixture is the capture from a real DFP, traps included: it must keep showing what
// the rules in proxyapi's package documentation say (a wildcard as ".x", a host:port domain kept
// as written, the companion without a domain, clear-text Users).
func TestEmbeddedFixtureKeepsDFPsTraps(t *testing.T) {
	for _, want := range []string{`".wild.test"`, `"api.multi.test:8443"`, `"ServiceDomain": []`, `"Users":`, `"ServiceName": "letsencrypt-companion"`} {
		if !bytes.Contains(Fixture, []byte(want)) {
			t.Errorf("test/dfpstub/testdata/config.json no longer holds %s, which the capture showed", want)
		}
	}
	var services map[string]json.RawMessage // an object keyed by service name, not an array
	if err := json.Unmarshal(Fixture, &services); err != nil || len(services) < 5 {
		t.Fatalf("the fixture is not DFP's object of services: %d services, %v", len(services), err)
	}
}

// A service registered through the stand-in's reconfigure looks exactly as DFP showed it.
func TestReconfigureRendersTheCapturedShape(t *testing.T) {
	s, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp, err := http.Get(s.URL() + "/v1/docker-flow-proxy/reconfigure?serviceName=late&serviceDomain=late.test&port=9001&outboundHostname=127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" || resp.StatusCode != 200 {
		t.Fatalf("reconfigure answered %d %q, DFP answers 200 text/plain", resp.StatusCode, ct)
	}
	got := getJSON(t, s.URL()+"/v1/docker-flow-proxy/config?type=json")["late"]
	var capture map[string]any
	if err := json.Unmarshal(Fixture, &capture); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, capture["late"]) {
		t.Errorf("registered service differs from the capture:\n got %v\nwant %v", got, capture["late"])
	}
}

func TestRestartEmptiesServicesAndCertsNeedNoValidation(t *testing.T) {
	s, err := New(Fixture)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	req, _ := http.NewRequest(http.MethodPut, s.URL()+"/v1/docker-flow-proxy/cert?certName=x.pem", bytes.NewReader([]byte("not a pem")))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !reflect.DeepEqual(s.Poisoned(), []string{"x.pem"}) {
		t.Fatalf("a bad PEM gave %d and poisoned %v; DFP answers 200 and is poisoned", resp.StatusCode, s.Poisoned())
	}
	s.Restart(false)
	resp, err = http.Get(s.URL() + "/v1/docker-flow-proxy/config?type=json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(bytes.TrimSpace(body)) != "{}" {
		t.Fatalf("after restart config is %s, want {}", body)
	}
}

func getJSON(t *testing.T, url string) map[string]any {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}
