package problem_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/problem"
)

func TestStatusFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code   string
		status int
	}{
		{code: seam.EINVALID, status: 400},
		{code: seam.EUNAUTHORIZED, status: 401},
		{code: seam.EFORBIDDEN, status: 403},
		{code: seam.ENOTFOUND, status: 404},
		{code: seam.ECONFLICT, status: 409},
		{code: seam.ETOOLARGE, status: 413},
		{code: seam.EUNSUPPORTED, status: 415},
		{code: seam.EUNAVAILABLE, status: 503},
		{code: seam.EINTERNAL, status: 500},
		{code: "something_new", status: 500},
		{code: "", status: 200},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.status, problem.StatusFor(tc.code))
		})
	}
}

func decode(t *testing.T, w *httptest.ResponseRecorder) (problem.Problem, map[string]any) {
	t.Helper()
	require.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
	var p problem.Problem
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &p))
	var raw map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &raw))
	return p, raw
}

func TestWriteProblem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		err    error
		status int
		code   string
		detail string
		hint   string
	}{
		{name: "invalid with hint", err: seam.Errorf(seam.EINVALID, "malformed JSON at byte 17: invalid character 'x'").WithHint("send one JSON value"),
			status: 400, code: "invalid", detail: "malformed JSON at byte 17: invalid character 'x'", hint: "send one JSON value"},
		{name: "unauthorized", err: seam.Errorf(seam.EUNAUTHORIZED, "missing signature header X-Signature"), status: 401, code: "unauthorized", detail: "missing signature header X-Signature"},
		{name: "wrapped seam error", err: fmt.Errorf("intake: %w", seam.Errorf(seam.ETOOLARGE, "body is 10485760 bytes")), status: 413, code: "too_large", detail: "body is 10485760 bytes"},
		{name: "unsupported", err: seam.Errorf(seam.EUNSUPPORTED, "content type \"text/csv\" is not supported"), status: 415, code: "unsupported", detail: "content type \"text/csv\" is not supported"},
		{name: "not found", err: seam.Errorf(seam.ENOTFOUND, "no message 42"), status: 404, code: "not_found", detail: "no message 42"},
		{name: "conflict", err: seam.Errorf(seam.ECONFLICT, "already delivered"), status: 409, code: "conflict", detail: "already delivered"},
		{name: "unavailable", err: seam.Errorf(seam.EUNAVAILABLE, "shutting down"), status: 503, code: "unavailable", detail: "shutting down"},
		{name: "max bytes reader", err: fmt.Errorf("read: %w", &http.MaxBytesError{Limit: 1024}), status: 413, code: "too_large", detail: "body is over 1024 bytes, the limit"},
		{name: "nil error", err: nil, status: 500, code: "internal", detail: "internal error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, "/in/eshop/orders?token=abc", nil)
			problem.Write(w, r, tc.err)
			require.Equal(t, tc.status, w.Code)
			p, _ := decode(t, w)
			require.Equal(t, problem.Problem{
				Type: "about:blank", Title: http.StatusText(tc.status), Status: tc.status,
				Detail: tc.detail, Instance: "/in/eshop/orders", Code: tc.code, Hint: tc.hint,
			}, p)
		})
	}
}

func TestInternalErrorsDoNotLeak(t *testing.T) {
	t.Parallel()
	const leak = "dial tcp 10.0.0.5:5432: password=hunter2"
	for _, err := range []error{
		errors.New(leak),
		fmt.Errorf("store: %w", errors.New(leak)),
		&seam.Error{Code: seam.EINTERNAL, Message: leak},
		&seam.Error{Code: "brand_new_code", Message: leak},
	} {
		w := httptest.NewRecorder()
		problem.Write(w, httptest.NewRequest(http.MethodGet, "/api/messages", nil), err)
		require.Equal(t, http.StatusInternalServerError, w.Code)
		require.NotContains(t, w.Body.String(), "hunter2")
		require.NotContains(t, w.Body.String(), "10.0.0.5")
		p, _ := decode(t, w)
		require.Equal(t, "internal error", p.Detail)
		require.Equal(t, seam.EINTERNAL, p.Code)
		require.Empty(t, p.Hint)
	}
}

func TestWithErrors(t *testing.T) {
	t.Parallel()
	reasons := []any{
		seam.Reason{Stage: seam.StageValidate, Field: "total.vat_rate", Value: "2100", Rule: "range", Message: "2100 is not a VAT rate (0–100)"},
		seam.Reason{Stage: seam.StageValidate, Field: "customer.email", Rule: "required", Message: "missing"},
	}
	err := problem.WithErrors(seam.Errorf(seam.EINVALID, "the record breaks the order model (2 problems)"), reasons...)
	require.Equal(t, seam.EINVALID, seam.ErrorCode(err))
	require.NoError(t, problem.WithErrors(nil, reasons...))

	w := httptest.NewRecorder()
	problem.Write(w, httptest.NewRequest(http.MethodPost, "/in/x", nil), err)
	require.Equal(t, http.StatusBadRequest, w.Code)
	_, raw := decode(t, w)
	errs, ok := raw["errors"].([]any)
	require.True(t, ok)
	require.Len(t, errs, 2)
	require.Equal(t, "total.vat_rate", errs[0].(map[string]any)["field"])

	// Details of an internal error are not shown either.
	w = httptest.NewRecorder()
	problem.Write(w, httptest.NewRequest(http.MethodPost, "/in/x", nil), problem.WithErrors(errors.New("boom"), "secret detail"))
	require.False(t, strings.Contains(w.Body.String(), "secret detail"))
}

func TestWriteProblemHeaders(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	w.Header().Set("Content-Length", "999")
	problem.Write(w, httptest.NewRequest(http.MethodHead, "/x", nil), seam.Errorf(seam.ENOTFOUND, "no x"))
	require.Equal(t, http.StatusNotFound, w.Code)
	require.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
	require.Empty(t, w.Header().Get("Content-Length"))
	require.Empty(t, w.Body.String(), "HEAD has no body")

	p := problem.New(nil, seam.Errorf(seam.EINVALID, "bad"))
	require.Empty(t, p.Instance)
	require.Equal(t, 400, p.Status)
}
