package proxyapi

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
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
	if len(ex.Skipped) != 1 || ex.Skipped[0].Host != ".wild.test" || !errors.Is(ex.Skipped[0].Reason, ErrWildcard) {
		t.Errorf("skipped = %+v, want only .wild.test as a wildcard", ex.Skipped)
	}
	// With DNS-01, DFP's mangled ".wild.test" is the wildcard it was registered as.
	ex = ExtractNames(services, true)
	if want := append([]string{"*.wild.test"}, want...); !reflect.DeepEqual(ex.Names, want) || len(ex.Skipped) != 0 {
		t.Errorf("with wildcards: names = %v, skipped = %+v; want %v and none skipped", ex.Names, ex.Skipped, want)
	}
}

func TestNormaliseHostWithWildcards(t *testing.T) {
	cases := []struct {
		in        string
		wildcards bool
		want      string
		wantErr   error
	}{
		{"*.Wild.Test", true, "*.wild.test", nil},
		{".wild.test", true, "*.wild.test", nil},
		{"*.bücher.example", true, "*.xn--bcher-kva.example", nil},
		{"plain.test", true, "plain.test", nil},
		{"*.wild.test", false, "", ErrWildcard},
		{".wild.test", false, "", ErrWildcard},
		{"*.test", true, "", ErrSingleLabel},
		{"*.*.wild.test", true, "", ErrWildcard},
		{"a.*.wild.test", true, "", ErrMalformed},
		{"*.10.0.0.1", true, "", ErrIPAddress},
		{"*.localhost", true, "", ErrLocalhost},
		{"*./etc/x", true, "", ErrMalformed},
	}
	for _, c := range cases {
		got, err := NormaliseHost(c.in, c.wildcards)
		if got != c.want || !errors.Is(err, c.wantErr) {
			t.Errorf("NormaliseHost(%q, %v) = %q, %v; want %q, %v", c.in, c.wildcards, got, err, c.want, c.wantErr)
		}
	}
}

func TestFileStemRoundTrips(t *testing.T) {
	for name, stem := range map[string]string{"*.wild.test": "_wildcard.wild.test", "www.example.test": "www.example.test"} {
		if got := FileStem(name); got != stem {
			t.Errorf("FileStem(%q) = %q, want %q", name, got, stem)
		}
		if got := NameFromFileStem(stem); got != name {
			t.Errorf("NameFromFileStem(%q) = %q, want %q", stem, got, name)
		}
	}
}

func TestExtractNamesLeavesOutTCPAndSNI(t *testing.T) {
	services := map[string]Service{
		"db":  {ServiceDest: []ServiceDest{{ServiceDomain: []string{"db.example.com"}, ReqMode: "tcp"}}},
		"sni": {ServiceDest: []ServiceDest{{ServiceDomain: []string{"sni.example.com"}, ReqMode: "sni"}}},
		"web": {ServiceDest: []ServiceDest{{ServiceDomain: []string{"Web.Example.com", "web.example.com:443"}, ReqMode: "http"}}},
	}
	ex := ExtractNames(services, true)
	if !reflect.DeepEqual(ex.Names, []string{"web.example.com"}) {
		t.Errorf("names = %v, want only web.example.com once", ex.Names)
	}
}

func TestExtractNamesOfEmptyProxy(t *testing.T) {
	ex := ExtractNames(map[string]Service{}, true)
	if len(ex.Names) != 0 || len(ex.Skipped) != 0 {
		t.Errorf("empty proxy gave %+v", ex)
	}
}

func TestNormaliseName(t *testing.T) {
	cases := []struct {
		in      string
		want    string
		wantErr error
	}{
		{"example.com", "example.com", nil},
		{"  WWW.Example.COM ", "www.example.com", nil},
		{"api.multi.test:8443", "api.multi.test", nil},
		{"example.com.", "example.com", nil},
		{"bücher.example", "xn--bcher-kva.example", nil},
		{"*.wild.test", "", ErrWildcard},
		{".wild.test", "", ErrWildcard},
		{"10.0.0.1", "", ErrIPAddress},
		{"[::1]:80", "", ErrIPAddress},
		{"::1", "", ErrIPAddress},
		{"intranet", "", ErrSingleLabel},
		{"localhost", "", ErrLocalhost},
		{"app.localhost", "", ErrLocalhost},
		{"", "", ErrMalformed},
		{"bad_name.example.com", "", ErrMalformed},
		{"-lead.example.com", "", ErrMalformed},
		{"a..b.com", "", ErrMalformed},
		{"example.com:http", "", ErrMalformed},
		{"1.2.3.256", "", ErrMalformed},
		{"../etc/passwd", "", ErrWildcard},
		{"a/b.example.com", "", ErrMalformed},
	}
	for _, c := range cases {
		got, err := NormaliseName(c.in)
		if c.wantErr != nil {
			if !errors.Is(err, c.wantErr) {
				t.Errorf("NormaliseName(%q) error = %v, want %v", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("NormaliseName(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}
