package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/pipeline"
	"github.com/seamhq/seam/mapping"
)

func (m *Main) testCmd() *cobra.Command {
	var asJSON bool
	var flows []string
	cmd := &cobra.Command{
		Use:   "test [dir]",
		Short: "Run the test cases declared in the flows",
		Long: `Run every flow's tests: cases. Each pushes its input through the flow as
intake would and checks what was declared:

  expect:  fields each route sends (as the destination writes them), or the
           canonical record under "canonical"; fields not listed are not checked
  reject:  the record must be refused, with reasons mentioning each text
  skip:    routes whose when: must be false

Exit status: 0 when every case passes, 1 when one fails, 2 on a usage error.`,
		Example: `  seam test
  seam test shop --flow eshop-orders
  seam test shop --json | jq '.cases[] | select(.passed == false)'`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			c, err := m.loadValid(dirArg(a), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			names := c.FlowNames()
			for _, f := range flows {
				if _, ok := c.Flows[f]; !ok {
					return usageErrorf("no flow %q; flows: %s", f, strings.Join(names, ", "))
				}
			}
			if len(flows) > 0 {
				names = flows
			}
			var results []caseResult
			for _, name := range names {
				f := c.Flows[name]
				for _, t := range f.Tests {
					results = append(results, runCase(c, f, t))
				}
			}
			return printTests(cmd.OutOrStdout(), results, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON")
	cmd.Flags().StringSliceVar(&flows, "flow", nil, "run only these flows (repeat or comma-separate)")
	return cmd
}

type caseResult struct {
	Flow     string   `json:"flow"`
	Name     string   `json:"name"`
	Passed   bool     `json:"passed"`
	Failures []string `json:"failures,omitempty"`
}

func runCase(c *catalog.Catalog, f *catalog.Flow, t *catalog.Test) caseResult {
	cr := caseResult{Flow: f.Name, Name: t.Name}
	fail := func(format string, args ...any) { cr.Failures = append(cr.Failures, fmt.Sprintf(format, args...)) }
	// The input goes through JSON so that it reaches the flow exactly as a
	// webhook body would (numbers as JSON numbers, no YAML-only types).
	b, err := json.Marshal(t.Input)
	if err != nil {
		fail("input cannot be written as JSON: %v", err)
		return cr
	}
	input, err := mapping.DecodeJSON(b)
	if err != nil {
		fail("input cannot be read back: %v", err)
		return cr
	}
	res := pipeline.Process(c, f, input, nil)
	var reasons []string
	for _, r := range res.Reasons {
		reasons = append(reasons, r.String())
	}
	if len(t.Reject) > 0 {
		if res.Accepted() {
			fail("expected the record to be refused (mentioning %q), but it was accepted", t.Reject)
		}
		all := strings.Join(reasons, "\n")
		for _, want := range t.Reject {
			if !res.Accepted() && !strings.Contains(all, want) {
				fail("no reason mentions %q; reasons:\n%s", want, indent(all))
			}
		}
		cr.Passed = len(cr.Failures) == 0
		return cr
	}
	if !res.Accepted() {
		fail("the record was refused at %s:\n%s", res.Stage, indent(strings.Join(reasons, "\n")))
		return cr
	}
	routes := map[string]*pipeline.RouteResult{}
	for _, rr := range res.Routes {
		routes[rr.Name] = rr
	}
	for _, name := range sortedRouteNames(t.Expect) {
		want := t.Expect[name]
		var got any
		if name == "canonical" {
			got = jsonRoundTrip(res.CanonicalJSON)
		} else {
			rr := routes[name]
			if rr.Skipped {
				fail("route %s was skipped (when: %s is false), but the test expects what it sends", name, rr.Route.When.Src)
				continue
			}
			got = jsonRoundTrip(rr.Payload)
		}
		for _, d := range diff(name, want, got) {
			fail("%s", d)
		}
	}
	for _, name := range t.Skip {
		if rr := routes[name]; rr != nil && !rr.Skipped {
			fail("route %s was expected to be skipped, but it sends %s", name, rr.Payload)
		}
	}
	cr.Passed = len(cr.Failures) == 0
	return cr
}

func jsonRoundTrip(b []byte) any {
	var v any
	_ = json.Unmarshal(b, &v)
	return v
}

// diff compares what a test expects with what was produced: every expected
// field must be there with an equal value; other fields are not checked.
// Scalars compare by their text, so `VatRate: 21` matches "21".
func diff(path string, want, got any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: expected an object, got %s", path, show(got))}
		}
		var out []string
		for _, k := range sortedRouteNames(w) {
			gv, ok := g[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s.%s: expected %s, but the field is missing", path, k, show(w[k])))
				continue
			}
			out = append(out, diff(path+"."+k, w[k], gv)...)
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: expected %s, got %s", path, show(want), show(got))}
		}
		var out []string
		for i := range w {
			out = append(out, diff(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])...)
		}
		return out
	}
	if scalar(want) != scalar(got) {
		return []string{fmt.Sprintf("%s: expected %s, got %s", path, show(want), show(got))}
	}
	return nil
}

func scalar(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case float64:
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%f", t), "0"), ".")
	}
	return fmt.Sprint(v)
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func indent(s string) string {
	return "      " + strings.ReplaceAll(s, "\n", "\n      ")
}

func printTests(w io.Writer, results []caseResult, asJSON bool) error {
	passed := 0
	for _, r := range results {
		if r.Passed {
			passed++
		}
	}
	failed := len(results) - passed
	if asJSON {
		if results == nil {
			results = []caseResult{}
		}
		if err := writeJSON(w, map[string]any{"passed": passed, "failed": failed, "cases": results}); err != nil {
			return err
		}
	} else {
		var flow string
		for _, r := range results {
			if r.Flow != flow {
				flow = r.Flow
				fmt.Fprintln(w, flow)
			}
			if r.Passed {
				fmt.Fprintf(w, "  ✓ %s\n", r.Name)
				continue
			}
			fmt.Fprintf(w, "  ✗ %s\n", r.Name)
			for _, f := range r.Failures {
				fmt.Fprintf(w, "      %s\n", f)
			}
		}
		if len(results) == 0 {
			fmt.Fprintln(w, "no tests declared; add tests: to a flow (see seam init)")
		}
		fmt.Fprintf(w, "\ntests: %d passed, %d failed\n", passed, failed)
	}
	if failed > 0 || slices.ContainsFunc(results, func(r caseResult) bool { return !r.Passed }) {
		return errFindings
	}
	return nil
}
