package main

import "testing"

func TestParseWrk(t *testing.T) {
	out := `Running 25s test @ http://127.0.0.1:41000/in/eshop/orders
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.71ms   10.39ms 159.14ms   94.50%
    Req/Sec     6.12k     1.60k    9.32k    69.80%
  Latency Distribution
     50%  870.00us
     75%    6.20ms
     90%    9.10ms
     99%    1.06s
  304973 requests in 25.07s, 57.24MB read
  Socket errors: connect 0, read 3, write 0, timeout 5
  Non-2xx or 3xx responses: 76
Requests/sec:  12165.09
Transfer/sec:      2.28MB
`
	w, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if w.requests != 304973 || w.seconds != 25.07 || w.sockErrs != 8 || w.non2xx != 76 || w.acked() != 304973-84 {
		t.Errorf("counts: %+v", w)
	}
	if w.p50 != 0.87 || w.p99 != 1060 {
		t.Errorf("latency: p50 %v p99 %v", w.p50, w.p99)
	}
	if _, err := parseWrk("unable to connect"); err == nil {
		t.Error("garbage parsed")
	}
}
