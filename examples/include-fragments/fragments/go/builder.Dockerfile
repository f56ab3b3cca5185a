# The build of a Go service, shared by every service that includes it: its
# module's dependencies, then its static binary at /out/app.
FROM golang:1.26 AS deps
WORKDIR /src
COPY go.mod ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download

FROM deps AS builder
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -o /out/app .
