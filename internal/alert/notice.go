package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/notify"
	"github.com/seamhq/seam/internal/store"
)

// notifyAll sends every notice that is due: the first notice of open
// incidents, reminders, and resolves. Each is claimed in the ledger first,
// so that of several nodes exactly one sends it; a notice that fails on a
// channel stays due, and the next evaluation retries that channel only.
func (e *Evaluator) notifyAll(ctx context.Context, c *catalog.Catalog, now time.Time) error {
	open, err := e.opts.Store.IncidentList(ctx, &store.IncidentFilter{State: seam.IncidentOpen, Limit: 10_000})
	if err != nil {
		return fmt.Errorf("list open incidents: %w", err)
	}
	resolved, err := e.opts.Store.IncidentList(ctx, &store.IncidentFilter{State: seam.IncidentResolved, NoticePending: true, Limit: 1000})
	if err != nil {
		return fmt.Errorf("list resolved incidents: %w", err)
	}
	var errs []error
	for _, in := range append(open, resolved...) {
		if err := e.notice(ctx, c, in, now); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// target is one channel a notice goes to.
type target struct {
	name string
	ch   *catalog.Channel
}

// notice sends the notice of in that is due, if any.
func (e *Evaluator) notice(ctx context.Context, c *catalog.Catalog, in *seam.Incident, now time.Time) error {
	remind := c.Project.Alerts.Remind.Or(DefaultRemind)
	kind, ok := dueNotice(c, in, now, remind)
	if !ok {
		return nil
	}
	targets := e.targets(c, in)
	if len(targets) == 0 {
		e.warnOnce(fmt.Sprintf("nobody:%d", in.ID), "nobody to tell about an incident: the rule has no to: channels and the owner has no alert channel",
			"flow", in.Flow, "rule", in.Rule, "incident", in.ID)
		return nil
	}
	claimed, ok, err := e.opts.Store.IncidentClaimNotice(ctx, &store.NoticeClaimParams{ID: in.ID, Kind: kind, Node: e.opts.Node,
		Lease: e.opts.NoticeLease, RemindBefore: now.Add(-remind), Now: now})
	if err != nil {
		return fmt.Errorf("claim the %s notice of incident %d: %w", kind, in.ID, err)
	}
	if !ok {
		return nil // sent already, or being sent by another node
	}
	msg := e.message(c, claimed, kind, now)
	var (
		sent []string
		errs []string
	)
	for _, t := range targets {
		if slices.Contains(claimed.NoticeSent, t.name) {
			continue // reached by an earlier attempt at this notice
		}
		if err := e.send(ctx, c, in, t, msg); err != nil {
			e.notices.WithLabelValues(t.name, string(kind), "failed").Inc()
			// Logged once per notice and channel at error level; the
			// retries every evaluation after it are counted, and the error
			// stays on the incident (seam alerts shows it).
			lvl := slog.LevelDebug
			if e.firstTime(fmt.Sprintf("fail:%d:%s:%s", in.ID, kind, t.name)) {
				lvl = slog.LevelError
			}
			e.log.Log(ctx, lvl, "notify: failed; retried at the next evaluation", "flow", in.Flow, "rule", in.Rule,
				"incident", in.ID, "notice", kind, "channel", t.name, "err", err)
			errs = append(errs, t.name+": "+err.Error())
			continue
		}
		e.notices.WithLabelValues(t.name, string(kind), "sent").Inc()
		sent = append(sent, t.name)
	}
	done := true
	for _, t := range targets {
		if !slices.Contains(sent, t.name) && !slices.Contains(claimed.NoticeSent, t.name) {
			done = false
		}
	}
	// The record is written even when ctx ended meanwhile: what was sent
	// was sent, and must not be sent again.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := e.opts.Store.IncidentRecordNotice(rctx, &store.NoticeRecordParams{ID: in.ID, Kind: kind, Node: e.opts.Node,
		Sent: sent, Done: done, Error: strings.Join(errs, "; "), Now: e.opts.Now()}); err != nil {
		return fmt.Errorf("record the %s notice of incident %d: %w", kind, in.ID, err)
	}
	if done {
		e.log.Info("notified", "flow", in.Flow, "rule", in.Rule, "incident", in.ID, "notice", kind, "channels", len(targets))
	}
	return nil
}

// dueNotice says which notice of in is due at now.
func dueNotice(c *catalog.Catalog, in *seam.Incident, now time.Time, remind time.Duration) (seam.NoticeKind, bool) {
	switch {
	case in.State == seam.IncidentResolved && in.Notified != seam.NoticeResolved:
		return seam.NoticeResolved, true
	case in.State != seam.IncidentOpen:
		return "", false
	case in.Notified == "":
		return seam.NoticeFiring, true
	case remind <= 0 || now.Sub(in.LastNotifiedAt) < remind:
		return "", false
	}
	// A silence is not worth waking anybody up for outside its schedule:
	// remind again when the schedule starts.
	if a := alertRule(c, in); a != nil && a.Silence != nil && scheduled(a.Silence.During) && !a.Silence.During.Contains(now) {
		return "", false
	}
	return seam.NoticeReminder, true
}

// alertRule finds the incident's alert rule; nil for a reconciliation or a
// rule that is gone.
func alertRule(c *catalog.Catalog, in *seam.Incident) *catalog.Alert {
	if f := c.Flows[in.Flow]; f != nil {
		for _, a := range f.Alerts {
			if a != nil && a.Kind() != "" && a.RuleName() == in.Rule {
				return a
			}
		}
	}
	return nil
}

// targets resolves who hears about in: the rule's to: channels, else the
// owner's (see catalog.AlertChannels).
func (e *Evaluator) targets(c *catalog.Catalog, in *seam.Incident) []target {
	f := c.Flows[in.Flow]
	if f == nil {
		return nil
	}
	var to []string
	if a := alertRule(c, in); a != nil {
		to = a.To
	}
	for _, x := range f.Reconcile {
		if x != nil && x.RuleName() == in.Rule {
			to = x.To
		}
	}
	var out []target
	for _, name := range c.AlertChannels(f, to) {
		ch := c.Project.Alerts.Channels[name]
		if ch == nil || (ch.Webhook == nil && ch.SMTP == nil) {
			e.warnOnce("channel:"+name, "alert channel is not declared; skipped", "channel", name)
			continue
		}
		out = append(out, target{name: name, ch: ch})
	}
	return out
}

// message renders the notice from the incident as stored, so that any node
// (and any catalog version) says the same thing.
func (e *Evaluator) message(c *catalog.Catalog, in *seam.Incident, kind seam.NoticeKind, now time.Time) *notify.Message {
	m := &notify.Message{Kind: kind, Incident: in, Reminder: in.Notifications, Now: now}
	var d struct {
		Detail string `json:"detail"`
	}
	if len(in.Details) > 0 && json.Unmarshal(in.Details, &d) == nil {
		m.Detail = d.Detail
	}
	if f := c.Flows[in.Flow]; f != nil {
		m.Runbook = f.Runbook
		m.Owner = f.Owner
		if o := c.Project.Owners[f.Owner]; o != nil && o.Name != "" {
			m.Owner = o.Name
		}
	}
	m.DashboardURL = e.dashboard(c) + "/flows/" + url.PathEscape(in.Flow)
	m.Hints = hints(in)
	return m
}

// dashboard is the base URL of links in notices.
func (e *Evaluator) dashboard(c *catalog.Catalog) string {
	if raw := c.Project.Alerts.DashboardURL; raw.Raw != "" {
		if v, err := raw.Value(e.env()); err == nil && v != "" {
			return strings.TrimRight(v, "/")
		}
	}
	if e.opts.DashboardURL != "" {
		return strings.TrimRight(e.opts.DashboardURL, "/")
	}
	listen := c.Project.Listen
	if listen == "" {
		listen = "127.0.0.1:8080"
	}
	return "http://" + listen
}

// hints are the commands that show more about the incident.
func hints(in *seam.Incident) []string {
	f := in.Flow
	switch in.Kind {
	case "dead_letters":
		return []string{"seam dlq --flow " + f, "seam replay --flow " + f + " --dry-run   (then without --dry-run, with --reason)"}
	case "quarantine":
		return []string{"seam quarantine --flow " + f, "seam quarantine replay ID   (after fixing the sender or the mapping)"}
	case "error_rate", "circuit_open":
		return []string{"seam dlq --flow " + f, "seam messages --flow " + f + " --since 1h", "seam trace KEY   (one record's attempts and answers)"}
	case "backlog_age":
		return []string{"seam messages --flow " + f + " --since 1h", "seam trace KEY"}
	case "silence":
		return []string{"seam messages --flow " + f + " --limit 5   (the last records received)"}
	case "reconcile":
		name := strings.TrimPrefix(in.Rule, "reconcile:")
		return []string{"seam reconcile --check " + name, "seam trace KEY   (for a key listed as missing)"}
	}
	return nil
}

// send delivers msg to one channel.
func (e *Evaluator) send(ctx context.Context, c *catalog.Catalog, in *seam.Incident, t target, msg *notify.Message) error {
	env := e.env()
	switch {
	case t.ch.Webhook != nil:
		u, err := t.ch.Webhook.URL.Value(env)
		if err != nil {
			return fmt.Errorf("webhook url: %w", err)
		}
		return (&notify.Webhook{URL: u, Client: e.opts.HTTPClient, SleepFunc: e.opts.SleepFunc}).Send(ctx, msg)
	case t.ch.SMTP != nil:
		s := t.ch.SMTP
		host, err := s.Host.Value(env)
		if err != nil {
			return fmt.Errorf("smtp host: %w", err)
		}
		user, err := s.Username.Value(env)
		if err != nil {
			return fmt.Errorf("smtp username: %w", err)
		}
		pass, err := s.Password.Value(env)
		if err != nil {
			return fmt.Errorf("smtp password: %w", err)
		}
		var to []string
		if f := c.Flows[in.Flow]; f != nil {
			if o := c.Project.Owners[f.Owner]; o != nil && o.Email != "" {
				to = append(to, o.Email)
			}
		}
		to = append(to, s.To...)
		return (&notify.SMTP{Host: host, Port: s.Port, From: s.From, Username: user, Password: pass}).Send(ctx, msg, to)
	}
	return errors.New("the channel has neither webhook nor smtp")
}

func (e *Evaluator) env() catalog.Lookup {
	if e.opts.Env != nil {
		return e.opts.Env
	}
	return defaultEnv
}
