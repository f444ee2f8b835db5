package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Webhook posts notices as chat-compatible JSON: {"text": "…"}. Slack,
// Mattermost, Rocket.Chat, Google Chat and Teams incoming-webhook
// connectors all show the text field; nothing else in the payload is
// needed, so none of them refuses it.
type Webhook struct {
	// URL is where to post. It is a credential (a chat webhook's token is
	// in its path), so errors name only its scheme and host.
	URL string
	// Client sends the requests; nil means one with a 10s timeout.
	Client *http.Client
	// Attempts is how many times one notice is tried before Send gives up
	// (default 3); the caller retries later, at its next evaluation.
	Attempts int
	// Backoff is the wait before the second attempt, doubled after each
	// (default 1s).
	Backoff time.Duration
	// SleepFunc waits between attempts; tests replace it. nil means a
	// timer that ends early when ctx does.
	SleepFunc func(ctx context.Context, d time.Duration) error
}

// webhookPayload is the JSON posted.
type webhookPayload struct {
	Text string `json:"text"`
}

// Send posts m. It retries transport errors, 429 and 5xx answers with
// backoff; any other answer is final.
func (w *Webhook) Send(ctx context.Context, m *Message) error {
	body, err := json.Marshal(webhookPayload{Text: m.Text()})
	if err != nil {
		return err
	}
	where := redactURL(w.URL)
	if where == "" {
		return errors.New("webhook: the url is not an http(s) URL")
	}
	attempts, backoff := w.Attempts, w.Backoff
	if attempts <= 0 {
		attempts = 3
	}
	if backoff <= 0 {
		backoff = time.Second
	}
	sleep := w.SleepFunc
	if sleep == nil {
		sleep = sleepCtx
	}
	var last error
	for i := range attempts {
		if i > 0 {
			if err := sleep(ctx, backoff<<(i-1)); err != nil {
				return fmt.Errorf("webhook %s: %w (after %v)", where, err, last)
			}
		}
		retry, err := w.post(ctx, body)
		if err == nil {
			return nil
		}
		last = fmt.Errorf("webhook %s: %w", where, err)
		if !retry {
			return last
		}
	}
	return fmt.Errorf("%w (%d attempts)", last, attempts)
}

// post sends one attempt and says whether a failure is worth retrying.
func (w *Webhook) post(ctx context.Context, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return false, errors.New("cannot build the request")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "seam")
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		// *url.Error repeats the whole URL, token included: keep only the
		// cause (a dial error names host and port, nothing more).
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return ctx.Err() == nil, err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return false, nil
	}
	err = fmt.Errorf("%s", resp.Status)
	if s := bytes.TrimSpace(snippet); len(s) > 0 {
		err = fmt.Errorf("%s: %s", resp.Status, oneLine(string(s)))
	}
	return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500, err
}

// redactURL keeps the scheme and host of a URL, which say where a notice
// went without giving away the token in its path or query.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
