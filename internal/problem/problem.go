// Package problem writes RFC 9457 problem details: the body of every error
// response, from the webhook intakes and from the API alike, with the one
// table that maps seam error codes to HTTP statuses.
package problem

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/seamhq/seam"
)

// ProblemContentType is the media type of RFC 9457 problem details.
const ProblemContentType = "application/problem+json"

// Problem is an RFC 9457 problem details object, the body of every error
// response from the API and the intake endpoints. Code and Hint extend the
// standard members: Code is the seam error code a script can switch on,
// Hint says what to try.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	Code     string `json:"code,omitempty"`
	Hint     string `json:"hint,omitempty"`
	Errors   []any  `json:"errors,omitempty"`
}

// statuses is the one table from seam error codes to HTTP statuses. A code
// missing here is answered as an internal error.
var statuses = map[string]int{
	seam.EINVALID:      http.StatusBadRequest,
	seam.EUNAUTHORIZED: http.StatusUnauthorized,
	seam.EFORBIDDEN:    http.StatusForbidden,
	seam.ENOTFOUND:     http.StatusNotFound,
	seam.ECONFLICT:     http.StatusConflict,
	seam.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	seam.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	seam.EUNAVAILABLE:  http.StatusServiceUnavailable,
	seam.EREFUSED:      http.StatusUnprocessableEntity,
	seam.EMETHOD:       http.StatusMethodNotAllowed,
	seam.EINTERNAL:     http.StatusInternalServerError,
}

// StatusFor returns the HTTP status for a seam error code; 500 for any code
// it does not know, and 200 for "" (no error).
func StatusFor(code string) int {
	if code == "" {
		return http.StatusOK
	}
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// problemErrors attaches a list of details (e.g. every seam.Reason of a
// refused record) to an error, for Problem.Errors.
type problemErrors struct {
	err  error
	list []any
}

func (p *problemErrors) Error() string { return p.err.Error() }
func (p *problemErrors) Unwrap() error { return p.err }

// WithErrors returns err carrying a list of details that WriteProblem puts
// in the problem's "errors" member, so a refusal can report every reason at
// once rather than the first. The list is shown to the caller: put only
// caller-safe values in it.
func WithErrors(err error, list ...any) error {
	if err == nil {
		return nil
	}
	return &problemErrors{err: err, list: list}
}

// New builds the problem for err. Only a *seam.Error with a known,
// non-internal code shows its message; every other error becomes a bare
// "internal error", since its text may hold paths, queries or secrets.
func New(r *http.Request, err error) Problem {
	code := seam.ErrorCode(err)
	status := StatusFor(code)
	p := Problem{
		Type:   "about:blank",
		Title:  http.StatusText(status),
		Status: status,
		Code:   code,
	}
	if r != nil && r.URL != nil {
		// The path only: a query may carry a token.
		p.Instance = r.URL.Path
	}
	var mbe *http.MaxBytesError
	if code == seam.EINTERNAL && errors.As(err, &mbe) {
		// http.MaxBytesReader's error is a caller mistake, not a bug.
		p.Status, p.Code = http.StatusRequestEntityTooLarge, seam.ETOOLARGE
		p.Title = http.StatusText(p.Status)
		p.Detail = fmt.Sprintf("body is over %d bytes, the limit", mbe.Limit)
		return p
	}
	if status == http.StatusInternalServerError {
		p.Code = seam.EINTERNAL
		p.Detail = "internal error"
		return p
	}
	var se *seam.Error
	if errors.As(err, &se) {
		p.Detail = se.Message
		p.Hint = se.Hint
	}
	var pe *problemErrors
	if errors.As(err, &pe) {
		p.Errors = pe.list
	}
	return p
}

// Write answers r with the problem for err. Internal errors are
// logged with their full text here, because the response deliberately
// carries none of it.
func Write(w http.ResponseWriter, r *http.Request, err error) {
	if err == nil {
		err = errors.New("problem.Write called without an error")
	}
	p := New(r, err)
	if p.Status == http.StatusInternalServerError {
		attrs := []any{"err", err.Error()}
		if r != nil {
			attrs = append(attrs, "method", r.Method, "path", p.Instance)
			slog.ErrorContext(r.Context(), "internal error", attrs...)
		} else {
			slog.Error("internal error", attrs...)
		}
	}
	h := w.Header()
	h.Set("Content-Type", ProblemContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	w.WriteHeader(p.Status)
	if r != nil && r.Method == http.MethodHead {
		return
	}
	_ = json.NewEncoder(w).Encode(p)
}
