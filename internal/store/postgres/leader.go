package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

// LeaderAttemptElect implements store.Leaser with a lease row per name:
// one statement takes the row when it is free or expired, or renews it for
// its holder, so two nodes can never both be told they lead at one time
// (as long as their clocks agree to within the TTL).
func (s *Store) LeaderAttemptElect(ctx context.Context, p *store.LeaderParams) (bool, error) {
	if err := checkLeader(p); err != nil {
		return false, err
	}
	if p.TTL <= 0 || p.Now.IsZero() {
		return false, seam.Errorf(seam.EINVALID, "elect leader: TTL and time are required")
	}
	if err := s.check(); err != nil {
		return false, err
	}
	now := nanos(p.Now)
	var node string
	err := s.pool.QueryRow(ctx, qLeaderElect, p.Name, p.Node, now, now+int64(p.TTL)).Scan(&node)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil // another node leads
	}
	if err != nil {
		return false, fmt.Errorf("elect leader of %s: %w", p.Name, mapErr(err))
	}
	return true, nil
}

// LeaderResign implements store.Leaser.
func (s *Store) LeaderResign(ctx context.Context, p *store.LeaderParams) error {
	if err := checkLeader(p); err != nil {
		return err
	}
	if err := s.check(); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, qLeaderResign, p.Name, p.Node); err != nil {
		return fmt.Errorf("resign leader of %s: %w", p.Name, mapErr(err))
	}
	return nil
}

func checkLeader(p *store.LeaderParams) error {
	if p == nil || p.Name == "" || p.Node == "" {
		return seam.Errorf(seam.EINVALID, "leader: name and node are required")
	}
	return nil
}
