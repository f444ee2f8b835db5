package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/problem"
)

// Client calls the JSON API; the CLI's operator commands use it, so what a
// script does with `seam replay` is exactly what the API does.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// Get fetches path with the query into out.
func (c *Client) Get(ctx context.Context, path string, q url.Values, out any) error {
	u := strings.TrimRight(c.BaseURL, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return c.do(ctx, http.MethodGet, u, nil, out)
}

// Post sends body as JSON to path and decodes the answer into out.
func (c *Client) Post(ctx context.Context, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, strings.TrimRight(c.BaseURL, "/")+path, b, out)
}

func (c *Client) do(ctx context.Context, method, u string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 2 * time.Minute}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return seam.Errorf(seam.EUNAVAILABLE, "cannot reach Seam at %s: %v", c.BaseURL, err).
			WithHint("is `seam run` running? point --server (or SEAM_SERVER) at it")
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var p problem.Problem
		if json.Unmarshal(b, &p) == nil && p.Detail != "" {
			code := p.Code
			if code == "" {
				code = seam.EINTERNAL
			}
			return &seam.Error{Code: code, Message: p.Detail, Hint: p.Hint}
		}
		return seam.Errorf(seam.EINTERNAL, "%s %s: %s", method, u, resp.Status)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode answer of %s: %w", u, err)
	}
	return nil
}
