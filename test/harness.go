// Package test holds the end-to-end tests: a real Pebble CA, a DFP stand-in true to proxyapi's DFP rules,
// and the real service, all in one process on loopback.
package test

import (
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
)

// FreeLoopbackAddr returns a 127.0.0.1 address with a port that was free a moment ago. Pebble needs
// the responder's port before the responder starts, hence this. The port is below Linux's
// ephemeral range (32768 and up), where port-0 listeners and outgoing connections take theirs, and
// never handed out twice in a process: a port freed here and taken by another test's listener or
// connection before the service binds it failed the start ("address already in use").
func FreeLoopbackAddr() (string, error) {
	handedMu.Lock()
	defer handedMu.Unlock()
	for try := 0; try < 1000; try++ {
		port := 20000 + rand.IntN(12000)
		if handed[port] {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		handed[port] = true
		addr := ln.Addr().String()
		return addr, ln.Close()
	}
	return "", errors.New("no free loopback port below the ephemeral range")
}

var (
	handedMu sync.Mutex
	handed   = map[int]bool{}
)
