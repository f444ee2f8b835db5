package lineage

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteImpact writes an impact analysis for a terminal.
func WriteImpact(w io.Writer, im *Impact) error {
	var b bytes.Buffer
	q := im.Query
	fmt.Fprintf(&b, "Impact of %s", q)
	switch {
	case q.Canonical:
		fmt.Fprintf(&b, " (canonical field %s of %s)\n", q.Field, q.Entity)
	case q.Field != "":
		fmt.Fprintf(&b, " (field %s of %s's %s records)\n", q.Field, q.System, q.Entity)
	case q.Entity != "":
		fmt.Fprintf(&b, " (%s's %s records)\n", q.System, q.Entity)
	default:
		fmt.Fprintf(&b, " (everything %s sends and receives)\n", q.System)
	}
	if len(im.Uses) == 0 && len(im.Reached) == 0 {
		fmt.Fprintf(&b, "\nNothing reads or writes it.\n")
		if len(im.Known) > 0 {
			fmt.Fprintf(&b, "Fields of %s.%s that flows use: %s\n", q.System, q.Entity, strings.Join(im.Known, ", "))
		}
		_, err := w.Write(b.Bytes())
		return err
	}
	section := func(title string, rows [][]string) {
		if len(rows) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s\n", title)
		var t bytes.Buffer
		tw := tabwriter.NewWriter(&t, 2, 4, 2, ' ', 0)
		for _, r := range rows {
			fmt.Fprintf(tw, "  %s\n", strings.Join(r, "\t"))
		}
		_ = tw.Flush()
		for _, line := range strings.SplitAfter(t.String(), "\n") {
			b.WriteString(strings.TrimRight(line, " \n"))
			if strings.HasSuffix(line, "\n") {
				b.WriteString("\n")
			}
		}
	}
	var writes, reads, further, whens [][]string
	for _, u := range im.Uses {
		where := u.Flow
		if u.Route != "" {
			where += " → " + u.Route
		}
		what := u.Expr
		if u.Field != "" {
			what = u.Field + " ← " + u.Expr
		}
		row := []string{where, u.In, what, u.At.String()}
		switch {
		case u.Access == "writes":
			writes = append(writes, row)
		case u.In == "when":
			whens = append(whens, []string{where, strings.TrimSpace(what + " " + depthNote(u.Depth)), u.At.String()})
		case u.In == "route":
			// shown as reached fields
		case u.Depth == 0:
			reads = append(reads, row)
		default:
			further = append(further, []string{where, u.In, strings.TrimSpace(what + " " + depthNote(u.Depth)), u.At.String()})
		}
	}
	section("Written by", writes)
	section("Read by", reads)
	var carried [][]string
	for _, r := range im.Reached {
		carried = append(carried, []string{r.Field.String(), "by " + r.Flow + " → " + r.Route, strings.TrimSpace("from " + or(r.From, "–") + " " + depthNote(r.Depth))})
	}
	section("Carried to", carried)
	section("Read further downstream", further)
	section("Conditions (when:) that read it", whens)
	if len(im.Chains) > 0 {
		var rows [][]string
		for _, c := range im.Chains {
			rows = append(rows, []string{strings.Join(c, " → ")})
		}
		section("Chains", rows)
	}
	fmt.Fprintf(&b, "\nReconciliation checks\n")
	if len(im.Reconciliations) == 0 {
		fmt.Fprintf(&b, "  none reaches it\n")
	}
	for _, r := range im.Reconciliations {
		fmt.Fprintf(&b, "  %s\n", r)
	}
	var owners [][]string
	for _, o := range im.Owners {
		contact := o.Name
		if o.Email != "" {
			contact += " <" + o.Email + ">"
		}
		if o.Chat != "" {
			contact += " " + o.Chat
		}
		if contact == "" {
			contact = "(not declared in seam.yaml)"
		}
		owners = append(owners, []string{o.ID, contact, strings.Join(o.Why, "; ")})
	}
	section("Owners to tell", owners)
	fmt.Fprintf(&b, "\n%s, %s, %s in other systems.\n", count(len(im.Flows), "flow"), count(len(im.Routes), "route"), count(len(im.Reached), "field"))
	_, err := w.Write(b.Bytes())
	return err
}

func depthNote(d int) string {
	switch d {
	case 0:
		return ""
	case 1:
		return "(1 flow downstream)"
	}
	return fmt.Sprintf("(%d flows downstream)", d)
}

func count(n int, w string) string {
	if n == 1 {
		return "1 " + w
	}
	return fmt.Sprintf("%d %ss", n, w)
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
