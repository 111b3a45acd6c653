package issuer

import (
	"context"
	"io"
	"net/http"
	"time"
)

// withDeadline bounds each request, its body included, as http.Client.Timeout does. Client.Timeout
// itself starts a goroutine per request for any transport but net/http's own (ours counts and
// times requests), and that goroutine lives until the body is closed: lego leaves some bodies
// open, so a bulk issuance kept two goroutines per order for the two minutes of the timeout.
// Here a deadline context ends at the body's end or close, with no goroutine.
type withDeadline struct {
	next    http.RoundTripper
	timeout time.Duration
}

func (t withDeadline) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(r.Context(), t.timeout)
	resp, err := t.next.RoundTrip(r.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelAtEnd{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelAtEnd releases the request's deadline once its body is read to the end or closed.
type cancelAtEnd struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelAtEnd) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.cancel()
	}
	return n, err
}

func (b *cancelAtEnd) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
