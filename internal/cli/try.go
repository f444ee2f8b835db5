package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/connector/webhook"
	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/pipeline"
	"github.com/seamhq/seam/mapping"
)

func (m *Main) tryCmd() *cobra.Command {
	var input, contentType string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "try DIR FLOW --input FILE",
		Short: "Push one record through a flow without delivering it",
		Long: `Push one record through a flow exactly as intake would — key, inbound mapping
with the source's conventions, validation against the model, each route's
when: and outbound mapping with the destination's conventions — and show the
canonical record and what each route would send. Nothing is stored or sent.

A rejected record shows every reason, each with the field, the value and the
rule. Exit status: 0 accepted, 1 rejected, 2 usage error.`,
		Example: `  seam try . eshop-orders --input order.json
  seam try shop eshop-orders --input - < order.json
  seam try shop eshop-orders --input order.xml --json | jq .routes`,
		Args: args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if input == "" {
				return usageErrorf("--input is required: a file with one record, or - for standard input")
			}
			c, err := m.loadValid(a[0], cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			f, ok := c.Flows[a[1]]
			if !ok {
				return usageErrorf("no flow %q in %s; flows: %s", a[1], a[0], strings.Join(c.FlowNames(), ", "))
			}
			body, ct, err := readInput(m.Stdin, input, contentType)
			if err != nil {
				return usageErrorf("%v", err)
			}
			rec, err := webhook.Decode(ct, body, webhook.Limits{})
			if err != nil {
				res := &pipeline.Result{Flow: f.Name, Stage: "decode"}
				res.Reasons = append(res.Reasons, decodeReason(err))
				return m.printTry(cmd.OutOrStdout(), c, f, res, asJSON)
			}
			res := pipeline.Process(c, f, rec, nil)
			return m.printTry(cmd.OutOrStdout(), c, f, res, asJSON)
		},
	}
	cmd.Flags().StringVar(&input, "input", "", "file holding one record as the source sends it (- for standard input)")
	cmd.Flags().StringVar(&contentType, "content-type", "", "content type of the input (default from the file name: .json, .xml, .form)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func readInput(stdin io.Reader, path, ct string) ([]byte, string, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(stdin)
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, "", fmt.Errorf("read input: %w", err)
	}
	if ct == "" {
		switch strings.ToLower(filepath.Ext(path)) {
		case ".xml":
			ct = "application/xml"
		case ".form":
			ct = "application/x-www-form-urlencoded"
		default:
			ct = "application/json"
		}
	}
	return b, ct, nil
}

// tryRoute is one route of `seam try --json`.
type tryRoute struct {
	Name    string          `json:"name"`
	To      string          `json:"to"`
	Method  string          `json:"method,omitempty"`
	Path    string          `json:"path,omitempty"`
	Skipped bool            `json:"skipped,omitempty"`
	When    string          `json:"when,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

func (m *Main) printTry(w io.Writer, c *catalog.Catalog, f *catalog.Flow, res *pipeline.Result, asJSON bool) error {
	routes := make([]tryRoute, 0, len(res.Routes))
	for _, rr := range res.Routes {
		tr := tryRoute{Name: rr.Name, To: rr.To, Skipped: rr.Skipped, When: rr.Route.When.Src, Payload: rr.Payload}
		if h := rr.Route.HTTP; h != nil {
			tr.Method, tr.Path = strings.ToUpper(or(h.Method, "POST")), or(h.Path, h.URL.Raw)
		}
		routes = append(routes, tr)
	}
	if asJSON {
		out := map[string]any{"flow": f.Name, "accepted": res.Accepted(), "key": res.Key, "routes": routes}
		if res.Accepted() {
			out["canonical"] = json.RawMessage(res.CanonicalJSON)
		} else {
			out["stage"], out["reasons"] = res.Stage, res.Reasons
		}
		if err := writeJSON(w, out); err != nil {
			return err
		}
	} else if res.Accepted() {
		fmt.Fprintf(w, "✓ %s accepted the record (key %s)\n\ncanonical %s:\n", f.Name, res.Key, f.Model)
		writeIndented(w, res.Canonical)
		for _, tr := range routes {
			if tr.Skipped {
				fmt.Fprintf(w, "\n→ %s: skipped (when: %s is false)\n", tr.Name, tr.When)
				continue
			}
			fmt.Fprintf(w, "\n→ %s: %s %s%s\n", tr.Name, tr.Method, systemURL(c, tr.To), tr.Path)
			var v any
			_ = json.Unmarshal(tr.Payload, &v)
			b, _ := json.MarshalIndent(v, "  ", "  ")
			fmt.Fprintf(w, "  %s\n", b)
		}
	} else {
		fmt.Fprintf(w, "✗ %s refused the record at %s:\n", f.Name, res.Stage)
		for _, r := range res.Reasons {
			fmt.Fprintf(w, "  - %s\n", r.String())
		}
	}
	if !res.Accepted() {
		return errFindings
	}
	return nil
}

func systemURL(c *catalog.Catalog, name string) string {
	if s, ok := c.Systems[name]; ok {
		if v, err := s.BaseURL.Value(os.LookupEnv); err == nil {
			return strings.TrimRight(v, "/")
		}
	}
	return ""
}

func writeIndented(w io.Writer, rec map[string]any) {
	b, _ := json.MarshalIndent(mapping.ToPlain(rec), "  ", "  ")
	fmt.Fprintf(w, "  %s\n", b)
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// sortedRouteNames is used where a stable order of routes is printed.
func sortedRouteNames(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func decodeReason(err error) seam.Reason {
	return seam.Reason{Stage: seam.StageDecode, Rule: "decode", Message: seam.ErrorMessage(err)}
}
