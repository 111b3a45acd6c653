package alerter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/dfp-letsencrypt/provisioner/actors/async"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

// Config is where alerts go.
type Config struct {
	URL     string // ALERT_WEBHOOK_URL
	Timeout time.Duration
	Client  *http.Client // nil: a plain client
	Logger  *slog.Logger
	Now     func() time.Time
}

// posted is the outcome of one POST.
type posted struct {
	alert *Alert
	err   error
}

type alerterActor struct {
	cfg    Config
	active Active
}

// Props builds the alerter. What is in effect outlives an instance (a restart must not alert
// again for every trouble in progress).
func Props(cfg Config) *actor.Props {
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	active := Active{}
	return actor.PropsFromProducer(func() actor.Actor { return &alerterActor{cfg: cfg, active: active} })
}

func (a *alerterActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *messages.Trouble:
		if al := a.active.Apply(*msg, a.cfg.Now()); al != nil {
			a.post(ctx, al)
		}
	case posted:
		log := a.cfg.Logger.With("domain", msg.alert.Name, "kind", msg.alert.Kind, "state", msg.alert.State)
		if msg.err != nil {
			// Not retried: a webhook that is down must not turn into a storm; the log line stays.
			// The webhook's URL is a secret (Slack puts its key in the path): only its host is said.
			err := msg.err
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			log.Warn("alert not delivered; not retried (the logs carry the same event)", "event", event.AlertFailed,
				"webhook_host", webhookHost(a.cfg.URL), "error", event.PeerText(err.Error()))
			return
		}
		log.Info("alert sent", "event", event.AlertSent)
	}
}

// post sends the alert off the mailbox, with a timeout.
func (a *alerterActor) post(ctx actor.Context, al *Alert) {
	url, client := a.cfg.URL, a.cfg.Client
	async.WithTimeout(ctx, a.cfg.Logger, a.cfg.Timeout, func(c context.Context) posted {
		body, err := json.Marshal(al)
		if err != nil {
			return posted{alert: al, err: err}
		}
		req, err := http.NewRequestWithContext(c, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return posted{alert: al, err: err}
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return posted{alert: al, err: err}
		}
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return posted{alert: al, err: fmt.Errorf("the webhook answered %d", resp.StatusCode)}
		}
		return posted{alert: al}
	}, func(err error) posted { return posted{alert: al, err: err} })
}

// webhookHost is the webhook URL's host alone.
func webhookHost(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return "(unparseable)"
}
