package certificate

import (
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/proxyapi"
	"github.com/dfp-letsencrypt/provisioner/test/certgen"
)

func TestAdoptable(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	ca, err := certgen.NewCA("adopt")
	if err != nil {
		t.Fatal(err)
	}
	bundle := func(name string, notBefore time.Time) *proxyapi.Bundle {
		pem, err := ca.Bundle([]string{name}, notBefore, notBefore.Add(90*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		b, err := proxyapi.ParseBundle(pem)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	fresh := bundle("a.test", now.Add(-24*time.Hour))
	cases := []struct {
		name   string
		b      *proxyapi.Bundle
		fromCA bool
		ok     bool
	}{
		{"fresh, from the CA", fresh, true, true},
		{"from another CA", fresh, false, false},
		{"for another name", bundle("b.test", now.Add(-24*time.Hour)), true, false},
		{"inside its renewal time", bundle("a.test", now.Add(-80*24*time.Hour)), true, false},
		{"expired", bundle("a.test", now.Add(-100*24*time.Hour)), true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := Adoptable("a.test", c.b, now, c.fromCA); (err == nil) != c.ok {
				t.Fatalf("Adoptable = %v, want ok %v", err, c.ok)
			}
		})
	}
}
