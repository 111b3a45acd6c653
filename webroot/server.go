package webroot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// PathPrefix is where ACME HTTP-01 validators ask for tokens (RFC 8555 section 8.3).
const PathPrefix = "/.well-known/acme-challenge/"

// maxTokenLen bounds a token; Let's Encrypt's are 43 characters, RFC 8555 asks for at least 128 bits.
const maxTokenLen = 256

// Handler answers GET and HEAD for known tokens under PathPrefix, for any Host, and 404 for
// everything else. DFP routes every host's challenge path here, and redirected hosts arrive with
// the primary host's name, so the Host header is deliberately ignored.
func Handler(tokens Answers) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		token, ok := strings.CutPrefix(r.URL.Path, PathPrefix)
		if !ok || !ValidToken(token) {
			http.NotFound(w, r)
			return
		}
		var keyAuth string
		if c, withContext := tokens.(contextAnswers); withContext {
			keyAuth, ok = c.GetContext(r.Context(), token) // a read elsewhere ends with the request
		} else {
			keyAuth, ok = tokens.Get(token)
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(keyAuth))
	})
}

// ValidToken reports whether token is made only of base64url characters (RFC 8555 section 8.1),
// which also rules out path separators, dots and anything a path traversal would need.
func ValidToken(token string) bool {
	if token == "" || len(token) > maxTokenLen {
		return false
	}
	for _, c := range token {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// Server is the responder's HTTP server with limits suited to a port that faces the Internet.
type Server struct {
	srv      *http.Server
	listener net.Listener
	limit    *connLimit
	done     chan error
}

// Listen binds addr and starts serving tokens in the background, with at most maxConns
// connections open (see connLimit) and idle keep-alives closed after 5 s.
func Listen(addr string, tokens Answers, logger *slog.Logger) (*Server, error) {
	return listen(addr, tokens, logger, maxConns)
}

func listen(addr string, tokens Answers, logger *slog.Logger, max int) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("challenge responder: listen on %s: %w", addr, err)
	}
	limit := newConnLimit(max)
	s := &Server{
		listener: ln,
		limit:    limit,
		done:     make(chan error, 1),
		srv: &http.Server{
			Handler:           Handler(tokens),
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      10 * time.Second,
			IdleTimeout:       5 * time.Second, // the CA's validators make one request each
			MaxHeaderBytes:    8 << 10,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
			ConnState:         limit.track,
		},
	}
	go func() {
		err := s.srv.Serve(limitedListener{Listener: ln, limit: limit})
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return s, nil
}

// Addr is the address the responder listens on.
func (s *Server) Addr() net.Addr { return s.listener.Addr() }

// Shutdown stops accepting connections and waits for requests in flight, up to ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("challenge responder: shutdown: %w", err)
	}
	return <-s.done
}
