package issuer

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	legolog "github.com/go-acme/lego/v4/log"

	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

// legoSink is where lego's own log lines go. lego logs through a package-level variable, so it is
// set once and pointed at the current logger.
var legoSink atomic.Pointer[slog.Logger]

func init() { legolog.Logger = legoLogger{} }

// RouteLegoLogs sends lego's own log lines to l (at debug; its Fatal calls as errors).
func RouteLegoLogs(l *slog.Logger) { legoSink.Store(l) }

// legoLogger turns lego's "[INFO] [name] acme: ..." lines into debug records; its Fatal calls are
// logged as errors and do not exit, since nothing in a library may end the service.
type legoLogger struct{}

func (legoLogger) emit(level slog.Level, msg string) {
	l := legoSink.Load()
	if l == nil {
		return
	}
	l.Log(context.Background(), level, strings.TrimSpace(msg), "event", event.ACMEClient)
}

func (g legoLogger) Fatal(args ...any)   { g.emit(slog.LevelError, fmt.Sprint(args...)) }
func (g legoLogger) Fatalln(args ...any) { g.emit(slog.LevelError, fmt.Sprintln(args...)) }
func (g legoLogger) Fatalf(format string, args ...any) {
	g.emit(slog.LevelError, fmt.Sprintf(format, args...))
}
func (g legoLogger) Print(args ...any)   { g.emit(slog.LevelDebug, fmt.Sprint(args...)) }
func (g legoLogger) Println(args ...any) { g.emit(slog.LevelDebug, fmt.Sprintln(args...)) }
func (g legoLogger) Printf(format string, args ...any) {
	g.emit(slog.LevelDebug, fmt.Sprintf(format, args...))
}
