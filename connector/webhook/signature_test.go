package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/connector/webhook"
)

const testSecret = "whsec_s3cr3t-value"

var sigNow = time.Date(2026, 4, 3, 12, 0, 0, 0, time.UTC)

func mac(secret, msg string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func stripeHeader(secret string, ts time.Time, body string) string {
	t := strconv.FormatInt(ts.Unix(), 10)
	return "t=" + t + ",v1=" + hex.EncodeToString(mac(secret, t+"."+body))
}

func TestVerify(t *testing.T) {
	t.Parallel()
	const body = `{"order_no":"ES-1042","total":"1210.00"}`
	hexSig := hex.EncodeToString(mac(testSecret, body))
	b64Sig := base64.StdEncoding.EncodeToString(mac(testSecret, body))
	wrongHex := hex.EncodeToString(mac("other-secret", body))

	generic := webhook.SignatureConfig{Scheme: "hmac-sha256", Header: "X-Signature", Secret: []byte(testSecret)}
	genericB64 := webhook.SignatureConfig{Scheme: "hmac-sha256", Header: "x-eshop-signature", Secret: []byte(testSecret), Encoding: "base64", Prefix: "sha256="}
	shopify := webhook.SignatureConfig{Scheme: "shopify", Secret: []byte(testSecret)}
	github := webhook.SignatureConfig{Scheme: "github", Secret: []byte(testSecret)}
	stripe := webhook.SignatureConfig{Scheme: "stripe", Secret: []byte(testSecret)}

	tests := []struct {
		name   string
		cfg    webhook.SignatureConfig
		header http.Header
		body   string
		errMsg string // "" means valid
	}{
		{name: "hmac valid", cfg: generic, header: http.Header{"X-Signature": {hexSig}}, body: body},
		{name: "hmac valid uppercase hex", cfg: generic, header: http.Header{"X-Signature": {strings.ToUpper(hexSig)}}, body: body},
		{name: "hmac tampered body", cfg: generic, header: http.Header{"X-Signature": {hexSig}}, body: body + " ", errMsg: "signature mismatch in header X-Signature"},
		{name: "hmac wrong secret", cfg: generic, header: http.Header{"X-Signature": {wrongHex}}, body: body, errMsg: "signature mismatch"},
		{name: "hmac missing header", cfg: generic, header: http.Header{}, body: body, errMsg: "missing signature header X-Signature"},
		{name: "hmac malformed header", cfg: generic, header: http.Header{"X-Signature": {"zz" + hexSig[2:]}}, body: body, errMsg: "not valid hex"},
		{name: "hmac truncated signature", cfg: generic, header: http.Header{"X-Signature": {hexSig[:20]}}, body: body, errMsg: "10 bytes where HMAC-SHA256 gives 32"},
		{name: "hmac base64 with prefix valid", cfg: genericB64, header: http.Header{"X-Eshop-Signature": {"sha256=" + b64Sig}}, body: body},
		{name: "hmac base64 prefix case-insensitive", cfg: genericB64, header: http.Header{"X-Eshop-Signature": {"SHA256=" + b64Sig}}, body: body},
		{name: "hmac base64 missing prefix", cfg: genericB64, header: http.Header{"X-Eshop-Signature": {b64Sig}}, body: body, errMsg: `does not start with "sha256="`},
		{name: "hmac base64 malformed", cfg: genericB64, header: http.Header{"X-Eshop-Signature": {"sha256=!!!"}}, body: body, errMsg: "not valid base64"},
		{name: "hmac base64 tampered", cfg: genericB64, header: http.Header{"X-Eshop-Signature": {"sha256=" + b64Sig}}, body: "{}", errMsg: "signature mismatch"},

		{name: "shopify valid", cfg: shopify, header: http.Header{"X-Shopify-Hmac-Sha256": {b64Sig}}, body: body},
		{name: "shopify tampered body", cfg: shopify, header: http.Header{"X-Shopify-Hmac-Sha256": {b64Sig}}, body: strings.Replace(body, "1210", "1", 1), errMsg: "signature mismatch in header X-Shopify-Hmac-Sha256"},
		{name: "shopify wrong secret", cfg: shopify, header: http.Header{"X-Shopify-Hmac-Sha256": {base64.StdEncoding.EncodeToString(mac("nope", body))}}, body: body, errMsg: "signature mismatch"},
		{name: "shopify missing header", cfg: shopify, header: http.Header{"X-Signature": {b64Sig}}, body: body, errMsg: "missing signature header X-Shopify-Hmac-Sha256"},
		{name: "shopify malformed header", cfg: shopify, header: http.Header{"X-Shopify-Hmac-Sha256": {"%%%"}}, body: body, errMsg: "not valid base64"},

		{name: "github valid", cfg: github, header: http.Header{"X-Hub-Signature-256": {"sha256=" + hexSig}}, body: body},
		{name: "github tampered body", cfg: github, header: http.Header{"X-Hub-Signature-256": {"sha256=" + hexSig}}, body: body + "\n", errMsg: "signature mismatch in header X-Hub-Signature-256"},
		{name: "github wrong secret", cfg: github, header: http.Header{"X-Hub-Signature-256": {"sha256=" + wrongHex}}, body: body, errMsg: "signature mismatch"},
		{name: "github missing header", cfg: github, header: http.Header{"X-Hub-Signature": {"sha1=abc"}}, body: body, errMsg: "missing signature header X-Hub-Signature-256"},
		{name: "github malformed header", cfg: github, header: http.Header{"X-Hub-Signature-256": {hexSig}}, body: body, errMsg: `does not start with "sha256="`},

		{name: "stripe valid", cfg: stripe, header: http.Header{"Stripe-Signature": {stripeHeader(testSecret, sigNow.Add(-time.Minute), body)}}, body: body},
		{name: "stripe valid among several v1 and v0", cfg: stripe, header: http.Header{"Stripe-Signature": {
			"t=" + strconv.FormatInt(sigNow.Unix(), 10) + ",v1=" + hex.EncodeToString(mac("old", strconv.FormatInt(sigNow.Unix(), 10)+"."+body)) +
				",v0=deadbeef," + strings.SplitN(stripeHeader(testSecret, sigNow, body), ",", 2)[1]}}, body: body},
		{name: "stripe tampered body", cfg: stripe, header: http.Header{"Stripe-Signature": {stripeHeader(testSecret, sigNow, body)}}, body: "{}", errMsg: "signature mismatch in header Stripe-Signature"},
		{name: "stripe wrong secret", cfg: stripe, header: http.Header{"Stripe-Signature": {stripeHeader("whsec_other", sigNow, body)}}, body: body, errMsg: "signature mismatch"},
		{name: "stripe tampered timestamp", cfg: stripe, header: http.Header{"Stripe-Signature": {strings.Replace(stripeHeader(testSecret, sigNow, body), "t=1", "t=2", 1)}}, body: body, errMsg: "signature mismatch"},
		{name: "stripe missing header", cfg: stripe, header: http.Header{}, body: body, errMsg: "missing signature header Stripe-Signature"},
		{name: "stripe malformed header", cfg: stripe, header: http.Header{"Stripe-Signature": {"garbage"}}, body: body, errMsg: "expected t=<timestamp>,v1=<signature>"},
		{name: "stripe no timestamp", cfg: stripe, header: http.Header{"Stripe-Signature": {"v1=" + hexSig}}, body: body, errMsg: "no t= timestamp"},
		{name: "stripe bad timestamp", cfg: stripe, header: http.Header{"Stripe-Signature": {"t=yesterday,v1=" + hexSig}}, body: body, errMsg: "not a Unix time"},
		{name: "stripe no v1", cfg: stripe, header: http.Header{"Stripe-Signature": {"t=1,v0=" + hexSig}}, body: body, errMsg: "no v1= signature"},
		{name: "stripe bad v1", cfg: stripe, header: http.Header{"Stripe-Signature": {"t=1,v1=xyz"}}, body: body, errMsg: "v1 is not a hex HMAC-SHA256"},
		{name: "stripe stale timestamp", cfg: stripe, header: http.Header{"Stripe-Signature": {stripeHeader(testSecret, sigNow.Add(-6*time.Minute), body)}}, body: body, errMsg: "is 6m0s from now, outside the tolerance of 5m0s"},
		{name: "stripe future timestamp", cfg: stripe, header: http.Header{"Stripe-Signature": {stripeHeader(testSecret, sigNow.Add(10*time.Minute), body)}}, body: body, errMsg: "outside the tolerance"},
		{name: "stripe custom tolerance", cfg: webhook.SignatureConfig{Scheme: "stripe", Secret: []byte(testSecret), Tolerance: time.Hour}, header: http.Header{"Stripe-Signature": {stripeHeader(testSecret, sigNow.Add(-59*time.Minute), body)}}, body: body},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, err := webhook.NewVerifier(tc.cfg)
			require.NoError(t, err)
			err = v.Verify(tc.header, []byte(tc.body), sigNow)
			if tc.errMsg == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Equal(t, seam.EUNAUTHORIZED, seam.ErrorCode(err))
			require.Contains(t, err.Error(), tc.errMsg)
			// Neither the secret nor the expected signature may leak.
			var se *seam.Error
			require.ErrorAs(t, err, &se)
			for _, text := range []string{se.Message, se.Hint} {
				require.NotContains(t, text, testSecret)
				require.NotContains(t, text, hexSig)
				require.NotContains(t, text, b64Sig)
			}
		})
	}
}

func TestNewVerifierConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cfg    webhook.SignatureConfig
		errMsg string
	}{
		{name: "defaults", cfg: webhook.SignatureConfig{Scheme: "hmac-sha256", Secret: []byte("k")}},
		{name: "empty secret", cfg: webhook.SignatureConfig{Scheme: "github"}, errMsg: "secret is empty"},
		{name: "unknown scheme", cfg: webhook.SignatureConfig{Scheme: "md5", Secret: []byte("k")}, errMsg: `unknown signature scheme "md5"`},
		{name: "bad encoding", cfg: webhook.SignatureConfig{Scheme: "hmac-sha256", Secret: []byte("k"), Encoding: "base32"}, errMsg: "encoding"},
		{name: "negative tolerance", cfg: webhook.SignatureConfig{Scheme: "stripe", Secret: []byte("k"), Tolerance: -time.Second}, errMsg: "negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, err := webhook.NewVerifier(tc.cfg)
			if tc.errMsg == "" {
				require.NoError(t, err)
				require.NotNil(t, v)
				return
			}
			require.Error(t, err)
			require.Equal(t, seam.EINVALID, seam.ErrorCode(err))
			require.Contains(t, err.Error(), tc.errMsg)
		})
	}
}

func TestVerifierDefaultHeader(t *testing.T) {
	t.Parallel()
	v, err := webhook.NewVerifier(webhook.SignatureConfig{Scheme: "hmac-sha256", Secret: []byte(testSecret)})
	require.NoError(t, err)
	h := http.Header{}
	h.Set(webhook.DefaultSignatureHeader, hex.EncodeToString(mac(testSecret, "x")))
	require.NoError(t, v.Verify(h, []byte("x"), sigNow))
}

func TestVerifierCopiesSecret(t *testing.T) {
	t.Parallel()
	secret := []byte(testSecret)
	v, err := webhook.NewVerifier(webhook.SignatureConfig{Scheme: "github", Secret: secret})
	require.NoError(t, err)
	secret[0] = 'X'
	h := http.Header{"X-Hub-Signature-256": {"sha256=" + hex.EncodeToString(mac(testSecret, "x"))}}
	require.NoError(t, v.Verify(h, []byte("x"), sigNow))
}

func TestSchemes(t *testing.T) {
	t.Parallel()
	require.ElementsMatch(t, []string{"hmac-sha256", "shopify", "stripe", "github"}, webhook.Schemes())
	for _, s := range webhook.Schemes() {
		_, err := webhook.NewVerifier(webhook.SignatureConfig{Scheme: s, Secret: []byte("k")})
		require.NoError(t, err, s)
	}
}
