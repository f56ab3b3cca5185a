# The test gate of a Go service: go vet, then go test, on its sources. A
# service's image REQUIREs the tester stage, so it can't ship untested.
FROM deps AS tester
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go vet ./...
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go test -v ./...
