package limits

import (
	"testing"

	"github.com/dfp-letsencrypt/provisioner/messages"
)

func TestMarginShrinksCapacityAndRefill(t *testing.T) {
	m := Production.WithMargin(0.1)
	exact, _ := m.Named(messages.LimitCertificatesPerExactSet)
	orders, _ := m.Named(messages.LimitNewOrders)
	if exact.Capacity != 4 || orders.Capacity != 270 {
		t.Fatalf("margin capacities = %d, %d; want 4, 270", exact.Capacity, orders.Capacity)
	}
	caExact, _ := Production.Named(messages.LimitCertificatesPerExactSet)
	if exact.Interval() <= caExact.Interval() {
		t.Fatalf("margin refill every %s, the CA's every %s: want slower", exact.Interval(), caExact.Interval())
	}
	if tiny := (Table{{Name: "x", Capacity: 1, Window: 1}}).WithMargin(0.5); tiny[0].Capacity != 1 {
		t.Fatalf("a one-token bucket shrank to %d", tiny[0].Capacity)
	}
}

func TestTableNamed(t *testing.T) {
	for name, want := range map[string]int{"production": len(Production), "staging": len(Staging), "none": 0} {
		got, err := TableNamed(name)
		if err != nil || len(got) != want {
			t.Errorf("TableNamed(%q) = %d limits, %v; want %d", name, len(got), err, want)
		}
	}
	if _, err := TableNamed("bogus"); err == nil {
		t.Error("an unknown table was accepted")
	}
}

// Every key BucketKey builds is read back to its limit, whatever the scope and the name.
func TestBucketKeysRoundTrip(t *testing.T) {
	for _, lim := range Production {
		for _, name := range []string{"a.example.com", "*.example.co.uk", "x|y.test"} {
			k := BucketKey(lim, name)
			if got := LimitOfKey(k); got != lim.Name {
				t.Errorf("LimitOfKey(%q) = %q, want %q", k, got, lim.Name)
			}
		}
	}
	perDomain, _ := Production.Named(messages.LimitCertificatesPerDomain)
	if a, b := BucketKey(perDomain, "*.shop.example.co.uk"), BucketKey(perDomain, "www.example.co.uk"); a != b {
		t.Errorf("a wildcard and a name of one registered domain in different buckets: %q, %q", a, b)
	}
}
