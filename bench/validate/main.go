// Command validate measures `seam validate` on a generated catalog of 200
// flows across 12 systems and fails when the median is over the target:
//
//	go run ./bench/validate [-flows 200] [-runs 10] [-target 1s]
package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/seamhq/seam/bench/validate/gen"
	"github.com/seamhq/seam/internal/catalog"
)

func main() {
	flows := flag.Int("flows", 200, "flows in the generated catalog")
	runs := flag.Int("runs", 10, "loads to time")
	target := flag.Duration("target", time.Second, "the median must be under this")
	flag.Parse()
	os.Exit(run(*flows, *runs, *target))
}

func run(flows, runs int, target time.Duration) int {
	dir, err := os.MkdirTemp("", "seam-bench-validate-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	files, err := gen.Write(dir, flows)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	opts := &catalog.Options{Env: gen.Env}

	// One load to check the catalog is valid (a benchmark of a broken
	// catalog measures the wrong thing) and to warm the caches.
	c, diags := catalog.Load(dir, opts)
	if len(diags) > 0 {
		fmt.Fprintf(os.Stderr, "the generated catalog is not clean:\n%v\n", diags)
		return 1
	}
	routes := 0
	for _, f := range c.Flows {
		routes += len(f.Routes)
	}

	times := make([]time.Duration, runs)
	for i := range times {
		start := time.Now()
		catalog.Load(dir, opts)
		times[i] = time.Since(start)
	}
	slices.Sort(times)
	median := times[len(times)/2]
	if len(times)%2 == 0 {
		median = (times[len(times)/2-1] + times[len(times)/2]) / 2
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
	fmt.Printf("validate %d flows (%d systems, %d routes, %d files): median %s (min %s, max %s) over %d runs — target < %s\n",
		len(c.Flows), len(c.Systems), routes, files, ms(median), ms(times[0]), ms(times[len(times)-1]), runs, target)
	if median >= target {
		fmt.Println("FAIL: over the target")
		return 1
	}
	return 0
}
