package cli

import (
	"fmt"
	"io"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/notify"
)

func (m *Main) alertsCmd() *cobra.Command {
	var f apiFlags
	var state, flow, since string
	var limit int
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "List alert incidents, current and past: what fired, since when, who was told",
		Long: `List the incidents of the flows' alert rules (silence, error_rate, dead_letters,
backlog_age, quarantine, circuit_open) and reconciliation checks, open ones
first, then resolved ones, newest first: since when, for how long, how many
notices went to the owner (the first, reminders, the resolve), and the last
failure to notify, if a channel is failing.

Exit status: 0, also when incidents are open; use --json for scripts.`,
		Example: `  seam alerts
  seam alerts --state open
  seam alerts --flow eshop-orders --since 168h
  seam alerts --state open --json | jq '.incidents[] | select(.severity == "critical")'`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch state {
			case "open", "resolved", "all":
			default:
				return usageErrorf("--state %q: use open, resolved or all", state)
			}
			q := url.Values{}
			set(q, "state", state)
			set(q, "flow", flow)
			set(q, "since", since)
			q.Set("limit", strconv.Itoa(limit))
			var res struct {
				Incidents []*seam.Incident `json:"incidents"`
			}
			if err := m.client(&f).Get(cmd.Context(), "/api/alerts", q, &res); err != nil {
				return apiErr(err)
			}
			out := cmd.OutOrStdout()
			if f.asJSON {
				return writeJSON(out, res)
			}
			printIncidents(out, res.Incidents, time.Now())
			return nil
		},
	}
	m.addAPIFlags(cmd, &f)
	cmd.Flags().StringVar(&state, "state", "all", "open, resolved or all")
	cmd.Flags().StringVar(&flow, "flow", "", "only this flow")
	cmd.Flags().StringVar(&since, "since", "", "opened after: RFC 3339 time or a duration ago (168h)")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many")
	return cmd
}

// printIncidents writes the table: open incidents first, each group
// newest first, with how long each lasted (or has lasted so far).
func printIncidents(w io.Writer, list []*seam.Incident, now time.Time) {
	if len(list) == 0 {
		fmt.Fprintln(w, "(no incidents)")
		return
	}
	sort.SliceStable(list, func(i, j int) bool {
		if (list[i].State == seam.IncidentOpen) != (list[j].State == seam.IncidentOpen) {
			return list[i].State == seam.IncidentOpen
		}
		return list[i].ID > list[j].ID
	})
	rows := make([][]string, 0, len(list))
	var failing []*seam.Incident
	for _, in := range list {
		end, state := now, "FIRING"
		if in.State == seam.IncidentResolved {
			end, state = in.ResolvedAt, "resolved"
		}
		notified := strconv.Itoa(in.Notifications)
		if in.NoticeError != "" {
			notified += " (failing)"
			failing = append(failing, in)
		}
		rows = append(rows, []string{strconv.FormatInt(in.ID, 10), state, in.Severity, in.Flow, in.Rule,
			shortText(in.Summary, 60), ago(in.OpenedAt), notify.Since(in.OpenedAt, end), notified})
	}
	table(w, "ID\tSTATE\tSEVERITY\tFLOW\tRULE\tSUMMARY\tSINCE\tFOR\tNOTICES", rows)
	for _, in := range failing {
		fmt.Fprintf(w, "\nincident %d: notifying fails, retried every evaluation: %s\n", in.ID, shortText(in.NoticeError, 200))
	}
}
