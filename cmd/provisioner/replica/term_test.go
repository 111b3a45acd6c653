package replica

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/test/testkit"
)

func TestAfterTerm(t *testing.T) {
	tests := []struct {
		name             string
		lapsed, stopping bool
		want             TermEnd
	}{
		{"the session lapsed under a running replica", true, false, CampaignAgain},
		{"the session lapsed while stopping", true, true, HandOver},
		{"stopped while leading", false, true, HandOver},
		{"lead failed on its own (a refused account)", false, false, HandOver},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AfterTerm(tt.lapsed, tt.stopping); got != tt.want {
				t.Errorf("AfterTerm(%v, %v) = %d, want %d", tt.lapsed, tt.stopping, got, tt.want)
			}
		})
	}
}

// A request in flight when the term ends is cut short at once, not left to finish: a replica that
// no longer leads must not complete an upload or an order.
func TestWhileLeadingCutsShortRequestsInFlight(t *testing.T) {
	srv := testkit.HangingServer(t)
	term := make(chan struct{})
	client := &http.Client{Transport: WhileLeading(term, http.DefaultTransport)}
	errs := make(chan error, 1)
	go func() {
		resp, err := client.Get(srv.URL)
		if err == nil {
			resp.Body.Close()
		}
		errs <- err
	}()
	time.Sleep(100 * time.Millisecond) // the request is in flight
	close(term)
	select {
	case err := <-errs:
		if !errors.Is(err, errTermEnded) {
			t.Fatalf("the request in flight ended with %v, want errTermEnded", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a request in flight went on after the term ended")
	}
	if _, err := client.Get(srv.URL); !errors.Is(err, errNotLeading) {
		t.Fatalf("a request after the term = %v, want errNotLeading", err)
	}
}
