package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Write renders the plan as text, markdown or json.
func Write(w io.Writer, p *Plan, format string) error {
	var b bytes.Buffer
	switch format {
	case "text", "":
		writeText(&b, p)
	case "markdown", "md":
		writeMarkdown(&b, p)
	case "json":
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		if err := enc.Encode(p); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown format %q: use text, markdown or json", format)
	}
	_, err := w.Write(b.Bytes())
	return err
}

var marks = map[string]string{"added": "+", "removed": "-", "changed": "~"}

func (c Change) line() string {
	s := c.Subject + ": " + c.Summary
	if c.Before != "" || c.After != "" {
		s += fmt.Sprintf(" (%s → %s)", or(c.Before, "–"), or(c.After, "–"))
	}
	return s
}

func (p *Plan) headline() string {
	owners := make([]string, len(p.Owners))
	for i, o := range p.Owners {
		owners[i] = o.ID
	}
	s := fmt.Sprintf("%d changes, %d breaking", len(p.Changes), p.Breaking)
	if len(owners) > 0 {
		s += "; owners to tell: " + strings.Join(owners, ", ")
	}
	return s
}

func writeText(b *bytes.Buffer, p *Plan) {
	fmt.Fprintf(b, "Plan: %s → %s\n%s\n", p.Old, p.New, p.headline())
	if len(p.Changes) == 0 {
		fmt.Fprintf(b, "\n✓ no changes\n")
		writeNote(b, p)
		return
	}
	if p.Breaking > 0 {
		fmt.Fprintf(b, "\nBreaking\n")
		for _, c := range p.Changes {
			if !c.Breaking {
				continue
			}
			fmt.Fprintf(b, "  ✗ %s\n", c.line())
			for _, br := range c.Breaks {
				fmt.Fprintf(b, "      breaks: %s\n", br)
			}
		}
	}
	if p.Breaking < len(p.Changes) {
		fmt.Fprintf(b, "\nChanges\n")
		for _, c := range p.Changes {
			if !c.Breaking {
				fmt.Fprintf(b, "  %s %s\n", marks[c.Kind], c.line())
			}
		}
	}
	if len(p.Owners) > 0 {
		fmt.Fprintf(b, "\nOwners to tell\n")
		for _, o := range p.Owners {
			fmt.Fprintf(b, "  %s%s\n", o.ID, ownerContact(o))
			for _, why := range o.Why {
				fmt.Fprintf(b, "      %s\n", why)
			}
		}
	}
	writeNote(b, p)
	if p.Breaking > 0 {
		fmt.Fprintf(b, "\n✗ %d breaking %s\n", p.Breaking, pluralWord(p.Breaking, "change"))
	} else {
		fmt.Fprintf(b, "\n✓ nothing breaks\n")
	}
}

func writeNote(b *bytes.Buffer, p *Plan) {
	if p.StillInvalid > 0 {
		fmt.Fprintf(b, "\nNote: the new catalog keeps %d validation %s the old one had (seam validate shows them).\n", p.StillInvalid, pluralWord(p.StillInvalid, "error"))
	}
}

func ownerContact(o Owner) string {
	var parts []string
	if o.Name != "" {
		parts = append(parts, o.Name)
	}
	if o.Email != "" {
		parts = append(parts, "<"+o.Email+">")
	}
	if o.Chat != "" {
		parts = append(parts, o.Chat)
	}
	if len(parts) == 0 {
		return " (not declared in seam.yaml)"
	}
	return " " + strings.Join(parts, " ")
}

func pluralWord(n int, w string) string {
	if n == 1 {
		return w
	}
	return w + "s"
}

func writeMarkdown(b *bytes.Buffer, p *Plan) {
	fmt.Fprintf(b, "# Plan: `%s` → `%s`\n\n%s.\n", p.Old, p.New, p.headline())
	if p.Breaking > 0 {
		fmt.Fprintf(b, "\n## Breaking\n\n")
		for _, c := range p.Changes {
			if c.Breaking {
				fmt.Fprintf(b, "- **%s**", md(c.line()))
				if len(c.Breaks) > 0 {
					fmt.Fprintf(b, ": breaks %s", md(strings.Join(c.Breaks, "; ")))
				}
				b.WriteString("\n")
			}
		}
	}
	if p.Breaking < len(p.Changes) {
		fmt.Fprintf(b, "\n## Changes\n\n| | Change |\n|---|---|\n")
		for _, c := range p.Changes {
			if !c.Breaking {
				fmt.Fprintf(b, "| %s | %s |\n", marks[c.Kind], strings.ReplaceAll(md(c.line()), "|", `\|`))
			}
		}
	}
	if len(p.Owners) > 0 {
		fmt.Fprintf(b, "\n## Owners to tell\n\n")
		for _, o := range p.Owners {
			fmt.Fprintf(b, "- **%s**%s: %s\n", o.ID, md(ownerContact(o)), md(strings.Join(o.Why, "; ")))
		}
	}
}

func md(s string) string {
	return strings.NewReplacer("<", "&lt;", ">", "&gt;", "*", `\*`, "_", `\_`).Replace(s)
}
