// Package metrics exposes Seam's Prometheus metrics: what the engine does
// (records in, attempts out, their latency) as it happens, and where the
// ledger stands (deliveries by state, backlog age, last success) read from
// the store at scrape time, so every node reports the shared truth.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

// Stats is what the ledger collector reads.
type Stats interface {
	RouteStats(ctx context.Context, p *store.StatsParams) ([]*store.RouteStats, error)
}

// Metrics is the engine's observer and the /metrics handler.
type Metrics struct {
	reg      *prometheus.Registry
	records  *prometheus.CounterVec
	attempts *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	breaker  *prometheus.GaugeVec
	reloads  *prometheus.CounterVec
	reloadOK prometheus.Gauge
	reloadAt prometheus.Gauge
}

// New builds the metrics; stats may be nil (no ledger gauges).
func New(stats Stats, log *slog.Logger) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.records = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "seam_intake_records_total",
		Help: "Records received at a flow's intake, by outcome: accepted, duplicate, refused_decode, refused_map, refused_validate, refused_route, or the error code of a refused request (unauthorized, too_large, unsupported, invalid, method, unavailable).",
	}, []string{"flow", "outcome"})
	m.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "seam_delivery_attempts_total",
		Help: "Delivery attempts by outcome: delivered, retry (failed, will retry), dead (dead-lettered), postponed (not tried: circuit open).",
	}, []string{"flow", "route", "outcome"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "seam_delivery_attempt_duration_seconds",
		Help:    "Time from sending a delivery attempt to reading the destination's answer.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"flow", "route"})
	m.breaker = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "seam_circuit_breaker_open",
		Help: "1 while a route's circuit breaker is open or half-open (deliveries wait instead of failing), 0 when closed.",
	}, []string{"flow", "route"})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "seam_catalog_reloads_total",
		Help: "Catalog reloads by result: applied or refused (the running catalog stayed).",
	}, []string{"result"})
	m.reloadOK = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "seam_catalog_last_reload_successful",
		Help: "1 if the last catalog reload was applied, 0 if it was refused.",
	})
	m.reloadAt = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "seam_catalog_last_reload_timestamp_seconds",
		Help: "When the catalog was last reloaded (applied or refused), in Unix time.",
	})
	m.reloadOK.Set(1)
	m.reg.MustRegister(m.records, m.attempts, m.latency, m.breaker, m.reloads, m.reloadOK, m.reloadAt,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if stats != nil {
		m.reg.MustRegister(&ledgerCollector{stats: stats, log: log})
	}
	if w, ok := stats.(store.Writer); ok {
		m.reg.MustRegister(writerCollector{w})
	}
	return m
}

// Received counts one intake request.
func (m *Metrics) Received(flow, outcome string) {
	m.records.WithLabelValues(flow, outcome).Inc()
}

// Attempted counts one delivery attempt and observes its duration.
func (m *Metrics) Attempted(flow, route, outcome string, d time.Duration) {
	m.attempts.WithLabelValues(flow, route, outcome).Inc()
	if outcome != "postponed" {
		m.latency.WithLabelValues(flow, route).Observe(d.Seconds())
	}
}

// BreakerChanged records a route's circuit breaker state.
func (m *Metrics) BreakerChanged(flow, route string, open bool) {
	v := 0.0
	if open {
		v = 1
	}
	m.breaker.WithLabelValues(flow, route).Set(v)
}

// Reloaded records a reload attempt.
func (m *Metrics) Reloaded(ok bool, at time.Time) {
	result, v := "applied", 1.0
	if !ok {
		result, v = "refused", 0
	}
	m.reloads.WithLabelValues(result).Inc()
	m.reloadOK.Set(v)
	m.reloadAt.Set(float64(at.UnixNano()) / 1e9)
}

// Register adds other components' collectors (the alert evaluator's) to
// /metrics, so that one registry serves everything the process counts.
func (m *Metrics) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Handler serves the exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// writerCollector exposes a serial ledger writer's counters (SQLite's),
// the first thing to read when intake latency grows with load: a writer
// busy nearly all the time is the bound, and its batches and commit time
// say whether the disk or the work per record is what it waits for.
type writerCollector struct{ w store.Writer }

var (
	writerTxDesc = prometheus.NewDesc("seam_ledger_write_transactions_total",
		"Transactions the ledger's writer committed; each groups every write waiting when it began (one fsync for all).", nil, nil)
	writerReqDesc = prometheus.NewDesc("seam_ledger_write_requests_total",
		"Write requests (an intake, a delivery's completion, …) committed by the ledger's writer; divided by the transactions, the group-commit batch size.", nil, nil)
	writerBusyDesc = prometheus.NewDesc("seam_ledger_writer_busy_seconds_total",
		"Time the ledger's writer spent running transactions; its rate is the writer's utilisation (near 1: the ledger is the bound).", nil, nil)
	writerCommitDesc = prometheus.NewDesc("seam_ledger_commit_seconds_total",
		"Part of the writer's busy time spent in COMMIT, making transactions durable (the fsync).", nil, nil)
)

func (c writerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- writerTxDesc
	ch <- writerReqDesc
	ch <- writerBusyDesc
	ch <- writerCommitDesc
}

func (c writerCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.w.WriterStats()
	ch <- prometheus.MustNewConstMetric(writerTxDesc, prometheus.CounterValue, float64(s.Transactions))
	ch <- prometheus.MustNewConstMetric(writerReqDesc, prometheus.CounterValue, float64(s.Requests))
	ch <- prometheus.MustNewConstMetric(writerBusyDesc, prometheus.CounterValue, s.Busy.Seconds())
	ch <- prometheus.MustNewConstMetric(writerCommitDesc, prometheus.CounterValue, s.Commit.Seconds())
}

// ledgerCollector reads the ledger's state at scrape time.
type ledgerCollector struct {
	stats Stats
	log   *slog.Logger
}

var (
	deliveriesDesc = prometheus.NewDesc("seam_deliveries",
		"Deliveries in the ledger by state (pending, in_flight, retrying, delivered, dead, skipped).",
		[]string{"flow", "route", "state"}, nil)
	backlogDesc = prometheus.NewDesc("seam_delivery_backlog_age_seconds",
		"Age of the oldest delivery that is due but not yet delivered; 0 when there is none.",
		[]string{"flow", "route"}, nil)
	lastSuccessDesc = prometheus.NewDesc("seam_delivery_last_success_timestamp_seconds",
		"When the route last delivered a record, in Unix time; absent when it never did.",
		[]string{"flow", "route"}, nil)
	scrapeErrDesc = prometheus.NewDesc("seam_ledger_scrape_error",
		"1 if reading the ledger for these metrics failed (see the log), else 0.", nil, nil)
)

func (c *ledgerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- deliveriesDesc
	ch <- backlogDesc
	ch <- lastSuccessDesc
	ch <- scrapeErrDesc
}

var states = []seam.DeliveryState{seam.DeliveryPending, seam.DeliveryInFlight, seam.DeliveryRetrying,
	seam.DeliveryDelivered, seam.DeliveryDead, seam.DeliverySkipped}

func (c *ledgerCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	now := time.Now()
	rs, err := c.stats.RouteStats(ctx, &store.StatsParams{Now: now})
	if err != nil {
		if c.log != nil {
			c.log.Error("read the ledger for metrics", "err", err)
		}
		ch <- prometheus.MustNewConstMetric(scrapeErrDesc, prometheus.GaugeValue, 1)
		return
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrDesc, prometheus.GaugeValue, 0)
	for _, r := range rs {
		for _, s := range states {
			ch <- prometheus.MustNewConstMetric(deliveriesDesc, prometheus.GaugeValue, float64(r.Counts[s]), r.Flow, r.Route, string(s))
		}
		age := 0.0
		if !r.OldestDue.IsZero() {
			age = max(0, now.Sub(r.OldestDue).Seconds())
		}
		ch <- prometheus.MustNewConstMetric(backlogDesc, prometheus.GaugeValue, age, r.Flow, r.Route)
		if !r.LastDeliveredAt.IsZero() {
			ch <- prometheus.MustNewConstMetric(lastSuccessDesc, prometheus.GaugeValue, float64(r.LastDeliveredAt.UnixNano())/1e9, r.Flow, r.Route)
		}
	}
}
