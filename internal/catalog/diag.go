package catalog

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is a place in a catalog file. Line and Col are 1-based; a zero Line
// means the whole file.
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

// String formats the position as file:line:col, the form editors and
// terminals turn into links.
func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Severity says whether a diagnostic stops the catalog from running.
type Severity string

const (
	// SevError makes validation fail and prevents `seam run` from starting.
	SevError Severity = "error"
	// SevWarning is reported but does not fail validation, e.g. a secret
	// whose environment variable is not set on this machine.
	SevWarning Severity = "warning"
)

// Diagnostic is one problem found in a catalog, with where it is and,
// where one helps, what to try.
type Diagnostic struct {
	Pos
	Severity Severity `json:"severity"`
	Msg      string   `json:"message"`
	Hint     string   `json:"hint,omitempty"`
}

// String formats the diagnostic as `file:line:col: message`, followed by
// an indented hint line when there is one.
func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.Pos.String())
	b.WriteString(": ")
	if d.Severity == SevWarning {
		b.WriteString("warning: ")
	}
	b.WriteString(d.Msg)
	if d.Hint != "" {
		b.WriteString("\n\thint: ")
		b.WriteString(d.Hint)
	}
	return b.String()
}

// Diagnostics is every problem found in one load; it is never cut short at
// the first, so one run of `seam validate` shows all there is to fix.
type Diagnostics []Diagnostic

// Errors counts the diagnostics of error severity.
func (ds Diagnostics) Errors() int {
	n := 0
	for _, d := range ds {
		if d.Severity == SevError {
			n++
		}
	}
	return n
}

// Warnings counts the diagnostics of warning severity.
func (ds Diagnostics) Warnings() int { return len(ds) - ds.Errors() }

// Sort orders diagnostics by file, line and column, so the output reads
// top to bottom like the files do.
func (ds Diagnostics) Sort() {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// Error implements error so a failed load can be returned as one.
func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// report collects diagnostics while a catalog is loaded and checked.
type report struct{ diags Diagnostics }

func (r *report) errorf(at Pos, hint, format string, args ...any) {
	r.diags = append(r.diags, Diagnostic{Pos: at, Severity: SevError, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

func (r *report) warnf(at Pos, hint, format string, args ...any) {
	r.diags = append(r.diags, Diagnostic{Pos: at, Severity: SevWarning, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

// suggest returns a "did you mean …?" hint for name among candidates, or
// "" when nothing is close enough to be a plausible typo.
func suggest(name string, candidates []string) string {
	best := closest(name, candidates)
	if best == "" {
		return ""
	}
	return fmt.Sprintf("did you mean %q?", best)
}

// closest returns the candidate that name is a plausible typo of, or "".
func closest(name string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := levenshtein(strings.ToLower(name), strings.ToLower(c))
		if d < bestD {
			best, bestD = c, d
		}
	}
	// A typo changes a few characters; beyond a third of the word it is a
	// different word and a suggestion would only confuse.
	limit := max(1, len([]rune(name))/3)
	if best == "" || bestD > limit {
		return ""
	}
	return best
}

// suggestOrList returns a did-you-mean hint, or the list of valid names
// when no candidate is close.
func suggestOrList(name string, candidates []string, what string) string {
	if h := suggest(name, candidates); h != "" {
		return h
	}
	if len(candidates) == 0 {
		return ""
	}
	c := append([]string(nil), candidates...)
	sort.Strings(c)
	return fmt.Sprintf("%s: %s", what, strings.Join(c, ", "))
}

// levenshtein is the edit distance between a and b, counting a swap of two
// neighbouring letters (emial, email) as one edit: the commonest typo.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
