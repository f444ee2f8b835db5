package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Guarantee 3 at intake: the same record posted twice is one message. The
// second answer says duplicate and names the first message; the destination
// sees one delivery.
func TestDuplicatesAtIntake(t *testing.T) {
	t.Parallel()
	sink := newSink(t)
	hub, _ := startInProcess(t, newProject(t, sink, Catalog{}))

	t.Run("sequential", func(t *testing.T) {
		o := order("DUP-1", 1)
		r1, err := hub.Send(t.Context(), o.JSON())
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, r1.Status, "%s", r1.Body)
		first := r1.Intake(t)
		require.Equal(t, "accepted", first.Status)
		require.NotZero(t, first.MessageID)

		r2, err := hub.Send(t.Context(), o.JSON())
		require.NoError(t, err)
		require.True(t, r2.OK(), "a duplicate is not an error for the sender: %d %s", r2.Status, r2.Body)
		second := r2.Intake(t)
		require.Equal(t, "duplicate", second.Status)
		require.Equal(t, first.MessageID, second.MessageID, "the duplicate names the original message")

		sink.waitDelivered(t, 10*time.Second, []string{"DUP-1"})
		waitFor(t, 10*time.Second, "the delivery to be recorded", func() (bool, string) {
			ds := hub.Deliveries(t, "key=DUP-1")
			return len(ds) == 1 && ds[0].State == "delivered", fmt.Sprintf("%+v", ds)
		})
		requireOneMessage(t, hub, "DUP-1")
		requireSinkRequests(t, sink, "DUP-1", 1)
	})

	t.Run("concurrent", func(t *testing.T) {
		// Ten copies at once: group commit puts them in one transaction,
		// where only the first may be an original.
		const copies = 10
		o := order("DUP-2", 1)
		replies := make([]*Reply, copies)
		var wg sync.WaitGroup
		for i := range copies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				replies[i], _ = hub.Send(context.Background(), o.JSON())
			}()
		}
		wg.Wait()
		accepted, ids := 0, map[int64]bool{}
		for i, r := range replies {
			require.NotNil(t, r, "copy %d got no answer", i)
			require.True(t, r.OK(), "copy %d: %d %s", i, r.Status, r.Body)
			ir := r.Intake(t)
			if ir.Status == "accepted" {
				accepted++
			}
			ids[ir.MessageID] = true
		}
		require.Equal(t, 1, accepted, "exactly one copy is the original")
		require.Len(t, ids, 1, "every answer names the same message")

		sink.waitDelivered(t, 10*time.Second, []string{"DUP-2"})
		waitFor(t, 10*time.Second, "the delivery to be recorded", func() (bool, string) {
			ds := hub.Deliveries(t, "key=DUP-2")
			return len(ds) == 1 && ds[0].State == "delivered", fmt.Sprintf("%+v", ds)
		})
		requireOneMessage(t, hub, "DUP-2")
		requireSinkRequests(t, sink, "DUP-2", 1)
	})
}

func requireOneMessage(t *testing.T, hub *Hub, key string) {
	t.Helper()
	var msgs struct {
		Messages []struct {
			ID     int64  `json:"id"`
			Key    string `json:"key"`
			Status string `json:"status"`
		} `json:"messages"`
	}
	status, body := hub.API(t, http.MethodGet, "/api/messages?key="+key, nil, &msgs)
	require.Equal(t, http.StatusOK, status, "%s", body)
	require.Len(t, msgs.Messages, 1, "one message for %s: %s", key, body)
}

func requireSinkRequests(t *testing.T, sink *Sink, ref string, n int) {
	t.Helper()
	got := 0
	for _, r := range sink.Stats().Requests {
		if r.OrderRef == ref {
			got++
		}
	}
	require.Equal(t, n, got, "requests the destination saw for %s", ref)
}

// Guarantee 6: bad input gets a clear 4xx with a JSON problem body, and
// never crashes or stalls the hub.
func TestBadInput(t *testing.T) {
	t.Parallel()
	sink := newSink(t)
	hub, _ := startInProcess(t, newProject(t, sink, Catalog{}))
	ctx := t.Context()
	signed := func(body []byte) string { return sign(hub.Secret, body) }
	send := func(t *testing.T, method, ct string, body []byte, sig string) *Reply {
		t.Helper()
		r, err := hub.SendRaw(ctx, method, ct, body, sig)
		require.NoError(t, err)
		return r
	}

	// A good record first: the hub works, and the ledger holds a message
	// that is not in quarantine (so message and quarantine ids differ).
	hub.MustSend(t, order("BAD-0", 1))
	sink.waitDelivered(t, 10*time.Second, []string{"BAD-0"})

	t.Run("malformed JSON", func(t *testing.T) {
		body := []byte(`{"order_no": "BAD-1", "order_date": `)
		r := send(t, http.MethodPost, "application/json", body, signed(body))
		require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
		p := r.Problem(t)
		require.Contains(t, p.Detail, "JSON")
	})
	t.Run("wrong content type", func(t *testing.T) {
		body := order("BAD-2", 1).JSON()
		r := send(t, http.MethodPost, "text/plain", body, signed(body))
		require.Equal(t, http.StatusUnsupportedMediaType, r.Status, "%s", r.Body)
		r.Problem(t)
	})
	t.Run("invalid UTF-8", func(t *testing.T) {
		body := []byte("{\"order_no\": \"BAD-3\xff\xfe\", \"order_date\": \"03/04/2026\"}")
		r := send(t, http.MethodPost, "application/json", body, signed(body))
		require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
		require.Contains(t, r.Problem(t).Detail, "UTF-8")
	})
	t.Run("deep nesting", func(t *testing.T) {
		const depth = 10_000
		body := []byte(`{"order_no":"BAD-4","x":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`)
		start := time.Now()
		r := send(t, http.MethodPost, "application/json", body, signed(body))
		require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
		require.Contains(t, r.Problem(t).Detail, "deeper")
		require.Less(t, time.Since(start), 2*time.Second)
	})
	t.Run("bad signature", func(t *testing.T) {
		body := order("BAD-5", 1).JSON()
		r := send(t, http.MethodPost, "application/json", body, sign([]byte("not-the-secret"), body))
		require.Equal(t, http.StatusUnauthorized, r.Status, "%s", r.Body)
		r.Problem(t)
	})
	t.Run("signature of another body", func(t *testing.T) {
		body := order("BAD-6", 1).JSON()
		r := send(t, http.MethodPost, "application/json", body, signed(order("BAD-6", 2).JSON()))
		require.Equal(t, http.StatusUnauthorized, r.Status, "%s", r.Body)
		r.Problem(t)
	})
	t.Run("missing signature", func(t *testing.T) {
		r := send(t, http.MethodPost, "application/json", order("BAD-7", 1).JSON(), "")
		require.Equal(t, http.StatusUnauthorized, r.Status, "%s", r.Body)
		r.Problem(t)
	})
	t.Run("GET on the webhook", func(t *testing.T) {
		r := send(t, http.MethodGet, "", nil, "")
		require.Equal(t, http.StatusMethodNotAllowed, r.Status, "%s", r.Body)
		require.Contains(t, r.Header.Get("Allow"), "POST")
		r.Problem(t)
	})
	t.Run("10 MiB with Content-Length", func(t *testing.T) {
		// Announce 10 MiB, send 64 KiB, and wait for the answer without
		// sending the rest: a server that reads the body before refusing
		// it would never answer.
		status, took := rawPost(t, hub, 10<<20, false, 64<<10)
		require.Equal(t, http.StatusRequestEntityTooLarge, status)
		require.Less(t, took, 2*time.Second, "refused without reading the body")
	})
	t.Run("10 MiB chunked", func(t *testing.T) {
		// Without a Content-Length the server must stop at its limit
		// (1 MiB) and answer; send 2 MiB and then wait.
		status, took := rawPost(t, hub, 10<<20, true, 2<<20)
		require.Equal(t, http.StatusRequestEntityTooLarge, status)
		require.Less(t, took, 2*time.Second, "refused without reading the whole body")
	})

	var quarantineID int64
	t.Run("impossible date", func(t *testing.T) {
		o := order("BAD-8", 1)
		o.OrderDate = "31/02/2026"
		body := o.JSON()
		r := send(t, http.MethodPost, "application/json", body, signed(body))
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s", r.Body)
		p := r.Problem(t)
		require.Contains(t, string(r.Body), "31/02/2026", "the reason names the value")
		require.Contains(t, string(r.Body), "ordered_on", "the reason names the field")
		require.NotEmpty(t, p.Errors, "every reason is listed")
		var reason struct {
			Field, Value, Rule, Message string
		}
		require.NoError(t, json.Unmarshal(p.Errors[0], &reason))
		require.Equal(t, "ordered_on", reason.Field)
		m := regexp.MustCompile(`quarantine #(\d+)`).FindStringSubmatch(p.Detail)
		require.NotNil(t, m, "the answer gives the quarantine id: %s", p.Detail)
		quarantineID, _ = strconv.ParseInt(m[1], 10, 64)

		// The quarantine holds it, with its reasons, under that id.
		var list struct {
			Quarantine []struct {
				ID      int64  `json:"id"`
				Key     string `json:"key"`
				Stage   string `json:"stage"`
				Status  string `json:"status"`
				Reasons []struct {
					Field   string `json:"field"`
					Message string `json:"message"`
				} `json:"reasons"`
			} `json:"quarantine"`
		}
		status, raw := hub.API(t, http.MethodGet, "/api/quarantine?key=BAD-8", nil, &list)
		require.Equal(t, http.StatusOK, status, "%s", raw)
		require.Len(t, list.Quarantine, 1, "%s", raw)
		q := list.Quarantine[0]
		require.Equal(t, "open", q.Status)
		require.NotEmpty(t, q.Reasons)
		require.Equal(t, "ordered_on", q.Reasons[0].Field)
		require.Equal(t, q.ID, quarantineID, "the id in the 422 answer is the quarantine entry's id (GET /api/quarantine/%d)", quarantineID)

		var one struct {
			Entry struct {
				ID  int64  `json:"id"`
				Key string `json:"key"`
			} `json:"entry"`
			Body string `json:"body"`
		}
		status, raw = hub.API(t, http.MethodGet, fmt.Sprintf("/api/quarantine/%d", quarantineID), nil, &one)
		require.Equal(t, http.StatusOK, status, "GET /api/quarantine/%d (the id the 422 gave): %s", quarantineID, raw)
		require.Equal(t, "BAD-8", one.Entry.Key, "GET /api/quarantine/%d (the id the 422 gave) is another record: %s", quarantineID, raw)
		require.JSONEq(t, string(body), one.Body, "the raw body is kept for a replay")
	})
	t.Run("missing required field", func(t *testing.T) {
		body := []byte(`{"order_no":"BAD-9","customer_name":"Acme s.r.o.","total_gross":"10.00","vat_rate":21}`)
		r := send(t, http.MethodPost, "application/json", body, signed(body))
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s", r.Body)
		require.Contains(t, r.Problem(t).Detail, "ordered_on")
	})

	// After all of it the hub is healthy and a good record goes through
	// quickly.
	resp, err := hub.client.Get(hub.URL + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	start := time.Now()
	hub.MustSend(t, order("BAD-10", 1))
	sink.waitDelivered(t, 2*time.Second, []string{"BAD-10"})
	t.Logf("a good record took effect %s after it was posted", time.Since(start).Round(time.Millisecond))
	for _, ref := range []string{"BAD-1", "BAD-2", "BAD-3", "BAD-4", "BAD-5", "BAD-6", "BAD-7", "BAD-8", "BAD-9"} {
		require.False(t, sink.Applied(ref), "refused record %s must not be delivered", ref)
	}
}

// rawPost sends a signed-looking POST over a raw connection announcing
// size bytes (Content-Length, or chunked), writes only send bytes of it,
// then reads the answer. It returns the status and how long the answer
// took from the start.
func rawPost(t *testing.T, hub *Hub, size int, chunked bool, send int) (int, time.Duration) {
	t.Helper()
	addr := strings.TrimPrefix(hub.URL, "http://")
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second)))
	start := time.Now()
	head := "POST " + intakePath + " HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\nX-Signature: " + strings.Repeat("0", 64) + "\r\n"
	if chunked {
		head += "Transfer-Encoding: chunked\r\n\r\n"
	} else {
		head += fmt.Sprintf("Content-Length: %d\r\n\r\n", size)
	}
	_, err = conn.Write([]byte(head))
	require.NoError(t, err)

	// Write the part of the body in the background: if the server answers
	// early and stops reading, a write may block or fail, which is fine.
	go func() {
		chunk := []byte(`{"pad":"` + strings.Repeat("x", 16<<10) + `"}`)[:16<<10]
		for sent := 0; sent < send; sent += len(chunk) {
			if chunked {
				if _, err := fmt.Fprintf(conn, "%x\r\n%s\r\n", len(chunk), chunk); err != nil {
					return
				}
			} else if _, err := conn.Write(chunk); err != nil {
				return
			}
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "no answer: the server may be reading the whole body first")
	took := time.Since(start)
	resp.Body.Close()
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	return resp.StatusCode, took
}

// A sender whose record was refused may send it again: unchanged (many
// webhook senders retry every non-2xx), it must not fill the quarantine
// with copies; corrected, it must be heard (a refused record is not a
// dedupe original).
func TestRefusedRecordSentAgain(t *testing.T) {
	t.Parallel()
	sink := newSink(t)
	hub, _ := startInProcess(t, newProject(t, sink, Catalog{}))

	bad := order("QR-1", 1)
	bad.OrderDate = "31/02/2026"
	for range 3 {
		r, err := hub.Send(t.Context(), bad.JSON())
		require.NoError(t, err)
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s", r.Body)
	}
	good := order("QR-1", 1)
	r, err := hub.Send(t.Context(), good.JSON())
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, r.Status, "the corrected record is accepted: %s", r.Body)
	require.Equal(t, "accepted", r.Intake(t).Status)
	sink.waitDelivered(t, 10*time.Second, []string{"QR-1"})

	var list struct {
		Quarantine []struct {
			ID int64 `json:"id"`
		} `json:"quarantine"`
	}
	status, body := hub.API(t, http.MethodGet, "/api/quarantine?key=QR-1", nil, &list)
	require.Equal(t, http.StatusOK, status, "%s", body)
	require.Len(t, list.Quarantine, 1, "the same refused record sent three times is one quarantine entry: %s", body)
}
