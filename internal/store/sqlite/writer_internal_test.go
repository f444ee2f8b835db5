package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

// TestWriterIsolatesFailure puts one request that fails in SQL into the
// same batch as ten good ones: only the bad one may see an error, and the
// good ones must all be committed.
func TestWriterIsolatesFailure(t *testing.T) {
	t.Parallel()
	st, err := Open(t.Context(), filepath.Join(t.TempDir(), "seam.db"), Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })

	// Hold the writer inside a transaction until every request is queued,
	// so they all land in the next batch.
	release := make(chan struct{})
	holding := make(chan struct{})
	go func() {
		_ = st.w.do(context.Background(), func(*wtx) error {
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding

	const good = 10
	errs := make([]error, good+1)
	ids := make([]int64, good)
	var wg sync.WaitGroup
	for i := range good {
		wg.Go(func() {
			res, err := st.MessageIngest(t.Context(), &store.IngestParams{Now: time.Now(),
				Message: &seam.Message{Flow: "f", Key: fmt.Sprint(i), Body: []byte("{}")}})
			errs[i] = err
			if err == nil {
				ids[i] = res.MessageID
			}
		})
	}
	wg.Go(func() {
		errs[good] = st.w.do(t.Context(), func(tx *wtx) error {
			_, err := tx.st.conn.ExecContext(context.Background(), "INSERT INTO deliveries (message_id) VALUES (-1)")
			return err
		})
	})
	require.Eventually(t, func() bool { return len(st.w.reqs) == good+1 }, 5*time.Second, time.Millisecond)
	close(release)
	wg.Wait()

	require.Error(t, errs[good])
	for i := range good {
		require.NoError(t, errs[i])
		_, err := st.MessageGet(t.Context(), ids[i])
		require.NoError(t, err)
	}
}

// TestWriterSkipsCancelled checks that a request whose caller gave up
// before the writer reached it is not written.
func TestWriterSkipsCancelled(t *testing.T) {
	t.Parallel()
	st, err := Open(t.Context(), filepath.Join(t.TempDir(), "seam.db"), Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })

	release := make(chan struct{})
	holding := make(chan struct{})
	go func() {
		_ = st.w.do(context.Background(), func(*wtx) error {
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() {
		_, err := st.MessageIngest(ctx, &store.IngestParams{Now: time.Now(), Message: &seam.Message{Flow: "f", Key: "k"}})
		done <- err
	}()
	require.Eventually(t, func() bool { return len(st.w.reqs) == 1 }, 5*time.Second, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	close(release)

	// A write queued after it is answered only after the writer has
	// passed the cancelled one.
	_, err = st.MessageIngest(t.Context(), &store.IngestParams{Now: time.Now(), Message: &seam.Message{Flow: "g", Key: "k"}})
	require.NoError(t, err)
	ms, err := st.MessageList(t.Context(), &store.MessageFilter{Flow: "f"})
	require.NoError(t, err)
	require.Empty(t, ms)
}

// TestPragmas pins the settings durability rests on: an acknowledged
// record is fsync'd (WAL, synchronous=FULL), and reads cannot write.
func TestPragmas(t *testing.T) {
	t.Parallel()
	st, err := Open(t.Context(), filepath.Join(t.TempDir(), "seam.db"), Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })

	var mode string
	var sync, fk, busy int
	err = st.w.do(t.Context(), func(tx *wtx) error {
		c := tx.st.conn
		ctx := context.Background()
		return errors.Join(
			c.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode),
			c.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync),
			c.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk),
			c.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy),
		)
	})
	require.NoError(t, err)
	require.Equal(t, "wal", mode)
	require.Equal(t, 2, sync, "FULL")
	require.Equal(t, 1, fk)
	require.Equal(t, 10_000, busy)

	_, err = st.rdb.ExecContext(t.Context(), "DELETE FROM messages")
	require.ErrorContains(t, err, "readonly")
}
