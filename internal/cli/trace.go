package cli

import (
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/seamhq/seam/internal/ops"
)

func (m *Main) traceCmd() *cobra.Command {
	var f apiFlags
	cmd := &cobra.Command{
		Use:   "trace KEY",
		Short: "Follow a business key across every flow it touched, as one timeline",
		Long: `Show everything a business key touched: the record as received, the ids other
systems gave it (from routes' remember: and flows' links:), the records that
came back under those ids (the ERP order, the invoice, the e-mail), and every
delivery attempt with each system's answer and every operator action, in
time order. Ends with where each route stands now.`,
		Example: `  seam trace ES-1042
  seam trace 55012            # the ERP's id leads back to the same order
  seam trace ES-1042 --json | jq '.events[] | select(.outcome == "dead")'`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			var t ops.Trace
			if err := m.client(&f).Get(cmd.Context(), "/api/trace/"+url.PathEscape(a[0]), nil, &t); err != nil {
				return apiErr(err)
			}
			out := cmd.OutOrStdout()
			if f.asJSON {
				return writeJSON(out, t)
			}
			printTrace(out, &t)
			if t.Messages == 0 {
				return errFindings
			}
			return nil
		},
	}
	m.addAPIFlags(cmd, &f)
	return cmd
}

func printTrace(w io.Writer, t *ops.Trace) {
	if t.Messages == 0 {
		fmt.Fprintf(w, "nothing in the ledger under %q (nor any id linked to it)\n", t.Key)
		return
	}
	flows := map[string]bool{}
	for _, e := range t.Events {
		if e.Flow != "" {
			flows[e.Flow] = true
		}
	}
	fmt.Fprintf(w, "%s — %s across %s\n", t.Key, plural(t.Messages, "message"), plural(len(flows), "flow"))
	if len(t.Links) > 0 {
		var aka []string
		for _, x := range t.Links {
			aka = append(aka, fmt.Sprintf("%s %s = %s (%s)", x.System, x.Name, x.Value, x.Key))
		}
		fmt.Fprintf(w, "linked: %s\n", strings.Join(aka, "; "))
	}
	fmt.Fprintln(w)
	var day string
	for _, e := range t.Events {
		local := e.At.Local()
		if d := local.Format("2006-01-02"); d != day {
			day = d
			fmt.Fprintf(w, "%s\n", d)
		}
		ts := local.Format("15:04:05.000")
		switch e.Kind {
		case "received":
			fmt.Fprintf(w, "  %s  %-10s → seam     received %s by %s (message %d)", ts, e.System, e.Key, e.Flow, e.MessageID)
			if e.Detail != "" {
				fmt.Fprintf(w, ", %s", e.Detail)
			}
			fmt.Fprintln(w)
		case "quarantined":
			fmt.Fprintf(w, "  %s  seam                  quarantined (%s): %s\n", ts, e.Outcome, e.Detail)
		case "skipped":
			fmt.Fprintf(w, "  %s  seam ✕ %-10s    skipped %s: %s\n", ts, e.System, e.Route, e.Detail)
		case "attempt":
			status := "no answer"
			if e.Status != 0 {
				status = fmt.Sprint(e.Status)
			}
			fmt.Fprintf(w, "  %s  seam → %-10s    attempt %d: %s %s in %s", ts, e.System, e.Attempt, status, e.Outcome, e.Duration.Round(100*time.Microsecond))
			if e.Detail != "" {
				fmt.Fprintf(w, " — %s", shortText(e.Detail, 90))
			}
			fmt.Fprintln(w)
		case "operator":
			fmt.Fprintf(w, "  %s  %-10s            %s of delivery %d: %s\n", ts, e.Actor, e.Outcome, e.DeliveryID, e.Detail)
		}
	}
	fmt.Fprintln(w, "\nnow:")
	for _, r := range t.Routes {
		fmt.Fprintf(w, "  %s → %s (key %s): %s after %s\n", r.Flow, r.Route, r.Key, r.State, plural(r.Attempts, "attempt"))
	}
}
