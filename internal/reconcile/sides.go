package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/govalues/decimal"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/store"
)

var defaultEnv catalog.Lookup = os.LookupEnv

// ledgerPage is how many rows one ledger read returns.
const ledgerPage = 1000

// ledgerSide counts (or sums) the records a flow received in the window,
// or the deliveries of one of its routes, and lists their keys.
func (r *Runner) ledgerSide(ctx context.Context, f *catalog.Flow, l *catalog.LedgerSide, compare string, from, to time.Time) (*Side, error) {
	if r.Ledger == nil {
		return nil, errors.New("the ledger is not open here")
	}
	flow := l.Flow
	if flow == "" {
		flow = f.Name
	}
	side := &Side{Label: "ledger", keys: []string{}}
	total := decimal.Decimal{}
	n := 0
	add := func(key string, doc []byte, what string) error {
		n++
		if n > maxLedgerRows {
			return fmt.Errorf("more than %d records in the window; shorten the window", maxLedgerRows)
		}
		side.keys = append(side.keys, key)
		if compare != "sum" {
			return nil
		}
		v, err := fieldValue(doc, l.Field)
		if err != nil {
			return fmt.Errorf("%s of key %s: %w", what, key, err)
		}
		total, err = total.Add(v)
		return err
	}
	if l.Route == "" {
		side.Source = "records received by " + flow
		if l.State != "" {
			side.Source = l.State + " " + side.Source
		}
		var before int64
		for {
			ms, err := r.Ledger.MessageList(ctx, &store.MessageFilter{Flow: flow, Status: seam.MessageStatus(l.State),
				Since: from, Until: to, BeforeID: before, Limit: ledgerPage})
			if err != nil {
				return nil, err
			}
			for _, m := range ms {
				if err := add(m.Key, m.Canonical, "canonical record"); err != nil {
					return nil, err
				}
				before = m.ID
			}
			if len(ms) < ledgerPage {
				break
			}
		}
	} else {
		side.Source = "deliveries of " + flow + " → " + l.Route
		f := &store.DeliveryFilter{Flow: flow, Route: l.Route, Since: from, Until: to, Limit: ledgerPage}
		if l.State != "" {
			f.States = []seam.DeliveryState{seam.DeliveryState(l.State)}
			side.Source = l.State + " " + side.Source
		}
		for {
			ds, err := r.Ledger.DeliveryList(ctx, f)
			if err != nil {
				return nil, err
			}
			for _, d := range ds {
				if err := add(d.Key, d.Payload, "payload"); err != nil {
					return nil, err
				}
				f.BeforeID = d.ID
			}
			if len(ds) < ledgerPage {
				break
			}
		}
	}
	if compare == "sum" {
		side.Source += ", sum of " + l.Field
		side.value = total
	} else {
		side.value = decimal.MustNew(int64(n), 0)
	}
	return side, nil
}

// fieldValue reads the number at a dot path of a JSON document.
func fieldValue(doc []byte, path string) (decimal.Decimal, error) {
	if len(doc) == 0 {
		return decimal.Decimal{}, errors.New("empty")
	}
	v, err := decodeJSON(doc)
	if err != nil {
		return decimal.Decimal{}, err
	}
	got, err := one(v, path)
	if err != nil {
		return decimal.Decimal{}, err
	}
	return number(got)
}

// httpSide GETs the number (and, with keys_path, the keys) from a system.
func (r *Runner) httpSide(ctx context.Context, c *catalog.Catalog, h *catalog.HTTPSide, from, to time.Time) (*Side, error) {
	sys := c.Systems[h.System]
	if sys == nil {
		return nil, fmt.Errorf("unknown system %q", h.System)
	}
	base, err := sys.BaseURL.Value(r.env())
	if err != nil {
		return nil, fmt.Errorf("system %s: base_url: %w", h.System, err)
	}
	side := &Side{Label: h.System, Source: "GET " + pathOnly(h.Path)}
	doc, err := r.get(ctx, sys, base, h.Path, from, to)
	if err != nil {
		return nil, err
	}
	got, err := one(doc, h.JSONPath)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", pathOnly(h.Path), err)
	}
	if side.value, err = number(got); err != nil {
		return nil, fmt.Errorf("GET %s: %w", pathOnly(h.Path), err)
	}
	if h.KeysPath != "" {
		doc, err := r.get(ctx, sys, base, h.KeysPath, from, to)
		if err != nil {
			return nil, err
		}
		if side.keys, err = keyList(doc, h.KeysJSONPath); err != nil {
			return nil, fmt.Errorf("GET %s: %w", pathOnly(h.KeysPath), err)
		}
	}
	return side, nil
}

// pathOnly drops the query of a path for messages: it may carry an API key.
func pathOnly(p string) string {
	path, _, _ := strings.Cut(p, "?")
	return path
}

// get fetches one JSON document with the system's authentication.
func (r *Runner) get(ctx context.Context, sys *catalog.System, base, path string, from, to time.Time) (any, error) {
	p := strings.NewReplacer("{from}", url.QueryEscape(from.Format(time.RFC3339)), "{to}", url.QueryEscape(to.Format(time.RFC3339))).Replace(path)
	where := "GET " + pathOnly(path)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+p, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot build the request (check base_url of %s)", where, sys.Name)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "seam")
	if err := r.authorize(ctx, req, sys); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	client := r.HTTP
	if client == nil {
		client = &http.Client{Timeout: time.Minute}
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may carry an API key in its query
		}
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("%s: %s", where, resp.Status)
	}
	doc, err := decodeJSON(body)
	if err != nil {
		return nil, fmt.Errorf("%s: the answer is not JSON: %w", where, err)
	}
	return doc, nil
}

// authorize authenticates req as the engine does when it delivers to the
// system.
func (r *Runner) authorize(ctx context.Context, req *http.Request, sys *catalog.System) error {
	a := sys.Auth
	if a == nil {
		return nil
	}
	env := r.env()
	switch {
	case a.Bearer.Set():
		tok, err := a.Bearer.Value(env)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	case a.Basic != nil:
		user, err := a.Basic.User.Value(env)
		if err != nil {
			return err
		}
		pass, err := a.Basic.Password.Value(env)
		if err != nil {
			return err
		}
		req.SetBasicAuth(user, pass)
	case a.APIKey != nil:
		v, err := a.APIKey.Value.Value(env)
		if err != nil {
			return err
		}
		if a.APIKey.Header != "" {
			req.Header.Set(a.APIKey.Header, v)
		} else {
			q := req.URL.Query()
			q.Set(a.APIKey.Query, v)
			req.URL.RawQuery = q.Encode()
		}
	case a.OAuth2 != nil:
		cc := clientcredentials.Config{Scopes: a.OAuth2.Scopes}
		var err error
		if cc.TokenURL, err = a.OAuth2.TokenURL.Value(env); err != nil {
			return err
		}
		if cc.ClientID, err = a.OAuth2.ClientID.Value(env); err != nil {
			return err
		}
		if cc.ClientSecret, err = a.OAuth2.ClientSecret.Value(env); err != nil {
			return err
		}
		if r.HTTP != nil {
			ctx = context.WithValue(ctx, oauth2.HTTPClient, r.HTTP)
		}
		tok, err := cc.Token(ctx)
		if err != nil {
			// The library's error may repeat the token endpoint's answer,
			// never the secret; still, keep it to what helps.
			return errors.New("fetch an OAuth2 token: the token endpoint refused or could not be reached")
		}
		tok.SetAuthHeader(req)
	}
	return nil
}

// decodeJSON decodes a document keeping numbers exact.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// number turns a JSON value (a number, or a string holding one, with a
// decimal comma or thousands separators as systems write them) into a
// decimal.
func number(v any) (decimal.Decimal, error) {
	switch x := v.(type) {
	case nil:
		return decimal.Decimal{}, nil // SUM over nothing is NULL
	case json.Number:
		return parseNumber(x.String())
	case string:
		return parseNumber(x)
	case float64:
		return decimal.NewFromFloat64(x)
	case int64:
		return decimal.New(x, 0)
	case bool, map[string]any, []any:
		return decimal.Decimal{}, fmt.Errorf("expected a number, got %s", kindOf(v))
	}
	return decimal.Decimal{}, fmt.Errorf("expected a number, got %T", v)
}

// parseNumber reads 1210.50, "1210,50", "1 210,50", "1,210.50", 1.2e3.
func parseNumber(s string) (decimal.Decimal, error) {
	t := strings.NewReplacer(" ", "", "\u00a0", "", "'", "").Replace(strings.TrimSpace(s))
	dot, comma := strings.LastIndex(t, "."), strings.LastIndex(t, ",")
	switch {
	case comma >= 0 && dot >= 0 && comma > dot: // 1.210,50
		t = strings.ReplaceAll(t, ".", "")
		t = strings.Replace(t, ",", ".", 1)
	case comma >= 0 && dot >= 0: // 1,210.50
		t = strings.ReplaceAll(t, ",", "")
	case comma >= 0: // 1210,50
		t = strings.Replace(t, ",", ".", 1)
	}
	d, err := decimal.Parse(t)
	if err == nil {
		return d, nil
	}
	// Exponents (1.2e3) are what decimal.Parse does not read.
	if f, ferr := strconv.ParseFloat(t, 64); ferr == nil && !strings.ContainsAny(t, "xXpPnN") {
		if d, err := decimal.NewFromFloat64(f); err == nil {
			return d, nil
		}
	}
	return decimal.Decimal{}, fmt.Errorf("%q is not a number", s)
}

func kindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case bool:
		return "true/false"
	}
	return fmt.Sprintf("%T", v)
}
