package issuer

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
)

// errStoppedAfterAlreadyReplaced ends an order that lego would otherwise send again without
// "replaces" after a 409 alreadyReplaced. That retry would count against the rate limits although
// the permit was granted for an exempt ARI renewal; the certificate actor orders again instead,
// through the limiter.
var errStoppedAfterAlreadyReplaced = errors.New("stopped lego's retry without replaces after 409 alreadyReplaced")

// replacesGuard is the transport of one order that names a certificate in "replaces".
type replacesGuard struct {
	next    http.RoundTripper
	tripped atomic.Bool
}

func (g *replacesGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if g.tripped.Load() {
		return nil, errStoppedAfterAlreadyReplaced
	}
	resp, err := g.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusConflict {
		return resp, err
	}
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if readErr == nil && strings.Contains(string(body), "alreadyReplaced") {
		g.tripped.Store(true)
	}
	return resp, nil
}
