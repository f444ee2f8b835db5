package notify_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/notify"
	"github.com/seamhq/seam/internal/notify/notifytest"
)

var t0 = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

func message(kind seam.NoticeKind) *notify.Message {
	in := &seam.Incident{ID: 42, Flow: "eshop-orders", Rule: "silence", Kind: "silence", Severity: "warning",
		State: seam.IncidentOpen, Summary: "no records for 2h", OpenedAt: t0}
	now := t0.Add(5 * time.Minute)
	if kind == seam.NoticeResolved {
		in.State, in.ResolvedAt, in.Resolution = seam.IncidentResolved, t0.Add(2*time.Hour+10*time.Minute), "a record arrived at 12:10 UTC"
		now = in.ResolvedAt
	}
	return &notify.Message{
		Kind: kind, Incident: in, Owner: "E-commerce team", Now: now,
		Detail:       "No record arrived for 2h within Mon-Fri 08:00-20:00; the last came at 2026-03-04 08:00 UTC",
		Runbook:      "ERP answers 409 when the customer does not exist yet:\ncheck flow crm-customers.",
		DashboardURL: "https://seam.acme.example/flows/eshop-orders",
		Hints:        []string{"seam messages --flow eshop-orders --since 2h"},
	}
}

func TestMessageText(t *testing.T) {
	t.Parallel()
	firing := message(seam.NoticeFiring)
	require.Equal(t, "[FIRING] eshop-orders: no records for 2h (owner: E-commerce team)", firing.Title())
	require.Equal(t, "[Seam] FIRING: eshop-orders: no records for 2h", firing.Subject())
	require.Equal(t, `[FIRING] eshop-orders: no records for 2h (owner: E-commerce team)
Since 2026-03-04 10:00 UTC. Severity: warning, rule: silence.
No record arrived for 2h within Mon-Fri 08:00-20:00; the last came at 2026-03-04 08:00 UTC.

Runbook:
  ERP answers 409 when the customer does not exist yet:
  check flow crm-customers.

Dashboard: https://seam.acme.example/flows/eshop-orders
Look closer:
  seam messages --flow eshop-orders --since 2h
`, firing.Text())

	reminder := message(seam.NoticeReminder)
	reminder.Reminder, reminder.Now = 2, t0.Add(2*time.Hour+5*time.Minute)
	require.Equal(t, "[Seam] FIRING: eshop-orders: no records for 2h (reminder)", reminder.Subject())
	require.Contains(t, reminder.Text(), "Still firing after 2h5m (since 2026-03-04 10:00 UTC); reminder 2.")

	resolved := message(seam.NoticeResolved)
	require.Equal(t, "[RESOLVED] eshop-orders: no records for 2h (owner: E-commerce team)", resolved.Title())
	require.Equal(t, "[Seam] RESOLVED: eshop-orders: no records for 2h", resolved.Subject())
	require.Equal(t, `[RESOLVED] eshop-orders: no records for 2h (owner: E-commerce team)
Resolved after 2h10m (since 2026-03-04 10:00 UTC). a record arrived at 12:10 UTC.

Dashboard: https://seam.acme.example/flows/eshop-orders
`, resolved.Text())

	// A name with a line break cannot split the title (or an e-mail header).
	evil := message(seam.NoticeFiring)
	evil.Owner = "Ops\r\nBcc: everyone@acme.example"
	require.NotContains(t, evil.Title(), "\n")
	require.NotContains(t, evil.Subject(), "\r")
}

func TestSince(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		-time.Second:                "0s",
		45 * time.Second:            "45s",
		12 * time.Minute:            "12m",
		2 * time.Hour:               "2h",
		2*time.Hour + 5*time.Minute: "2h5m",
		50 * time.Hour:              "2d2h",
		72 * time.Hour:              "3d",
	} {
		require.Equal(t, want, notify.Since(t0, t0.Add(d)), d.String())
	}
}

func TestWebhook(t *testing.T) {
	t.Parallel()

	type testBundle struct {
		rcv    *notifytest.Webhook
		hook   *notify.Webhook
		sleeps []time.Duration
	}
	setup := func(t *testing.T) *testBundle {
		t.Helper()
		b := &testBundle{rcv: notifytest.NewWebhook(t)}
		b.hook = &notify.Webhook{URL: b.rcv.URL, SleepFunc: func(_ context.Context, d time.Duration) error {
			b.sleeps = append(b.sleeps, d)
			return nil
		}}
		return b
	}

	t.Run("PostsChatJSON", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		require.NoError(t, b.hook.Send(t.Context(), message(seam.NoticeFiring)))
		posts := b.rcv.Posts()
		require.Len(t, posts, 1)
		require.Equal(t, "application/json", posts[0].ContentType)
		require.Equal(t, message(seam.NoticeFiring).Text(), posts[0].Text)
		require.Equal(t, []string{"text"}, keys(posts[0].Payload), "only what every chat accepts")
		require.Equal(t, []string{"[FIRING] eshop-orders: no records for 2h (owner: E-commerce team)"}, b.rcv.Titles())
	})

	t.Run("RetriesWithBackoff", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.rcv.Fail(http.StatusBadGateway, http.StatusTooManyRequests)
		require.NoError(t, b.hook.Send(t.Context(), message(seam.NoticeFiring)))
		require.Len(t, b.rcv.Posts(), 1, "delivered once, on the third attempt")
		require.Equal(t, []time.Duration{time.Second, 2 * time.Second}, b.sleeps)
	})

	t.Run("GivesUpAndKeepsTheTokenSecret", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.rcv.Fail(500, 500, 500)
		err := b.hook.Send(t.Context(), message(seam.NoticeFiring))
		require.Error(t, err)
		require.Contains(t, err.Error(), "500 Internal Server Error")
		require.Contains(t, err.Error(), "3 attempts")
		require.NotContains(t, err.Error(), "s3cr3t-token")
		require.Empty(t, b.rcv.Posts())
	})

	t.Run("ClientErrorIsFinal", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.rcv.Fail(http.StatusNotFound)
		err := b.hook.Send(t.Context(), message(seam.NoticeFiring))
		require.ErrorContains(t, err, "404 Not Found")
		require.NotContains(t, err.Error(), "s3cr3t-token")
		require.Empty(t, b.sleeps, "a 404 will not change by retrying")
	})

	t.Run("UnreachableKeepsTheTokenSecret", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		hook := &notify.Webhook{URL: "http://" + addr + "/hooks/s3cr3t-token?sig=s3cr3t-sig", Attempts: 2,
			SleepFunc: func(context.Context, time.Duration) error { return nil }}
		err = hook.Send(t.Context(), message(seam.NoticeFiring))
		require.Error(t, err)
		require.Contains(t, err.Error(), "http://"+addr)
		require.NotContains(t, err.Error(), "s3cr3t")
	})
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestSMTP(t *testing.T) {
	t.Parallel()

	t.Run("PlainTextMail", func(t *testing.T) {
		t.Parallel()
		srv := notifytest.NewSMTPServer(t, notifytest.SMTPOptions{})
		s := &notify.SMTP{Host: srv.Host, Port: srv.Port, From: "seam@acme.example"}
		msg := message(seam.NoticeFiring)
		msg.Owner = "Účetní oddělení" // non-ASCII names survive the trip
		require.NoError(t, s.Send(t.Context(), msg, []string{"eshop@acme.example", "Ops <ops@acme.example>", "eshop@acme.example"}))

		mails := srv.Mails()
		require.Len(t, mails, 1)
		m := mails[0]
		require.Equal(t, "seam@acme.example", m.From)
		require.Equal(t, []string{"eshop@acme.example", "ops@acme.example"}, m.To, "each recipient once")
		require.Equal(t, "[Seam] FIRING: eshop-orders: no records for 2h", m.Subject)
		require.Equal(t, msg.Text(), m.Body)
		require.Contains(t, m.Body, "(owner: Účetní oddělení)")
		require.Equal(t, "<seam-incident-42@acme.example>", m.Header.Get("Message-ID"))
		require.Equal(t, "auto-generated", m.Header.Get("Auto-Submitted"))
		require.Equal(t, "text/plain; charset=utf-8", m.Header.Get("Content-Type"))
		require.False(t, m.TLS)
	})

	t.Run("ResolvedThreadsWithFiring", func(t *testing.T) {
		t.Parallel()
		srv := notifytest.NewSMTPServer(t, notifytest.SMTPOptions{})
		s := &notify.SMTP{Host: srv.Host, Port: srv.Port, From: "Seam <seam@acme.example>"}
		require.NoError(t, s.Send(t.Context(), message(seam.NoticeResolved), []string{"eshop@acme.example"}))
		m := srv.Mails()[0]
		require.Equal(t, "[Seam] RESOLVED: eshop-orders: no records for 2h", m.Subject)
		require.Equal(t, "<seam-incident-42@acme.example>", m.Header.Get("In-Reply-To"))
		require.NotEqual(t, m.Header.Get("In-Reply-To"), m.Header.Get("Message-ID"))
	})

	t.Run("StartTLSAndAuth", func(t *testing.T) {
		t.Parallel()
		srv := notifytest.NewSMTPServer(t, notifytest.SMTPOptions{TLS: true, User: "seam", Password: "hunter2"})
		s := &notify.SMTP{Host: srv.Host, Port: srv.Port, From: "seam@acme.example", Username: "seam",
			Password: "hunter2", TLSConfig: srv.ClientTLS()}
		require.NoError(t, s.Send(t.Context(), message(seam.NoticeFiring), []string{"eshop@acme.example"}))
		m := srv.Mails()[0]
		require.True(t, m.TLS, "STARTTLS was offered, so it was used")
		require.Equal(t, "seam", m.User)
	})

	t.Run("UserDefaultsToTheSender", func(t *testing.T) {
		t.Parallel()
		srv := notifytest.NewSMTPServer(t, notifytest.SMTPOptions{TLS: true, User: "seam@acme.example", Password: "hunter2"})
		s := &notify.SMTP{Host: srv.Host, Port: srv.Port, From: "Seam <seam@acme.example>", Password: "hunter2", TLSConfig: srv.ClientTLS()}
		require.NoError(t, s.Send(t.Context(), message(seam.NoticeFiring), []string{"eshop@acme.example"}))
		require.Equal(t, "seam@acme.example", srv.Mails()[0].User)
	})

	t.Run("UntrustedCertificateRefused", func(t *testing.T) {
		t.Parallel()
		srv := notifytest.NewSMTPServer(t, notifytest.SMTPOptions{TLS: true})
		s := &notify.SMTP{Host: srv.Host, Port: srv.Port, From: "seam@acme.example"}
		err := s.Send(t.Context(), message(seam.NoticeFiring), []string{"eshop@acme.example"})
		require.ErrorContains(t, err, "starttls")
		require.Empty(t, srv.Mails())
	})

	t.Run("WrongPassword", func(t *testing.T) {
		t.Parallel()
		srv := notifytest.NewSMTPServer(t, notifytest.SMTPOptions{TLS: true, User: "seam", Password: "hunter2"})
		s := &notify.SMTP{Host: srv.Host, Port: srv.Port, From: "seam@acme.example", Username: "seam",
			Password: "wrong-pass-word", TLSConfig: srv.ClientTLS()}
		err := s.Send(t.Context(), message(seam.NoticeFiring), []string{"eshop@acme.example"})
		require.ErrorContains(t, err, "authenticate")
		require.NotContains(t, err.Error(), "wrong-pass-word")
	})

	t.Run("NoPasswordInClearTextToAnotherHost", func(t *testing.T) {
		t.Parallel()
		// No TLS, and a server that is not "localhost" by name: the
		// password must not leave. (127.0.0.2 is this machine under
		// another name.)
		ln, err := net.Listen("tcp", "127.0.0.2:0")
		if err != nil {
			t.Skip("127.0.0.2 is not usable here")
		}
		require.NoError(t, ln.Close())
		srv := notifytest.NewSMTPServer(t, notifytest.SMTPOptions{User: "seam", Password: "hunter2", IP: "127.0.0.2"})
		s := &notify.SMTP{Host: srv.Host, Port: srv.Port, From: "seam@acme.example", Username: "seam", Password: "hunter2"}
		err = s.Send(t.Context(), message(seam.NoticeFiring), []string{"eshop@acme.example"})
		require.ErrorContains(t, err, "unencrypted connection")
		require.NotContains(t, err.Error(), "hunter2")
		require.Empty(t, srv.Mails())
	})

	t.Run("TemporaryFailureIsAnError", func(t *testing.T) {
		t.Parallel()
		srv := notifytest.NewSMTPServer(t, notifytest.SMTPOptions{})
		srv.FailNext(1)
		s := &notify.SMTP{Host: srv.Host, Port: srv.Port, From: "seam@acme.example"}
		require.ErrorContains(t, s.Send(t.Context(), message(seam.NoticeFiring), []string{"eshop@acme.example"}), "451")
		require.NoError(t, s.Send(t.Context(), message(seam.NoticeFiring), []string{"eshop@acme.example"}))
		require.Len(t, srv.Mails(), 1)
	})

	t.Run("BadAddresses", func(t *testing.T) {
		t.Parallel()
		s := &notify.SMTP{Host: "127.0.0.1", Port: 1, From: "seam@acme.example"}
		require.ErrorContains(t, s.Send(t.Context(), message(seam.NoticeFiring), nil), "no recipient")
		require.ErrorContains(t, s.Send(t.Context(), message(seam.NoticeFiring), []string{"not an address"}), "not an e-mail address")
	})
}
