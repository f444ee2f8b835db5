package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// The browser test drives the dashboard in a real headless Chromium
// (Debian's package chromium) through chromedp: sign in with a viewer and
// an operator token, open every page, follow an order through its
// journey and across flows, replay a dead letter and see it delivered,
// redrive after a catalog fix through the dry-run diff, and check that a
// viewer cannot act. It saves a screenshot of each page into
// docs/screenshots (SEAM_SCREENSHOTS overrides the folder), for reviewers.
//
// Without Chromium it skips, unless SEAM_TEST_BROWSER=1 says it must run.

// chromiumPath finds the browser, or says why the test cannot run.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("SEAM_CHROMIUM"), "chromium", "chromium-browser", "/usr/bin/chromium"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const why = "headless Chromium is not installed (Debian: apt-get install chromium)"
	if os.Getenv("SEAM_TEST_BROWSER") == "1" {
		t.Fatal(why + ", and SEAM_TEST_BROWSER=1 requires the browser tests")
	}
	t.Skip(why + "; set SEAM_TEST_BROWSER=1 to make this a failure")
	return ""
}

// shotsDir is where the screenshots go: docs/screenshots of this repo.
func shotsDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("SEAM_SCREENSHOTS"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "docs", "screenshots")
}

// browser is one tab on the dashboard.
type browser struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string

	mu     sync.Mutex
	errors []string // console errors and exceptions, CSP violations among them
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	exe := chromiumPath(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Headless, // --headless
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.UserDataDir(t.TempDir()), // a fresh profile: no cookies, no cache
		chromedp.WindowSize(1440, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 80*time.Second)
	t.Cleanup(func() {
		cancelTime()
		cancelTab()
		cancelAlloc()
	})
	dir := shotsDir(t)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	b := &browser{t: t, ctx: ctx, base: base, shots: dir}
	// Start the tab, then listen to its console for the whole test.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank")))
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.mu.Lock()
				b.errors = append(b.errors, m.String())
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// consoleErrors are the console's errors, but for the 4xx answers the
// test provokes on purpose (the browser logs each as a failed load).
func (b *browser) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, e := range b.errors {
		if !strings.Contains(e, "status of 40") && !strings.Contains(e, "status of 42") {
			out = append(out, e)
		}
	}
	return out
}

// open navigates to path and requires the answer's status.
func (b *browser) open(path string, status int) {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(b.base+path))
	require.NoError(b.t, err, "open %s", path)
	require.Equal(b.t, int64(status), resp.Status, "status of %s", path)
	b.wait("main")
}

// click clicks what sel finds, waits for the page it leads to, and
// requires that page's status.
func (b *browser) click(sel string, status int) {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	require.NoError(b.t, err, "click %s", sel)
	require.Equal(b.t, int64(status), resp.Status, "status after clicking %s", sel)
	b.wait("main")
}

// tick clicks a control that does not navigate (a checkbox).
func (b *browser) tick(sel string) {
	b.t.Helper()
	require.NoError(b.t, chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)), "click %s", sel)
}

func (b *browser) wait(sel string) {
	b.t.Helper()
	require.NoError(b.t, chromedp.Do(b.ctx, chromedp.WaitVisible(chromedp.CSS(sel))), "wait for %s", sel)
}

func (b *browser) typeInto(sel, text string) {
	b.t.Helper()
	require.NoError(b.t, chromedp.Do(b.ctx, chromedp.SendKeys(chromedp.CSS(sel), text)), "type into %s", sel)
}

// text is the visible text of the page's main region.
func (b *browser) text() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("main")))
	require.NoError(b.t, err)
	return s
}

func (b *browser) count(sel string) int {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
	require.NoError(b.t, err)
	return n
}

// post sends a form from the page itself, as a forged or scripted request
// would, and returns the status.
func (b *browser) post(path string, fields map[string]string) int {
	b.t.Helper()
	js := "(async () => { const f = new URLSearchParams();"
	for k, v := range fields {
		js += fmt.Sprintf("f.append(%q, %s);", k, v)
	}
	js += fmt.Sprintf("const r = await fetch(%q, {method: 'POST', body: f, redirect: 'manual'}); return r.status; })()", path)
	st, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](js, chromedp.EvalAwaitPromise))
	require.NoError(b.t, err)
	return st
}

// shot saves a full-page screenshot as docs/screenshots/NAME.png.
func (b *browser) shot(name string) {
	b.t.Helper()
	// Let the layout settle (fonts, SVG) before the capture.
	require.NoError(b.t, chromedp.Do(b.ctx, chromedp.Sleep(150*time.Millisecond)))
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	require.NoError(b.t, err, "screenshot %s", name)
	require.NoError(b.t, os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644))
}

func (b *browser) login(token string) {
	b.t.Helper()
	b.open("/login", http.StatusOK)
	b.typeInto("#token", token)
	b.click("form.login-card button[type=submit]", http.StatusOK)
}

func (b *browser) logout() {
	b.t.Helper()
	b.click(".who form button", http.StatusOK)
	b.wait("#token")
}

func TestBrowser(t *testing.T) {
	t.Parallel()
	start := time.Now()
	h := startHub(t)
	b := newBrowser(t, h.URL)

	// The ERP does not know the customer of ES-1003 (until it does), and
	// later insists on a Channel field the mapping does not send yet.
	var (
		mu          sync.Mutex
		unknown     = map[string]bool{"ES-1003": true}
		needChannel bool
	)
	h.Sink.Refuse(func(path string, body map[string]any) string {
		mu.Lock()
		defer mu.Unlock()
		if path != "/erp/orders" {
			return ""
		}
		if ref := fmt.Sprint(body["OrderRef"]); unknown[ref] {
			return "customer Acme s.r.o. of " + ref + " does not exist in the ERP"
		}
		if needChannel && body["Channel"] == nil {
			return "Channel is required"
		}
		return ""
	})
	for _, no := range []string{"ES-1001", "ES-1002", "ES-1003"} {
		require.Equal(t, http.StatusAccepted, h.send(t, "/in/shop/orders", order(no, "03/04/2026")))
	}
	require.Equal(t, http.StatusUnprocessableEntity, h.send(t, "/in/shop/orders", order("ES-1006", "31/02/2026")))
	h.waitState(t, "ES-1001", "erp", "delivered")
	require.Equal(t, http.StatusAccepted, h.send(t, "/in/erp/invoices", map[string]any{
		"InvoiceNo": "2026-0001", "OrderRef": "ES-1001", "IssuedOn": "04/03/2026", "Customer": "Acme s.r.o.",
		"NetAmount": "1000,00", "VatRate": 21}))
	h.waitState(t, "2026-0001", "invoicing", "delivered")
	dead := h.waitState(t, "ES-1003", "erp", "dead")

	t.Run("Viewer", func(t *testing.T) {
		b.open("/", http.StatusOK) // no session: the sign-in page
		b.wait("#token")
		b.shot("login")
		b.login(viewerToken)
		require.Contains(t, b.text(), "Overview")

		b.open("/dlq", http.StatusOK)
		txt := b.text()
		require.Contains(t, txt, "ES-1003")
		require.Contains(t, txt, "an operator token is needed to replay")
		require.Zero(t, b.count("#redrive button"), "a viewer sees no replay button")
		require.Zero(t, b.count("input[name=delivery_id]"), "nor anything to select")
		b.shot("dlq-viewer")

		// A forged POST with the viewer's own valid CSRF token: refused.
		st := b.post("/dlq/replay", map[string]string{"csrf": `document.querySelector("input[name=csrf]").value`,
			"step": `"confirm"`, "delivery_id": strconv.Quote(strconv.FormatInt(dead.ID, 10))})
		require.Equal(t, http.StatusForbidden, st)
		b.logout()
	})

	t.Run("FollowAnOrder", func(t *testing.T) {
		b.login(operatorToken)
		txt := b.text()
		require.Contains(t, txt, "FAIL", "health reads as text")
		require.Contains(t, txt, "1 dead letter")
		require.Equal(t, 1, b.count("svg.map"))
		b.shot("overview")

		b.click(`a[href="/flows/shop-orders"]`, http.StatusOK)
		txt = b.text()
		require.Contains(t, txt, "E-commerce team")
		require.Contains(t, txt, "fix the mapping")
		require.Equal(t, 2, b.count("svg.chart"))
		b.shot("flow")

		b.open("/messages", http.StatusOK)
		b.typeInto("#f-key", "ES-1001")
		b.click(`form[role=search] button[type=submit]`, http.StatusOK)
		require.Contains(t, b.text(), "ES-1001")
		b.shot("messages")

		b.click(`table.data a.mono[href^="/messages/"]`, http.StatusOK)
		txt = b.text()
		require.Contains(t, txt, "Received")
		require.Contains(t, txt, "Route erp")
		require.Contains(t, txt, "Route confirmation")
		require.Contains(t, txt, "Delivered")
		b.shot("message")

		b.click(`.head-actions a[href^="/trace"]`, http.StatusOK)
		txt = b.text()
		require.Contains(t, txt, "erp-invoices", "the trace follows the order into the invoice flow")
		require.Contains(t, txt, "2026-0001")
		b.shot("trace")
	})

	t.Run("ReplayADeadLetter", func(t *testing.T) {
		// Without a CSRF token, even an operator's POST is refused.
		require.Equal(t, http.StatusForbidden, b.post("/dlq/replay", map[string]string{"step": `"dry-run"`,
			"delivery_id": strconv.Quote(strconv.FormatInt(dead.ID, 10))}))

		b.open("/dlq", http.StatusOK)
		require.Contains(t, b.text(), "customer Acme s.r.o.")
		b.shot("dlq")

		mu.Lock()
		unknown = map[string]bool{} // the customer sync has run
		mu.Unlock()
		b.tick(fmt.Sprintf("#dl-%d", dead.ID))
		b.click(`#redrive button[name=selected]`, http.StatusOK)
		require.Contains(t, b.text(), "will be sent, unchanged")
		b.typeInto("#r-reason", "customer synced")
		b.click("#confirm-redrive", http.StatusOK)
		require.Contains(t, b.text(), "Redrive done: 1 delivery sent again")

		b.open("/messages/"+strconv.FormatInt(dead.MessageID, 10), http.StatusOK)
		waitFor(t, 10*time.Second, "the journey to show the delivery", func() bool {
			b.open("/messages/"+strconv.FormatInt(dead.MessageID, 10), http.StatusOK)
			return strings.Contains(b.text(), "Delivered ")
		})
		require.Contains(t, b.text(), "replay by alice")
		require.Equal(t, 1, h.Sink.accepted("/erp/orders", "ES-1003"))
	})

	t.Run("BulkRedriveAfterAFix", func(t *testing.T) {
		mu.Lock()
		needChannel = true
		mu.Unlock()
		for _, no := range []string{"ES-1004", "ES-1005"} {
			require.Equal(t, http.StatusAccepted, h.send(t, "/in/shop/orders", order(no, "04/04/2026")))
			h.waitState(t, no, "erp", "dead")
		}
		h.writeOrdersFlow(t, true) // the fix: map Channel
		require.NoError(t, h.App.Reload(t.Context(), "test"))

		b.open("/dlq?flow=shop-orders&error=Channel", http.StatusOK)
		require.Contains(t, b.text(), "2 dead letters")
		b.click(`#redrive button[name=all]`, http.StatusOK)
		txt := b.text()
		require.Contains(t, txt, "Channel")
		require.Contains(t, txt, `"web"`)
		require.Contains(t, txt, "Send 2 again")
		b.shot("review")
		b.typeInto("#r-reason", "Channel mapped")
		b.click("#confirm-redrive", http.StatusOK)
		require.Contains(t, b.text(), "Redrive done: 2 deliveries sent again, 0 refused")
		for _, no := range []string{"ES-1004", "ES-1005"} {
			h.waitState(t, no, "erp", "delivered")
			require.Equal(t, "web", h.Sink.lastBody("/erp/orders", no)["Channel"])
		}
	})

	t.Run("QuarantineAuditDocs", func(t *testing.T) {
		b.open("/quarantine", http.StatusOK)
		require.Contains(t, b.text(), "February 2026 has 28 days")
		b.shot("quarantine")
		b.click(`table.data a[href^="/quarantine/"]`, http.StatusOK)
		b.click(`button[name=step][value=dry-run]`, http.StatusOK)
		require.Contains(t, b.text(), "still refused")
		b.shot("quarantine-entry")

		b.open("/audit", http.StatusOK)
		txt := b.text()
		require.Contains(t, txt, "Channel mapped")
		require.Contains(t, txt, "customer synced")
		require.Contains(t, txt, "Audit of acme-test")
		b.shot("audit")

		b.open("/docs/", http.StatusOK)
		require.Contains(t, b.text(), "shop-orders", "the generated docs, behind the sign-in")
		b.shot("docs")

		// Live refresh: the health regions are fetched again every 10 s
		// and swapped in place.
		b.open("/", http.StatusOK)
		waitFor(t, 15*time.Second, "the overview to refresh itself", func() bool {
			st, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("[data-live-status]").textContent`))
			return err == nil && strings.Contains(st, "refreshed at")
		})
		require.Equal(t, 1, b.count("svg.map"), "the map survives the swap")
		require.Equal(t, 1, b.count("#live-flows table"))
		b.shot("overview-after")
	})
	require.Empty(t, b.consoleErrors(), "no script error and no Content-Security-Policy violation on any page")
	t.Logf("browser test took %s", time.Since(start).Round(time.Millisecond))
}
