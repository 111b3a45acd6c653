package uploader

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/proxyapi"
)

func TestAfterListFailure(t *testing.T) {
	down := fmt.Errorf("list certificates: %w: connection refused", proxyapi.ErrUnreachable)
	garbage := errors.New("list certificates: decode: unexpected end of JSON input")
	cases := []struct {
		name       string
		err        error
		unverified bool
		failures   int
		want       ListFailure
		wait       time.Duration
	}{
		{"DFP down, stored certificates waiting: soon", down, true, 1, CompareSoon, time.Second},
		{"down again: the backoff doubles", down, true, 3, CompareSoon, 4 * time.Second},
		{"down for long: capped", down, true, 30, CompareSoon, time.Minute},
		{"DFP answers garbage, stored certificates waiting: upload them", garbage, true, 1, UploadUncompared, 5 * time.Minute},
		{"nothing waiting: the next interval", down, false, 1, NextInterval, 5 * time.Minute},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, wait := AfterListFailure(c.err, c.unverified, c.failures, time.Second, time.Minute, 5*time.Minute)
			if got != c.want || wait != c.wait {
				t.Fatalf("AfterListFailure = %v, %s; want %v, %s", got, wait, c.want, c.wait)
			}
		})
	}
}
