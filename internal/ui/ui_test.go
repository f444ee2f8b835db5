package ui_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// Ensure a session comes only from a valid token, is a sealed cookie with
// the right attributes, and ends at logout.
func TestLogin(t *testing.T) {
	t.Parallel()
	h := startHub(t)

	t.Run("PagesNeedASession", func(t *testing.T) {
		t.Parallel()
		c := newClient(h)
		p := c.get(t, "/")
		require.Equal(t, http.StatusSeeOther, p.Status)
		require.Equal(t, "/login", p.Location)
		p = c.get(t, "/flows/shop-orders?range=24h")
		require.Equal(t, http.StatusSeeOther, p.Status)
		require.Equal(t, "/login?next="+url.QueryEscape("/flows/shop-orders?range=24h"), p.Location)
		login := c.get(t, "/login")
		require.Equal(t, http.StatusOK, login.Status)
		require.Contains(t, login.Body, `<label for="token">Token</label>`)
		// The assets are public: the sign-in page is styled.
		require.Equal(t, http.StatusOK, c.get(t, "/static/style.css").Status)
	})

	t.Run("BadTokenRefused", func(t *testing.T) {
		t.Parallel()
		c := newClient(h)
		p := c.post(t, "/login", url.Values{"token": {"not-a-token-at-all-0123"}}, nil)
		require.Equal(t, http.StatusUnauthorized, p.Status)
		require.Contains(t, p.Body, "That token is not valid")
		require.Empty(t, p.Header.Values("Set-Cookie"))
	})

	t.Run("LoginFromAnotherSiteRefused", func(t *testing.T) {
		t.Parallel()
		c := newClient(h)
		p := c.post(t, "/login", url.Values{"token": {operatorToken}}, map[string]string{"Origin": "http://evil.example"})
		require.Equal(t, http.StatusForbidden, p.Status)
		require.Empty(t, p.Header.Values("Set-Cookie"))
	})

	t.Run("CookieAttributes", func(t *testing.T) {
		t.Parallel()
		c := newClient(h)
		p := c.post(t, "/login", url.Values{"token": {viewerToken}, "next": {"/dlq?flow=shop-orders"}}, nil)
		require.Equal(t, http.StatusSeeOther, p.Status)
		require.Equal(t, "/dlq?flow=shop-orders", p.Location)
		cookie := p.Header.Get("Set-Cookie")
		require.Contains(t, cookie, "seam_session=")
		require.Contains(t, cookie, "HttpOnly")
		require.Contains(t, cookie, "SameSite=Strict")
		require.Contains(t, cookie, "Path=/")
		require.Contains(t, cookie, "Max-Age=")
		require.NotContains(t, cookie, "Secure", "plain HTTP: a Secure cookie would never come back")
		require.NotContains(t, cookie, viewerToken, "the cookie is sealed, not the token in clear")
		home := c.get(t, "/")
		require.Equal(t, http.StatusOK, home.Status)
		require.Contains(t, home.Body, "victor")
		require.Contains(t, home.Body, "read-only")
	})

	t.Run("SecureBehindATLSProxy", func(t *testing.T) {
		t.Parallel()
		c := newClient(h)
		p := c.post(t, "/login", url.Values{"token": {viewerToken}}, map[string]string{"X-Forwarded-Proto": "https"})
		require.Equal(t, http.StatusSeeOther, p.Status)
		require.Contains(t, p.Header.Get("Set-Cookie"), "Secure")
	})

	t.Run("NextStaysOnThisSite", func(t *testing.T) {
		t.Parallel()
		for _, next := range []string{"//evil.example/x", "https://evil.example", `/\evil.example`} {
			c := newClient(h)
			p := c.post(t, "/login", url.Values{"token": {viewerToken}, "next": {next}}, nil)
			require.Equal(t, http.StatusSeeOther, p.Status)
			require.Equal(t, "/", p.Location, next)
		}
	})

	t.Run("TamperedCookieRefused", func(t *testing.T) {
		t.Parallel()
		c := newClient(h)
		c.login(t, viewerToken)
		u, _ := url.Parse(h.URL)
		cs := c.c.Jar.Cookies(u)
		require.Len(t, cs, 1)
		v := []byte(cs[0].Value)
		v[len(v)/2] ^= 1
		cs[0].Value = string(v)
		c.c.Jar.SetCookies(u, cs)
		require.Equal(t, http.StatusSeeOther, c.get(t, "/").Status)
	})

	t.Run("LogoutEndsTheSession", func(t *testing.T) {
		t.Parallel()
		c := newClient(h)
		csrf := c.login(t, operatorToken)
		u, _ := url.Parse(h.URL)
		old := c.c.Jar.Cookies(u)
		p := c.post(t, "/logout", url.Values{"csrf": {csrf}}, nil)
		require.Equal(t, http.StatusSeeOther, p.Status)
		require.Contains(t, p.Header.Get("Set-Cookie"), "Max-Age=0")
		require.Equal(t, http.StatusSeeOther, c.get(t, "/").Status)
		// The old cookie, kept by someone, no longer works either.
		c.c.Jar.SetCookies(u, old)
		require.Equal(t, http.StatusSeeOther, c.get(t, "/").Status)
	})
}

// Ensure every action checks, in order: a session, the request's origin,
// the CSRF token, and the operator role; and that a valid one works.
func TestActionsAreProtected(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	h.Sink.Refuse(func(path string, _ map[string]any) string {
		if path == "/erp/orders" {
			return "no"
		}
		return ""
	})
	require.Equal(t, http.StatusAccepted, h.send(t, "/in/shop/orders", order("ES-1", "03/04/2026")))
	dead := h.waitState(t, "ES-1", "erp", "dead")
	id := strconv.FormatInt(dead.ID, 10)

	op, viewer, anon := newClient(h), newClient(h), newClient(h)
	opCSRF, viewerCSRF := op.login(t, operatorToken), viewer.login(t, viewerToken)
	dryRun := func(csrf string) url.Values {
		return url.Values{"csrf": {csrf}, "step": {"dry-run"}, "delivery_id": {id}}
	}

	cases := []struct {
		name   string
		c      *client
		form   url.Values
		header map[string]string
		status int
		says   string
	}{
		{"NoSession", anon, dryRun("x"), nil, http.StatusUnauthorized, "Sign in first"},
		{"NoCSRFToken", op, url.Values{"step": {"dry-run"}, "delivery_id": {id}}, nil, http.StatusForbidden, "security token"},
		{"WrongCSRFToken", op, dryRun(viewerCSRF), nil, http.StatusForbidden, "security token"},
		{"OtherOrigin", op, dryRun(opCSRF), map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden, "another site"},
		{"OtherReferer", op, dryRun(opCSRF), map[string]string{"Origin": "", "Referer": "http://evil.example/x"}, http.StatusForbidden, "another site"},
		{"NoOriginNoReferer", op, dryRun(opCSRF), map[string]string{"Origin": ""}, http.StatusForbidden, "which page it came from"},
		{"ViewerRefused", viewer, dryRun(viewerCSRF), nil, http.StatusForbidden, "read-only"},
		{"SameSiteReferer", op, dryRun(opCSRF), map[string]string{"Origin": "", "Referer": h.URL + "/dlq"}, http.StatusOK, "Review the redrive"},
		{"Operator", op, dryRun(opCSRF), nil, http.StatusOK, "Review the redrive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.c.post(t, "/dlq/replay", tc.form, tc.header)
			require.Equal(t, tc.status, p.Status, p.Body)
			require.Contains(t, p.Body, tc.says)
		})
	}

	t.Run("ViewerSeesNoActions", func(t *testing.T) {
		p := viewer.get(t, "/dlq")
		require.Equal(t, http.StatusOK, p.Status)
		require.Contains(t, p.Body, "ES-1")
		require.NotContains(t, p.Body, "Dry-run the selected")
		require.NotContains(t, p.Body, `name="delivery_id"`)
		require.Contains(t, p.Body, "an operator token is needed")
		p = viewer.get(t, "/messages/"+strconv.FormatInt(dead.MessageID, 10))
		require.NotContains(t, p.Body, "Replay the dead")
		p = op.get(t, "/messages/"+strconv.FormatInt(dead.MessageID, 10))
		require.Contains(t, p.Body, "Replay the dead delivery")
	})

	t.Run("ViewerCannotDiscard", func(t *testing.T) {
		p := viewer.post(t, "/quarantine/1/discard", url.Values{"csrf": {viewerCSRF}, "reason": {"x"}}, nil)
		require.Equal(t, http.StatusForbidden, p.Status)
	})
}

// Ensure a dead letter replayed from the dashboard is delivered, and a
// redrive after a catalog fix shows the diff first, then sends exactly
// the deliveries reviewed, with the same idempotency key.
func TestRedrive(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	h.Sink.Refuse(func(path string, body map[string]any) string {
		if path == "/erp/orders" && body["Channel"] == nil {
			return "Channel is required"
		}
		return ""
	})
	for _, k := range []string{"ES-1", "ES-2"} {
		require.Equal(t, http.StatusAccepted, h.send(t, "/in/shop/orders", order(k, "03/04/2026")))
		h.waitState(t, k, "erp", "dead")
	}
	op := newClient(h)
	csrf := op.login(t, operatorToken)

	// Without the fix, the dry run says the payload is unchanged.
	p := op.post(t, "/dlq/replay", url.Values{"csrf": {csrf}, "step": {"dry-run"}, "all": {"1"}, "flow": {"shop-orders"}, "error": {"Channel"}}, nil)
	require.Equal(t, http.StatusOK, p.Status, p.Body)
	require.Contains(t, p.Body, "will be sent, unchanged")

	// Fix the mapping and reload: the dry run shows the new field.
	h.writeOrdersFlow(t, true)
	require.NoError(t, h.App.Reload(t.Context(), "test"))
	p = op.post(t, "/dlq/replay", url.Values{"csrf": {csrf}, "step": {"dry-run"}, "all": {"1"}, "flow": {"shop-orders"}, "error": {"Channel"}}, nil)
	require.Equal(t, http.StatusOK, p.Status, p.Body)
	require.Contains(t, p.Body, `<td class="mono">Channel</td>`)
	require.Contains(t, p.Body, "&#34;web&#34;")
	require.Contains(t, p.Body, "Send 2 again")
	require.Zero(t, h.Sink.accepted("/erp/orders", "ES-1"), "a dry run sends nothing")

	// Confirm sends the reviewed ids.
	form := url.Values{"csrf": {csrf}, "step": {"confirm"}, "reason": {"channel mapped"}, "back": {"/dlq"}}
	for _, m := range regexpAll(p.Body, `name="delivery_id" value="(\d+)"`) {
		form.Add("delivery_id", m)
	}
	require.Len(t, form["delivery_id"], 2)
	p = op.post(t, "/dlq/replay", form, nil)
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.Contains(t, p.Location, "/dlq?")
	require.Contains(t, p.Location, "replayed=2")
	for _, k := range []string{"ES-1", "ES-2"} {
		h.waitState(t, k, "erp", "delivered")
		require.Equal(t, "web", h.Sink.lastBody("/erp/orders", k)["Channel"])
	}
	done := op.get(t, p.Location)
	require.Contains(t, done.Body, "Redrive done: 2 deliveries sent again, 0 refused.")
	audit := op.get(t, "/audit")
	require.Contains(t, audit.Body, "channel mapped")
	require.Contains(t, audit.Body, "alice")
}

// Ensure the quarantine's dry run, replay and discard go through ops and
// land in the audit log.
func TestQuarantine(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	require.Equal(t, http.StatusUnprocessableEntity, h.send(t, "/in/shop/orders", order("ES-9", "31/02/2026")))
	require.Equal(t, http.StatusUnprocessableEntity, h.send(t, "/in/shop/orders", order("ES-10", "31/02/2026")))
	op := newClient(h)
	csrf := op.login(t, operatorToken)

	list := op.get(t, "/quarantine")
	require.Contains(t, list.Body, "February 2026 has 28 days")
	ids := regexpAll(list.Body, `href="/quarantine/(\d+)"`)
	require.NotEmpty(t, ids)
	entry := "/quarantine/" + ids[0]

	p := op.post(t, entry+"/replay", url.Values{"csrf": {csrf}, "step": {"dry-run"}}, nil)
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, "still refused")
	p = op.post(t, entry+"/replay", url.Values{"csrf": {csrf}, "step": {"confirm"}, "reason": {"try"}}, nil)
	require.Equal(t, http.StatusConflict, p.Status)
	require.Contains(t, p.Body, "Nothing changed")

	p = op.post(t, entry+"/discard", url.Values{"csrf": {csrf}}, nil)
	require.Equal(t, http.StatusBadRequest, p.Status)
	require.Contains(t, p.Body, "say why")
	p = op.post(t, entry+"/discard", url.Values{"csrf": {csrf}, "reason": {"test order"}}, nil)
	require.Equal(t, http.StatusSeeOther, p.Status)
	require.Contains(t, op.get(t, p.Location).Body, "was discarded")
	require.Contains(t, op.get(t, "/audit").Body, "quarantine.discard")
}

// Ensure every page renders for a signed-in viewer, and unknown things
// answer a 404 page.
func TestPages(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	require.Equal(t, http.StatusAccepted, h.send(t, "/in/shop/orders", order("ES-1", "03/04/2026")))
	d := h.waitState(t, "ES-1", "erp", "delivered")
	c := newClient(h)
	c.login(t, viewerToken)
	msg := "/messages/" + strconv.FormatInt(d.MessageID, 10)
	for path, want := range map[string]string{
		"/":                            "Map of systems and flows",
		"/flows/shop-orders":           "New e-shop orders go to the ERP",
		"/flows/shop-orders?range=24h": "Throughput, last 24 hours",
		"/messages":                    "ES-1",
		"/messages?key=ES-1&since=1h":  "Trace it across every flow",
		msg:                            "Idempotency-Key",
		"/trace?key=ES-1":              "Where it stands",
		"/trace":                       "Business key",
		"/dlq":                         "No dead letters",
		"/quarantine":                  "Nothing in the quarantine",
		"/audit":                       "Audit of acme-test",
		"/docs/":                       "Seam dashboard",
		"/docs/flows/shop-orders.html": "shop-orders",
	} {
		p := c.get(t, path)
		require.Equal(t, http.StatusOK, p.Status, path)
		require.Contains(t, p.Body, want, path)
		require.Contains(t, p.Header.Get("Content-Security-Policy"), "default-src 'none'", path)
	}
	for _, path := range []string{"/flows/nope", "/messages/99999", "/quarantine/424242", "/nothing-here"} {
		p := c.get(t, path)
		require.Equal(t, http.StatusNotFound, p.Status, path)
		require.Contains(t, p.Body, "Not found", path)
	}
	p := c.get(t, "/messages?since=yesterday")
	require.Equal(t, http.StatusBadRequest, p.Status)
	// The API and the intakes are not the dashboard's: a wrong intake path
	// gets a problem, not the sign-in page.
	require.Contains(t, c.get(t, "/api/flows").Header.Get("Content-Type"), "problem+json")
	p = newClient(h).post(t, "/in/shop/typo", nil, nil)
	require.Equal(t, http.StatusNotFound, p.Status)
	require.Contains(t, p.Header.Get("Content-Type"), "problem+json")
}

// regexpAll returns the first group of every match of re in body.
func regexpAll(body, re string) []string {
	var out []string
	for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}
