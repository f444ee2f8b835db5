package ui

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
	"time"

	"github.com/seamhq/seam/internal/store"
)

// bucket is one step of a chart.
type bucket struct {
	At                                         time.Time
	Received, Refused, Delivered, Failed, Dead int64
}

// span is a chart's time range: how far back and how wide a bar is.
type span struct {
	Key   string // the ?range= value
	Label string
	Back  time.Duration
	Step  time.Duration
	// Tick says which bucket starts get an axis label.
	Tick func(t time.Time) bool
}

var spans = []span{
	{Key: "1h", Label: "Last hour", Back: time.Hour, Step: time.Minute,
		Tick: func(t time.Time) bool { return t.Minute()%15 == 0 }},
	{Key: "24h", Label: "Last 24 hours", Back: 24 * time.Hour, Step: 15 * time.Minute,
		Tick: func(t time.Time) bool { return t.Minute() == 0 && t.Hour()%4 == 0 }},
}

func spanOf(key string) span {
	for _, s := range spans {
		if s.Key == key {
			return s
		}
	}
	return spans[0]
}

// window returns the start and end of the span's buckets, the last one
// being the current, partly elapsed, step.
func (s span) window(now time.Time) (since, until time.Time) {
	until = now.Truncate(s.Step).Add(s.Step)
	return until.Add(-s.Back), until
}

// buckets fills the span with the flow's points, zero where nothing
// happened.
func (s span) buckets(now time.Time, flow string, pts []*store.SeriesPoint) []bucket {
	since, until := s.window(now)
	n := int(until.Sub(since) / s.Step)
	out := make([]bucket, n)
	for i := range out {
		out[i].At = since.Add(time.Duration(i) * s.Step)
	}
	for _, p := range pts {
		if flow != "" && p.Flow != flow {
			continue
		}
		i := int(p.At.Sub(since) / s.Step)
		if i < 0 || i >= n {
			continue
		}
		b := &out[i]
		b.Received += p.Received
		b.Refused += p.Refused
		b.Delivered += p.Delivered
		b.Failed += p.Failed
		b.Dead += p.Dead
	}
	return out
}

// chart is a drawn chart with its legend, for the template.
type chart struct {
	SVG    template.HTML
	Legend []legendItem
}

type legendItem struct {
	Class string // the swatch's class, the same as the mark's in the SVG
	Label string
	Total string
}

// Geometry of the charts, in viewBox units; the SVG scales to its box.
const (
	chartW, chartH = 720, 170
	padL, padR     = 40, 8
	padT, padB     = 10, 22
)

type svgb struct{ strings.Builder }

func (b *svgb) f(format string, args ...any) { fmt.Fprintf(&b.Builder, format, args...) }

// frame starts a chart: its accessible name and summary, the grid with
// the y-axis scale, and the x-axis labels.
func frame(b *svgb, id, title, desc string, bs []bucket, top int64, sp span, loc *time.Location) (x func(i int) float64, y func(v int64) float64, bw float64) {
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padT-padB)
	bw = plotW / float64(len(bs))
	x = func(i int) float64 { return padL + float64(i)*bw }
	y = func(v int64) float64 { return padT + plotH - plotH*float64(v)/float64(top) }
	b.f(`<svg class="chart" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d" preserveAspectRatio="xMidYMid meet">`, chartW, chartH, id, id)
	b.f(`<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, html.EscapeString(title), id, html.EscapeString(desc))
	b.f(`<g class="grid">`)
	for _, v := range []int64{0, top / 2, top} {
		if v == top/2 && (top%2 != 0) {
			continue
		}
		b.f(`<line x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, padL, chartW-padR, y(v), y(v))
		b.f(`<text class="ylab" x="%d" y="%.1f">%s</text>`, padL-6, y(v)+3.5, count(v))
	}
	b.f(`</g><g class="xaxis">`)
	for i, bk := range bs {
		// No label at the very left edge, where it would meet the scale.
		if t := bk.At.In(loc); sp.Tick(t) && x(i) > padL+12 {
			b.f(`<line x1="%.1f" x2="%.1f" y1="%d" y2="%d"/>`, x(i), x(i), chartH-padB, chartH-padB+4)
			b.f(`<text x="%.1f" y="%d">%s</text>`, x(i), chartH-5, t.Format("15:04"))
		}
	}
	b.f(`</g>`)
	return x, y, bw
}

// niceTop rounds a maximum up to 1, 2 or 5 times a power of ten, so the
// scale reads 0 / 25 / 50 rather than 0 / 23 / 47.
func niceTop(v int64) int64 {
	if v <= 4 {
		return 4
	}
	p := math.Pow(10, math.Floor(math.Log10(float64(v))))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if t := int64(m * p); t >= v {
			return t
		}
	}
	return v
}

func barGap(bw float64) float64 {
	if bw > 4 {
		return 1
	}
	return 0
}

// throughputChart draws records received (a line) and delivered (bars)
// per bucket.
func throughputChart(id string, bs []bucket, sp span, loc *time.Location) chart {
	var recv, deliv, top int64
	for _, bk := range bs {
		recv += bk.Received
		deliv += bk.Delivered
		top = max(top, bk.Received, bk.Delivered)
	}
	top = niceTop(top)
	var b svgb
	desc := fmt.Sprintf("%s: %s records received, %s delivered, per %s.", sp.Label, count(recv), count(deliv), stepName(sp.Step))
	x, y, bw := frame(&b, id, "Throughput, "+strings.ToLower(sp.Label), desc, bs, top, sp, loc)
	gap := barGap(bw)
	b.f(`<g class="marks">`)
	for i, bk := range bs {
		b.f(`<g><title>%s · %s received · %s delivered</title>`, bucketLabel(bk.At, sp, loc), count(bk.Received), count(bk.Delivered))
		b.f(`<rect class="hit" x="%.1f" y="%d" width="%.1f" height="%d"/>`, x(i), padT, bw, chartH-padT-padB)
		if bk.Delivered > 0 {
			b.f(`<rect class="m-delivered" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, x(i)+gap/2, y(bk.Delivered), bw-gap, y(0)-y(bk.Delivered))
		}
		b.f(`</g>`)
	}
	b.f(`</g><polyline class="m-received" points="`)
	for i, bk := range bs {
		b.f(`%.1f,%.1f `, x(i)+bw/2, y(bk.Received))
	}
	b.f(`"/></svg>`)
	return chart{SVG: template.HTML(b.String()), Legend: []legendItem{ //nolint:gosec // built from numbers and escaped text
		{Class: "m-received", Label: "received", Total: count(recv)},
		{Class: "m-delivered", Label: "delivered", Total: count(deliv)},
	}}
}

// errorChart draws failed attempts, dead letters and refused records per
// bucket, stacked; dead letters are hatched so they read without colour.
func errorChart(id string, bs []bucket, sp span, loc *time.Location) chart {
	var failed, dead, refused, top int64
	for _, bk := range bs {
		f := bk.Failed - bk.Dead
		failed += f
		dead += bk.Dead
		refused += bk.Refused
		top = max(top, f+bk.Dead+bk.Refused)
	}
	top = niceTop(top)
	var b svgb
	desc := fmt.Sprintf("%s: %s failed attempts that will be retried, %s dead letters, %s records refused at intake.", sp.Label, count(failed), count(dead), count(refused))
	x, y, bw := frame(&b, id, "Errors, "+strings.ToLower(sp.Label), desc, bs, top, sp, loc)
	b.f(`<defs><pattern id="%s-hatch" class="hatch" width="5" height="5" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect class="hatch-bg" width="5" height="5"/><line x1="0" y1="0" x2="0" y2="5"/></pattern></defs>`, id)
	gap := barGap(bw)
	b.f(`<g class="marks">`)
	for i, bk := range bs {
		f := bk.Failed - bk.Dead
		b.f(`<g><title>%s · %s failed (retrying) · %s dead · %s refused</title>`, bucketLabel(bk.At, sp, loc), count(f), count(bk.Dead), count(bk.Refused))
		b.f(`<rect class="hit" x="%.1f" y="%d" width="%.1f" height="%d"/>`, x(i), padT, bw, chartH-padT-padB)
		base := int64(0)
		for _, seg := range []struct {
			class string
			n     int64
		}{{"m-failed", f}, {"m-dead", bk.Dead}, {"m-refused", bk.Refused}} {
			if seg.n <= 0 {
				continue
			}
			fill := ""
			if seg.class == "m-dead" {
				fill = fmt.Sprintf(` fill="url(#%s-hatch)"`, id)
			}
			b.f(`<rect class="%s"%s x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, seg.class, fill, x(i)+gap/2, y(base+seg.n), bw-gap, y(base)-y(base+seg.n))
			base += seg.n
		}
		b.f(`</g>`)
	}
	b.f(`</g></svg>`)
	return chart{SVG: template.HTML(b.String()), Legend: []legendItem{ //nolint:gosec // built from numbers and escaped text
		{Class: "m-failed", Label: "failed attempts (retried)", Total: count(failed)},
		{Class: "m-dead", Label: "dead letters", Total: count(dead)},
		{Class: "m-refused", Label: "refused at intake", Total: count(refused)},
	}}
}

// sparkline is a flow's last hour in one line of a table: received per
// minute, with the minutes that had failures marked below it.
func sparkline(bs []bucket) template.HTML {
	const w, h = 120, 24
	var top int64 = 1
	for _, bk := range bs {
		top = max(top, bk.Received, bk.Delivered)
	}
	var b svgb
	b.f(`<svg class="spark" viewBox="0 0 %d %d" aria-hidden="true" focusable="false">`, w, h)
	step := float64(w) / float64(max(1, len(bs)-1))
	b.f(`<polyline points="`)
	for i, bk := range bs {
		b.f(`%.1f,%.1f `, float64(i)*step, float64(h-4)-float64(h-6)*float64(max(bk.Received, bk.Delivered))/float64(top))
	}
	b.f(`"/>`)
	for i, bk := range bs {
		if bk.Failed > 0 || bk.Refused > 0 {
			b.f(`<rect class="spark-err" x="%.1f" y="%d" width="2" height="3"/>`, float64(i)*step-1, h-3)
		}
	}
	b.f(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // numbers only
}

func bucketLabel(t time.Time, sp span, loc *time.Location) string {
	lt := t.In(loc)
	if sp.Step >= time.Hour || sp.Back > 12*time.Hour {
		return lt.Format("Jan 2 15:04") + "–" + lt.Add(sp.Step).Format("15:04")
	}
	return lt.Format("15:04")
}

func stepName(d time.Duration) string {
	if d == time.Minute {
		return "minute"
	}
	return humanDuration(d)
}
