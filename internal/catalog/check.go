package catalog

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Reserved paths belong to Seam itself; a webhook there would shadow them.
var reservedPaths = []string{"/api", "/metrics", "/healthz", "/readyz", "/ui", "/login", "/static"}

// SignatureSchemes are the webhook signature schemes Seam verifies.
var SignatureSchemes = []string{"hmac-sha256", "shopify", "stripe", "github"}

// keyAt returns where key's value was written, or def when it was not.
func keyAt(keys map[string]Pos, key string, def Pos) Pos {
	if p, ok := keys[key]; ok {
		return p
	}
	return def
}

// channelHint suggests a declared channel, or says where to declare one.
func channelHint(ch string, channels []string) string {
	if len(channels) == 0 {
		return fmt.Sprintf("declare it in seam.yaml, e.g. alerts: {channels: {%s: {webhook: {url: \"${CHAT_WEBHOOK_URL}\"}}}}", ch)
	}
	return suggestOrList(ch, channels, "declared channels")
}

// check runs the semantic checks that need the whole catalog: references
// between files, owners, names, paths, and policies.
func check(c *Catalog, r *report) {
	p := c.Project
	ownerNames := sortedKeys(p.Owners)
	channelNames := sortedKeys(p.Alerts.Channels)

	if p.At.File != "" && len(p.Owners) == 0 {
		r.errorf(p.At, "declare owners, e.g.\n\towners:\n\t  ecommerce: {name: E-commerce team, email: eshop@acme.example}", "no owners declared; every system and flow must name one")
	}
	for _, id := range ownerNames {
		o := p.Owners[id]
		if o == nil {
			continue
		}
		for _, ch := range o.Alert {
			if _, ok := p.Alerts.Channels[ch]; !ok {
				r.errorf(keyAt(o.Keys, "alert", o.At), channelHint(ch, channelNames), "owner %q alerts channel %q, which is not declared under alerts.channels", id, ch)
			}
		}
		if o.Email != "" && !strings.Contains(o.Email, "@") {
			r.errorf(keyAt(o.Keys, "email", o.At), "write an address such as finance@acme.example", "owner %q: %q is not an e-mail address", id, o.Email)
		}
	}
	for _, name := range channelNames {
		ch := p.Alerts.Channels[name]
		if ch == nil {
			continue
		}
		if (ch.Webhook == nil) == (ch.SMTP == nil) {
			r.errorf(ch.At, "write either webhook: {url: …} or smtp: {host: …, from: …}", "alert channel %q must have exactly one of webhook or smtp", name)
		}
	}
	if p.Listen != "" {
		if _, _, err := net.SplitHostPort(p.Listen); err != nil {
			r.errorf(keyAt(p.Keys, "listen", p.At), "write host:port, e.g. 127.0.0.1:8080 or :8080", "listen: %q is not an address", p.Listen)
		}
	}
	if s := p.Store.Raw; s != "" && !strings.HasPrefix(s, "${") && !strings.HasPrefix(s, "sqlite:") && !strings.HasPrefix(s, "postgres://") && !strings.HasPrefix(s, "postgresql://") {
		r.errorf(p.Store.At, "write sqlite:./seam.db or postgres://user@host/db", "store: %q is neither sqlite:… nor postgres://…", s)
	}
	for _, t := range p.API.Tokens {
		if t.Role != "" && t.Role != "viewer" && t.Role != "operator" {
			r.errorf(keyAt(t.Keys, "role", t.At), suggestOrList(t.Role, []string{"viewer", "operator"}, "roles"), "token %q: unknown role %q", t.Name, t.Role)
		}
	}

	for _, name := range c.SystemNames() {
		s := c.Systems[name]
		if stem := fileStem(s.At); stem != s.Name {
			r.warnf(s.At, fmt.Sprintf("rename the file to systems/%s.yaml", s.Name), "file %s declares system %q", s.At.File, s.Name)
		}
		checkOwner(r, keyAt(s.Keys, "owner", s.At), "system "+name, s.Owner, p.Owners, ownerNames)
		if s.Auth != nil {
			n := 0
			// A bearer secret that was written counts even when it was
			// refused (and reported): the method is there.
			for _, set := range []bool{s.Auth.Bearer.At.Line != 0, s.Auth.Basic != nil, s.Auth.APIKey != nil, s.Auth.OAuth2 != nil} {
				if set {
					n++
				}
			}
			if n != 1 {
				r.errorf(s.Auth.At, "write one of bearer, basic, api_key or oauth2", "system %q: auth must have exactly one method, has %d", name, n)
			}
			if k := s.Auth.APIKey; k != nil && (k.Header == "") == (k.Query == "") {
				r.errorf(s.Auth.At, "write header: X-Api-Key or query: api_key", "system %q: api_key needs exactly one of header or query", name)
			}
		}
		// The conventions' values are checked where they are used, by
		// mapping.Conventions.Check (see compile).
		for _, m := range s.Masters {
			if _, ok := c.Models[m]; !ok {
				r.errorf(keyAt(s.Keys, "masters", s.At), suggestOrList(m, c.ModelNames(), "models"), "system %q masters unknown model %q", name, m)
			}
		}
	}

	for _, name := range c.ModelNames() {
		checkModel(c, r, c.Models[name])
	}

	paths := map[string]*Flow{}
	for _, name := range c.FlowNames() {
		f := c.Flows[name]
		checkFlow(c, r, f, ownerNames, channelNames)
		if f.Source.Webhook != nil && f.Source.Webhook.Path != "" {
			if prev, ok := paths[f.Source.Webhook.Path]; ok {
				w := f.Source.Webhook
				r.errorf(keyAt(w.Keys, "path", w.At), "give each flow its own path", "webhook path %s is already used by flow %q (%s)", w.Path, prev.Name, keyAt(prev.Source.Webhook.Keys, "path", prev.Source.Webhook.At))
			} else {
				paths[f.Source.Webhook.Path] = f
			}
		}
	}
}

func checkOwner(r *report, at Pos, what, owner string, owners map[string]*Owner, names []string) {
	if owner == "" {
		return // "missing owner" is reported by the decoder
	}
	if _, ok := owners[owner]; !ok {
		r.errorf(at, suggestOrList(owner, names, "owners declared in seam.yaml"), "%s: owner %q is not declared in seam.yaml", what, owner)
	}
}

func checkEnum(r *report, at Pos, key, v string, allowed []string) {
	if v == "" || slices.Contains(allowed, v) {
		return
	}
	q := make([]string, len(allowed))
	for i, a := range allowed {
		q[i] = fmt.Sprintf("%q", a)
	}
	r.errorf(at, "use one of "+strings.Join(q, ", "), "%s: %q is not allowed", key, v)
}

func checkModel(c *Catalog, r *report, m *Model) {
	if m.Extends != "" {
		base, ok := c.Models[m.Extends]
		switch {
		case !ok && m.Extends == m.Name:
			r.errorf(keyAt(m.Keys, "extends", m.At), "", "model %q extends itself", m.Name)
		case !ok:
			r.errorf(keyAt(m.Keys, "extends", m.At), suggestOrList(m.Extends, c.ModelNames(), "models"), "model %q extends unknown model %q", m.Name, m.Extends)
		default:
			merge(m, base)
		}
	}
	for _, name := range m.Order {
		checkField(c, r, m.Name+"."+name, m.Fields[name])
	}
}

// merge makes m start from base's fields; m's own fields override them.
func merge(m, base *Model) {
	merged := map[string]*ModelField{}
	order := append([]string(nil), base.Order...)
	for k, v := range base.Fields {
		merged[k] = v
	}
	for _, k := range m.Order {
		if _, dup := merged[k]; !dup {
			order = append(order, k)
		}
		merged[k] = m.Fields[k]
	}
	m.Fields, m.Order, m.Extends = merged, order, ""
	if m.Description == "" {
		m.Description = base.Description
	}
}

func checkField(c *Catalog, r *report, path string, f *ModelField) {
	if f == nil {
		return
	}
	validType := func(t string) bool { _, isModel := c.Models[t]; return isFieldType(t) || isModel }
	if f.Type != "" && !validType(f.Type) {
		r.errorf(f.At, suggestOrList(f.Type, append(append([]string{}, FieldTypes...), c.ModelNames()...), "types"), "%s: unknown type %q", path, f.Type)
	}
	switch f.Type {
	case "enum":
		if len(f.Values) == 0 {
			r.errorf(f.At, "list the allowed values: values: [new, paid, shipped]", "%s: an enum needs values", path)
		}
	case "list":
		if f.Of == "" {
			r.errorf(f.At, "say what the items are: of: order_line (or a type such as string)", "%s: a list needs `of`", path)
		} else if !validType(f.Of) {
			r.errorf(f.At, suggestOrList(f.Of, append(append([]string{}, FieldTypes...), c.ModelNames()...), "types"), "%s: unknown item type %q", path, f.Of)
		}
	case "object":
		if len(f.Fields) == 0 {
			r.errorf(f.At, "declare its fields, or use a model name as the type", "%s: an object needs fields", path)
		}
	}
	if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
		r.errorf(f.At, "", "%s: min %v is above max %v", path, *f.Min, *f.Max)
	}
	if f.Pattern != "" {
		if _, err := regexp.Compile(f.Pattern); err != nil {
			r.errorf(f.At, "", "%s: pattern: %v", path, err)
		}
	}
	for _, k := range f.Order {
		checkField(c, r, path+"."+k, f.Fields[k])
	}
}

// ResolveField finds the model field at a dot path such as
// customer.email, descending into nested models and objects.
func (c *Catalog) ResolveField(model, path string) (*ModelField, error) {
	m, ok := c.Models[model]
	if !ok {
		return nil, fmt.Errorf("unknown model %q", model)
	}
	fields, names, where := m.Fields, m.Order, model
	var f *ModelField
	for i, part := range strings.Split(path, ".") {
		f = fields[part]
		if f == nil {
			hint := suggestOrList(part, names, "fields of "+where)
			return nil, &fieldError{msg: fmt.Sprintf("%s has no field %q", where, part), hint: hint}
		}
		if i == len(strings.Split(path, "."))-1 {
			break
		}
		where = where + "." + part
		if sub, ok := c.Models[f.Type]; ok {
			fields, names = sub.Fields, sub.Order
		} else if f.Type == "object" {
			fields, names = f.Fields, f.Order
		} else {
			return nil, &fieldError{msg: fmt.Sprintf("%s is a %s, it has no fields", where, f.Type)}
		}
	}
	return f, nil
}

type fieldError struct{ msg, hint string }

func (e *fieldError) Error() string { return e.msg }

func checkFlow(c *Catalog, r *report, f *Flow, owners, channels []string) {
	p := c.Project
	if stem := fileStem(f.At); stem != f.Name {
		r.warnf(f.At, fmt.Sprintf("rename the file to flows/%s.yaml", f.Name), "file %s declares flow %q", f.At.File, f.Name)
	}
	checkOwner(r, keyAt(f.Keys, "owner", f.At), "flow "+f.Name, f.Owner, p.Owners, owners)

	src := f.Source
	if src.System != "" {
		if _, ok := c.Systems[src.System]; !ok {
			r.errorf(keyAt(src.Keys, "system", src.At), suggestOrList(src.System, c.SystemNames(), "declared systems"), "flow %s: source system %q is not declared in systems/", f.Name, src.System)
		}
	}
	if src.At.Line != 0 && src.Webhook == nil {
		r.errorf(src.At, "add a trigger, e.g. webhook: {path: /in/"+f.Name+"}", "flow %s: the source has no trigger", f.Name)
	}
	if w := src.Webhook; w != nil && w.Path != "" {
		if !strings.HasPrefix(w.Path, "/") {
			r.errorf(keyAt(w.Keys, "path", w.At), "write it as /in/"+f.Name, "webhook path %q must start with /", w.Path)
		}
		for _, rp := range reservedPaths {
			if w.Path == rp || strings.HasPrefix(w.Path, rp+"/") || w.Path == "/" {
				r.errorf(keyAt(w.Keys, "path", w.At), "use a path under /in/, e.g. /in/"+f.Name, "webhook path %s is reserved for Seam itself", w.Path)
				break
			}
		}
		if s := w.Signature; s != nil {
			checkEnum(r, keyAt(s.Keys, "scheme", s.At), "scheme", s.Scheme, SignatureSchemes)
			checkEnum(r, keyAt(s.Keys, "encoding", s.At), "encoding", s.Encoding, []string{"hex", "base64"})
		}
	}

	if f.Model != "" {
		if _, ok := c.Models[f.Model]; !ok {
			r.errorf(keyAt(f.Keys, "model", f.At), suggestOrList(f.Model, c.ModelNames(), "models"), "flow %s: unknown model %q", f.Name, f.Model)
		} else {
			mapped := map[string]bool{}
			for _, fe := range f.Map {
				mapped[strings.Split(fe.Target, ".")[0]] = true
				if _, err := c.ResolveField(f.Model, fe.Target); err != nil {
					hint := ""
					if fe, ok := err.(*fieldError); ok {
						hint = fe.hint
					}
					r.errorf(fe.At, hint, "%s: %v", fe.Target, err)
				}
			}
			m := c.Models[f.Model]
			var missing []string
			for _, name := range m.Order {
				if fld := m.Fields[name]; fld != nil && fld.Required && !mapped[name] {
					missing = append(missing, name)
				}
			}
			if len(missing) > 0 && len(f.Map) > 0 {
				r.errorf(f.Map[0].At, "map them, e.g. "+missing[0]+": in.…", "flow %s: model %s requires %s, which the mapping does not set", f.Name, f.Model, strings.Join(missing, ", "))
			}
		}
	}

	routeNames := map[string]bool{}
	for _, rt := range f.Routes {
		if rt == nil {
			continue
		}
		if rt.Name == "" {
			rt.Name = rt.To
		}
		if routeNames[rt.Name] {
			r.errorf(rt.At, "give the routes distinct names with name: …", "flow %s: two routes are named %q", f.Name, rt.Name)
		}
		routeNames[rt.Name] = true
		if rt.To != "" {
			dst, ok := c.Systems[rt.To]
			if !ok {
				r.errorf(keyAt(rt.Keys, "to", rt.At), suggestOrList(rt.To, c.SystemNames(), "declared systems"), "flow %s: route to unknown system %q", f.Name, rt.To)
			} else if h := rt.HTTP; h != nil && h.URL.Raw == "" && dst.BaseURL.Raw == "" {
				r.errorf(h.At, fmt.Sprintf("set base_url in systems/%s.yaml, or a full url: on the route", rt.To), "flow %s: route %s has no URL: system %q has no base_url", f.Name, rt.Name, rt.To)
			}
		}
		if h := rt.HTTP; h != nil {
			checkEnum(r, keyAt(h.Keys, "method", h.At), "method", strings.ToUpper(h.Method), []string{"POST", "PUT", "PATCH", "DELETE", "GET"})
			if h.Path != "" && !strings.HasPrefix(h.Path, "/") {
				r.errorf(keyAt(h.Keys, "path", h.At), "write it as /"+h.Path, "route path %q must start with /", h.Path)
			}
		}
		checkEnum(r, keyAt(rt.Keys, "ordering", rt.At), "ordering", rt.Ordering, []string{"by-key", "none"})
		checkEnum(r, keyAt(rt.Retry.Keys, "backoff", rt.Retry.At), "backoff", rt.Retry.Backoff, []string{"exponential", "linear", "constant"})
		if a := rt.Retry.Attempts; a != nil && *a < 1 {
			r.errorf(keyAt(rt.Retry.Keys, "attempts", rt.Retry.At), "1 means no retries; dead-lettering needs at least one attempt", "retry attempts must be at least 1, got %d", *a)
		}
		if rt.Retry.Initial.Set() && rt.Retry.Max.Set() && rt.Retry.Initial.D > rt.Retry.Max.D {
			r.errorf(rt.Retry.Max.At, "", "retry max (%s) is shorter than initial (%s)", rt.Retry.Max.D, rt.Retry.Initial.D)
		}
		if rt.Timeout.Set() && rt.Timeout.D <= 0 {
			r.errorf(rt.Timeout.At, "", "timeout must be positive")
		}
		if rt.Workers < 0 {
			r.errorf(keyAt(rt.Keys, "concurrency", rt.At), "", "concurrency must be positive")
		}
	}

	for _, a := range f.Alerts {
		if a == nil {
			continue
		}
		n := 0
		for _, set := range []bool{a.Silence != nil, a.ErrorRate != nil, a.DeadLetters != nil, a.BacklogAge != nil, a.Quarantine != nil, a.CircuitOpen != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			r.errorf(a.At, "write one of silence, error_rate, dead_letters, backlog_age, quarantine or circuit_open per rule", "an alert rule needs exactly one condition, has %d", n)
		}
		for _, ch := range a.To {
			if !slices.Contains(channels, ch) {
				r.errorf(keyAt(a.Keys, "to", a.At), channelHint(ch, channels), "alert channel %q is not declared under alerts.channels", ch)
			}
		}
		checkEnum(r, keyAt(a.Keys, "severity", a.At), "severity", a.Severity, []string{"critical", "warning", "info"})
	}
	checkAlertRules(c, r, f)
	checkReconciles(c, r, f, channels)

	for _, t := range f.Tests {
		if t == nil {
			continue
		}
		keys := make([]string, 0, len(t.Expect))
		for k := range t.Expect {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		valid := append([]string{"canonical"}, sortedKeys(routeNames)...)
		for _, k := range keys {
			if !slices.Contains(valid, k) {
				r.errorf(keyAt(t.Keys, "expect", t.At), suggestOrList(k, valid, "routes"), "test %q expects route %q, which the flow does not have", t.Name, k)
			}
		}
		for _, k := range t.Skip {
			if !routeNames[k] {
				r.errorf(keyAt(t.Keys, "skip", t.At), suggestOrList(k, sortedKeys(routeNames), "routes"), "test %q skips route %q, which the flow does not have", t.Name, k)
			}
		}
		if len(t.Reject) > 0 && len(t.Expect) > 0 {
			r.errorf(t.At, "split it into two tests", "test %q both expects output and a rejection", t.Name)
		}
	}
}
