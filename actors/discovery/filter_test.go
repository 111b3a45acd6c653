package discovery

import (
	"reflect"
	"testing"

	"github.com/dfp-letsencrypt/provisioner/messages/dnsname"
)

func TestMergeAppliesExclusionsAndExtras(t *testing.T) {
	ex := dnsname.NewPatterns([]string{"skip.example.com", "*.internal.example.com"})
	names, excluded := Merge(
		[]string{"www.example.com", "skip.example.com", "a.internal.example.com", "internal.example.com"},
		[]string{"extra.example.org", "www.example.com"},
		ex)
	wantNames := []string{"extra.example.org", "internal.example.com", "www.example.com"}
	wantExcluded := []string{"a.internal.example.com", "skip.example.com"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("names = %v, want %v", names, wantNames)
	}
	if !reflect.DeepEqual(excluded, wantExcluded) {
		t.Errorf("excluded = %v, want %v", excluded, wantExcluded)
	}
}

func TestAfterPollReconcilesWhenDFPComesBackOrRestarts(t *testing.T) {
	cases := []struct {
		name      string
		prev      DFPState
		ok        bool
		services  int
		want      DFPState
		reconcile string
	}{
		{"first poll, services listed", DFPState{}, true, 3, DFPState{PolledOK: true}, ""},
		{"first poll, DFP empty (just started): nothing to compare yet", DFPState{}, true, 0, DFPState{Empty: true, PolledOK: true}, ""},
		{"services as before", DFPState{PolledOK: true}, true, 3, DFPState{PolledOK: true}, ""},
		{"services gone: DFP restarted", DFPState{PolledOK: true}, true, 0, DFPState{Empty: true, PolledOK: true}, "dfp_restarted"},
		{"still empty: said once already", DFPState{Empty: true, PolledOK: true}, true, 0, DFPState{Empty: true, PolledOK: true}, ""},
		{"unreachable", DFPState{PolledOK: true}, false, 0, DFPState{Failing: true, PolledOK: true}, ""},
		{"unreachable again", DFPState{Failing: true, PolledOK: true}, false, 0, DFPState{Failing: true, PolledOK: true}, ""},
		{"back after an outage", DFPState{Failing: true, PolledOK: true}, true, 3, DFPState{PolledOK: true}, "dfp_reachable_again"},
		{"back after an outage, and empty", DFPState{Failing: true, PolledOK: true}, true, 0, DFPState{Empty: true, PolledOK: true}, "dfp_reachable_again"},
		{"reachable for the first time after failing from the start", DFPState{Failing: true}, true, 2, DFPState{PolledOK: true}, "dfp_reachable_again"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, reconcile := AfterPoll(c.prev, c.ok, c.services)
			if got != c.want || reconcile != c.reconcile {
				t.Fatalf("AfterPoll = %+v, %q; want %+v, %q", got, reconcile, c.want, c.reconcile)
			}
			// Only a successful poll that lists services may remove names.
			if want := c.ok && c.services > 0; got.Authoritative() != want {
				t.Fatalf("Authoritative = %v after ok=%v with %d services, want %v", got.Authoritative(), c.ok, c.services, want)
			}
		})
	}
}
