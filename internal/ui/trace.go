package ui

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/seamhq/seam"
)

// traceView follows one business key across every flow.
type traceView struct {
	layout
	Key      string
	Searched bool
	Keys     []string
	Links    []xrefRow
	Routes   []traceRouteRow
	Events   []traceEventRow
	Messages int
	Summary  string
}

type xrefRow struct{ Entity, Key, System, Name, Value string }

type traceRouteRow struct {
	Flow, FlowURL, Route, Key string
	MessageURL                string
	State                     health
	Attempts                  int
}

type traceEventRow struct {
	At                 stamp
	Kind, Icon         string
	Flow, FlowURL      string
	Route, System, Key string
	MessageURL         string
	Attempt            int
	Status, Duration   string
	Outcome            health
	Detail, Actor      string
}

func (u *UI) trace(w http.ResponseWriter, r *http.Request, s *session) error {
	key := strings.TrimSpace(r.URL.Query().Get("key"))
	v := &traceView{layout: u.layoutFor(r, s, "Trace"), Key: key, Searched: key != ""}
	if key == "" {
		u.render(w, http.StatusOK, "trace", v)
		return nil
	}
	v.Title = "Trace " + key
	t, err := u.opts.Ops.Trace(r.Context(), key)
	if err != nil {
		return err
	}
	v.Keys, v.Messages = t.Keys, t.Messages
	v.Summary = fmt.Sprintf("%d %s under %d %s.", t.Messages, plural(int64(t.Messages), "message", "messages"),
		len(t.Keys), plural(int64(len(t.Keys)), "key", "keys"))
	for _, x := range t.Links {
		v.Links = append(v.Links, xrefRow{Entity: x.Entity, Key: x.Key, System: x.System, Name: x.Name, Value: x.Value})
	}
	msgOf := map[int64]int64{}
	for _, e := range t.Events {
		if e.DeliveryID != 0 && e.MessageID != 0 {
			msgOf[e.DeliveryID] = e.MessageID
		}
	}
	for _, rt := range t.Routes {
		row := traceRouteRow{Flow: rt.Flow, FlowURL: flowURL(rt.Flow), Route: rt.Route, Key: rt.Key, State: stateHealth(rt.State), Attempts: rt.Attempts}
		if id := msgOf[rt.DeliveryID]; id != 0 {
			row.MessageURL = messageURL(id)
		}
		v.Routes = append(v.Routes, row)
	}
	for _, e := range t.Events {
		row := traceEventRow{At: u.stamp(e.At), Kind: e.Kind, Flow: e.Flow, Route: e.Route, System: e.System, Key: e.Key,
			Attempt: e.Attempt, Detail: short(e.Detail, 200), Actor: e.Actor}
		if e.Flow != "" {
			row.FlowURL = flowURL(e.Flow)
		}
		if e.MessageID != 0 {
			row.MessageURL = messageURL(e.MessageID)
		}
		if e.Status != 0 {
			row.Status = itoa(e.Status)
		}
		if e.Duration > 0 {
			row.Duration = latency(e.Duration)
		}
		switch e.Kind {
		case "received":
			row.Icon, row.Outcome = "↓", health{Level: "info", Label: "received", Icon: "↓"}
		case "quarantined":
			row.Icon, row.Outcome = "▲", health{Level: "warn", Label: "quarantined", Icon: "▲"}
		case "skipped":
			row.Icon, row.Outcome = "–", stateHealth(seam.DeliverySkipped)
		case "operator":
			row.Icon, row.Outcome = "↻", health{Level: "info", Label: e.Outcome, Icon: "↻"}
		default:
			row.Icon = "→"
			switch e.Outcome {
			case "delivered":
				row.Outcome = stateHealth(seam.DeliveryDelivered)
			case "dead":
				row.Outcome = stateHealth(seam.DeliveryDead)
			default:
				row.Outcome = health{Level: "warn", Label: "failed, retried", Icon: "▲"}
			}
		}
		v.Events = append(v.Events, row)
	}
	u.render(w, http.StatusOK, "trace", v)
	return nil
}
