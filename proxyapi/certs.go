package proxyapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Certs returns the certificate files DFP holds.
func (c *Client) Certs(ctx context.Context) ([]Cert, error) {
	var certs []Cert
	err := c.EachCert(ctx, func(cert Cert) error {
		certs = append(certs, cert)
		return nil
	})
	return certs, err
}

// EachCert streams GET /certs: fn gets each certificate file as it is decoded, so DFP's whole
// list (35 MB at 10,000 names) is never held. An error from fn stops the stream and is returned;
// so is a list cut short or over the body limit, after fn may have seen part of it.
func (c *Client) EachCert(ctx context.Context, fn func(Cert) error) error {
	const op = "list certificates"
	resp, err := c.send(ctx, op, http.MethodGet, "/certs", nil, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body := &limited{r: resp.Body, left: int64(c.maxBody)}
	err = decodeCerts(json.NewDecoder(body), fn)
	switch {
	case body.over:
		return c.tooLarge(op)
	case body.err != nil:
		return fmt.Errorf("%s: %w: read body: %w", op, ErrUnreachable, body.err)
	case err != nil:
		return fmt.Errorf("%s: decode: %w", op, err)
	}
	return nil
}

// decodeCerts walks DFP's envelope ({"Status": ..., "Certs": [...]}) and hands each entry of
// Certs to fn; the other fields are skipped. Keys match as encoding/json matches them, ignoring
// case.
func decodeCerts(dec *json.Decoder, fn func(Cert) error) error {
	if err := expect(dec, json.Delim('{')); err != nil {
		return err
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return err
		}
		if k, _ := key.(string); !strings.EqualFold(k, "Certs") {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
			continue
		}
		open, err := dec.Token()
		if err != nil {
			return err
		}
		if open == nil {
			continue // "Certs": null, as DFP sends with no certificate
		}
		if open != json.Delim('[') {
			return fmt.Errorf("Certs is %v, not a list", open)
		}
		for dec.More() {
			var cert Cert
			if err := dec.Decode(&cert); err != nil {
				return err
			}
			if err := fn(cert); err != nil {
				return err
			}
		}
		if err := expect(dec, json.Delim(']')); err != nil {
			return err
		}
	}
	return expect(dec, json.Delim('}'))
}

func expect(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != want {
		return fmt.Errorf("want %v, found %v", want, tok)
	}
	return nil
}

// limited reads at most left bytes of r and then says over, where io.LimitReader would end the
// stream quietly: a list cut at the limit must not read as a complete one.
type limited struct {
	r    io.Reader
	left int64
	over bool
	err  error // r's own error, other than io.EOF
}

func (l *limited) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte more tells a body that fits exactly from one that goes on.
		var one [1]byte
		if n, _ := io.ReadFull(l.r, one[:]); n > 0 {
			l.over = true
			return 0, errors.New("over the limit")
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		l.err = err
	}
	return n, err
}
