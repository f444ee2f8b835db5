// Package demo is `seam demo`: Seam running against five simulated systems
// — an e-shop, a CRM, an ERP, invoicing and a mailing tool — each a real
// HTTP service on loopback with the quirks real ones have (DD/MM vs MM/DD
// dates, gross vs net prices, customer_name vs company_name, an ERP that
// goes down for a minute now and then and refuses orders of customers it
// does not know yet, a slow mailer, an e-shop that sends some webhooks
// twice and a few malformed ones), a catalog of flows between them,
// traffic at a steady rate, and the dashboard. Nothing leaves the machine.
package demo

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/seamhq/seam/internal/app"
)

//go:embed project
var projectFS embed.FS

// Options tune the demo.
type Options struct {
	// Listen is Seam's address; when it is taken, a free port is used.
	Listen string
	// Dir holds the demo's catalog and ledger; default a temporary folder,
	// removed at the end.
	Dir string
	// Rate is orders per second from the e-shop (default 1).
	Rate float64
	// Outage is how long each ERP outage lasts, and OutageEvery how often
	// one starts (the first comes after FirstOutage).
	Outage, OutageEvery, FirstOutage time.Duration
	Out                              io.Writer
	Logger                           *slog.Logger
	// Ready, when set, is called with the running demo's details once it
	// takes traffic (tests use it).
	Ready func(Info)
}

// Info is what a running demo tells its user.
type Info struct {
	URL, OperatorToken, ViewerToken, Dir string
}

// Run runs the demo until ctx is cancelled, then stops everything cleanly.
func Run(ctx context.Context, o Options) error {
	if o.Rate <= 0 {
		o.Rate = 1
	}
	if o.Outage <= 0 {
		o.Outage = time.Minute
	}
	if o.OutageEvery <= 0 {
		o.OutageEvery = 4 * time.Minute
	}
	if o.FirstOutage <= 0 {
		o.FirstOutage = 45 * time.Second
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	var outMu sync.Mutex
	say := func(s string) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(o.Out, "%s  %s\n", time.Now().Format("15:04:05"), s)
	}

	dir := o.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "seam-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	if err := writeProject(dir); err != nil {
		return err
	}

	secrets := map[string]string{}
	for _, k := range []string{"DEMO_ERP_TOKEN", "DEMO_MAILING_KEY", "DEMO_ESHOP_SECRET", "DEMO_CRM_SECRET",
		"DEMO_ERP_HOOK_SECRET", "DEMO_OPERATOR_TOKEN", "DEMO_VIEWER_TOKEN"} {
		secrets[k] = randomToken()
	}
	theERP := newERP(secrets["DEMO_ERP_TOKEN"])
	var systems []*system
	stopSystems := func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		for _, s := range systems {
			s.stop(sctx)
		}
	}
	defer stopSystems()
	for _, s := range []struct {
		name, env string
		h         http.Handler
	}{
		{"ERP", "DEMO_ERP_URL", theERP},
		{"invoicing", "DEMO_INVOICING_URL", &invoicing{}},
		{"mailing", "DEMO_MAILING_URL", &mailing{key: secrets["DEMO_MAILING_KEY"]}},
		{"chat", "DEMO_CHAT_URL", &chat{out: say}},
	} {
		sys, err := startSystem(s.name, s.h)
		if err != nil {
			return err
		}
		systems = append(systems, sys)
		secrets[s.env] = sys.URL()
	}
	if s, ok := secrets["DEMO_CHAT_URL"]; ok {
		secrets["DEMO_CHAT_URL"] = s + "/hooks/ops"
	}

	listen := o.Listen
	if listen == "" {
		listen = "127.0.0.1:8080"
	}
	if ln, err := net.Listen("tcp", listen); err != nil {
		// Taken (another demo, another service): any free port will do.
		listen = "127.0.0.1:0"
	} else {
		ln.Close()
	}
	env := func(k string) (string, bool) {
		if v, ok := secrets[k]; ok {
			return v, true
		}
		return os.LookupEnv(k)
	}
	a, err := app.New(ctx, app.Options{
		Dir: dir, Store: "sqlite:" + filepath.Join(dir, "seam.db"), Listen: listen, Env: env, Logger: o.Logger,
		PollInterval: 250 * time.Millisecond,
	})
	if err != nil {
		return fmt.Errorf("start seam: %w", err)
	}
	if err := a.Start(ctx); err != nil {
		return err
	}
	info := Info{URL: "http://" + a.Addr(), OperatorToken: secrets["DEMO_OPERATOR_TOKEN"], ViewerToken: secrets["DEMO_VIEWER_TOKEN"], Dir: dir}
	banner(o.Out, info, o)

	tctx, stopTraffic := context.WithCancel(ctx)
	var wg sync.WaitGroup
	tr := newTraffic(info.URL, secrets, o.Rate, theERP, say)
	wg.Add(2)
	go func() { defer wg.Done(); tr.run(tctx) }()
	go func() { defer wg.Done(); outages(tctx, theERP, o, say) }()
	if o.Ready != nil {
		o.Ready(info)
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-a.Err():
	}
	say("stopping: traffic first, then Seam (attempts in flight finish), then the simulated systems")
	stopTraffic()
	wg.Wait()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	if err := a.Stop(sctx); err != nil && runErr == nil {
		runErr = err
	}
	tr.mu.Lock()
	st := tr.stats
	tr.mu.Unlock()
	say(fmt.Sprintf("sent %d orders (%d twice, %d malformed), %d customer changes, %d invoices; stopped",
		st.orders, st.duplicates, st.malformed, st.customers, st.invoices))
	if o.Dir != "" {
		fmt.Fprintf(o.Out, "the catalog and the ledger stay in %s\n", o.Dir)
	}
	return runErr
}

func outages(ctx context.Context, e *erp, o Options, say func(string)) {
	next := o.FirstOutage
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(next):
		}
		e.down.Store(true)
		say(fmt.Sprintf("ERP: simulated outage for %s — watch the retries, the open circuit and the backlog", o.Outage))
		select {
		case <-ctx.Done():
			e.down.Store(false)
			return
		case <-time.After(o.Outage):
		}
		e.down.Store(false)
		say("ERP: back up — the backlog drains by itself")
		next = o.OutageEvery
	}
}

func banner(w io.Writer, i Info, o Options) {
	fmt.Fprintf(w, `
Seam demo — an e-shop, a CRM, an ERP, invoicing and a mailing tool, all simulated here.

  Dashboard   %s/
  Tokens      operator %s
              viewer   %s

Traffic: %.1f orders/s from the e-shop (some sent twice, a few malformed),
customer changes from the CRM, invoices from the ERP. The ERP goes down for
%s after %s and every %s; it refuses orders of customers it
does not know yet (409) until the CRM sync teaches it.

Five minutes with it:
  export SEAM_SERVER=%s SEAM_TOKEN=%s
  seam messages --since 5m                 # what came in
  seam trace ES-1001                       # one order: e-shop → ERP → invoice → e-mails
  seam dlq                                 # dead letters (orders of unknown customers)
  seam replay --flow eshop-orders --error 409 --dry-run
  seam replay --flow eshop-orders --error 409 --reason "customer synced"
  seam quarantine                          # the malformed records, with every reason
  seam audit %s                      # the landscape's audit
Ctrl-C stops everything.

`, i.URL, i.OperatorToken, i.ViewerToken, o.Rate, o.Outage, o.FirstOutage, o.OutageEvery, i.URL, i.OperatorToken, i.Dir)
}

func writeProject(dir string) error {
	return fs.WalkDir(projectFS, "project", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := projectFS.ReadFile(path)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, strings.TrimPrefix(path, "project/"))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
}

func randomToken() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
