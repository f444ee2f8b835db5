package app

import (
	"context"
	"net/url"
	"time"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

// leadership is the name under which the nodes of a shared store elect the
// one that runs the once-per-cluster work.
const leadership = "maintenance"

// maintain runs the work that happens once per cluster (today the
// retention: pruning the ledger, so it never grows without bound; alert
// evaluation and reconciliation schedules belong here too) on one node,
// the leader. A store several nodes share elects it (store.Leaser) and
// the leader renews its lease every third of it; on a store without
// election there is one node, which always leads. A new leader waits a
// first delay (a minute, or the interval if shorter) before its first run,
// so a takeover does not repeat a run the old leader had just made.
func (a *App) maintain(ctx context.Context) {
	defer close(a.done)
	every, ttl := a.opts.MaintenanceInterval, a.opts.LeaderLease
	first := min(time.Minute, every)
	leaser, shared := a.store.(store.Leaser)
	node := a.engine.Node()
	var (
		leading bool
		until   time.Time // end of the leadership as last renewed
		nextRun time.Time
	)
	defer func() {
		if shared && leading {
			// Hand over at once rather than when the lease expires.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := leaser.LeaderResign(rctx, &store.LeaderParams{Name: leadership, Node: node}); err != nil {
				a.log.Warn("resign the leadership; another node takes over when it expires", "err", err)
			}
		}
	}()
	for {
		now := time.Now()
		was := leading
		if shared {
			ok, err := leaser.LeaderAttemptElect(ctx, &store.LeaderParams{Name: leadership, Node: node, TTL: ttl, Now: now})
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				// Not knowing is not leading: the lease may have passed.
				a.log.Error("renew the leadership", "err", err)
				ok = false
			}
			leading, until = ok, now.Add(ttl)
		} else {
			leading = true
		}
		switch {
		case leading && !was:
			nextRun = now.Add(first)
			if shared {
				a.log.Info("this node leads the cluster's maintenance", "node", node, "lease", ttl)
			}
		case !leading && was:
			a.log.Warn("this node no longer leads the cluster's maintenance", "node", node)
		}
		if leading && !now.Before(nextRun) {
			jctx, cancel := ctx, context.CancelFunc(func() {})
			if shared {
				// The run stops before the lease could lapse under it, so two
				// nodes never run it at once; pruning resumes where it stopped.
				jctx, cancel = context.WithDeadline(ctx, until.Add(-ttl/10))
			}
			start := time.Now()
			a.prune(jctx)
			cancel()
			a.log.Info("maintenance run", "node", node, "start", start.UTC().Format(time.RFC3339Nano),
				"end", time.Now().UTC().Format(time.RFC3339Nano))
			nextRun = time.Now().Add(every)
		}
		wait := time.Until(nextRun)
		if shared {
			wait = min(wait, ttl/3)
		}
		t := time.NewTimer(max(wait, time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// durations fills the lease and maintenance durations from the
// environment where Options leaves them zero.
func (a *App) durations() error {
	for _, d := range []struct {
		dst *time.Duration
		env string
		def time.Duration
	}{
		{&a.opts.Lease, "SEAM_LEASE", 0}, // 0: the engine's default
		{&a.opts.LeaderLease, "SEAM_LEADER_LEASE", 30 * time.Second},
		{&a.opts.MaintenanceInterval, "SEAM_MAINTENANCE_INTERVAL", pruneEvery},
	} {
		if *d.dst > 0 {
			continue
		}
		*d.dst = d.def
		if v, ok := a.opts.Env(d.env); ok && v != "" {
			parsed, err := time.ParseDuration(v)
			if err != nil || parsed <= 0 {
				return seam.Errorf(seam.EINVALID, "%s=%q is not a positive duration", d.env, v).WithHint("e.g. 30s, 2m, 1h")
			}
			*d.dst = parsed
		}
	}
	return nil
}

// RedactDSN hides a DSN's password, so that errors, logs and progress can
// name the database.
func RedactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
