package audit

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
)

// Formats are the output formats of a report.
var Formats = []string{"text", "markdown", "html", "json"}

// Write renders the report in format (text, markdown, html or json).
func Write(w io.Writer, r *Report, format string) error {
	switch format {
	case "text", "":
		return WriteText(w, r)
	case "markdown", "md":
		return WriteMarkdown(w, r)
	case "html":
		return WriteHTML(w, r)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	return fmt.Errorf("unknown format %q: use text, markdown, html or json", format)
}

// summary is the one-line count of findings by severity.
func (r *Report) summary() string {
	var parts []string
	for _, s := range Severities {
		parts = append(parts, fmt.Sprintf("%d %s", r.Counts[s], s))
	}
	return strings.Join(parts, ", ")
}

func (r *Report) scope() string {
	s := fmt.Sprintf("%s, %s, %s", plural(r.Systems, "system"), plural(r.Flows, "flow"), plural(r.Routes, "route"))
	if r.Ledger {
		s += "; ledger read at " + r.LedgerAt.Format("2006-01-02 15:04 MST")
	} else {
		s += "; catalog only (pass --store for the ledger rules)"
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// WriteText renders the report for a terminal.
func WriteText(w io.Writer, r *Report) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Audit of %s: score %d/100 (%s)\n", r.Project, r.Score, r.Grade)
	fmt.Fprintf(&b, "%s\n", r.scope())
	fmt.Fprintf(&b, "%s\n", r.summary())
	if len(r.Findings) == 0 {
		fmt.Fprintf(&b, "\n✓ nothing to report\n")
	}
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "\n%-8s %s  %s\n", strings.ToUpper(string(f.Severity)), f.Rule, f.Message)
		if f.At != "" {
			fmt.Fprintf(&b, "         at:  %s\n", f.At)
		}
		fmt.Fprintf(&b, "         fix: %s\n", f.Fix)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// WriteMarkdown renders the report as Markdown, for a pull request or a
// wiki page.
func WriteMarkdown(w io.Writer, r *Report) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Audit of %s\n\n", r.Project)
	fmt.Fprintf(&b, "**Score: %d/100 (%s)**. %s.\n\n", r.Score, r.Grade, r.scope())
	fmt.Fprintf(&b, "| Severity | Findings |\n|---|---:|\n")
	for _, s := range Severities {
		fmt.Fprintf(&b, "| %s | %d |\n", s, r.Counts[s])
	}
	if len(r.Findings) == 0 {
		fmt.Fprintf(&b, "\nNothing to report.\n")
	} else {
		fmt.Fprintf(&b, "\n## Findings\n\n| Severity | Rule | Finding | Where | Fix |\n|---|---|---|---|---|\n")
		for _, f := range r.Findings {
			where := ""
			if f.At != "" {
				where = "`" + f.At + "`"
			}
			fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s |\n", f.Severity, f.Rule, mdCell(f.Message), where, mdCell(f.Fix))
		}
	}
	fmt.Fprintf(&b, "\n## Rules\n\n| Rule | Severity | Checks |\n|---|---|---|\n")
	for _, rule := range Rules {
		title := rule.Title
		if rule.Ledger {
			title += " (ledger)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", rule.ID, rule.Severity, mdCell(title))
	}
	_, err := w.Write(b.Bytes())
	return err
}

func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

//go:embed report.html
var reportHTML string

// CSS is the style sheet of the HTML report, shared with the docs site so
// the two look alike.
//
//go:embed style.css
var CSS string

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"upper": func(s Severity) string { return strings.ToUpper(string(s)) },
	"css":   func() template.CSS { return template.CSS(CSS) },
}).Parse(reportHTML))

// reportPage is what the HTML template sees.
type reportPage struct {
	*Report
	Scope      string
	Severities []Severity
	Rules      []Rule
	// Link turns a flow or system name into a link target; empty means no
	// links (a standalone report).
	FlowLink, SystemLink func(string) string
}

// WriteHTML renders the report as a standalone HTML page (no external
// assets, printable).
func WriteHTML(w io.Writer, r *Report) error {
	var b bytes.Buffer
	if err := reportTmpl.ExecuteTemplate(&b, "page", &reportPage{Report: r, Scope: r.scope(), Severities: Severities, Rules: Rules}); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

// HTMLFragment renders the report's body (no <html>, no style), for the
// docs site to embed in its own page; flowLink and systemLink make the
// names in the findings links.
func HTMLFragment(r *Report, flowLink, systemLink func(string) string) (template.HTML, error) {
	var b bytes.Buffer
	if err := reportTmpl.ExecuteTemplate(&b, "body", &reportPage{Report: r, Scope: r.scope(), Severities: Severities, Rules: Rules, FlowLink: flowLink, SystemLink: systemLink}); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil //nolint:gosec // rendered by html/template
}
