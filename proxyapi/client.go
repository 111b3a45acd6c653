package proxyapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

const (
	apiPrefix = "/v1/docker-flow-proxy"
	// DefaultMaxBody caps what is read from DFP: GET /certs carries every PEM it holds (about
	// 3.5 KB per name). See LimitBody.
	DefaultMaxBody = 32 << 20
)

// ErrUnreachable wraps transport failures: DFP is down, restarting or not resolvable.
var ErrUnreachable = errors.New("docker flow proxy unreachable")

// StatusError is a non-2xx answer from DFP, with the Message of its JSON body when there is one.
type StatusError struct {
	Op      string
	Code    int
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: docker flow proxy answered %d: %s", e.Op, e.Code, e.Message)
}

// IsDistributeLookupFailure reports whether err is DFP's answer to distribute=true outside Swarm
// (it cannot resolve tasks.<SERVICE_NAME>), after which an upload without distribution makes sense.
func IsDistributeLookupFailure(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == http.StatusBadRequest &&
		strings.Contains(se.Message, "Could not perform DNS lookup")
}

// Client talks to one DFP address.
type Client struct {
	base    *url.URL
	http    *http.Client
	maxBody int
}

// LimitBody sets the largest answer read from DFP, in bytes; past it an answer is an error, never
// a short list. The service sizes it to MAX_NAMES.
func (c *Client) LimitBody(n int) *Client {
	c.maxBody = n
	return c
}

// New returns a client for base (scheme://host:port), with a per-request timeout.
func New(base *url.URL, timeout time.Duration) *Client {
	return NewWithTransport(base, timeout, nil)
}

// NewWithTransport is New with the transport requests go through (nil: Transport()).
func NewWithTransport(base *url.URL, timeout time.Duration, transport http.RoundTripper) *Client {
	if transport == nil {
		transport = Transport()
	}
	return &Client{base: base, maxBody: DefaultMaxBody, http: &http.Client{
		Timeout:   timeout,
		Transport: transport,
		// A redirect would turn an upload into a GET elsewhere (302) or send the private key to
		// another host (307). DFP never redirects; an answer that does is an error.
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			return fmt.Errorf("docker flow proxy redirected to %s; redirects are not followed", event.PeerText(req.URL.Redacted()))
		},
	}}
}

// Transport is DFP's transport: direct, never through HTTP_PROXY. DFP is on the overlay network,
// and an outbound proxy would see every private key uploaded.
func Transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	return t
}

// Services returns the services DFP holds, keyed by service name. An empty map is normal right
// after a DFP restart and must never be read as "every domain was removed".
func (c *Client) Services(ctx context.Context) (map[string]Service, error) {
	body, err := c.do(ctx, "list services", http.MethodGet, "/config", url.Values{"type": {"json"}}, nil)
	if err != nil {
		return nil, err
	}
	services := map[string]Service{}
	if err := json.Unmarshal(body, &services); err != nil {
		return nil, fmt.Errorf("list services: decode config?type=json: %w", err)
	}
	return services, nil
}

// PutCert uploads pem as /certs/<certName>. DFP writes whatever it gets and answers 200 even when
// HAProxy cannot load it, so the caller must have validated pem first.
func (c *Client) PutCert(ctx context.Context, certName string, pem []byte, distribute bool) error {
	q := url.Values{"certName": {certName}, "distribute": {fmt.Sprint(distribute)}}
	_, err := c.do(ctx, "upload "+certName, http.MethodPut, "/cert", q, pem)
	return err
}

func (c *Client) do(ctx context.Context, op, method, path string, query url.Values, body []byte) ([]byte, error) {
	resp, err := c.send(ctx, op, method, path, query, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := c.readAll(op, resp.Body)
	if err != nil {
		return nil, err
	}
	return data, nil
}

// send makes the request and returns a 2xx answer, whose body the caller reads and closes; any
// other answer is a StatusError, a transport failure ErrUnreachable.
func (c *Client) send(ctx context.Context, op, method, path string, query url.Values, body []byte) (*http.Response, error) {
	u := c.base.JoinPath(apiPrefix, path)
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var redirect *url.Error
		if errors.As(err, &redirect) && resp != nil { // CheckRedirect refused: an answer, not an outage
			resp.Body.Close()
			return nil, &StatusError{Op: op, Code: resp.StatusCode, Message: event.PeerText(redirect.Err.Error())}
		}
		return nil, fmt.Errorf("%s: %w: %w", op, ErrUnreachable, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		data, err := c.readAll(op, resp.Body)
		if err != nil {
			return nil, err
		}
		return nil, &StatusError{Op: op, Code: resp.StatusCode, Message: errorMessage(data)}
	}
	return resp, nil
}

// readAll reads a body up to the limit. One byte over it tells a body that was cut from one that
// fits: a cut list of certificates read as complete would look like certificates DFP lost.
func (c *Client) readAll(op string, body io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(body, int64(c.maxBody)+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: read body: %w", op, ErrUnreachable, err)
	}
	if len(data) > c.maxBody {
		return nil, c.tooLarge(op)
	}
	return data, nil
}

func (c *Client) tooLarge(op string) error {
	return fmt.Errorf("%s: docker flow proxy's answer is larger than %d MiB; not read", op, c.maxBody>>20)
}

// errorMessage takes the Message of DFP's JSON envelope, or the start of a non-JSON body.
// Content-Type is not consulted: DFP loses it on several routes.
func errorMessage(body []byte) string {
	var r response
	if json.Unmarshal(body, &r) == nil && r.Message != "" {
		return event.PeerText(r.Message)
	}
	return event.PeerText(strings.TrimSpace(string(body)))
}
