package uploader

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/proxyapi"
)

func TestAfterUpload(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	lookup := &proxyapi.StatusError{Op: "upload", Code: http.StatusBadRequest, Message: "Could not perform DNS lookup for tasks.proxy."}
	other := errors.New("connection refused")
	off := Distribution{OffUntil: now.Add(-time.Minute)} // was off, retry time reached
	cases := []struct {
		name        string
		d           Distribution
		distributed bool
		err         error
		want        Distribution
		change      DistributionChange
	}{
		{"distributed upload works", Distribution{}, true, nil, Distribution{}, DistributionSame},
		{"DFP cannot distribute: off for an hour", Distribution{}, true, lookup, Distribution{OffUntil: now.Add(time.Hour)}, DistributionOff},
		{"retried after the hour and still refused: off again", off, true, lookup, Distribution{OffUntil: now.Add(time.Hour)}, DistributionOff},
		{"retried after the hour and it works: back", off, true, nil, Distribution{}, DistributionBack},
		{"another failure leaves distribution alone", Distribution{}, true, other, Distribution{}, DistributionSame},
		{"an undistributed upload says nothing about distribution", off, false, nil, off, DistributionSame},
		{"an undistributed upload's failure neither", Distribution{}, false, lookup, Distribution{}, DistributionSame},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, change := AfterUpload(c.d, c.distributed, c.err, now, time.Hour)
			if !got.OffUntil.Equal(c.want.OffUntil) || change != c.change {
				t.Fatalf("AfterUpload = %v, %v; want %v, %v", got, change, c.want, c.change)
			}
		})
	}
	if (Distribution{OffUntil: now.Add(time.Second)}).Use(now) || !(Distribution{OffUntil: now}).Use(now) || !(Distribution{}).Use(now) {
		t.Error("Use: distribution is off strictly before OffUntil and on from it")
	}
}
