package ui

import (
	"bytes"
	"context"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// SiteFunc renders a static site in memory: its files by relative path
// ("index.html", "flows/orders.html", "style.css").
type SiteFunc func(ctx context.Context) (map[string][]byte, error)

// StaticSite serves a site rendered in memory (the generated docs) below
// the prefix it is mounted at. It renders at most once per ttl: the docs
// change with the catalog and the live facts, but not on every click.
func StaticSite(render SiteFunc, ttl time.Duration) http.Handler {
	return &staticSite{render: render, ttl: ttl}
}

type staticSite struct {
	render SiteFunc
	ttl    time.Duration

	mu    sync.Mutex
	files map[string][]byte
	at    time.Time
}

func (s *staticSite) get(ctx context.Context) (map[string][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.files != nil && time.Since(s.at) < s.ttl {
		return s.files, nil
	}
	files, err := s.render(ctx)
	if err != nil {
		return nil, err
	}
	s.files, s.at = files, time.Now()
	return files, nil
}

func (s *staticSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	files, err := s.get(r.Context())
	if err != nil {
		http.Error(w, "the documentation could not be generated: "+err.Error(), http.StatusInternalServerError)
		return
	}
	p := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if p == "" {
		p = "index.html"
	}
	b, ok := files[p]
	if !ok {
		http.NotFound(w, r)
		return
	}
	ct := mime.TypeByExtension(path.Ext(p))
	if ct == "" {
		ct = http.DetectContentType(b)
	}
	if strings.HasSuffix(p, ".html") {
		b = withBackLink(b)
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}

// withBackLink puts a link back to the dashboard at the top of a docs
// page: the site is standalone (it also works from the file system) and
// has no way back of its own.
func withBackLink(page []byte) []byte {
	i := bytes.Index(page, []byte("<body"))
	if i < 0 {
		return page
	}
	j := bytes.IndexByte(page[i:], '>')
	if j < 0 {
		return page
	}
	at := i + j + 1
	link := []byte(`<p class="noprint"><a href="/">← Seam dashboard</a></p>`)
	out := make([]byte, 0, len(page)+len(link))
	out = append(out, page[:at]...)
	out = append(out, link...)
	return append(out, page[at:]...)
}
