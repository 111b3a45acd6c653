package proxyapi

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/dfp-letsencrypt/provisioner/messages/dnsname"
)

func TestExtractNamesFromCapturedFixture(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "test", "dfpstub", "testdata", "config.json"))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	var services map[string]Service
	if err := json.Unmarshal(data, &services); err != nil {
		t.Fatalf("decode fixture: %v", err)
	}
	ex := ExtractNames(services, false)
	want := []string{
		"a.multi.test", "api.multi.test", "b.multi.test", "dsvc.test", "example.test",
		"late.test", "old.multi.test", "www.example.test",
	}
	if !reflect.DeepEqual(ex.Names, want) {
		t.Errorf("names = %v, want %v", ex.Names, want)
	}
	if len(ex.Skipped) != 1 || ex.Skipped[0].Host != ".wild.test" || !errors.Is(ex.Skipped[0].Reason, dnsname.ErrWildcard) {
		t.Errorf("skipped = %+v, want only .wild.test as a wildcard", ex.Skipped)
	}
	// With DNS-01, DFP's mangled ".wild.test" is the wildcard it was registered as.
	ex = ExtractNames(services, true)
	if want := append([]string{"*.wild.test"}, want...); !reflect.DeepEqual(ex.Names, want) || len(ex.Skipped) != 0 {
		t.Errorf("with wildcards: names = %v, skipped = %+v; want %v and none skipped", ex.Names, ex.Skipped, want)
	}
}

func TestExtractNamesSkipsTCPAndSNIHosts(t *testing.T) {
	services := map[string]Service{
		"db":  {ServiceDest: []ServiceDest{{ServiceDomain: []string{"db.example.com"}, ReqMode: "tcp"}}},
		"sni": {ServiceDest: []ServiceDest{{ServiceDomain: []string{"sni.example.com"}, ReqMode: "sni"}}},
		"web": {ServiceDest: []ServiceDest{{ServiceDomain: []string{"Web.Example.com", "web.example.com:443"}, ReqMode: "http"}}},
	}
	ex := ExtractNames(services, true)
	if !reflect.DeepEqual(ex.Names, []string{"web.example.com"}) {
		t.Errorf("names = %v, want only web.example.com once", ex.Names)
	}
	// Each tcp or sni host is said once, as skipped on purpose.
	var skipped []string
	for _, s := range ex.Skipped {
		if !errors.Is(s.Reason, ErrTerminatesTLS) {
			t.Errorf("%s skipped for %v, want ErrTerminatesTLS", s.Host, s.Reason)
		}
		skipped = append(skipped, s.Service+":"+s.Host)
	}
	if !reflect.DeepEqual(skipped, []string{"db:db.example.com", "sni:sni.example.com"}) {
		t.Errorf("skipped = %v, want the tcp and the sni host", skipped)
	}
}

func TestExtractNamesOfEmptyProxy(t *testing.T) {
	ex := ExtractNames(map[string]Service{}, true)
	if len(ex.Names) != 0 || len(ex.Skipped) != 0 {
		t.Errorf("empty proxy gave %+v", ex)
	}
}
