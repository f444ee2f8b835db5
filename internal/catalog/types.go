package catalog

// The catalog's file formats. The `doc` tags are the reference: `seam
// schema` turns them into JSON Schema descriptions and docs/catalog.md is
// generated from the same place, so the three never disagree.

// Project is seam.yaml: settings shared by every flow.
type Project struct {
	Name        string                    `yaml:"project" doc:"Name of the project, e.g. acme-integrations." required:"true"`
	Description string                    `yaml:"description" doc:"What this landscape is, in a sentence or two."`
	Store       Text                      `yaml:"store" doc:"Where the ledger lives: sqlite:./seam.db (default) or postgres://… for several nodes. SEAM_STORE overrides it."`
	Listen      string                    `yaml:"listen" doc:"Address the HTTP server listens on (default 127.0.0.1:8080). SEAM_LISTEN overrides it."`
	Owners      map[string]*Owner         `yaml:"owners" doc:"The people and teams who own systems and flows, by id. Every system and flow names one." required:"true"`
	Alerts      ProjectAlerts             `yaml:"alerts" doc:"Where alerts go."`
	Retention   Retention                 `yaml:"retention" doc:"How long the ledger keeps records."`
	Dedupe      Duration                  `yaml:"dedupe_window" doc:"Default window within which a repeated idempotency key is a duplicate (default 24h)."`
	Lookups     map[string]map[string]any `yaml:"lookups" doc:"Lookup tables every flow can use with lookup(name, key), e.g. status codes."`
	API         API                       `yaml:"api" doc:"Access to the dashboard and the JSON API."`
	At          Pos
	// Keys is where each key's value was written, for diagnostics.
	Keys map[string]Pos `yaml:"-" json:"-"`
}

// API configures access to the dashboard and the JSON API.
type API struct {
	Tokens []Token `yaml:"tokens" doc:"Bearer tokens accepted by the API and the dashboard, each with a role."`
}

// Token is one API token with its role.
type Token struct {
	Name  string `yaml:"name" doc:"Who uses this token, for the audit log." required:"true"`
	Token Secret `yaml:"token" doc:"The token, from the environment: \"${SEAM_ADMIN_TOKEN}\"." required:"true"`
	Role  string `yaml:"role" doc:"viewer (read-only) or operator (may replay, redrive, discard)." enum:"viewer,operator" required:"true"`
	At    Pos
	// Keys is where each key's value was written, for diagnostics.
	Keys map[string]Pos `yaml:"-" json:"-"`
}

// Owner is a person or team answerable for systems and flows.
type Owner struct {
	Name  string   `yaml:"name" doc:"Display name, e.g. Finance." required:"true"`
	Email string   `yaml:"email" doc:"Contact address; alerts by e-mail go here."`
	Chat  string   `yaml:"chat" doc:"Chat handle or channel, shown on every page about what they own."`
	Alert []string `yaml:"alert" doc:"Alert channels (from alerts.channels) that notify this owner."`
	At    Pos
	// Keys is where each key's value was written, for diagnostics.
	Keys map[string]Pos `yaml:"-" json:"-"`
}

// ProjectAlerts declares the alert channels.
type ProjectAlerts struct {
	Channels map[string]*Channel `yaml:"channels" doc:"Alert channels by name."`
	Remind   Duration            `yaml:"remind" doc:"How often an incident that lasts is notified again (default 1h; 0 turns reminders off)."`
	// DashboardURL makes the links in alerts absolute: a chat message or an
	// e-mail is read far from the server.
	DashboardURL Text `yaml:"dashboard_url" doc:"Base URL of the dashboard as people open it, for the links in alerts, e.g. https://seam.acme.example (default http:// and the listen address)."`
}

// Channel is one way to notify people.
type Channel struct {
	Webhook *WebhookChannel `yaml:"webhook" doc:"Post a chat-compatible JSON message (Slack, Teams, Mattermost)."`
	SMTP    *SMTPChannel    `yaml:"smtp" doc:"Send an e-mail to the owner."`
	At      Pos
}

// WebhookChannel posts alerts as JSON.
type WebhookChannel struct {
	URL Text `yaml:"url" doc:"Where to post; usually \"${CHAT_WEBHOOK_URL}\"." required:"true"`
}

// SMTPChannel sends alerts by e-mail.
type SMTPChannel struct {
	Host     Text     `yaml:"host" doc:"SMTP server host." required:"true"`
	Port     int      `yaml:"port" doc:"SMTP port (default 587)."`
	From     string   `yaml:"from" doc:"Sender address." required:"true"`
	Username Text     `yaml:"username" doc:"SMTP user name."`
	Password Secret   `yaml:"password" doc:"SMTP password, from the environment."`
	To       []string `yaml:"to" doc:"Extra recipients besides the owner."`
}

// Retention bounds the ledger.
type Retention struct {
	Messages Duration `yaml:"messages" doc:"How long delivered messages with their attempts are kept (default 90d)."`
	Evidence Duration `yaml:"evidence" doc:"How long effects, cross-references and the audit log are kept (default 2y)."`
}

// System is one application: systems/NAME.yaml.
type System struct {
	Name        string      `yaml:"system" doc:"Identifier of the system, e.g. erp." required:"true"`
	Title       string      `yaml:"title" doc:"Display name, e.g. ERP (Helios)."`
	Description string      `yaml:"description" doc:"What the system is and who uses it."`
	Owner       string      `yaml:"owner" doc:"Owner id from seam.yaml." required:"true"`
	Contact     string      `yaml:"contact" doc:"Vendor or admin contact, for the runbook."`
	BaseURL     Text        `yaml:"base_url" doc:"Base URL that route paths are appended to, usually \"${ERP_URL}\"."`
	Auth        *Auth       `yaml:"auth" doc:"How Seam authenticates to the system."`
	Conventions Conventions `yaml:"conventions" doc:"How this system writes dates, prices and numbers. Mappings read and write with these, so they never repeat them."`
	Masters     []string    `yaml:"masters" doc:"Entities this system is the source of truth for (e.g. customer). The audit flags an entity mastered twice."`
	Tags        []string    `yaml:"tags" doc:"Free labels."`
	At          Pos
	// Keys is where each key's value was written, for diagnostics.
	Keys map[string]Pos `yaml:"-" json:"-"`
}

// Auth is one of the ways to authenticate to a system.
type Auth struct {
	Bearer Secret      `yaml:"bearer" doc:"Bearer token: Authorization: Bearer …."`
	Basic  *BasicAuth  `yaml:"basic" doc:"HTTP basic authentication."`
	APIKey *APIKeyAuth `yaml:"api_key" doc:"An API key in a header or a query parameter."`
	OAuth2 *OAuth2Auth `yaml:"oauth2" doc:"OAuth2 client credentials; the token is cached until it expires."`
	At     Pos
}

// BasicAuth is HTTP basic authentication.
type BasicAuth struct {
	User     Text   `yaml:"user" doc:"User name." required:"true"`
	Password Secret `yaml:"password" doc:"Password, from the environment." required:"true"`
}

// APIKeyAuth sends an API key.
type APIKeyAuth struct {
	Header string `yaml:"header" doc:"Header to send the key in, e.g. X-Api-Key."`
	Query  string `yaml:"query" doc:"Query parameter to send the key in, e.g. api_key."`
	Value  Secret `yaml:"value" doc:"The key, from the environment." required:"true"`
}

// OAuth2Auth is the OAuth2 client-credentials grant.
type OAuth2Auth struct {
	TokenURL     Text     `yaml:"token_url" doc:"Token endpoint." required:"true"`
	ClientID     Text     `yaml:"client_id" doc:"Client id." required:"true"`
	ClientSecret Secret   `yaml:"client_secret" doc:"Client secret, from the environment." required:"true"`
	Scopes       []string `yaml:"scopes" doc:"Scopes to request."`
}

// Conventions say how a system writes values. Reading from a system uses
// its conventions; writing to it uses them too.
type Conventions struct {
	DateFormat         string `yaml:"date_format" doc:"How dates are written: YYYY-MM-DD (default), DD/MM/YYYY, MM/DD/YYYY, DD.MM.YYYY, …; tokens YYYY YY MM M DD D."`
	DateTimeFormat     string `yaml:"datetime_format" doc:"How date-times are written; empty means RFC 3339. Tokens as date_format plus HH mm ss."`
	Timezone           string `yaml:"timezone" doc:"IANA time zone for date-times without an offset, e.g. Europe/Prague (default UTC)."`
	Prices             string `yaml:"prices" doc:"Whether amounts include VAT: gross or net (default net)." enum:"gross,net"`
	Currency           string `yaml:"currency" doc:"Default currency, ISO 4217 (e.g. CZK)."`
	DecimalSeparator   string `yaml:"decimal_separator" doc:"Decimal separator: \".\" (default) or \",\"." enum:".,,"`
	ThousandsSeparator string `yaml:"thousands_separator" doc:"Thousands separator, if the system writes one: \" \", \".\", \",\" or \"'\"."`
	Country            string `yaml:"country" doc:"Default country, ISO 3166-1 alpha-2 (e.g. CZ), for phone numbers."`
	TwoDigitYears      bool   `yaml:"two_digit_years" doc:"Accept two-digit years (YY). Off by default: 03/04/26 is refused rather than guessed."`
	At                 Pos
	// Keys is where each key's value was written, for diagnostics.
	Keys map[string]Pos `yaml:"-" json:"-"`
}

// Model is a canonical entity: models/NAME.yaml, or one of the built-in
// commerce models (customer, contact, address, order, order_line, invoice,
// invoice_line, product).
type Model struct {
	Name        string                 `yaml:"model" doc:"Name of the model, e.g. order." required:"true"`
	Extends     string                 `yaml:"extends" doc:"A model whose fields this one starts from (e.g. a built-in one)."`
	Description string                 `yaml:"description" doc:"What one record of this model is."`
	Fields      map[string]*ModelField `yaml:"fields" doc:"Fields by name: a type name (email) or a mapping ({type: money, required: true})."`
	// Order keeps the fields in the order they were written.
	Order   []string `yaml:"-"`
	Builtin bool     `yaml:"-"`
	At      Pos
	// Keys is where each key's value was written, for diagnostics.
	Keys map[string]Pos `yaml:"-" json:"-"`
}

// ModelField is one typed field of a model.
type ModelField struct {
	Type        string                 `yaml:"type" doc:"string, integer, decimal, bool, date, datetime, money, email, phone, country, currency, enum, id, object, list, json (any value, passed through unchanged), or the name of a model." required:"true"`
	Required    bool                   `yaml:"required" doc:"The canonical record is refused without it."`
	Description string                 `yaml:"description" doc:"What the field means."`
	Values      []string               `yaml:"values" doc:"The allowed values of an enum."`
	Of          string                 `yaml:"of" doc:"Type (or model) of the items of a list."`
	Fields      map[string]*ModelField `yaml:"fields" doc:"Fields of an object."`
	Min         *float64               `yaml:"min" doc:"Smallest allowed number (or length, for text)."`
	Max         *float64               `yaml:"max" doc:"Largest allowed number (or length, for text)."`
	Pattern     string                 `yaml:"pattern" doc:"Regular expression the text must match."`
	Personal    bool                   `yaml:"personal" doc:"Personal data: redacted in logs and in recorded test traffic."`
	Order       []string               `yaml:"-"`
	At          Pos
}

// Flow is flows/NAME.yaml: a source, a mapping into a model, and routes.
type Flow struct {
	Name        string                    `yaml:"flow" doc:"Identifier of the flow, e.g. eshop-orders." required:"true"`
	Title       string                    `yaml:"title" doc:"One line saying what the flow does."`
	Description string                    `yaml:"description" doc:"Longer description, for the docs."`
	Owner       string                    `yaml:"owner" doc:"Owner id from seam.yaml; alerts go to them." required:"true"`
	Runbook     string                    `yaml:"runbook" doc:"What to do when it breaks."`
	Tags        []string                  `yaml:"tags" doc:"Free labels."`
	Source      Source                    `yaml:"source" doc:"Where records come from." required:"true"`
	Model       string                    `yaml:"model" doc:"The canonical model the records are mapped into." required:"true"`
	Key         Expr                      `yaml:"key" doc:"Expression over the input giving the business key: used for deduplication, ordering and trace (e.g. in.order_no)." required:"true"`
	Event       Expr                      `yaml:"event" doc:"Expression giving the identity of this event when one key has many (e.g. in.order_no + \":\" + in.version). Defaults to the key."`
	Dedupe      Dedupe                    `yaml:"dedupe" doc:"Deduplication of repeated deliveries by the source."`
	Lookups     map[string]map[string]any `yaml:"lookups" doc:"Lookup tables for this flow's expressions."`
	Map         FieldMap                  `yaml:"map" doc:"Inbound mapping: canonical field → expression over the input \"in\"." required:"true"`
	Links       FieldMap                  `yaml:"links" doc:"Other business keys this record refers to, by name: e.g. order: in.order_ref on an invoice. Recorded as cross-references so that seam trace follows a chain across flows."`
	Routes      []*Route                  `yaml:"routes" doc:"Where the canonical record goes, each with its own mapping and delivery policy." required:"true"`
	Alerts      []*Alert                  `yaml:"alerts" doc:"Alert rules; notifications go to the owner's channels."`
	Reconcile   []*Reconcile              `yaml:"reconcile" doc:"Reconciliation checks: a count or a sum over a window that must agree between two systems, or between a system and the ledger. A mismatch is an incident, notified like an alert."`
	Tests       []*Test                   `yaml:"tests" doc:"Test cases run by seam test."`
	At          Pos
	// Keys is where each key's value was written, for diagnostics.
	Keys map[string]Pos `yaml:"-" json:"-"`
	// Compiled is set when every expression of the flow compiled.
	Compiled *Compiled `yaml:"-"`
}

// Source is where a flow's records come from.
type Source struct {
	System  string   `yaml:"system" doc:"The system that sends the records." required:"true"`
	Webhook *Webhook `yaml:"webhook" doc:"Receive records by HTTP POST."`
	At      Pos
	// Keys is where each key's value was written, for diagnostics.
	Keys map[string]Pos `yaml:"-" json:"-"`
}

// Webhook is an HTTP intake endpoint.
type Webhook struct {
	Path         string     `yaml:"path" doc:"URL path, e.g. /in/eshop/orders." required:"true"`
	Signature    *Signature `yaml:"signature" doc:"Verify that the sender is who it claims to be."`
	MaxBody      Size       `yaml:"max_body" doc:"Largest accepted body (default 1MiB); larger gets 413."`
	ContentTypes []string   `yaml:"content_types" doc:"Accepted content types (default application/json, application/xml, text/xml, application/x-www-form-urlencoded)."`
	At           Pos
	// Keys is where each key's value was written, for diagnostics.
	Keys map[string]Pos `yaml:"-" json:"-"`
}

// Signature verifies a webhook's sender.
type Signature struct {
	Scheme    string   `yaml:"scheme" doc:"hmac-sha256, shopify, stripe or github." required:"true" enum:"hmac-sha256,shopify,stripe,github"`
	Header    string   `yaml:"header" doc:"Header carrying the signature (defaults per scheme)."`
	Secret    Secret   `yaml:"secret" doc:"Shared secret, from the environment." required:"true"`
	Encoding  string   `yaml:"encoding" doc:"hex (default) or base64, for hmac-sha256." enum:"hex,base64"`
	Prefix    string   `yaml:"prefix" doc:"Text before the signature in the header, e.g. sha256=."`
	Tolerance Duration `yaml:"tolerance" doc:"How old a signed timestamp may be (stripe; default 5m)."`
	At        Pos
	// Keys is where each key's value was written, for diagnostics.
	Keys map[string]Pos `yaml:"-" json:"-"`
}

// Dedupe configures intake deduplication.
type Dedupe struct {
	Window Duration `yaml:"window" doc:"How long a repeated event is recognised (default from seam.yaml, else 24h)."`
	Header string   `yaml:"header" doc:"Use this request header (a delivery id set by the sender) instead of the event expression."`
	Off    bool     `yaml:"off" doc:"Turn deduplication off for this flow."`
}

// Route sends the canonical record to one destination.
type Route struct {
	Name     string       `yaml:"name" doc:"Route id within the flow (default: the destination system)."`
	To       string       `yaml:"to" doc:"Destination system." required:"true"`
	When     Expr         `yaml:"when" doc:"Only deliver when this expression over the canonical record is true."`
	HTTP     *HTTPRoute   `yaml:"http" doc:"Deliver by HTTP request." required:"true"`
	Map      FieldMap     `yaml:"map" doc:"Outbound mapping: target field → expression over the canonical record. Written with the destination's conventions." required:"true"`
	Remember FieldMap     `yaml:"remember" doc:"Cross-references to keep from the response, e.g. erp_order_id: response.id."`
	Ordering string       `yaml:"ordering" doc:"by-key: deliveries of one key go out in intake order, and a failing key waits while others flow; none (default)." enum:"by-key,none"`
	Retry    Retry        `yaml:"retry" doc:"Retry policy; after the last attempt the delivery is dead-lettered."`
	Timeout  Duration     `yaml:"timeout" doc:"Timeout of one attempt (default 10s)."`
	Rate     Rate         `yaml:"rate_limit" doc:"Most requests per unit of time, e.g. 50/s."`
	Workers  int          `yaml:"concurrency" doc:"Most attempts in flight at once to this destination (default 16)."`
	Breaker  *BreakerSpec `yaml:"circuit_breaker" doc:"Stop sending for a while after consecutive failures, so an outage does not burn every message's retries."`
	At       Pos
	// Keys is where each key's value was written, for diagnostics.
	Keys map[string]Pos `yaml:"-" json:"-"`
}

// HTTPRoute is an HTTP request to the destination.
type HTTPRoute struct {
	Method  string            `yaml:"method" doc:"HTTP method (default POST)." enum:"POST,PUT,PATCH,DELETE,GET"`
	Path    string            `yaml:"path" doc:"Path appended to the system's base_url; {field} is replaced from the mapped payload or the cross-reference." required:"true"`
	URL     Text              `yaml:"url" doc:"A full URL instead of base_url + path."`
	Headers map[string]string `yaml:"headers" doc:"Extra request headers."`
	At      Pos
	// Keys is where each key's value was written, for diagnostics.
	Keys map[string]Pos `yaml:"-" json:"-"`
}

// Retry is a delivery's retry policy.
type Retry struct {
	Attempts *int     `yaml:"attempts" doc:"Attempts in all, first included (default 10)."`
	Backoff  string   `yaml:"backoff" doc:"exponential (default), linear or constant." enum:"exponential,linear,constant"`
	Initial  Duration `yaml:"initial" doc:"Wait before the first retry (default 1s)."`
	Max      Duration `yaml:"max" doc:"Longest wait between attempts (default 10m)."`
	At       Pos
	// Keys is where each key's value was written, for diagnostics.
	Keys map[string]Pos `yaml:"-" json:"-"`
}

// BreakerSpec configures a route's circuit breaker.
type BreakerSpec struct {
	Failures int      `yaml:"failures" doc:"Consecutive failures that open the circuit (default 5)."`
	CoolDown Duration `yaml:"cool_down" doc:"How long it stays open before one probe (default 30s)."`
}

// Alert is one rule; exactly one condition is set.
type Alert struct {
	Name        string         `yaml:"name" doc:"Name of the rule (default: its kind)."`
	Silence     *SilenceRule   `yaml:"silence" doc:"No records for a while, within a schedule, is an incident."`
	ErrorRate   *ErrorRateRule `yaml:"error_rate" doc:"Share of failed attempts over a window."`
	DeadLetters *ThresholdRule `yaml:"dead_letters" doc:"Dead letters waiting for an operator."`
	BacklogAge  *BacklogRule   `yaml:"backlog_age" doc:"Age of the oldest undelivered record."`
	Quarantine  *ThresholdRule `yaml:"quarantine" doc:"Records in quarantine."`
	CircuitOpen *struct{}      `yaml:"circuit_open" doc:"A route's circuit breaker is open."`
	To          []string       `yaml:"to" doc:"Channels to notify instead of the owner's."`
	Severity    string         `yaml:"severity" doc:"critical, warning (default) or info." enum:"critical,warning,info"`
	At          Pos
	// Keys is where each key's value was written, for diagnostics.
	Keys map[string]Pos `yaml:"-" json:"-"`
}

// SilenceRule fires when no record arrives for a duration within a schedule.
type SilenceRule struct {
	For    Duration `yaml:"for" doc:"How long without a record, e.g. 2h." required:"true"`
	During Schedule `yaml:"during" doc:"When silence matters, e.g. \"Mon-Fri 08:00-20:00 Europe/Prague\" (default: always)."`
}

// ErrorRateRule fires when the share of failures exceeds a threshold.
type ErrorRateRule struct {
	Above Percent  `yaml:"above" doc:"Threshold, e.g. 5%." required:"true"`
	Over  Duration `yaml:"over" doc:"Window, e.g. 15m (default 15m)."`
}

// ThresholdRule fires when a count exceeds a threshold.
type ThresholdRule struct {
	Above int `yaml:"above" doc:"Fires when the count is above this (0: any)."`
}

// BacklogRule fires when the oldest undelivered record is too old.
type BacklogRule struct {
	Above Duration `yaml:"above" doc:"Age, e.g. 10m." required:"true"`
}

// Test is one declared test case of a flow.
type Test struct {
	Name   string         `yaml:"name" doc:"What the case shows." required:"true"`
	Input  any            `yaml:"input" doc:"The record as the source sends it." required:"true"`
	Expect map[string]any `yaml:"expect" doc:"Expected fields per route (by route name), or of the canonical record under \"canonical\"; fields not listed are not checked."`
	Reject []string       `yaml:"reject" doc:"The record must be refused, with reasons containing each of these texts."`
	Skip   []string       `yaml:"skip" doc:"Routes whose when: must be false for this input."`
	At     Pos
	// Keys is where each key's value was written, for diagnostics.
	Keys map[string]Pos `yaml:"-" json:"-"`
}
