package catalog

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseTolerance(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Tolerance{
		"0":     {Amount: "0"},
		"2.50":  {Amount: "2.50"},
		"1%":    {Ratio: 0.01},
		" 5 % ": {Ratio: 0.05},
	} {
		got, err := ParseTolerance(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "-1", "a few", "101%", "1,5"} {
		_, err := ParseTolerance(in)
		require.Error(t, err, in)
	}
	require.Equal(t, "0", Tolerance{}.String())
	require.Equal(t, "1%", Tolerance{Ratio: 0.01}.String())
	require.Equal(t, "2.50", Tolerance{Amount: "2.50"}.String())
}

func TestSQLDriverOf(t *testing.T) {
	t.Parallel()
	for dsn, want := range map[string]string{
		"postgres://seam@db/erp":           "postgres",
		"postgresql://seam@db/erp":         "postgres",
		"seam:pw@tcp(db:3306)/erp":         "mysql",
		"mysql://seam:pw@tcp(db:3306)/erp": "mysql",
		"seam@unix(/run/mysqld.sock)/erp":  "mysql",
		"sqlite:/var/lib/erp.db":           "sqlite",
		"file:erp.db?mode=ro":              "sqlite",
		"oracle://db/erp":                  "",
	} {
		require.Equal(t, want, SQLDriverOf(dsn), dsn)
	}
}

func TestAlertChannels(t *testing.T) {
	t.Parallel()
	c := &Catalog{Project: &Project{
		Owners: map[string]*Owner{
			"finance":   {Name: "Finance", Email: "finance@acme.example", Alert: []string{"chat"}},
			"ecommerce": {Name: "E-commerce team", Email: "eshop@acme.example"},
			"nobody":    {Name: "Nobody"},
		},
		Alerts: ProjectAlerts{Channels: map[string]*Channel{
			"chat":   {Webhook: &WebhookChannel{}},
			"mail-a": {SMTP: &SMTPChannel{}},
			"mail-b": {SMTP: &SMTPChannel{}},
		}},
	}}
	require.Equal(t, []string{"chat"}, c.AlertChannels(&Flow{Owner: "finance"}, nil), "the owner's channels")
	require.Equal(t, []string{"mail-b"}, c.AlertChannels(&Flow{Owner: "finance"}, []string{"mail-b"}), "the rule's to: wins")
	require.Equal(t, []string{"mail-a", "mail-b"}, c.AlertChannels(&Flow{Owner: "ecommerce"}, nil), "an e-mail and no channels: every smtp channel")
	require.Empty(t, c.AlertChannels(&Flow{Owner: "nobody"}, nil))
	require.Empty(t, c.AlertChannels(&Flow{Owner: "ghost"}, nil))
}

func TestAlertRuleNames(t *testing.T) {
	t.Parallel()
	require.Equal(t, "silence", (&Alert{Silence: &SilenceRule{}}).RuleName())
	require.Equal(t, "weekend-silence", (&Alert{Name: "weekend-silence", Silence: &SilenceRule{}}).RuleName())
	require.Equal(t, "circuit_open", (&Alert{CircuitOpen: &struct{}{}}).Kind())
	require.Empty(t, (&Alert{}).Kind())
	require.Equal(t, "reconcile:orders", (&Reconcile{Name: "orders"}).RuleName())
}
