package certificate

// What the certificate actor depends on and the messages it sends itself.

import (
	"context"
	"crypto/x509"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/issuer"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/preflight"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/certificate/schedule"
	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
)

// Obtainer orders certificates and stores them, and asks the CA when to renew them;
// *issuer.Issuer is the real one.
type Obtainer interface {
	Obtain(name string, replaces *x509.Certificate) (*bundle.Bundle, error)
	RenewalWindow(b *bundle.Bundle) (issuer.Window, error)
}

// Preflighter checks that a name can validate; *preflight.Checker is the real one.
type Preflighter interface {
	Check(ctx context.Context, name string) (preflight.Result, error)
}

// Deps is what every certificate actor shares.
type Deps struct {
	Store     *store.Store
	Issuer    Obtainer
	Preflight Preflighter // nil: no pre-flight (PREFLIGHT=false)
	Limiter   *actor.PID
	Uploader  *actor.PID
	Logger    *slog.Logger
	Now       func() time.Time
	Jitter    schedule.Jitter // nil: schedule.RandomJitter
	// PermitWait is how long to wait for the rate limiter's answer before asking again with the
	// same permit (a restarted limiter has forgotten who waits); 0: a minute.
	PermitWait time.Duration
	// AlertAfterFailures is how many failures in a row make a name "failing" for alerts
	// (ALERT_AFTER_FAILURES); troubles go to the actor's parent as messages.Trouble.
	AlertAfterFailures int
	// Live, when set, gets each actor's view of its name (for status and /metrics).
	Live *Live
}

// incarnations numbers actor instances. A restart keeps the PID, so a result sent to the old
// instance reaches the new one; the number tells them apart.
var incarnations atomic.Uint64

// checkDue is the actor's own timer message: look at the certificate again.
type checkDue struct{}

// permitUnanswered is the actor's timer message while it waits for the rate limiter.
type permitUnanswered struct{}

// result is work done off the mailbox, stamped with the instance that started it.
type result interface{ startedBy() uint64 }

func (r checked) startedBy() uint64    { return r.from }
func (r obtained) startedBy() uint64   { return r.from }
func (r ariFetched) startedBy() uint64 { return r.from }

// Results of work done off the mailbox.
type (
	checked struct {
		from uint64
		res  preflight.Result
		err  error
	}
	obtained struct {
		from     uint64
		permit   string // the permit the order was placed under
		replaced bool
		bundle   *bundle.Bundle
		err      error
	}
	ariFetched struct {
		from        uint64
		fingerprint string
		window      issuer.Window
		err         error
	}
)
