package certificate

import (
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/test/certgen"
	"github.com/dfp-letsencrypt/provisioner/test/testkit"
)

func TestAdoptable(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	ca, err := certgen.NewCA("adopt")
	if err != nil {
		t.Fatal(err)
	}
	issued := func(name string, notBefore time.Time) *bundle.Bundle {
		return testkit.Bundle(t, ca, []string{name}, notBefore, notBefore.Add(90*24*time.Hour))
	}
	fresh := issued("a.test", now.Add(-24*time.Hour))
	cases := []struct {
		name   string
		b      *bundle.Bundle
		fromCA bool
		ok     bool
	}{
		{"fresh, from the CA", fresh, true, true},
		{"from another CA", fresh, false, false},
		{"for another name", issued("b.test", now.Add(-24*time.Hour)), true, false},
		{"inside its renewal time", issued("a.test", now.Add(-80*24*time.Hour)), true, false},
		{"expired", issued("a.test", now.Add(-100*24*time.Hour)), true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := Adoptable("a.test", c.b, now, c.fromCA); (err == nil) != c.ok {
				t.Fatalf("Adoptable = %v, want ok %v", err, c.ok)
			}
		})
	}
}
