package dfpstub

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// TLSFrontend stands in for HAProxy's port 443: it presents, by SNI, the certificate among the
// files HAProxy loaded that covers the name, else the alphabetically first loadable file (as
// HAProxy's crt-list makes it the default). With none loaded it answers plain HTTP, as DFP's
// HAProxy does when it binds 443 without "ssl" because /certs is empty (after a restart without
// its volume): a client's handshake fails.
type TLSFrontend struct {
	listener net.Listener
	accepted atomic.Int64
	in, out  atomic.Int64

	mu     sync.Mutex
	parsed map[string]parsedCert // by file name: HAProxy parses a file once per reload, not per handshake
}

type parsedCert struct {
	pem  []byte
	cert *tls.Certificate // nil: not loadable
}

// certificate is the file's certificate, parsed once per content.
func (f *TLSFrontend) certificate(name string, pem []byte) *tls.Certificate {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p, ok := f.parsed[name]; ok && bytes.Equal(p.pem, pem) {
		return p.cert
	}
	var cert *tls.Certificate
	if c, err := tls.X509KeyPair(pem, pem); err == nil {
		cert = &c
	}
	f.parsed[name] = parsedCert{pem: pem, cert: cert}
	return cert
}

// Accepted is how many connections the frontend has taken.
func (f *TLSFrontend) Accepted() int64 { return f.accepted.Load() }

// Bytes is how many bytes clients sent the frontend (in) and it sent them (out).
func (f *TLSFrontend) Bytes() (in, out int64) { return f.in.Load(), f.out.Load() }

// counted counts a connection's bytes into its frontend's totals.
type counted struct {
	net.Conn
	f *TLSFrontend
}

func (c counted) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.f.in.Add(int64(n))
	return n, err
}

func (c counted) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.f.out.Add(int64(n))
	return n, err
}

// StartTLSFrontend serves s's certificates on a loopback port.
func (s *Stub) StartTLSFrontend() (*TLSFrontend, error) {
	f := &TLSFrontend{parsed: map[string]parsedCert{}}
	cfg := &tls.Config{GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		var first *tls.Certificate
		loaded := s.Loaded()
		for _, name := range sortedKeys(loaded) {
			c := f.certificate(name, loaded[name])
			if c == nil {
				continue // HAProxy would not have loaded it either
			}
			if first == nil {
				first = c
			}
			if c.Leaf != nil && c.Leaf.VerifyHostname(strings.ToLower(hello.ServerName)) == nil {
				return c, nil
			}
		}
		if first == nil {
			return nil, errors.New("no certificate loaded")
		}
		return first, nil
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f.listener = ln
	go func() {
		for {
			raw, err := ln.Accept()
			if err != nil {
				return
			}
			f.accepted.Add(1)
			conn := counted{Conn: raw, f: f}
			go func() {
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				if len(s.Loaded()) == 0 {
					// HAProxy without ssl reads the ClientHello as a bad HTTP request.
					_, _ = conn.Write([]byte("HTTP/1.1 400 Bad request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
					return
				}
				_ = tls.Server(conn, cfg).Handshake()
			}()
		}
	}()
	return f, nil
}

// Addr is where the TLS frontend listens.
func (f *TLSFrontend) Addr() string { return f.listener.Addr().String() }

// Close stops it.
func (f *TLSFrontend) Close() { _ = f.listener.Close() }
