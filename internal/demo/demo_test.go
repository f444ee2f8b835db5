package demo_test

import (
	"bytes"
	"context"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/demo"
	"github.com/seamhq/seam/internal/httpapi"
	"github.com/seamhq/seam/internal/ops"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemoShowsTheWholeChain runs the demo briefly and checks what a
// newcomer is promised: orders flow from the e-shop through the ERP to
// invoicing and e-mail, an order can be followed across flows, the ERP
// outage is announced and survived, and Ctrl-C stops everything.
func TestDemoShowsTheWholeChain(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	ready := make(chan demo.Info, 1)
	done := make(chan error, 1)
	go func() {
		done <- demo.Run(ctx, demo.Options{
			Listen: "127.0.0.1:0", Rate: 10, FirstOutage: 2 * time.Second, Outage: 2 * time.Second,
			Out: &out, Ready: func(i demo.Info) { ready <- i },
		})
	}()
	var info demo.Info
	select {
	case info = <-ready:
	case err := <-done:
		t.Fatalf("the demo stopped before it was ready: %v\n%s", err, out.String())
	case <-time.After(30 * time.Second):
		t.Fatal("the demo did not start within 30s")
	}
	require.Contains(t, out.String(), info.URL)
	require.Contains(t, out.String(), info.OperatorToken)

	c := &httpapi.Client{BaseURL: info.URL, Token: info.ViewerToken}
	deadline := time.Now().Add(45 * time.Second)
	// Some orders die at the ERP on purpose (customers it does not know
	// yet), so follow one the ERP accepted: the first invoice names it.
	var tr ops.Trace
	for {
		var invoices struct {
			Messages []*seam.Message `json:"messages"`
		}
		tr = ops.Trace{}
		err := c.Get(ctx, "/api/messages", url.Values{"flow": {"erp-invoices"}}, &invoices)
		if err == nil && len(invoices.Messages) > 0 {
			first := invoices.Messages[len(invoices.Messages)-1]
			err = c.Get(ctx, "/api/trace/"+url.PathEscape(first.Key), nil, &tr)
		}
		if err == nil && hasHop(&tr, "invoicing") && hasHop(&tr, "erp") && hasHop(&tr, "mailing") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no order went e-shop → ERP → invoicing → mailing: %+v\n%s", tr, out.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
	require.GreaterOrEqual(t, tr.Messages, 2, "the invoice is linked to its order")

	for !bytes.Contains([]byte(out.String()), []byte("ERP: back up")) {
		if time.Now().After(deadline) {
			t.Fatalf("the ERP outage was not announced and ended:\n%s", out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the demo did not stop within 30s of Ctrl-C")
	}
	require.Contains(t, out.String(), "stopped")
}

func hasHop(t *ops.Trace, system string) bool {
	for _, e := range t.Events {
		if e.Kind == "attempt" && e.System == system && e.Outcome == "delivered" {
			return true
		}
	}
	return false
}
