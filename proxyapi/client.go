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
)

const (
	apiPrefix = "/v1/docker-flow-proxy"
	// maxBody caps what is read from DFP: GET /certs carries every PEM it holds.
	maxBody = 32 << 20
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
	base *url.URL
	http *http.Client
}

// New returns a client for base (scheme://host:port), with a per-request timeout.
func New(base *url.URL, timeout time.Duration) *Client {
	return &Client{base: base, http: &http.Client{Timeout: timeout}}
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

// Certs returns the certificate files DFP holds.
func (c *Client) Certs(ctx context.Context) ([]Cert, error) {
	body, err := c.do(ctx, "list certificates", http.MethodGet, "/certs", nil, nil)
	if err != nil {
		return nil, err
	}
	var r response
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("list certificates: decode: %w", err)
	}
	return r.Certs, nil
}

func (c *Client) do(ctx context.Context, op, method, path string, query url.Values, body []byte) ([]byte, error) {
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
		return nil, fmt.Errorf("%s: %w: %w", op, ErrUnreachable, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: read body: %w", op, ErrUnreachable, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &StatusError{Op: op, Code: resp.StatusCode, Message: errorMessage(data)}
	}
	return data, nil
}

// errorMessage takes the Message of DFP's JSON envelope, or the start of a non-JSON body.
// Content-Type is not consulted: DFP loses it on several routes.
func errorMessage(body []byte) string {
	var r response
	if json.Unmarshal(body, &r) == nil && r.Message != "" {
		return r.Message
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
