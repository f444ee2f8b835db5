// Command refbench measures Seam against a bare Go proxy on the reference
// flow of bench/README.md, side by side in one run on one machine: for each
// system it starts the system, warms it up with wrk, resets the sink, runs
// wrk with orders.lua, waits (bounded) until the sink has every
// acknowledged record, reads the sink's counters and the server's peak RSS
// and CPU time, and stops it. It prints a Markdown table (medians when
// repeated) and exits 1 when a system lost an acknowledged record or sent
// an invalid one.
//
// The systems: proxy (bench/proxy), seam (SQLite ledger), seam-base (the
// same with -base-bin, a build of another revision, so that a change is
// compared with what it replaces in one run), seam-pg (one node on
// PostgreSQL) and seam-pg2 (two nodes on one PostgreSQL ledger, one wrk per
// node with half the connections each). The PostgreSQL ones
// get a fresh schema per round in the database of -pg, dropped after it.
//
// bench/reference/run.sh installs wrk, builds the binaries and runs it:
//
//	bench/reference/run.sh                   # 25 s per system, once
//	BENCH_REPEAT=3 bench/reference/run.sh    # three rounds, medians
//	bench/reference/run.sh -systems proxy -duration 10s
//	bench/reference/run.sh -systems proxy,seam,seam-pg,seam-pg2
//	BENCH_BASE=HEAD~1 bench/reference/run.sh  # seam-base (HEAD~1) beside seam
package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/seamhq/seam/bench/reference"
)

const (
	exitFail  = 1 // a run lost records or sent invalid ones
	exitSetup = 2 // usage, build or start-up problem
	intakeURL = "/in/eshop/orders"
	sinkPath  = "/api/sales-orders"
)

type config struct {
	duration, warmup, drain time.Duration
	repeat, threads, conns  int
	systems                 []string
	sinkBin, proxyBin       string
	seamBin, project, lua   string
	baseBin                 string
	workDir                 string
	strictSink              bool
	seamArgs                []string
	profile                 time.Duration
	pgDSN                   string
	pgKeep                  bool
}

func main() {
	os.Exit(run())
}

func run() int {
	var c config
	var systems, seamArgs string
	flag.DurationVar(&c.duration, "duration", envDuration("BENCH_DURATION", 25*time.Second), "measured load per system (env BENCH_DURATION)")
	flag.DurationVar(&c.warmup, "warmup", envDuration("BENCH_WARMUP", 5*time.Second), "warm-up load before each measurement (env BENCH_WARMUP)")
	flag.DurationVar(&c.drain, "drain", 60*time.Second, "longest wait for the sink to receive every acknowledged record")
	flag.IntVar(&c.repeat, "repeat", envInt("BENCH_REPEAT", 1), "rounds; the table shows medians (env BENCH_REPEAT)")
	flag.IntVar(&c.threads, "threads", 2, "wrk threads")
	flag.IntVar(&c.conns, "connections", 64, "wrk connections (concurrent senders)")
	flag.StringVar(&systems, "systems", envString("BENCH_SYSTEMS", "proxy,seam"), "systems to measure, in order: proxy, seam (SQLite), seam-base (SQLite, the -base-bin build), seam-pg (one node on PostgreSQL), seam-pg2 (two nodes on one PostgreSQL ledger) (env BENCH_SYSTEMS)")
	flag.StringVar(&c.sinkBin, "sink-bin", "/tmp/benchsink", "the sink binary (go build -C ../shared/bench/sink)")
	flag.StringVar(&c.proxyBin, "proxy-bin", "/tmp/benchproxy", "the proxy binary (go build ./bench/proxy)")
	flag.StringVar(&c.seamBin, "seam-bin", "/tmp/seam", "the seam binary (go build ./cmd/seam)")
	flag.StringVar(&c.baseBin, "base-bin", "", "the seam binary of system seam-base: another revision to compare with (run.sh builds it from BENCH_BASE)")
	flag.StringVar(&c.project, "project", "bench/reference/project", "the Seam project of the reference flow")
	flag.StringVar(&c.lua, "lua", "../shared/bench/orders.lua", "wrk script generating the orders")
	flag.StringVar(&c.workDir, "workdir", "", "where logs and Seam's database go (default: a new temporary directory, removed unless a run fails)")
	flag.BoolVar(&c.strictSink, "strict-sink", false, "count every record the sink refuses as invalid, even its float64 rounding artefact on exact half cents")
	flag.StringVar(&seamArgs, "seam-args", "", "extra arguments for seam run, space-separated")
	flag.DurationVar(&c.profile, "cpuprofile", 0, "capture a CPU profile of Seam (seam run --pprof; the first node of seam-pg2) for this long during the measured load (0: off)")
	flag.StringVar(&c.pgDSN, "pg", envString("BENCH_PG", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"), "PostgreSQL for seam-pg and seam-pg2, without search_path: each round gets a fresh schema there, dropped after it (env BENCH_PG)")
	flag.BoolVar(&c.pgKeep, "pg-keep", false, "keep the rounds' PostgreSQL schemas instead of dropping them")
	flag.Parse()
	if flag.NArg() > 0 || c.repeat < 1 || c.duration < time.Second || c.threads < 1 || c.conns < c.threads {
		fmt.Fprintln(os.Stderr, "refbench: bad flags; see -help")
		return exitSetup
	}
	c.systems = strings.FieldsFunc(systems, func(r rune) bool { return r == ',' || r == ' ' })
	c.seamArgs = strings.Fields(seamArgs)
	for _, s := range c.systems {
		if !slices.Contains(allSystems, s) {
			fmt.Fprintf(os.Stderr, "refbench: unknown system %q (%s)\n", s, strings.Join(allSystems, ", "))
			return exitSetup
		}
		if c.conns < nodesOf(s) {
			fmt.Fprintf(os.Stderr, "refbench: %s splits the connections over %d nodes; -connections %d is too few\n", s, nodesOf(s), c.conns)
			return exitSetup
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	keep := c.workDir != ""
	if c.workDir == "" {
		d, err := os.MkdirTemp("", "refbench-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "refbench:", err)
			return exitSetup
		}
		c.workDir = d
	} else if err := os.MkdirAll(c.workDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "refbench:", err)
		return exitSetup
	}
	b := &bench{cfg: c, ctx: ctx, nonce: strconv.FormatInt(time.Now().Unix()%100000, 36)}
	code := b.main()
	if code != 0 || ctx.Err() != nil {
		keep = true
	}
	if keep {
		fmt.Fprintf(os.Stderr, "logs kept in %s\n", c.workDir)
	} else {
		_ = os.RemoveAll(c.workDir)
	}
	return code
}

// allSystems are the systems -systems can name.
var allSystems = []string{"proxy", "seam", "seam-base", "seam-pg", "seam-pg2"}

type bench struct {
	cfg   config
	ctx   context.Context
	nonce string
	sink  string // base URL
	// sinkProc is the sink's process, for its CPU time.
	sinkProc *proc
	// pg is the runner's connection to PostgreSQL, when a system uses it.
	pg *pgAdmin
	// quantileLua is the wrk script of the systems with several nodes.
	quantileLua string
}

// result is one system's measurement in one round.
type result struct {
	system                       string
	intakeRPS, deliveredRPS      float64
	p50, p99                     float64 // ms
	rssMiB, cpuPerRec            float64
	nodes                        int
	rssMaxMiB                    float64 // the largest node's, with several
	p99Merged                    float64 // ms, several nodes: from the merged latency distributions
	pgCPUPerRec                  float64 // the PostgreSQL server's CPU for this system's sessions, µs
	pgCPUOK, walOK               bool
	walBytes, commits            float64 // per record
	walFPI, walSyncs             float64 // per 1,000 records
	nodeLines                    []string
	acked, wrkRequests, non2xx   int64
	sockErrs                     int64
	received, unique, duplicates int64
	invalid, validated           int64
	explained                    bool // invalid records are all the sink's float64 artefact
	lastError, why               string
	drainTime                    time.Duration
	sinkConns                    int64
	foreignPct, load             float64
	loadCPUPerRec                float64    // wrk's and the sink's CPU per record, µs
	writer                       writerLoad // SQLite's ledger writer during the load, when Seam reports it
	busyPct                      float64    // the machine's CPUs busy during the load, all processes
	lost                         int64
	exitErr                      string
	failures                     []string
}

func (b *bench) main() int {
	c := b.cfg
	for _, bin := range []string{c.sinkBin, "wrk", c.lua} {
		if _, err := exec.LookPath(bin); err != nil && !fileExists(bin) {
			fmt.Fprintf(os.Stderr, "refbench: %s not found (run bench/reference/run.sh, which builds and installs what is needed)\n", bin)
			return exitSetup
		}
	}
	if slices.Contains(c.systems, "seam-base") && c.baseBin == "" {
		fmt.Fprintln(os.Stderr, "refbench: seam-base needs -base-bin, a seam binary of the revision to compare with (run.sh: BENCH_BASE=<git revision>)")
		return exitSetup
	}
	for _, sys := range c.systems {
		if !isSeam(sys) {
			continue
		}
		bin := b.binOf(sys)
		out, err := exec.CommandContext(b.ctx, bin, "run", "--help").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "run") {
			fmt.Fprintf(os.Stderr, "refbench: %s run --help failed (%v): seam run is not available in this build\n%s", bin, err, out)
			return exitSetup
		}
	}

	if slices.ContainsFunc(c.systems, isPG) {
		pg, err := openPGAdmin(b.ctx, c.pgDSN)
		if err != nil {
			fmt.Fprintln(os.Stderr, "refbench:", err)
			return exitSetup
		}
		defer pg.close()
		b.pg = pg
	}
	if slices.ContainsFunc(c.systems, func(s string) bool { return nodesOf(s) > 1 }) {
		lua, err := filepath.Abs(c.lua)
		if err == nil {
			b.quantileLua = filepath.Join(c.workDir, "orders-quantiles.lua")
			err = os.WriteFile(b.quantileLua, []byte(quantileScript(lua)), 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "refbench:", err)
			return exitSetup
		}
	}

	sinkPort, err := freePort()
	if err != nil {
		fmt.Fprintln(os.Stderr, "refbench:", err)
		return exitSetup
	}
	b.sink = "http://" + sinkPort
	sink, err := b.start("sink", c.sinkBin, nil, "-listen", sinkPort)
	if err != nil {
		fmt.Fprintln(os.Stderr, "refbench:", err)
		return exitSetup
	}
	defer sink.stop()
	b.sinkProc = sink
	if err := b.waitListening(sink, sinkPort); err != nil {
		fmt.Fprintln(os.Stderr, "refbench:", err)
		return exitSetup
	}

	fmt.Printf("reference flow: wrk -t%d -c%d -d%s, warm-up %s, %d round(s), systems %s; %d CPUs; logs in %s\n",
		c.threads, c.conns, c.duration, c.warmup, c.repeat, strings.Join(c.systems, ", "), runtime.NumCPU(), c.workDir)
	all := map[string][]*result{}
	for round := 1; round <= c.repeat; round++ {
		for _, sys := range roundOrder(c.systems, round) {
			if b.ctx.Err() != nil {
				return exitSetup
			}
			// The system before wrote a gigabyte or so; let the disk
			// finish with it, or this one pays for its writeback.
			syscall.Sync()
			r, err := b.measure(round, sys)
			if err != nil {
				fmt.Fprintf(os.Stderr, "refbench: round %d, %s: %v\n", round, sys, err)
				return exitSetup
			}
			fmt.Printf("  round %d %-8s %s\n", round, sys, r.oneLine())
			for _, l := range r.nodeLines {
				fmt.Printf("    %s\n", l)
			}
			all[sys] = append(all[sys], r)
		}
	}

	var med []*result
	for _, sys := range c.systems {
		med = append(med, median(all[sys]))
	}
	fmt.Println()
	if c.repeat > 1 {
		fmt.Printf("Medians of %d rounds:\n\n", c.repeat)
	}
	printTable(os.Stdout, med)

	code := 0
	for _, sys := range c.systems {
		for i, r := range all[sys] {
			for _, f := range r.failures {
				fmt.Printf("FAIL round %d %s: %s\n", i+1, sys, f)
				code = exitFail
			}
			if r.invalid > 0 && r.explained && !c.strictSink {
				fmt.Printf("note round %d %s: the sink refused %d of %d sampled records, all explained as its float64 rounding artefact (last: %s)\n",
					i+1, sys, r.invalid, r.validated, r.why)
			}
		}
	}
	return code
}

func (r *result) oneLine() string {
	s := fmt.Sprintf("%6.0f rec/s acked, %6.0f delivered, p50 %5.2f ms, p99 %6.2f ms, RSS %5.1f MiB, %3.0f µs CPU/rec; acked %d, sink unique %d, dups %d, invalid %d/%d, drain %s; others used %.0f %% of the CPUs (load %.1f before)",
		r.intakeRPS, r.deliveredRPS, r.p50, r.p99, r.rssMiB, r.cpuPerRec, r.acked, r.unique, r.duplicates, r.invalid, r.validated, r.drainTime.Round(10*time.Millisecond), r.foreignPct, r.load)
	if r.nodes > 1 {
		s += fmt.Sprintf("; %d nodes: p99 the worse node's (%.2f ms merged), RSS summed (largest %.1f MiB), CPU summed", r.nodes, r.p99Merged, r.rssMaxMiB)
	}
	if r.writer.ok {
		s += "; " + r.writer.String()
	}
	if r.pgCPUOK {
		s += fmt.Sprintf("; PostgreSQL %.0f µs CPU/rec", r.pgCPUPerRec)
	}
	if r.walOK {
		s += fmt.Sprintf(", %.1f commits/rec, WAL %.0f B/rec (%.0f full-page images and %.0f WAL fsyncs per 1,000 rec)", r.commits, r.walBytes, r.walFPI, r.walSyncs)
	}
	return s
}

// measure runs one system once.
func (b *bench) measure(round int, sys string) (*result, error) {
	c := b.cfg
	res := &result{system: sys, nodes: nodesOf(sys)}
	var pprofAddr string
	if isSeam(sys) && c.profile > 0 {
		var err error
		if pprofAddr, err = freePort(); err != nil {
			return nil, err
		}
	}
	var led *ledger
	if isPG(sys) {
		var err error
		schema := fmt.Sprintf("refbench_%s_%d_%s", b.nonce, round, strings.ReplaceAll(sys, "-", ""))
		if led, err = b.pg.newLedger(b.ctx, schema, c.pgKeep); err != nil {
			return nil, err
		}
		// Registered first, so run last: after the nodes stopped.
		defer led.drop()
	}
	nodes, err := b.startSystem(round, sys, led, pprofAddr)
	defer func() {
		for _, n := range nodes {
			_ = n.p.stop()
		}
	}()
	if err != nil {
		return nil, err
	}
	name := nodes[0].p.name
	if len(nodes) > 1 {
		name = fmt.Sprintf("%s-%d", sys, round)
	}
	procs := make([]*proc, len(nodes))
	addrs := make([]string, len(nodes))
	for i, n := range nodes {
		procs[i], addrs[i] = n.p, n.addr
	}

	// Warm up, let the warm-up records arrive, then start from a clean sink.
	if _, err := b.getSink("/_reset"); err != nil {
		return nil, err
	}
	tag := strings.ReplaceAll(sys, "-", "")
	prefix := fmt.Sprintf("W%s%d%s", b.nonce, round, tag)
	w, err := b.load(addrs, c.warmup, prefix, name, "-warmup")
	if err != nil {
		return nil, err
	}
	if st, _, err := b.waitDelivered(w.acked(), name, procs); err != nil {
		return nil, err
	} else if st.UniqueIDs < w.acked() {
		res.failures = append(res.failures, fmt.Sprintf("warm-up: the sink has %d of %d acknowledged records after %s (so the measured counts below may include warm-up records delivered late)", st.UniqueIDs, w.acked(), c.drain))
	}
	if err := b.settle(); err != nil {
		return nil, err
	}
	if _, err := b.getSink("/_reset"); err != nil {
		return nil, err
	}

	cpu0 := make([]time.Duration, len(nodes))
	for i, p := range procs {
		cpu0[i] = p.cpuTime()
	}
	sinkCPU0, mach0 := b.sinkProc.cpuTime(), machineCPU()
	var pg0 pgSample
	if led != nil {
		pg0 = led.sample(b.ctx)
	}
	load := loadAvg()
	type profResult struct {
		path string
		err  error
	}
	var prof chan profResult
	if pprofAddr != "" {
		prof = make(chan profResult, 1)
		go func() {
			path, err := b.cpuProfile(pprofAddr, procs[0].name, min(c.profile, c.duration-time.Second))
			prof <- profResult{path, err}
		}()
	}
	prefix = fmt.Sprintf("R%s%d%s", b.nonce, round, tag)
	ws0, ws0ok := writerSample(b.ctx, addrs[0])
	wrkStart := time.Now()
	w, err = b.load(addrs, c.duration, prefix, name, "")
	if err != nil {
		return nil, err
	}
	wrkEnd := time.Now()
	if ws1, ok := writerSample(b.ctx, addrs[0]); ok && ws0ok {
		res.writer = ws1.since(ws0, wrkEnd.Sub(wrkStart))
	}
	st, at, err := b.waitDelivered(w.acked(), name, procs)
	if err != nil {
		return nil, err
	}
	var profPath string
	if prof != nil {
		pr := <-prof
		if pr.err != nil {
			fmt.Printf("  CPU profile of %s failed: %v\n", procs[0].name, pr.err)
		}
		profPath = pr.path
	}
	var cpu, pgCPU time.Duration
	nodeCPU := make([]time.Duration, len(nodes))
	for i, p := range procs {
		nodeCPU[i] = p.cpuTime() - cpu0[i]
		cpu += nodeCPU[i]
	}
	if led != nil {
		pg1 := led.sample(b.ctx)
		if pg0.ok && pg1.ok {
			pgCPU = pg1.cpuSince(pg0)
			res.pgCPUOK = true
		}
		if pg0.walOK && pg1.walOK {
			res.walOK = true
			res.walBytes = float64(pg1.walBytes - pg0.walBytes)
			res.walFPI = float64(pg1.walFPI - pg0.walFPI)
			res.walSyncs = float64(pg1.syncs - pg0.syncs)
			res.commits = float64(pg1.commits - pg0.commits)
		}
	}
	// CPU time used on the machine by anything but this measurement (other
	// people's builds and tests): the noise in the figures.
	machine, loadCPU := machineCPU()-mach0, b.sinkProc.cpuTime()-sinkCPU0+w.cpu
	foreign := machine - cpu - pgCPU - loadCPU
	capacity := time.Since(wrkStart).Seconds() * float64(runtime.NumCPU())
	res.foreignPct = 100 * foreign.Seconds() / capacity
	res.busyPct = 100 * machine.Seconds() / capacity
	res.load = load
	rss := make([]float64, len(nodes))
	for i, p := range procs {
		rss[i] = float64(p.peakRSS()) / 1024
		res.rssMiB += rss[i]
		res.rssMaxMiB = max(res.rssMaxMiB, rss[i])
	}
	for i, p := range procs {
		died := p.exitedEarly()
		if err := p.stop(); err != nil && !died {
			res.exitErr = err.Error()
			res.failures = append(res.failures, fmt.Sprintf("%s did not stop cleanly: %v (log %s)", p.name, err, p.log))
		}
		if died {
			res.failures = append(res.failures, fmt.Sprintf("%s exited during the run (%v; log %s):\n%s", p.name, p.err, p.log, tail(p.log, 20)))
		}
		if len(nodes) > 1 {
			part := w.parts[i]
			res.nodeLines = append(res.nodeLines, fmt.Sprintf("%s: %.0f rec/s acked, p50 %.2f ms, p99 %.2f ms, RSS %.1f MiB, CPU %.1f s (%.0f µs per record it acked)",
				p.name, float64(part.acked())/part.seconds, part.p50, part.p99, rss[i], nodeCPU[i].Seconds(), nodeCPU[i].Seconds()*1e6/float64(max(part.acked(), 1))))
		}
	}
	if profPath != "" {
		fmt.Printf("  %s\n", b.summariseProfile(b.binOf(sys), profPath))
	}

	res.acked, res.wrkRequests, res.non2xx, res.sockErrs = w.acked(), w.requests, w.non2xx, w.sockErrs
	res.p50, res.p99, res.p99Merged = w.p50, w.p99, w.p99Merged
	res.intakeRPS = w.rps
	res.drainTime = max(at.Sub(wrkEnd), 0)
	// Delivered: acknowledged records that reached the sink, over the time
	// from the start of the load until the last of them arrived.
	res.deliveredRPS = float64(min(st.UniqueIDs, res.acked)) / (w.seconds + res.drainTime.Seconds())
	res.received, res.unique, res.duplicates = st.Records, st.UniqueIDs, st.Duplicates
	res.invalid, res.validated, res.lastError = st.ValidationErrors, st.Validated, st.LastError
	res.sinkConns = st.NewConns
	if res.acked > 0 {
		res.cpuPerRec = cpu.Seconds() * 1e6 / float64(res.acked)
		res.loadCPUPerRec = loadCPU.Seconds() * 1e6 / float64(res.acked)
		res.pgCPUPerRec = pgCPU.Seconds() * 1e6 / float64(res.acked)
		res.walBytes /= float64(res.acked)
		res.walFPI *= 1000 / float64(res.acked)
		res.walSyncs *= 1000 / float64(res.acked)
		res.commits /= float64(res.acked)
	}
	if res.non2xx > 0 || res.sockErrs > 0 {
		fmt.Printf("  note: %s answered %d non-2xx and had %d socket errors out of %d requests (logs %s)\n", sys, res.non2xx, res.sockErrs, res.wrkRequests, logs(procs))
	}
	if lost := res.acked - res.unique; lost > 0 {
		res.lost = lost
		res.failures = append(res.failures, fmt.Sprintf("the sink received %d unique records of %d acknowledged: %d lost (or still undelivered after %s); logs %s", res.unique, res.acked, lost, c.drain, logs(procs)))
	}
	if st.NoID > 0 {
		res.failures = append(res.failures, fmt.Sprintf("the sink got %d requests without an id", st.NoID))
	}
	if st.RawRecords > 0 {
		res.failures = append(res.failures, fmt.Sprintf("the sink got %d unmapped records", st.RawRecords))
	}
	if res.invalid > 0 {
		res.explained, res.why = reference.ExplainSinkError(res.lastError)
		// The artefact hits about 0.7 % of orders.lua's records; allow three
		// times the expected share of the sample before calling it a bug.
		perThread := int(w.requests)/w.threads + 1
		bound := int64(math.Ceil(3*reference.SinkArtefactRate(perThread)*float64(res.validated))) + 3
		if c.strictSink || !res.explained || res.invalid > bound {
			res.explained = false
			res.failures = append(res.failures, fmt.Sprintf("the sink refused %d of %d sampled records; last: %s (%s)", res.invalid, res.validated, res.lastError, res.why))
		}
	}
	return res, nil
}

// node is one server process of a system under test and its address.
type node struct {
	p    *proc
	addr string
}

// binOf is the seam binary a system runs.
func (b *bench) binOf(sys string) string {
	if sys == "seam-base" {
		return b.cfg.baseBin
	}
	return b.cfg.seamBin
}

// startSystem starts a system's processes and waits until each listens.
// On an error it returns the nodes started so far, for the caller to stop.
func (b *bench) startSystem(round int, sys string, led *ledger, pprofAddr string) ([]node, error) {
	c := b.cfg
	var nodes []node
	for i := 1; i <= nodesOf(sys); i++ {
		addr, err := freePort()
		if err != nil {
			return nodes, err
		}
		var p *proc
		switch sys {
		case "proxy":
			p, err = b.start(fmt.Sprintf("proxy-%d", round), c.proxyBin, nil, "-listen", addr, "-sink", b.sink+sinkPath)
		case "seam", "seam-base":
			dir := filepath.Join(c.workDir, fmt.Sprintf("%s-%d", sys, round))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nodes, err
			}
			env := []string{"SEAM_STORE=sqlite:" + filepath.Join(dir, "seam.db"), "SEAM_LISTEN=" + addr, "SINK_URL=" + b.sink}
			args := append([]string{"run"}, c.seamArgs...)
			if pprofAddr != "" {
				args = append(args, "--pprof", pprofAddr)
			}
			args = append(args, c.project)
			p, err = b.start(fmt.Sprintf("%s-%d", sys, round), b.binOf(sys), env, args...)
		default: // seam-pg, seam-pg2: one ledger, a node per process
			name := fmt.Sprintf("%s-%d", sys, round)
			nodeName := fmt.Sprintf("n%d", i)
			if nodesOf(sys) > 1 {
				name += "-" + nodeName
			}
			args := []string{"run", "--store", led.dsn(nodeName), "--node", nodeName, "--listen", addr}
			args = append(args, c.seamArgs...)
			if pprofAddr != "" && i == 1 {
				args = append(args, "--pprof", pprofAddr)
			}
			args = append(args, c.project)
			p, err = b.start(name, c.seamBin, []string{"SINK_URL=" + b.sink}, args...)
		}
		if err != nil {
			return nodes, err
		}
		nodes = append(nodes, node{p: p, addr: addr})
	}
	// The nodes start together (several nodes migrating one ledger at once
	// is part of what is exercised); wait for each.
	for _, n := range nodes {
		if err := b.waitListening(n.p, n.addr); err != nil {
			return nodes, err
		}
	}
	if led != nil {
		var addrs []string
		for _, n := range nodes {
			addrs = append(addrs, n.addr)
		}
		fmt.Printf("  %s: schema %s, nodes at %s\n", sys, led.schema, strings.Join(addrs, ", "))
	}
	return nodes, nil
}

func logs(procs []*proc) string {
	var l []string
	for _, p := range procs {
		l = append(l, p.log)
	}
	return strings.Join(l, ", ")
}

// settle waits until the sink's counters stop moving, so that nothing from
// the warm-up arrives after the reset.
func (b *bench) settle() error {
	var last int64 = -1
	for i := 0; i < 50; i++ {
		st, err := b.stats()
		if err != nil {
			return err
		}
		if st.Requests == last {
			return nil
		}
		last = st.Requests
		if err := sleep(b.ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
	return errors.New("the sink kept receiving for 10 s after the warm-up")
}

// waitDelivered polls the sink until it has n unique records, the drain
// bound passes, or a process of the system dies; it returns the last stats
// and when they were reached.
func (b *bench) waitDelivered(n int64, name string, procs []*proc) (*sinkStats, time.Time, error) {
	start := time.Now()
	deadline := start.Add(b.cfg.drain)
	report := start.Add(5 * time.Second)
	for {
		st, err := b.stats()
		if err != nil {
			return nil, time.Time{}, err
		}
		now := time.Now()
		if st.UniqueIDs >= n || now.After(deadline) || slices.ContainsFunc(procs, (*proc).exitedEarly) {
			return st, now, nil
		}
		if now.After(report) {
			fmt.Printf("    %s: waiting for delivery, the sink has %d of %d acknowledged records after %s\n", name, st.UniqueIDs, n, now.Sub(start).Round(time.Second))
			report = report.Add(5 * time.Second)
		}
		if err := sleep(b.ctx, 50*time.Millisecond); err != nil {
			return nil, time.Time{}, err
		}
	}
}

// cpuProfile fetches /debug/pprof/profile from Seam's --pprof address
// into the work directory and returns its path.
func (b *bench) cpuProfile(addr, name string, d time.Duration) (string, error) {
	if err := sleep(b.ctx, time.Second); err != nil {
		return "", err
	}
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, int(d.Seconds()))
	ctx, cancel := context.WithTimeout(b.ctx, d+30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s answered %s", url, resp.Status)
	}
	path := filepath.Join(b.cfg.workDir, name+".cpu.pprof")
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	_, err = io.Copy(f, resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return path, err
}

// summariseProfile prints the top of a CPU profile, by cumulative time,
// once the measurement is over (pprof itself takes CPU).
func (b *bench) summariseProfile(bin, path string) string {
	out, err := exec.CommandContext(b.ctx, "go", "tool", "pprof", "-top", "-cum", "-nodecount=40", bin, path).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("profile saved to %s (pprof -top failed: %v)", path, err)
	}
	_ = os.WriteFile(path+".top.txt", out, 0o644)
	return fmt.Sprintf("profile saved to %s; top by cumulative time:\n%s", path, indent(string(out)))
}

// --- wrk ---

type wrkResult struct {
	cpu                        time.Duration
	requests, non2xx, sockErrs int64
	seconds                    float64 // the longest of the wrk processes
	p50, p99                   float64 // ms
	// Set by load: acknowledged records per second, summed over the wrk
	// processes; wrk threads in all.
	rps     float64
	threads int
	// With several wrk processes (one per node): p50 and p99Merged are read
	// from their latency distributions merged, p99 is the worse of theirs.
	p99Merged float64
	quantiles []quantile // this process's latency distribution (quantileLua)
	parts     []*wrkResult
}

// quantile is one point of wrk's latency distribution: pct % of the
// requests took at most ms.
type quantile struct{ pct, ms float64 }

func (w *wrkResult) acked() int64 { return w.requests - w.non2xx - w.sockErrs }

// load runs wrk against a system: one wrk with every connection for one
// node; for several nodes one wrk per node at once, splitting the
// connections and threads, each with its own order-number prefix (prefix +
// "n1", "n2", …), the results summed and the latencies merged.
func (b *bench) load(addrs []string, d time.Duration, prefix, name, suffix string) (*wrkResult, error) {
	c := b.cfg
	if len(addrs) == 1 {
		w, err := b.wrk("http://"+addrs[0]+intakeURL, d, prefix, name+suffix, c.threads, c.conns, c.lua)
		if err != nil {
			return nil, err
		}
		w.threads, w.rps = c.threads, float64(w.acked())/w.seconds
		return w, nil
	}
	n := len(addrs)
	parts := make([]*wrkResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, a := range addrs {
		wg.Go(func() {
			parts[i], errs[i] = b.wrk("http://"+a+intakeURL, d, fmt.Sprintf("%sn%d", prefix, i+1),
				fmt.Sprintf("%s-n%d%s", name, i+1, suffix), max(1, c.threads/n), c.conns/n, b.quantileLua)
			if parts[i] != nil {
				parts[i].threads = max(1, c.threads/n)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return mergeWrk(parts), nil
}

// mergeWrk sums the counts of several wrk processes run at once and merges
// their latencies: p50 from the merged distributions, p99 the worse of the
// processes' (and p99Merged from the merged distributions).
func mergeWrk(parts []*wrkResult) *wrkResult {
	m := &wrkResult{parts: parts}
	for _, w := range parts {
		m.cpu += w.cpu
		m.requests += w.requests
		m.non2xx += w.non2xx
		m.sockErrs += w.sockErrs
		m.threads += w.threads
		m.seconds = max(m.seconds, w.seconds)
		m.rps += float64(w.acked()) / w.seconds
		m.p99 = max(m.p99, w.p99)
		m.p50 = max(m.p50, w.p50) // unless the distributions can be merged
	}
	m.p99Merged = m.p99
	if v, ok := mergedPercentile(parts, 50); ok {
		m.p50 = v
	}
	if v, ok := mergedPercentile(parts, 99); ok {
		m.p99Merged = v
	}
	return m
}

// mergedPercentile is the pct percentile of the requests of all parts, from
// each part's distribution (quantiles every 0.1 %) weighted by its requests.
// Each quantile stands for the requests between it and the one before, at
// its own (upper) value; for one part it gives that part's own percentiles.
func mergedPercentile(parts []*wrkResult, pct float64) (float64, bool) {
	type point struct{ ms, n float64 }
	var pts []point
	var total float64
	for _, w := range parts {
		if len(w.quantiles) == 0 {
			return 0, false
		}
		prev := 0.0
		for _, q := range w.quantiles {
			n := (q.pct - prev) / 100 * float64(w.requests)
			prev = q.pct
			pts = append(pts, point{q.ms, n})
			total += n
		}
	}
	if total == 0 {
		return 0, false
	}
	slices.SortStableFunc(pts, func(a, b point) int { return cmp.Compare(a.ms, b.ms) })
	target, sum := pct/100*total, 0.0
	for _, p := range pts {
		sum += p.n
		if sum >= target*(1-1e-9) {
			return p.ms, true
		}
	}
	return pts[len(pts)-1].ms, true
}

// quantileScript is the wrk script for a node of several: orders.lua, plus
// wrk's latency distribution printed at the end (every 0.1 %), so that the
// runner can merge the distributions of the wrk processes.
func quantileScript(lua string) string {
	return fmt.Sprintf(`-- written by refbench (bench/reference/cmd/refbench): %[1]s plus its latency distribution
dofile(%[1]q)

function done(summary, latency, requests)
   for i = 1, 1000 do
      local p = i / 10
      io.write(string.format("refbench-quantile %%.1f %%d\n", p, latency:percentile(p)))
   end
end
`, lua)
}

func (b *bench) wrk(url string, d time.Duration, prefix, logName string, threads, conns int, script string) (*wrkResult, error) {
	c := b.cfg
	secs := int(math.Round(d.Seconds()))
	args := []string{"-t" + strconv.Itoa(threads), "-c" + strconv.Itoa(conns), "-d" + strconv.Itoa(secs) + "s", "--latency", "-s", script, url, "--", prefix}
	ctx, cancel := context.WithTimeout(b.ctx, d+60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "wrk", args...)
	out, err := cmd.CombinedOutput()
	_ = os.WriteFile(filepath.Join(c.workDir, logName+".wrk.txt"), out, 0o644)
	if err != nil {
		return nil, fmt.Errorf("wrk %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	w, err := parseWrk(string(out))
	if err == nil {
		w.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	return w, err
}

var (
	reTotal   = regexp.MustCompile(`(\d+) requests in ([\d.]+)(us|ms|s|m|h)`)
	reLatency = regexp.MustCompile(`(?m)^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s|m)\s*$`)
	reSock    = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	reNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	reQuant   = regexp.MustCompile(`(?m)^refbench-quantile ([\d.]+) (\d+)$`)
)

func parseWrk(out string) (*wrkResult, error) {
	w := &wrkResult{}
	m := reTotal.FindStringSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("cannot read wrk's output:\n%s", out)
	}
	w.requests, _ = strconv.ParseInt(m[1], 10, 64)
	w.seconds = toMillis(m[2], m[3]) / 1000
	for _, l := range reLatency.FindAllStringSubmatch(out, -1) {
		v := toMillis(l[2], l[3])
		if l[1] == "50" {
			w.p50 = v
		} else {
			w.p99 = v
		}
	}
	if s := reSock.FindStringSubmatch(out); s != nil {
		for _, x := range s[1:] {
			n, _ := strconv.ParseInt(x, 10, 64)
			w.sockErrs += n
		}
	}
	if s := reNon2xx.FindStringSubmatch(out); s != nil {
		w.non2xx, _ = strconv.ParseInt(s[1], 10, 64)
	}
	for _, q := range reQuant.FindAllStringSubmatch(out, -1) {
		pct, _ := strconv.ParseFloat(q[1], 64)
		us, _ := strconv.ParseFloat(q[2], 64)
		w.quantiles = append(w.quantiles, quantile{pct, us / 1000})
	}
	if w.seconds <= 0 {
		return nil, fmt.Errorf("wrk ran for no time:\n%s", out)
	}
	return w, nil
}

func toMillis(v, unit string) float64 {
	f, _ := strconv.ParseFloat(v, 64)
	switch unit {
	case "us":
		return f / 1000
	case "s":
		return f * 1000
	case "m":
		return f * 60_000
	case "h":
		return f * 3_600_000
	}
	return f
}

// --- the sink ---

type sinkStats struct {
	Requests         int64  `json:"requests"`
	Records          int64  `json:"records"`
	RawRecords       int64  `json:"raw_records"`
	UniqueIDs        int64  `json:"unique_ids"`
	Duplicates       int64  `json:"duplicates"`
	NoID             int64  `json:"requests_no_id"`
	Validated        int64  `json:"validated"`
	ValidationErrors int64  `json:"validation_errors"`
	LastError        string `json:"last_error"`
	NewConns         int64  `json:"new_conns"`
}

func (b *bench) stats() (*sinkStats, error) {
	body, err := b.getSink("/_stats")
	if err != nil {
		return nil, err
	}
	var st sinkStats
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, fmt.Errorf("sink /_stats: %v", err)
	}
	return &st, nil
}

var ctlClient = &http.Client{Timeout: 10 * time.Second}

func (b *bench) getSink(path string) ([]byte, error) {
	req, _ := http.NewRequestWithContext(b.ctx, http.MethodGet, b.sink+path, nil)
	resp, err := ctlClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sink %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("sink %s: %s %v", path, resp.Status, err)
	}
	return body, nil
}

// --- processes ---

type proc struct {
	name, log string
	cmd       *exec.Cmd
	done      chan struct{}
	err       error
	stopped   bool
}

func (b *bench) start(name, bin string, env []string, args ...string) (*proc, error) {
	logPath := filepath.Join(b.cfg.workDir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	// If the runner dies without stopping it, the kernel does.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %v", name, err)
	}
	p := &proc{name: name, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) exitedEarly() bool {
	select {
	case <-p.done:
		return !p.stopped
	default:
		return false
	}
}

// stop ends the process: SIGTERM, then SIGKILL after 15 s. It reports a
// non-zero exit that SIGTERM did not cause.
func (p *proc) stop() error {
	select {
	case <-p.done:
		if p.stopped {
			return nil
		}
		p.stopped = true
		return p.exitError()
	default:
	}
	p.stopped = true
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.exitError()
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return errors.New("still running 15 s after SIGTERM; killed")
	}
}

func (p *proc) exitError() error {
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
			return nil
		}
	}
	return p.err
}

// peakRSS is VmHWM in KiB.
func (p *proc) peakRSS() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "VmHWM:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// cpuTime is the process's user + system CPU time so far.
func (p *proc) cpuTime() time.Duration {
	d, _ := pidCPU(p.cmd.Process.Pid)
	return d
}

// machineCPU is the CPU time used on the whole machine so far, all CPUs.
func machineCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal …
	var busy int64
	for i, x := range f {
		if i == 0 || i == 4 || i == 5 || i > 8 {
			continue
		}
		n, _ := strconv.ParseInt(x, 10, 64)
		busy += n
	}
	const clkTck = 100
	return time.Duration(busy) * time.Second / clkTck
}

// loadAvg is the machine's 1-minute load average.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

func (b *bench) waitListening(p *proc, addr string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if p.exitedEarly() {
			return fmt.Errorf("%s exited at start-up: %v\n%s", p.name, p.err, tail(p.log, 30))
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		if err := sleep(b.ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("%s is not listening on %s after 30 s\n%s", p.name, addr, tail(p.log, 30))
}

// --- output ---

func median(rs []*result) *result {
	if len(rs) == 1 {
		return rs[0]
	}
	m := &result{system: rs[0].system, nodes: rs[0].nodes, pgCPUOK: true, walOK: true}
	for _, r := range rs {
		m.pgCPUOK = m.pgCPUOK && r.pgCPUOK
		m.walOK = m.walOK && r.walOK
	}
	med := func(get func(*result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = get(r)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	m.intakeRPS = med(func(r *result) float64 { return r.intakeRPS })
	m.deliveredRPS = med(func(r *result) float64 { return r.deliveredRPS })
	m.p50 = med(func(r *result) float64 { return r.p50 })
	m.p99 = med(func(r *result) float64 { return r.p99 })
	m.rssMiB = med(func(r *result) float64 { return r.rssMiB })
	m.rssMaxMiB = med(func(r *result) float64 { return r.rssMaxMiB })
	m.p99Merged = med(func(r *result) float64 { return r.p99Merged })
	m.pgCPUPerRec = med(func(r *result) float64 { return r.pgCPUPerRec })
	m.walBytes = med(func(r *result) float64 { return r.walBytes })
	m.walSyncs = med(func(r *result) float64 { return r.walSyncs })
	m.walFPI = med(func(r *result) float64 { return r.walFPI })
	m.commits = med(func(r *result) float64 { return r.commits })
	m.cpuPerRec = med(func(r *result) float64 { return r.cpuPerRec })
	m.acked = int64(med(func(r *result) float64 { return float64(r.acked) }))
	m.received = int64(med(func(r *result) float64 { return float64(r.received) }))
	m.unique = int64(med(func(r *result) float64 { return float64(r.unique) }))
	m.drainTime = time.Duration(med(func(r *result) float64 { return float64(r.drainTime) }))
	m.sinkConns = int64(med(func(r *result) float64 { return float64(r.sinkConns) }))
	m.foreignPct = med(func(r *result) float64 { return r.foreignPct })
	m.loadCPUPerRec = med(func(r *result) float64 { return r.loadCPUPerRec })
	m.writer = writerLoad{
		ok:                 !slices.ContainsFunc(rs, func(r *result) bool { return !r.writer.ok }),
		busyPct:            med(func(r *result) float64 { return r.writer.busyPct }),
		batch:              med(func(r *result) float64 { return r.writer.batch }),
		commitPct:          med(func(r *result) float64 { return r.writer.commitPct }),
		transactionsPerSec: med(func(r *result) float64 { return r.writer.transactionsPerSec }),
	}
	m.busyPct = med(func(r *result) float64 { return r.busyPct })
	// Problems are summed, not medianed: one lost record in any round counts.
	for _, r := range rs {
		m.duplicates += r.duplicates
		m.invalid += r.invalid
		m.validated += r.validated
		m.lost += r.lost
		m.failures = append(m.failures, r.failures...)
	}
	m.explained = true
	for _, r := range rs {
		if r.invalid > 0 && !r.explained {
			m.explained = false
		}
	}
	return m
}

func printTable(w io.Writer, rs []*result) {
	var proxy *result
	for _, r := range rs {
		if r.system == "proxy" {
			proxy = r
		}
	}
	fmt.Fprintln(w, "| system | records/s (acked) | records/s (delivered) | ratio to proxy (acked / delivered) | p50 ms | p99 ms | peak RSS MiB | CPU µs/record | PostgreSQL CPU µs/record | acked | sink received | unique | duplicates | invalid (sampled) | drain s | sink conns | wrk + sink CPU µs/record | machine busy | CPU used by others |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	multi := false
	for _, r := range rs {
		ratio := "1.00"
		if proxy == nil || proxy.intakeRPS == 0 {
			ratio = "—"
		} else if r != proxy {
			ratio = fmt.Sprintf("%.2f / %.2f", r.intakeRPS/proxy.intakeRPS, r.deliveredRPS/proxy.deliveredRPS)
		}
		invalid := fmt.Sprintf("%d of %d", r.invalid, r.validated)
		if r.invalid > 0 && r.explained {
			invalid += " †"
		}
		p99, rss, pgCPU := fmt.Sprintf("%.2f", r.p99), fmt.Sprintf("%.1f", r.rssMiB), "—"
		if r.nodes > 1 {
			multi = true
			p99 = fmt.Sprintf("%.2f (merged %.2f) ‡", r.p99, r.p99Merged)
			rss = fmt.Sprintf("%.1f (max %.1f) ‡", r.rssMiB, r.rssMaxMiB)
		}
		if r.pgCPUOK {
			pgCPU = fmt.Sprintf("%.0f", r.pgCPUPerRec)
		}
		fmt.Fprintf(w, "| %s | %.0f | %.0f | %s | %.2f | %s | %s | %.0f | %s | %d | %d | %d | %d | %s | %.1f | %d | %.0f | %.0f %% | %.0f %% |\n",
			r.system, r.intakeRPS, r.deliveredRPS, ratio, r.p50, p99, rss, r.cpuPerRec, pgCPU,
			r.acked, r.received, r.unique, r.duplicates, invalid, r.drainTime.Seconds(), r.sinkConns,
			r.loadCPUPerRec, r.busyPct, r.foreignPct)
	}
	printBudget(w, proxy, rs)
	if multi {
		fmt.Fprintln(w, "\n‡ several nodes, one wrk per node (the connections split between them): records/s summed; p50 from the wrk processes' latency distributions merged; p99 the worse node's, merged in brackets; RSS summed, the largest node's in brackets; CPU of all nodes")
	}
	for _, r := range rs {
		if r.invalid > 0 && r.explained {
			fmt.Fprintln(w, "\n† every refusal explained as the sink's float64 check on an exactly rounded half cent (bench/README.md)")
			break
		}
	}
}

// roundOrder is the order in which round runs the systems: the proxy
// first (it is the reference), the others reversed every other round, so
// that neither of two compared builds always runs second, on a machine
// warmer and with a fuller disk cache than the first had.
func roundOrder(systems []string, round int) []string {
	var head, rest []string
	for _, s := range systems {
		if s == "proxy" {
			head = append(head, s)
		} else {
			rest = append(rest, s)
		}
	}
	if round%2 == 0 {
		slices.Reverse(rest)
	}
	return append(head, rest...)
}

// targetRatio is the speed target: Seam at 0.7 of the proxy's records/s
// (bench/README.md).
const targetRatio = 0.7

// printBudget says how much CPU per record a system may spend to reach the
// target on this machine: at 0.7 of the proxy's rate, with every CPU busy
// and the load generator and the sink taking what they took in the
// system's own run. It is an upper bound (no machine is 100 % busy), so a
// system spending more cannot reach the target by overlapping better; it
// has to do less work per record.
func printBudget(w io.Writer, proxy *result, rs []*result) {
	if proxy == nil || proxy.intakeRPS == 0 {
		return
	}
	rate := targetRatio * proxy.intakeRPS
	perRec := float64(runtime.NumCPU()) * 1e6 / rate
	fmt.Fprintf(w, "\nCPU budget at %.2f of the proxy (%.0f rec/s on %d CPUs, all busy): %.0f µs per record for everything on the machine.\n",
		targetRatio, rate, runtime.NumCPU(), perRec)
	for _, r := range rs {
		if r == proxy || r.acked == 0 {
			continue
		}
		budget := perRec - r.loadCPUPerRec
		used, what := r.cpuPerRec, ""
		if r.pgCPUOK {
			used += r.pgCPUPerRec
			what = " with PostgreSQL's"
		}
		verdict := "within it"
		if used > budget {
			verdict = fmt.Sprintf("%.0f µs over: no overlap can reach the target, only less work per record", used-budget)
		}
		fmt.Fprintf(w, "  %s: wrk and the sink took %.0f µs, leaving %.0f µs; it used %.0f µs%s — %s\n",
			r.system, r.loadCPUPerRec, budget, used, what, verdict)
		if r.writer.ok {
			fmt.Fprintf(w, "    its %s\n", r.writer)
		}
	}
}

// writerStats are the counters of Seam's SQLite ledger writer, as its
// /metrics exposes them.
type writerStats struct {
	transactions, requests, busy, commit float64
}

// writerLoad is what the writer did during a load.
type writerLoad struct {
	ok                 bool
	busyPct            float64 // of the load's wall time
	batch              float64 // requests per transaction
	commitPct          float64 // of the busy time, in COMMIT (fsync)
	transactionsPerSec float64
}

func (w writerLoad) String() string {
	return fmt.Sprintf("ledger writer busy %.0f %% of the time, %.0f commits/s of %.1f requests, %.0f %% of its time in COMMIT",
		w.busyPct, w.transactionsPerSec, w.batch, w.commitPct)
}

func (s writerStats) since(s0 writerStats, wall time.Duration) writerLoad {
	tx, busy := s.transactions-s0.transactions, s.busy-s0.busy
	if tx <= 0 || busy <= 0 || wall <= 0 {
		return writerLoad{}
	}
	return writerLoad{
		ok:                 true,
		busyPct:            100 * busy / wall.Seconds(),
		batch:              (s.requests - s0.requests) / tx,
		commitPct:          100 * (s.commit - s0.commit) / busy,
		transactionsPerSec: tx / wall.Seconds(),
	}
}

// writerSample reads the writer's counters from Seam's /metrics; ok is
// false for a ledger without them (PostgreSQL, or a Seam from before they
// existed).
func writerSample(ctx context.Context, addr string) (writerStats, bool) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	resp, err := ctlClient.Do(req)
	if err != nil {
		return writerStats{}, false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return writerStats{}, false
	}
	return parseWriterStats(string(body))
}

func parseWriterStats(exposition string) (writerStats, bool) {
	var s writerStats
	fields := map[string]*float64{
		"seam_ledger_write_transactions_total":  &s.transactions,
		"seam_ledger_write_requests_total":      &s.requests,
		"seam_ledger_writer_busy_seconds_total": &s.busy,
		"seam_ledger_commit_seconds_total":      &s.commit,
	}
	found := 0
	for line := range strings.Lines(exposition) {
		name, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		dst := fields[name]
		if !ok || dst == nil {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return writerStats{}, false
		}
		*dst = v
		found++
	}
	return s, found == len(fields)
}

// --- helpers ---

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return indent(strings.Join(lines, "\n"))
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func envString(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func envInt(k string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return n
	}
	return def
}

func envDuration(k string, def time.Duration) time.Duration {
	v := os.Getenv(k)
	if v == "" {
		return def
	}
	if d, err := time.ParseDuration(v); err == nil {
		return d
	}
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second
	}
	return def
}
