package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seamhq/seam"
)

// Signature schemes.
const (
	SchemeHMACSHA256 = "hmac-sha256"
	SchemeShopify    = "shopify"
	SchemeStripe     = "stripe"
	SchemeGitHub     = "github"
)

// Signature defaults.
const (
	DefaultSignatureHeader = "X-Signature"
	DefaultStripeTolerance = 5 * time.Minute
)

// Verifier checks that a body was signed by the sender holding the flow's
// secret. Verify receives the raw body exactly as it arrived, before any
// decoding, because a signature covers bytes, not meaning.
type Verifier interface {
	Verify(h http.Header, body []byte, now time.Time) error
}

// SignatureConfig describes how a source signs its webhooks.
type SignatureConfig struct {
	// Scheme is one of Schemes().
	Scheme string
	// Header carries the signature; each scheme has its own default
	// (X-Signature for hmac-sha256).
	Header string
	// Secret is the shared HMAC key, already resolved from the environment.
	Secret []byte
	// Encoding of the signature for hmac-sha256: "hex" (default) or "base64".
	Encoding string
	// Prefix precedes the signature in the header for hmac-sha256, e.g.
	// "sha256=".
	Prefix string
	// Tolerance bounds the age (and clock skew) of a signed timestamp for
	// stripe (default 5m), which is what stops a captured request from
	// being replayed later.
	Tolerance time.Duration
}

// Schemes lists the accepted signature schemes, for catalog validation.
func Schemes() []string {
	return []string{SchemeGitHub, SchemeHMACSHA256, SchemeShopify, SchemeStripe}
}

const sigHint = "check that the sender and the flow's signature.secret hold the same secret, and that the sender signs the raw body exactly as sent"

// NewVerifier returns the Verifier for cfg, or an EINVALID error naming what
// is wrong with the configuration.
func NewVerifier(cfg SignatureConfig) (Verifier, error) {
	if len(cfg.Secret) == 0 {
		return nil, seam.Errorf(seam.EINVALID, "signature secret is empty").
			WithHint("set signature.secret on the flow, usually as ${ENV_VAR}")
	}
	if cfg.Tolerance < 0 {
		return nil, seam.Errorf(seam.EINVALID, "signature tolerance %s is negative", cfg.Tolerance)
	}
	// The verifier keeps its own copy so a caller reusing the slice
	// cannot change the key under it.
	secret := slices.Clone(cfg.Secret)
	header := func(def string) string {
		if cfg.Header != "" {
			return http.CanonicalHeaderKey(cfg.Header)
		}
		return def
	}
	switch cfg.Scheme {
	case SchemeHMACSHA256:
		enc := strings.ToLower(cfg.Encoding)
		if enc == "" {
			enc = "hex"
		}
		if enc != "hex" && enc != "base64" {
			return nil, seam.Errorf(seam.EINVALID, "signature encoding %q is not supported", cfg.Encoding).
				WithHint("use hex or base64")
		}
		return &hmacVerifier{secret: secret, header: header(DefaultSignatureHeader), encoding: enc, prefix: cfg.Prefix}, nil
	case SchemeShopify:
		return &hmacVerifier{secret: secret, header: header("X-Shopify-Hmac-Sha256"), encoding: "base64"}, nil
	case SchemeGitHub:
		return &hmacVerifier{secret: secret, header: header("X-Hub-Signature-256"), encoding: "hex", prefix: "sha256="}, nil
	case SchemeStripe:
		tol := cfg.Tolerance
		if tol == 0 {
			tol = DefaultStripeTolerance
		}
		return &stripeVerifier{secret: secret, header: header("Stripe-Signature"), tolerance: tol}, nil
	}
	return nil, seam.Errorf(seam.EINVALID, "unknown signature scheme %q", cfg.Scheme).
		WithHint("use one of " + strings.Join(Schemes(), ", "))
}

func unauthorized(format string, args ...any) error {
	return (&seam.Error{Code: seam.EUNAUTHORIZED, Message: fmt.Sprintf(format, args...)}).WithHint(sigHint)
}

func sign(secret []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, secret)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// hmacVerifier covers every scheme that is an HMAC-SHA256 of the raw body in
// one header: the generic one, Shopify and GitHub differ only in header,
// encoding and prefix.
type hmacVerifier struct {
	secret   []byte
	header   string
	encoding string
	prefix   string
}

var _ Verifier = (*hmacVerifier)(nil)

// Verify implements Verifier.
func (v *hmacVerifier) Verify(h http.Header, body []byte, _ time.Time) error {
	raw := strings.TrimSpace(h.Get(v.header))
	if raw == "" {
		return unauthorized("missing signature header %s", v.header)
	}
	if v.prefix != "" {
		// Prefixes like "sha256=" are compared case-insensitively
		// because senders disagree on the case of the algorithm name.
		if len(raw) < len(v.prefix) || !strings.EqualFold(raw[:len(v.prefix)], v.prefix) {
			return unauthorized("malformed signature header %s: it does not start with %q", v.header, v.prefix)
		}
		raw = raw[len(v.prefix):]
	}
	got, err := decodeSig(raw, v.encoding)
	if err != nil {
		return unauthorized("malformed signature header %s: %v", v.header, err)
	}
	if !hmac.Equal(got, sign(v.secret, body)) {
		return unauthorized("signature mismatch in header %s: the body was not signed with the configured secret, or was changed on the way", v.header)
	}
	return nil
}

// decodeSig decodes a provided signature. Its errors describe the shape of
// what was sent, never its content, and never what was expected.
func decodeSig(s, encoding string) ([]byte, error) {
	var (
		b   []byte
		err error
	)
	if encoding == "base64" {
		// Senders differ on padding and alphabet; all four decode the
		// same 32 bytes, so accepting them costs no security.
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err = enc.DecodeString(s); err == nil {
				break
			}
		}
		if err != nil {
			return nil, fmt.Errorf("not valid base64")
		}
	} else {
		if b, err = hex.DecodeString(s); err != nil {
			return nil, fmt.Errorf("not valid hex")
		}
	}
	if len(b) != sha256.Size {
		return nil, fmt.Errorf("%d bytes where HMAC-SHA256 gives %d", len(b), sha256.Size)
	}
	return b, nil
}

// stripeVerifier implements Stripe's scheme: "t=<unix>,v1=<hex>[,v1=<hex>]",
// an HMAC of "<t>.<body>". Several v1 entries appear while Stripe rolls a
// secret; any one matching is enough.
type stripeVerifier struct {
	secret    []byte
	header    string
	tolerance time.Duration
}

var _ Verifier = (*stripeVerifier)(nil)

// Verify implements Verifier.
func (v *stripeVerifier) Verify(h http.Header, body []byte, now time.Time) error {
	raw := strings.TrimSpace(h.Get(v.header))
	if raw == "" {
		return unauthorized("missing signature header %s", v.header)
	}
	var (
		ts     string
		hasTS  bool
		sigs   [][]byte
		badSig bool
	)
	for item := range strings.SplitSeq(raw, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return unauthorized("malformed signature header %s: expected t=<timestamp>,v1=<signature>", v.header)
		}
		switch k {
		case "t":
			ts, hasTS = val, true
		case "v1":
			b, err := decodeSig(val, "hex")
			if err != nil {
				badSig = true
				continue
			}
			sigs = append(sigs, b)
		default:
			// v0 and future schemes are not ours to check.
		}
	}
	if !hasTS {
		return unauthorized("malformed signature header %s: no t= timestamp", v.header)
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || unix < 0 || unix > math.MaxInt64/int64(time.Second) {
		return unauthorized("malformed signature header %s: timestamp is not a Unix time in seconds", v.header)
	}
	if len(sigs) == 0 {
		if badSig {
			return unauthorized("malformed signature header %s: v1 is not a hex HMAC-SHA256", v.header)
		}
		return unauthorized("malformed signature header %s: no v1= signature", v.header)
	}
	want := sign(v.secret, []byte(ts), []byte("."), body)
	matched := false
	for _, s := range sigs {
		// No early exit, so timing does not tell which entry matched.
		if hmac.Equal(s, want) {
			matched = true
		}
	}
	if !matched {
		return unauthorized("signature mismatch in header %s: the body was not signed with the configured secret, or was changed on the way", v.header)
	}
	// Checked after the signature, so only a genuine sender learns the
	// tolerance, and the message is about its clock or a replay.
	skew := now.Sub(time.Unix(unix, 0))
	if skew > v.tolerance || skew < -v.tolerance {
		return unauthorized("signature timestamp %d is %s from now, outside the tolerance of %s (a replayed request, or a wrong clock)", unix, skew.Abs().Round(time.Second), v.tolerance)
	}
	return nil
}
