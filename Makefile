# Everyday targets. The README's two commands need none of them.
.PHONY: build test race vet fmt generate bench fuzz ci

build:            ## build ./seam
	go build -o seam ./cmd/seam

test:             ## the test suite (what the README says)
	go test ./...

race:             ## the test suite with the race detector, as CI runs it
	go test -race -count=1 ./...

vet:
	go vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

generate:         ## regenerate committed files (JSON Schemas, reference docs)
	go run ./cmd/seam schema --out schema
	go run ./cmd/seam schema --markdown > docs/catalog-reference.md
	go run ./cmd/seam --markdown-reference > docs/cli-reference.md

bench:            ## benchmarks that print figures (see bench/README.md)
	go run ./bench/validate

fuzz:             ## a short fuzz run of each fuzz target
	go test ./internal/catalog -run '^$$' -fuzz FuzzLoad -fuzztime 30s

ci:               ## what CI runs
	bash .ci/run
