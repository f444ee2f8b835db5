package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// funcs are the helpers the templates may use: none so far, on purpose.
// Everything a page shows is computed in its view model.
var funcs = template.FuncMap{}

// stamp is a time as a page shows it: short text, the exact time for the
// tooltip and a machine-readable form for <time datetime>.
type stamp struct {
	Text  string
	Exact string
	ISO   string
}

func (u *UI) stamp(t time.Time) stamp {
	if t.IsZero() {
		return stamp{Text: "—"}
	}
	lt := t.In(u.opts.Location)
	now := u.opts.Now().In(u.opts.Location)
	text := lt.Format("Jan 2 15:04:05")
	if y1, m1, d1 := lt.Date(); true {
		if y2, m2, d2 := now.Date(); y1 == y2 && m1 == m2 && d1 == d2 {
			text = lt.Format("15:04:05")
		}
	}
	return stamp{Text: text, Exact: lt.Format("2006-01-02 15:04:05.000 MST"), ISO: t.UTC().Format(time.RFC3339Nano)}
}

// ago is a time as "3 min ago", with the exact time for the tooltip.
func (u *UI) ago(t time.Time) stamp {
	if t.IsZero() {
		return stamp{Text: "never"}
	}
	s := u.stamp(t)
	d := u.opts.Now().Sub(t)
	if d < 0 {
		d = 0
	}
	s.Text = humanDuration(d) + " ago"
	if d < 5*time.Second {
		s.Text = "just now"
	}
	return s
}

// humanDuration is a short, rounded duration: 45 s, 12 min, 3 h 10 min, 2 d 4 h.
func humanDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 24*time.Hour:
		h, m := int(d.Hours()), int(d.Minutes())%60
		if m == 0 {
			return fmt.Sprintf("%d h", h)
		}
		return fmt.Sprintf("%d h %d min", h, m)
	}
	days, h := int(d.Hours())/24, int(d.Hours())%24
	if h == 0 {
		return fmt.Sprintf("%d d", days)
	}
	return fmt.Sprintf("%d d %d h", days, h)
}

// latency is an attempt's duration: 3 ms, 1.2 s.
func latency(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Millisecond:
		return "<1 ms"
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return humanDuration(d)
}

// count formats an integer with thin spaces between thousands: 12 480.
func count(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 || len(s) <= 3 {
		return s
	}
	var b strings.Builder
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteString("\u202f")
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// percent formats a share: 0 %, 0.4 %, 12 %; "—" when there is nothing
// to divide.
func percent(part, whole int64) string {
	if whole <= 0 {
		return "—"
	}
	p := 100 * float64(part) / float64(whole)
	switch {
	case p == 0:
		return "0 %"
	case p < 10:
		return fmt.Sprintf("%.1f %%", math.Round(p*10)/10)
	}
	return fmt.Sprintf("%.0f %%", p)
}

// prettyJSON indents a JSON document for a <pre>; anything else is shown
// as text.
func prettyJSON(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return string(b)
	}
	return out.String()
}

// short cuts a text for a table cell; the full text goes in a tooltip.
func short(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// jsonValue shows a diff value as JSON would: strings quoted, absent as —.
func jsonValue(v any) string {
	if v == nil {
		return "—"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// link builds a path with a query, leaving out empty values.
func link(p string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return p
	}
	return p + "?" + q.Encode()
}

func flowURL(name string) string { return "/flows/" + url.PathEscape(name) }

func messageURL(id int64) string { return "/messages/" + strconv.FormatInt(id, 10) }

func quarantineURL(id int64) string { return "/quarantine/" + strconv.FormatInt(id, 10) }

func traceURL(key string) string { return link("/trace", "key", key) }

func itoa(n int) string { return strconv.Itoa(n) }

// block is one paragraph, or a run of command lines, of a catalog's free
// text (a description or a runbook).
type block struct {
	Code  bool
	Text  string   // for code
	Parts []inline // for a paragraph
}

// inline is a piece of a paragraph; Code marks `backticked` text.
type inline struct {
	Code bool
	Text string
}

// prose lays out free text written in a YAML block: lines the author
// wrapped are joined into paragraphs, blank lines and list items start new
// ones, and command lines (starting with "seam " or "$ ", or indented)
// stay as they are, so a runbook's commands can be copied.
func prose(s string) []block {
	var out []block
	var para []string
	flush := func() {
		if len(para) > 0 {
			out = append(out, block{Parts: inlines(strings.Join(para, " "))})
			para = nil
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		t := strings.TrimSpace(line)
		switch {
		case t == "":
			flush()
		case strings.HasPrefix(t, "seam ") || strings.HasPrefix(t, "$ ") || strings.HasPrefix(line, "    ") || strings.HasPrefix(line, "\t"):
			flush()
			if n := len(out); n > 0 && out[n-1].Code {
				out[n-1].Text += "\n" + t
			} else {
				out = append(out, block{Code: true, Text: t})
			}
		case strings.HasPrefix(t, "- ") || strings.HasPrefix(t, "* "):
			flush()
			para = []string{"• " + strings.TrimSpace(t[2:])}
		default:
			para = append(para, t)
		}
	}
	flush()
	return out
}

func inlines(s string) []inline {
	var out []inline
	for i, part := range strings.Split(s, "`") {
		if part != "" {
			out = append(out, inline{Code: i%2 == 1, Text: part})
		}
	}
	return out
}
