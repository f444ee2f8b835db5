package sqlite_test

import (
	"testing"

	"github.com/seamhq/seam/internal/store"
	"github.com/seamhq/seam/internal/store/storetest"
)

func TestSeries(t *testing.T) {
	t.Parallel()
	storetest.ExerciseSeries(t, func(t *testing.T) store.Store { return openTemp(t) })
}
