package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/httpapi"
	"github.com/seamhq/seam/internal/ops"
)

// apiFlags are the connection flags of every command that talks to a
// running Seam.
type apiFlags struct {
	server, token string
	asJSON        bool
}

func (m *Main) addAPIFlags(cmd *cobra.Command, f *apiFlags) {
	cmd.Flags().StringVar(&f.server, "server", "", "URL of the running Seam (default: SEAM_SERVER, else http://127.0.0.1:8080)")
	cmd.Flags().StringVar(&f.token, "token", "", "API token (default: SEAM_TOKEN)")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print the answer as JSON")
}

func (m *Main) client(f *apiFlags) *httpapi.Client {
	server, token := f.server, f.token
	if server == "" {
		server = m.Getenv("SEAM_SERVER")
	}
	if server == "" {
		server = "http://127.0.0.1:8080"
	}
	if token == "" {
		token = m.Getenv("SEAM_TOKEN")
	}
	return &httpapi.Client{BaseURL: server, Token: token}
}

// apiErr turns an API error into the CLI's exit code and message.
func apiErr(err error) error {
	if err == nil {
		return nil
	}
	var hint string
	if se, ok := err.(*seam.Error); ok && se.Hint != "" {
		hint = "\n  hint: " + se.Hint
	}
	return &exitError{code: ExitFindings, err: fmt.Errorf("%v%s", err, hint)}
}

func table(w io.Writer, header string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	_ = tw.Flush()
}

func ago(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func shortText(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len([]rune(s)) > n {
		return string([]rune(s)[:n]) + "…"
	}
	return s
}

func (m *Main) messagesCmd() *cobra.Command {
	var f apiFlags
	var flow, key, status, since, until string
	var limit int
	cmd := &cobra.Command{
		Use:   "messages [show ID]",
		Short: "Search the ledger's messages, or show one message's journey",
		Long: `List the messages Seam received, newest first, filtered by flow, key, status
and time; or show one message with every delivery and attempt.`,
		Example: `  seam messages --flow eshop-orders --since 2h
  seam messages --key ES-1042
  seam messages --status quarantined --json
  seam messages show 42`,
		Args: args(cobra.MaximumNArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			c := m.client(&f)
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			if len(a) > 0 {
				if a[0] != "show" || len(a) != 2 {
					return usageErrorf("write `seam messages show ID`")
				}
				var d ops.MessageDetail
				if err := c.Get(ctx, "/api/messages/"+a[1], nil, &d); err != nil {
					return apiErr(err)
				}
				if f.asJSON {
					return writeJSON(out, d)
				}
				printJourney(out, &d)
				return nil
			}
			q := url.Values{}
			set(q, "flow", flow)
			set(q, "key", key)
			set(q, "status", status)
			set(q, "since", since)
			set(q, "until", until)
			q.Set("limit", strconv.Itoa(limit))
			var res struct {
				Messages []*seam.Message `json:"messages"`
			}
			if err := c.Get(ctx, "/api/messages", q, &res); err != nil {
				return apiErr(err)
			}
			if f.asJSON {
				return writeJSON(out, res)
			}
			rows := make([][]string, 0, len(res.Messages))
			for _, msg := range res.Messages {
				rows = append(rows, []string{strconv.FormatInt(msg.ID, 10), ago(msg.ReceivedAt), msg.Flow, msg.Key, string(msg.Status)})
			}
			table(out, "ID\tRECEIVED\tFLOW\tKEY\tSTATUS", rows)
			if len(rows) == 0 {
				fmt.Fprintln(out, "(no messages match)")
			}
			return nil
		},
	}
	m.addAPIFlags(cmd, &f)
	cmd.Flags().StringVar(&flow, "flow", "", "only this flow")
	cmd.Flags().StringVar(&key, "key", "", "only this business key, e.g. ES-1042")
	cmd.Flags().StringVar(&status, "status", "", "accepted, quarantined")
	cmd.Flags().StringVar(&since, "since", "", "received after: RFC 3339 time or a duration ago (2h)")
	cmd.Flags().StringVar(&until, "until", "", "received before: RFC 3339 time or a duration ago")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many")
	return cmd
}

func set(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

func printJourney(w io.Writer, d *ops.MessageDetail) {
	msg := d.Message
	fmt.Fprintf(w, "message %d · flow %s · key %s · %s\n", msg.ID, msg.Flow, msg.Key, msg.Status)
	fmt.Fprintf(w, "  %s  received from %s\n", ago(msg.ReceivedAt), msg.System)
	for _, q := range d.Quarantine {
		fmt.Fprintf(w, "  quarantined at %s (#%d, %s):\n", q.Stage, q.ID, q.Status)
		for _, r := range q.Reasons {
			fmt.Fprintf(w, "    - %s\n", r.String())
		}
	}
	for _, dl := range d.Deliveries {
		fmt.Fprintf(w, "  → %s (delivery %d): %s", dl.Route, dl.ID, dl.State)
		if dl.State == seam.DeliveryRetrying {
			fmt.Fprintf(w, ", next attempt %s", ago(dl.NextAt))
		}
		fmt.Fprintf(w, " · Idempotency-Key %s\n", dl.IdempotencyKey)
		for _, at := range dl.AttemptLog {
			status := "no answer"
			if at.Status != 0 {
				status = strconv.Itoa(at.Status)
			}
			fmt.Fprintf(w, "      #%d %s  %s in %s", at.Number, ago(at.StartedAt), status, at.Duration.Round(time.Millisecond))
			if at.Error != "" {
				fmt.Fprintf(w, "  %s", shortText(at.Error, 100))
			}
			fmt.Fprintln(w)
		}
	}
}

func (m *Main) dlqCmd() *cobra.Command {
	var f apiFlags
	var flow, route, errText, since string
	var limit int
	cmd := &cobra.Command{
		Use:   "dlq [show ID]",
		Short: "List the dead letters: deliveries that ran out of attempts or were refused",
		Long: `List dead deliveries, newest first, with their last answer; or show one with
every attempt and its payload. Fix the cause, then send them again with
seam replay (try --dry-run first).`,
		Example: `  seam dlq
  seam dlq --flow eshop-orders --error 409
  seam dlq show 17
  seam replay --flow eshop-orders --dry-run`,
		Args: args(cobra.MaximumNArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			c := m.client(&f)
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			if len(a) > 0 {
				if a[0] != "show" || len(a) != 2 {
					return usageErrorf("write `seam dlq show ID`")
				}
				var d ops.DeliveryDetail
				if err := c.Get(ctx, "/api/deliveries/"+a[1], nil, &d); err != nil {
					return apiErr(err)
				}
				if f.asJSON {
					return writeJSON(out, d)
				}
				fmt.Fprintf(out, "delivery %d · %s → %s · key %s · %s after %d attempts\n", d.ID, d.Flow, d.Route, d.Key, d.State, d.Attempts)
				fmt.Fprintf(out, "  Idempotency-Key: %s\n  payload: %s\n", d.IdempotencyKey, d.Payload)
				for _, at := range d.AttemptLog {
					fmt.Fprintf(out, "  #%d %s  status %d in %s  %s\n", at.Number, ago(at.StartedAt), at.Status, at.Duration.Round(time.Millisecond), at.Error)
					if len(at.Response) > 0 {
						fmt.Fprintf(out, "     answer: %s\n", shortText(string(at.Response), 200))
					}
				}
				return nil
			}
			q := url.Values{"state": {"dead"}}
			set(q, "flow", flow)
			set(q, "route", route)
			set(q, "error", errText)
			set(q, "since", since)
			q.Set("limit", strconv.Itoa(limit))
			var res struct {
				Deliveries []*seam.Delivery `json:"deliveries"`
			}
			if err := c.Get(ctx, "/api/deliveries", q, &res); err != nil {
				return apiErr(err)
			}
			if f.asJSON {
				return writeJSON(out, res)
			}
			rows := make([][]string, 0, len(res.Deliveries))
			for _, d := range res.Deliveries {
				rows = append(rows, []string{strconv.FormatInt(d.ID, 10), ago(d.UpdatedAt), d.Flow + " → " + d.Route, d.Key,
					strconv.Itoa(d.Attempts), strconv.Itoa(d.LastStatus), shortText(d.LastError, 60)})
			}
			table(out, "ID\tDIED\tROUTE\tKEY\tATTEMPTS\tSTATUS\tLAST ERROR", rows)
			if len(rows) == 0 {
				fmt.Fprintln(out, "(no dead letters)")
			}
			return nil
		},
	}
	m.addAPIFlags(cmd, &f)
	cmd.Flags().StringVar(&flow, "flow", "", "only this flow")
	cmd.Flags().StringVar(&route, "route", "", "only this route")
	cmd.Flags().StringVar(&errText, "error", "", "only those whose last error contains this text")
	cmd.Flags().StringVar(&since, "since", "", "created after: RFC 3339 time or a duration ago (2h)")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many")
	return cmd
}

func (m *Main) replayCmd() *cobra.Command {
	var f apiFlags
	var p ops.ReplayParams
	var since, until, state string
	var yes bool
	cmd := &cobra.Command{
		Use:   "replay [DELIVERY_ID...]",
		Short: "Send dead (or delivered) deliveries again, through the current catalog",
		Long: `Select deliveries by id, or by flow, route, key, time and error text (dead ones
by default), and send them again. Each goes through the catalog as it is now
(after your fix) and keeps its Idempotency-Key. --dry-run shows, per delivery,
what would be sent and what changed since the last attempt, and changes
nothing. A delivery whose effect was already delivered is refused unless
--force. Every replay is recorded in the audit log with --reason.`,
		Example: `  seam replay --flow eshop-orders --dry-run
  seam replay --flow eshop-orders --error 409 --reason "customer sync fixed"
  seam replay 17 18 --reason "ERP back up"
  seam replay --key ES-1042 --state delivered --force --reason "customer asked for a resend"`,
		Args: args(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, a []string) error {
			for _, s := range a {
				id, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					return usageErrorf("%q is not a delivery id", s)
				}
				p.DeliveryIDs = append(p.DeliveryIDs, id)
			}
			var err error
			if p.Since, err = httpapi.ParseWhen(since); err != nil {
				return usageErrorf("--since: %v", err)
			}
			if p.Until, err = httpapi.ParseWhen(until); err != nil {
				return usageErrorf("--until: %v", err)
			}
			p.State = seam.DeliveryState(state)
			if !p.DryRun && p.Reason == "" {
				return usageErrorf("say why with --reason; it goes to the audit log (or use --dry-run)")
			}
			c := m.client(&f)
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			return m.replay(ctx, c, &p, out, cmd.ErrOrStderr(), f.asJSON, yes)
		},
	}
	m.addAPIFlags(cmd, &f)
	cmd.Flags().StringVar(&p.Flow, "flow", "", "deliveries of this flow")
	cmd.Flags().StringVar(&p.Route, "route", "", "deliveries of this route")
	cmd.Flags().StringVar(&p.Key, "key", "", "deliveries of this business key")
	cmd.Flags().StringVar(&state, "state", "dead", "which deliveries: dead or delivered")
	cmd.Flags().StringVar(&since, "since", "", "created after: RFC 3339 time or a duration ago (2h)")
	cmd.Flags().StringVar(&until, "until", "", "created before: RFC 3339 time or a duration ago")
	cmd.Flags().StringVar(&p.ErrorContains, "error", "", "whose last error contains this text")
	cmd.Flags().IntVar(&p.Limit, "limit", 1000, "at most this many")
	cmd.Flags().BoolVar(&p.DryRun, "dry-run", false, "show what would be sent, and what changed, without sending")
	cmd.Flags().BoolVar(&p.Force, "force", false, "also send effects that were already delivered")
	cmd.Flags().StringVar(&p.Reason, "reason", "", "why, for the audit log (required unless --dry-run)")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation when replaying many")
	return cmd
}

// replay selects with a dry run first, then sends in batches so that a
// long redrive shows its progress and can be interrupted between batches.
func (m *Main) replay(ctx context.Context, c *httpapi.Client, p *ops.ReplayParams, out, errw io.Writer, asJSON, yes bool) error {
	plan := *p
	plan.DryRun = true
	var dry ops.ReplayResult
	if err := c.Post(ctx, "/api/replay", &plan, &dry); err != nil {
		return apiErr(err)
	}
	if p.DryRun {
		if asJSON {
			return writeJSON(out, dry)
		}
		printReplay(out, &dry)
		return nil
	}
	var ids []int64
	for _, it := range dry.Items {
		if it.Action == "replay" {
			ids = append(ids, it.DeliveryID)
		}
	}
	if len(ids) == 0 {
		if asJSON {
			return writeJSON(out, dry)
		}
		printReplay(out, &dry)
		fmt.Fprintln(out, "nothing to replay")
		return nil
	}
	if len(ids) > 100 && !yes && isTerminal(m.Stdin) {
		fmt.Fprintf(errw, "replay %d deliveries? [y/N] ", len(ids))
		var answer string
		_, _ = fmt.Fscanln(m.Stdin, &answer)
		if !strings.HasPrefix(strings.ToLower(answer), "y") {
			return &exitError{code: ExitFindings, err: fmt.Errorf("cancelled")}
		}
	}
	total := &ops.ReplayResult{Matched: dry.Matched, Refused: dry.Refused}
	progress := isTerminal(errw)
	const batch = 100
	for i := 0; i < len(ids); i += batch {
		part := *p
		part.DeliveryIDs = ids[i:min(i+batch, len(ids))]
		var res ops.ReplayResult
		if err := c.Post(ctx, "/api/replay", &part, &res); err != nil {
			return apiErr(fmt.Errorf("after %d of %d replayed: %w", total.Replayed, len(ids), err))
		}
		total.Replayed += res.Replayed
		total.Changed += res.Changed
		total.Items = append(total.Items, res.Items...)
		if progress {
			fmt.Fprintf(errw, "\rreplayed %d/%d", total.Replayed, len(ids))
		}
	}
	if progress {
		fmt.Fprintln(errw)
	}
	if asJSON {
		return writeJSON(out, total)
	}
	fmt.Fprintf(out, "replayed %d of %d matched (%d refused, %d with a changed payload)\n", total.Replayed, total.Matched, total.Refused, total.Changed)
	return nil
}

func printReplay(w io.Writer, r *ops.ReplayResult) {
	for _, it := range r.Items {
		mark := "↻"
		if it.Action == "refused" {
			mark = "✗"
		}
		fmt.Fprintf(w, "%s delivery %d  %s → %s  key %s", mark, it.DeliveryID, it.Flow, it.Route, it.Key)
		if it.Why != "" {
			fmt.Fprintf(w, "  (%s)", it.Why)
		}
		fmt.Fprintln(w)
		for _, ch := range it.Changes {
			fmt.Fprintf(w, "    %s: %v → %v\n", ch.Field, show(ch.Before), show(ch.After))
		}
	}
	verb := "would replay"
	if !r.DryRun {
		verb = "replayed"
	}
	fmt.Fprintf(w, "%d matched: %s %d, %d refused, %d with a changed payload\n", r.Matched, verb, r.Matched-r.Refused, r.Refused, r.Changed)
}

func isTerminal(x any) bool {
	f, ok := x.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (m *Main) quarantineCmd() *cobra.Command {
	var f apiFlags
	var flow, status, reason string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "quarantine [show ID | replay ID | discard ID]",
		Short: "Records refused at decoding, mapping or validation, kept for a fix and a replay",
		Long: `List the quarantine (open entries by default), show one entry with its raw body
and every reason, replay it through the current catalog after a fix, or
discard it for good. Replay and discard are recorded in the audit log.`,
		Example: `  seam quarantine --flow eshop-orders
  seam quarantine show 12
  seam quarantine replay 12 --dry-run
  seam quarantine replay 12 --reason "date format fixed in the e-shop system"
  seam quarantine discard 13 --reason "test order from the vendor"`,
		Args: args(cobra.MaximumNArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			c := m.client(&f)
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			if len(a) == 0 {
				q := url.Values{}
				set(q, "flow", flow)
				set(q, "status", status)
				var res struct {
					Quarantine []*seam.Quarantined `json:"quarantine"`
				}
				if err := c.Get(ctx, "/api/quarantine", q, &res); err != nil {
					return apiErr(err)
				}
				if f.asJSON {
					return writeJSON(out, res)
				}
				rows := [][]string{}
				for _, e := range res.Quarantine {
					first := ""
					if len(e.Reasons) > 0 {
						first = e.Reasons[0].String()
					}
					rows = append(rows, []string{strconv.FormatInt(e.ID, 10), ago(e.ReceivedAt), e.Flow, e.Key, string(e.Stage), string(e.Status), shortText(first, 70)})
				}
				table(out, "ID\tRECEIVED\tFLOW\tKEY\tSTAGE\tSTATUS\tREASON", rows)
				if len(rows) == 0 {
					fmt.Fprintln(out, "(quarantine is empty)")
				}
				return nil
			}
			if len(a) != 2 {
				return usageErrorf("write `seam quarantine %s ID`", a[0])
			}
			id := a[1]
			switch a[0] {
			case "show":
				var res struct {
					Entry *seam.Quarantined `json:"entry"`
					Body  string            `json:"body"`
				}
				if err := c.Get(ctx, "/api/quarantine/"+id, nil, &res); err != nil {
					return apiErr(err)
				}
				if f.asJSON {
					return writeJSON(out, res)
				}
				e := res.Entry
				fmt.Fprintf(out, "quarantine %d · flow %s · key %s · refused at %s · %s\n", e.ID, e.Flow, e.Key, e.Stage, e.Status)
				for _, r := range e.Reasons {
					fmt.Fprintf(out, "  - %s\n", r.String())
				}
				fmt.Fprintf(out, "body (%s):\n%s\n", e.ContentType, res.Body)
			case "replay":
				if !dryRun && reason == "" {
					return usageErrorf("say why with --reason (or use --dry-run)")
				}
				var res ops.QuarantineResult
				if err := c.Post(ctx, "/api/quarantine/"+id+"/replay", map[string]any{"reason": reason, "dry_run": dryRun}, &res); err != nil {
					return apiErr(err)
				}
				if f.asJSON {
					return writeJSON(out, res)
				}
				if !res.Accepted {
					fmt.Fprintf(out, "✗ still refused by the current catalog:\n")
					for _, r := range res.Reasons {
						fmt.Fprintf(out, "  - %s\n", r.String())
					}
					return errFindings
				}
				if res.DryRun {
					fmt.Fprintf(out, "✓ the current catalog accepts it (key %s); run without --dry-run to replay\n", res.Key)
					return nil
				}
				fmt.Fprintf(out, "✓ replayed as message %d (key %s), %d routes\n", res.MessageID, res.Key, res.Deliveries)
			case "discard":
				if reason == "" {
					return usageErrorf("say why with --reason")
				}
				if err := c.Post(ctx, "/api/quarantine/"+id+"/discard", map[string]any{"reason": reason}, nil); err != nil {
					return apiErr(err)
				}
				fmt.Fprintf(out, "discarded quarantine entry %s\n", id)
			default:
				return usageErrorf("unknown action %q: use show, replay or discard", a[0])
			}
			return nil
		},
	}
	m.addAPIFlags(cmd, &f)
	cmd.Flags().StringVar(&flow, "flow", "", "only this flow")
	cmd.Flags().StringVar(&status, "status", "open", "open, replayed or discarded")
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the audit log")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "with replay: only say whether the current catalog accepts it")
	return cmd
}
