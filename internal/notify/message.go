// Package notify tells people about incidents: a chat-compatible JSON
// webhook (Slack, Mattermost, Teams connectors, Google Chat, Rocket.Chat)
// and plain-text e-mail over SMTP. Both render one Message the same way,
// so what the chat says and what the e-mail says never disagree.
//
// Credentials (a webhook URL carries its token in the path, an SMTP
// password) arrive resolved and are never part of an error or a log line
// built here.
package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/seamhq/seam"
)

// Message is one notice about an incident, ready to be rendered.
type Message struct {
	// Kind is firing, reminder or resolved.
	Kind     seam.NoticeKind
	Incident *seam.Incident
	// Owner is the display name of the flow's owner.
	Owner string
	// Detail says what was measured, in a sentence or two, e.g. "No record
	// arrived for 2h within Mon-Fri 08:00-20:00; the last came at 08:02."
	Detail  string
	Runbook string
	// DashboardURL is the absolute link to the flow's page, /flows/<name>.
	DashboardURL string
	// Hints are commands that show more, e.g. "seam dlq --flow eshop-orders".
	Hints []string
	// Reminder numbers a reminder: 1 for the first one.
	Reminder int
	// Now is when the notice is sent; durations are measured up to it.
	Now time.Time
}

// Status is the word in the title: FIRING or RESOLVED.
func (m *Message) Status() string {
	if m.Kind == seam.NoticeResolved {
		return "RESOLVED"
	}
	return "FIRING"
}

// Title is the first line of every notice, e.g.
// "[FIRING] eshop-orders: no records for 2h (owner: E-commerce team)".
func (m *Message) Title() string {
	t := fmt.Sprintf("[%s] %s: %s", m.Status(), m.Incident.Flow, m.Incident.Summary)
	if m.Owner != "" {
		t += " (owner: " + m.Owner + ")"
	}
	return oneLine(t)
}

// Subject is the e-mail subject, e.g. "[Seam] FIRING: eshop-orders: no
// records for 2h".
func (m *Message) Subject() string {
	s := fmt.Sprintf("[Seam] %s: %s: %s", m.Status(), m.Incident.Flow, m.Incident.Summary)
	if m.Kind == seam.NoticeReminder {
		s += " (reminder)"
	}
	return oneLine(s)
}

// Text is the whole notice as plain text: the title, when it started and
// for how long, what was measured, the runbook, the dashboard link and the
// commands that show more.
func (m *Message) Text() string {
	in := m.Incident
	var b strings.Builder
	b.WriteString(m.Title())
	b.WriteString("\n")
	sev := in.Severity
	if sev == "" {
		sev = "warning"
	}
	switch m.Kind {
	case seam.NoticeResolved:
		fmt.Fprintf(&b, "Resolved after %s (since %s).", Since(in.OpenedAt, in.ResolvedAt), stamp(in.OpenedAt))
		if in.Resolution != "" {
			fmt.Fprintf(&b, " %s", sentence(in.Resolution))
		}
		b.WriteString("\n")
	case seam.NoticeReminder:
		fmt.Fprintf(&b, "Still firing after %s (since %s); reminder %d. Severity: %s, rule: %s.\n",
			Since(in.OpenedAt, m.Now), stamp(in.OpenedAt), max(m.Reminder, 1), sev, in.Rule)
	default:
		fmt.Fprintf(&b, "Since %s. Severity: %s, rule: %s.\n", stamp(in.OpenedAt), sev, in.Rule)
	}
	if m.Detail != "" && m.Kind != seam.NoticeResolved {
		b.WriteString(sentence(m.Detail))
		b.WriteString("\n")
	}
	if rb := strings.TrimSpace(m.Runbook); rb != "" && m.Kind != seam.NoticeResolved {
		b.WriteString("\nRunbook:\n")
		for line := range strings.SplitSeq(rb, "\n") {
			b.WriteString("  " + strings.TrimRight(line, " \t") + "\n")
		}
	}
	if m.DashboardURL != "" {
		fmt.Fprintf(&b, "\nDashboard: %s\n", m.DashboardURL)
	}
	if len(m.Hints) > 0 && m.Kind != seam.NoticeResolved {
		b.WriteString("Look closer:\n")
		for _, h := range m.Hints {
			b.WriteString("  " + h + "\n")
		}
	}
	return b.String()
}

// Since formats the time from a to b the way people say it: 45s, 12m,
// 2h5m, 3d4h.
func Since(a, b time.Time) string {
	d := b.Sub(a)
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		h, m := int(d.Hours()), int(d.Minutes())%60
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%dm", h, m)
	}
	days, h := int(d.Hours())/24, int(d.Hours())%24
	if h == 0 {
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd%dh", days, h)
}

// stamp writes a time in UTC: the reader's zone is unknown, and UTC is
// what the logs and the API say.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// sentence capitalises nothing but makes sure the text ends like one.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasSuffix(s, ".") || strings.HasSuffix(s, "!") || strings.HasSuffix(s, "?") {
		return s
	}
	return s + "."
}

// oneLine keeps a header or a title on one line whatever a name contains.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.NewReplacer("\r", " ", "\n", " ").Replace(s)), " ")
}
