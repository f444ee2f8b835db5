package httpdest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// tokenSource caches client-credentials tokens for one destination. The
// cache is an oauth2.ReuseTokenSource, which refreshes shortly before
// expiry and lets one caller fetch while the others wait; invalidating it
// means replacing it, since the library offers no way to drop a token.
type tokenSource struct {
	fetcher *fetcher

	mu  sync.Mutex
	src oauth2.TokenSource
}

// tokenUse is a token handed to one attempt.
type tokenUse struct {
	token *oauth2.Token
	// source is the cache the token came from, so that a 401 invalidates
	// that cache only once however many attempts saw the same token.
	source oauth2.TokenSource
	// fresh says the token was fetched during this attempt.
	fresh bool
}

// fetcher fetches a new token on every call and counts the calls, which
// tells an attempt whether its token came from the cache.
type fetcher struct {
	cfg     *clientcredentials.Config
	ctx     context.Context
	fetches atomic.Int64
}

var _ oauth2.TokenSource = (*fetcher)(nil)

// Token implements oauth2.TokenSource.
func (f *fetcher) Token() (*oauth2.Token, error) {
	f.fetches.Add(1)
	return f.cfg.Token(f.ctx)
}

func newTokenSource(o OAuth2, client *http.Client) *tokenSource {
	cfg := &clientcredentials.Config{
		ClientID:     o.ClientID,
		ClientSecret: o.ClientSecret,
		TokenURL:     o.TokenURL,
		Scopes:       append([]string(nil), o.Scopes...),
	}
	// The fetch is bounded by client's timeout rather than by one
	// attempt's context: the token serves every later attempt too, and
	// one caller giving up must not fail the others waiting on it.
	f := &fetcher{cfg: cfg, ctx: context.WithValue(context.Background(), oauth2.HTTPClient, client)}
	return &tokenSource{fetcher: f, src: oauth2.ReuseTokenSource(nil, f)}
}

func (t *tokenSource) token(ctx context.Context) (tokenUse, error) {
	if err := ctx.Err(); err != nil {
		return tokenUse{}, err
	}
	t.mu.Lock()
	src := t.src
	t.mu.Unlock()
	before := t.fetcher.fetches.Load()
	tok, err := src.Token()
	if err != nil {
		return tokenUse{}, t.describe(err)
	}
	return tokenUse{token: tok, source: src, fresh: t.fetcher.fetches.Load() != before}, nil
}

func (t *tokenSource) invalidate(used oauth2.TokenSource) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.src == used {
		t.src = oauth2.ReuseTokenSource(nil, t.fetcher)
	}
}

// describe rewrites a token-fetch error without the endpoint's response
// body (which may echo the request) or anything from the credentials.
func (t *tokenSource) describe(err error) error {
	where := safeURL(t.fetcher.cfg.TokenURL)
	if rerr, ok := errors.AsType[*oauth2.RetrieveError](err); ok {
		msg := "fetching the OAuth2 token from " + where + " failed"
		if rerr.Response != nil {
			msg += fmt.Sprintf(": %d %s", rerr.Response.StatusCode, http.StatusText(rerr.Response.StatusCode))
		}
		if rerr.ErrorCode != "" {
			msg += fmt.Sprintf(" (%s)", rerr.ErrorCode)
		}
		return errors.New(msg)
	}
	if uerr, ok := errors.AsType[*url.Error](err); ok {
		return fmt.Errorf("fetching the OAuth2 token from %s failed: %w", where, uerr.Err)
	}
	// The library flattens transport errors into text quoting the token
	// URL (%v, not %w); replace the URL in case its query holds a secret.
	msg := strings.ReplaceAll(err.Error(), t.fetcher.cfg.TokenURL, where)
	return errors.New("fetching the OAuth2 token from " + where + " failed: " + strings.TrimPrefix(msg, "oauth2: "))
}
