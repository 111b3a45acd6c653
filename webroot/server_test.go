package webroot

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const token = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"

func TestHandler(t *testing.T) {
	tokens := NewTokens()
	tokens.Put(token, token+".thumbprint")
	h := Handler(tokens)
	cases := []struct {
		name, method, target, host string
		wantCode                   int
		wantBody                   string
	}{
		{"known token, any host", http.MethodGet, PathPrefix + token, "whatever.example", 200, token + ".thumbprint"},
		{"HEAD", http.MethodHead, PathPrefix + token, "example.com", 200, ""},
		{"unknown token", http.MethodGet, PathPrefix + "nope", "example.com", 404, ""},
		{"POST", http.MethodPost, PathPrefix + token, "example.com", 405, ""},
		{"PUT", http.MethodPut, PathPrefix + token, "example.com", 405, ""},
		{"root", http.MethodGet, "/", "example.com", 404, ""},
		{"listing", http.MethodGet, PathPrefix, "example.com", 404, ""},
		{"traversal", http.MethodGet, PathPrefix + "..%2F..%2Fetc%2Fpasswd", "example.com", 404, ""},
		{"dotted", http.MethodGet, PathPrefix + token + ".json", "example.com", 404, ""},
		{"nested", http.MethodGet, PathPrefix + token + "/x", "example.com", 404, ""},
		{"too long", http.MethodGet, PathPrefix + strings.Repeat("a", 300), "example.com", 404, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(c.method, c.target, nil)
			req.Host = c.host
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != c.wantCode {
				t.Fatalf("code = %d, want %d", rec.Code, c.wantCode)
			}
			if c.wantBody != "" && rec.Body.String() != c.wantBody {
				t.Fatalf("body = %q, want %q", rec.Body.String(), c.wantBody)
			}
			if c.wantCode != 200 && strings.Contains(rec.Body.String(), "thumbprint") {
				t.Fatal("key authorisation leaked on a refused request")
			}
		})
	}
}

func TestTokensAreCountedAcrossOrders(t *testing.T) {
	tokens := NewTokens()
	p := Provider{Answers: tokens}
	if err := p.Present("a.example.com", token, "ka"); err != nil {
		t.Fatal(err)
	}
	_ = p.Present("b.example.com", token, "ka")
	_ = p.CleanUp("a.example.com", token, "ka")
	if _, ok := tokens.Get(token); !ok {
		t.Fatal("token withdrawn while another order still presents it")
	}
	_ = p.CleanUp("b.example.com", token, "ka")
	if tokens.Len() != 0 {
		t.Fatal("token left behind after the last clean-up")
	}
	if err := p.Present("a.example.com", "../../etc", "ka"); err == nil {
		t.Fatal("a token that is not base64url was accepted")
	}
}

func TestServerRefusesHugeHeaders(t *testing.T) {
	tokens := NewTokens()
	tokens.Put(token, "ka")
	srv, err := Listen("127.0.0.1:0", tokens, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(t.Context())
	url := "http://" + srv.Addr().String() + PathPrefix + token

	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ka" {
		t.Fatalf("normal request: %d %q", resp.StatusCode, body)
	}

	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("X-Big", strings.Repeat("x", 64<<10))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("64 KiB of headers answered %d, want 431", resp.StatusCode)
	}
}

// Clients that fill the responder with idle keep-alive connections hold at most its cap, and the
// CA's validation request is still answered: it takes an idle one's place.
func TestIdleConnectionsCannotCrowdOutTheCA(t *testing.T) {
	tokens := NewTokens()
	tokens.Put(token, "ka")
	const max = 20
	srv, err := listen("127.0.0.1:0", tokens, slog.New(slog.NewTextHandler(io.Discard, nil)), max)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(t.Context())
	request := "GET " + PathPrefix + token + " HTTP/1.1\r\nHost: a.example.com\r\n\r\n"
	var idle []net.Conn
	for i := 0; i < 3*max; i++ {
		c, err := net.Dial("tcp", srv.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, request); err != nil {
			continue
		}
		idle = append(idle, c) // answered, then left open: keep-alive
	}
	for _, c := range idle {
		buf := make([]byte, 512)
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		_, _ = c.Read(buf) // the answer, or the close when evicted
	}
	if n := srv.limit.len(); n > max {
		t.Fatalf("%d connections open, want at most %d", n, max)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + srv.Addr().String() + PathPrefix + token)
	if err != nil {
		t.Fatalf("the CA's request while the cap is full of idle connections: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ka" {
		t.Fatalf("the CA's request: %d %q", resp.StatusCode, body)
	}
}
