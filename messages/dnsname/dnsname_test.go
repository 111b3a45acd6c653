package dnsname

import (
	"errors"
	"testing"
)

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
		if got := FromFileStem(stem); got != name {
			t.Errorf("FromFileStem(%q) = %q, want %q", stem, got, name)
		}
	}
}

func TestNormalise(t *testing.T) {
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
		got, err := Normalise(c.in)
		if c.wantErr != nil {
			if !errors.Is(err, c.wantErr) {
				t.Errorf("Normalise(%q) error = %v, want %v", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Normalise(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}
