package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// DeliveryWakeups implements store.Notifier with LISTEN/NOTIFY. The first
// call starts a listener on a connection of its own (outside the pool, so
// the pool's size is the intake's and a long wait never holds one of its
// connections); it runs until Close.
//
// NOTIFY is sent only where a wake-up is worth it (query.go: intake without
// a node, replays, leases given back), not on every intake: PostgreSQL
// serialises the commits of notifying transactions, which would cost the
// hot path its shared WAL flushes.
func (s *Store) DeliveryWakeups() <-chan struct{} {
	s.listenOnce.Do(func() {
		if s.closed.Load() {
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		s.stopListen, s.listenDone = cancel, make(chan struct{})
		ready := make(chan struct{})
		go s.listen(ctx, ready)
		// Wait (briefly) for the LISTEN to be in place, so that what is
		// done after this call is heard; if the database is slow to
		// answer, the listener keeps trying and the poll covers the gap.
		select {
		case <-ready:
		case <-time.After(5 * time.Second):
		}
	})
	return s.wake
}

// signal wakes the consumer without ever blocking: one pending wake-up
// stands for any number.
func (s *Store) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// listen keeps a LISTEN connection up, reconnecting with a growing pause
// when it drops; ready is closed once it first listens. After every
// reconnection it signals once, since notifications sent while it was away
// are lost.
func (s *Store) listen(ctx context.Context, ready chan struct{}) {
	defer close(s.listenDone)
	pause := 100 * time.Millisecond
	first := true
	for ctx.Err() == nil {
		err := s.listenConn(ctx, func() {
			pause = 100 * time.Millisecond
			if first {
				first = false
				close(ready)
				return
			}
			s.signal()
		})
		if ctx.Err() != nil {
			return
		}
		s.logger.Warn("ledger notifications interrupted; polling until they are back", "err", err, "retry_in", pause)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 10*time.Second)
	}
}

// listenConn runs one LISTEN connection until it fails or ctx ends;
// listening is called once the LISTEN is in place.
func (s *Store) listenConn(ctx context.Context, listening func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.cfg.ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, qListen); err != nil {
		return err
	}
	listening()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Payload == s.schema {
			s.signal()
		}
	}
}
