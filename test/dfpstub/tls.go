package dfpstub

import (
	"crypto/tls"
	"errors"
	"net"
	"strings"
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
}

// Accepted is how many connections the frontend has taken.
func (f *TLSFrontend) Accepted() int64 { return f.accepted.Load() }

// StartTLSFrontend serves s's certificates on a loopback port.
func (s *Stub) StartTLSFrontend() (*TLSFrontend, error) {
	cfg := &tls.Config{GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		var first *tls.Certificate
		loaded := s.Loaded()
		for _, name := range sortedKeys(loaded) {
			pem := loaded[name]
			c, err := tls.X509KeyPair(pem, pem)
			if err != nil {
				continue // HAProxy would not have loaded it either
			}
			if first == nil {
				first = &c
			}
			if c.Leaf != nil && c.Leaf.VerifyHostname(strings.ToLower(hello.ServerName)) == nil {
				return &c, nil
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
	f := &TLSFrontend{listener: ln}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			f.accepted.Add(1)
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
