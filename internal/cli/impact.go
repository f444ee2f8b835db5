package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/seamhq/seam/internal/lineage"
)

func (m *Main) impactCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "impact [dir] SYSTEM[.ENTITY[.FIELD]]",
		Short: "Show everything that reads or writes a system, entity or field, and whom to tell",
		Long: `Follow a system, one of its entities, or one of its fields through the catalog
in dir (default: the current folder): every flow that reads it (key, inbound
mapping, route condition), every route and destination field it is carried
to, further down every chain of flows (a flow feeds another when it delivers
an entity into the system the other reads that entity from), the routes that
write it, the reconciliation checks that reach it, and the owners to tell.

FIELD is the system's own field name: the input a flow reads (in.email is
crm.customer.email) or the field a route writes (VatRate in erp.order.VatRate);
a dotted path is fine (crm.customer.billing_address.city). ENTITY.FIELD
without a system follows a canonical field (order.total).

Answers come from the declared catalog, not from traffic. A field nothing
uses is reported as such (exit 0), with the fields of that entity flows do
use, in case of a typo. Exit status: 0, or 2 for an unknown system or entity.`,
		Example: `  seam impact shop crm.customer.email
  seam impact erp.order.VatRate          # what breaks if the ERP renames VatRate
  seam impact shop eshop.order --json | jq '.owners[].email'
  seam impact order.total                # a canonical field`,
		Args: args(cobra.RangeArgs(1, 2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			dir, target := ".", a[0]
			if len(a) == 2 {
				dir, target = a[0], a[1]
			}
			c, _, err := m.loadLenient(dir, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			g := lineage.Build(c, nil)
			q, err := g.ParseQuery(target)
			if err != nil {
				var qe *lineage.QueryError
				if errors.As(err, &qe) && qe.Hint != "" {
					return usageErrorf("%s (%s)", qe.Msg, qe.Hint)
				}
				return usageErrorf("%v", err)
			}
			im := g.Impact(q)
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), im)
			}
			return lineage.WriteImpact(cmd.OutOrStdout(), im)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the analysis as JSON")
	return cmd
}
