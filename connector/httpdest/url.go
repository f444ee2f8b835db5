package httpdest

import (
	"net/url"
	"strings"

	"github.com/seamhq/seam"
)

// urlTemplate is a destination URL with {name} placeholders, split once at
// New so that each delivery only concatenates.
type urlTemplate struct {
	parts []urlPart
	// apiKey, when set, is appended to the query; kept apart so that an
	// error can show the URL with the key redacted.
	apiKeyName, apiKeyValue string
	hasQuery                bool
}

type urlPart struct {
	literal string
	name    string // a placeholder when non-empty
	inQuery bool
}

const redacted = "REDACTED"

func isNameChar(c byte) bool {
	return c == '_' || c == '-' || c == '.' ||
		('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

// parseURLTemplate splits raw into literals and placeholders. Placeholders
// are only allowed in the path and the query: a host taken from record data
// would let a record choose where Seam sends, with the route's credentials.
func parseURLTemplate(raw string) (urlTemplate, error) {
	var t urlTemplate
	if raw == "" {
		return t, seam.Errorf(seam.EINVALID, "destination URL is empty")
	}
	// Everything before the first '/', '?' or '#' after "scheme://" is the
	// authority; placeholders must come after it.
	authorityEnd := len(raw)
	if i := strings.Index(raw, "://"); i >= 0 {
		if j := strings.IndexAny(raw[i+3:], "/?#"); j >= 0 {
			authorityEnd = i + 3 + j
		}
	}
	inQuery := false
	rest := raw
	pos := 0
	var lit strings.Builder
	for len(rest) > 0 {
		c := rest[0]
		switch {
		case c == '?' && !inQuery:
			inQuery = true
			t.hasQuery = true
		case c == '#':
			return t, seam.Errorf(seam.EINVALID, "destination URL %q has a fragment, which HTTP never sends", safeURL(raw))
		case c == '{':
			end := strings.IndexByte(rest, '}')
			name := ""
			if end > 1 {
				name = rest[1:end]
			}
			valid := name != ""
			for i := 0; i < len(name); i++ {
				valid = valid && isNameChar(name[i])
			}
			if !valid {
				return t, seam.Errorf(seam.EINVALID, "destination URL %q has a malformed placeholder at byte %d", safeURL(raw), pos+1).
					WithHint("write placeholders as {name} with letters, digits, _ - or .")
			}
			if pos < authorityEnd {
				return t, seam.Errorf(seam.EINVALID, "destination URL %q has placeholder {%s} in its scheme or host", safeURL(raw), name).
					WithHint("placeholders may only fill the path or the query")
			}
			if lit.Len() > 0 {
				t.parts = append(t.parts, urlPart{literal: lit.String()})
				lit.Reset()
			}
			t.parts = append(t.parts, urlPart{name: name, inQuery: inQuery})
			rest = rest[end+1:]
			pos += end + 1
			continue
		}
		lit.WriteByte(c)
		rest = rest[1:]
		pos++
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, urlPart{literal: lit.String()})
	}

	// Check the shape with every placeholder filled by a harmless value.
	sample, _ := t.expand(func(string) (string, bool) { return "x", true }, false)
	u, err := url.Parse(sample)
	if err != nil {
		return t, seam.Errorf(seam.EINVALID, "destination URL %q is not a URL", safeURL(raw))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return t, seam.Errorf(seam.EINVALID, "destination URL %q must start with http:// or https://", safeURL(raw))
	}
	if u.Host == "" {
		return t, seam.Errorf(seam.EINVALID, "destination URL %q has no host", safeURL(raw))
	}
	return t, nil
}

// expand fills the placeholders. Values are escaped for where they stand,
// so a value cannot add path segments or query parameters; "." and ".."
// are refused because servers resolve them into another resource.
func (t urlTemplate) expand(lookup func(string) (string, bool), redact bool) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.name == "" {
			b.WriteString(p.literal)
			continue
		}
		v, ok := lookup(p.name)
		switch {
		case !ok:
			return "", seam.Errorf(seam.EINVALID, "URL placeholder {%s} has no value", p.name).
				WithHint("map a value for " + p.name + " on the route")
		case v == "" && !p.inQuery:
			return "", seam.Errorf(seam.EINVALID, "URL placeholder {%s} is empty", p.name)
		case !p.inQuery && (v == "." || v == ".."):
			return "", seam.Errorf(seam.EINVALID, "URL placeholder {%s} is %q, which would change the path", p.name, v)
		}
		if p.inQuery {
			b.WriteString(url.QueryEscape(v))
		} else {
			b.WriteString(url.PathEscape(v))
		}
	}
	if t.apiKeyName != "" {
		if t.hasQuery {
			b.WriteByte('&')
		} else {
			b.WriteByte('?')
		}
		b.WriteString(url.QueryEscape(t.apiKeyName))
		b.WriteByte('=')
		if redact {
			b.WriteString(redacted)
		} else {
			b.WriteString(url.QueryEscape(t.apiKeyValue))
		}
	}
	return b.String(), nil
}

// safeURL is a URL fit for an error message or a log: no password, no
// query (which may hold a key), no fragment.
func safeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		// Too broken to parse: keep only what comes before any query or
		// userinfo could start.
		if i := strings.IndexAny(raw, "?@#"); i >= 0 {
			raw = raw[:i]
		}
		return raw
	}
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = "", false, "", ""
	return u.Redacted()
}
