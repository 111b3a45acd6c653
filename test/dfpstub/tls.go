package dfpstub

import (
	"crypto/tls"
	"errors"
	"net"
	"strings"
)

// TLSFrontend stands in for HAProxy's port 443: it presents, by SNI, the certificate among the
// stand-in's /certs files that covers the name, else the alphabetically first loadable file (as
// HAProxy's crt-list makes it the default), and refuses the handshake when it has none.
type TLSFrontend struct {
	listener net.Listener
}

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
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
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
			go func() {
				_ = conn.(*tls.Conn).Handshake()
				conn.Close()
			}()
		}
	}()
	return f, nil
}

// Addr is where the TLS frontend listens.
func (f *TLSFrontend) Addr() string { return f.listener.Addr().String() }

// Close stops it.
func (f *TLSFrontend) Close() { _ = f.listener.Close() }
