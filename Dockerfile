# The heal8s manager image: a static Go binary on distroless, running as non-root.
#
#   make docker-build IMG=ghcr.io/heal8s/heal8s:v0.1.0 VERSION=v0.1.0
#
# Override BASE_IMAGE to build from another registry, e.g. docker.io/library/golang:1.26
ARG BASE_IMAGE=golang:1.26
FROM ${BASE_IMAGE} AS builder
ARG TARGETOS
ARG TARGETARCH
# VERSION is stamped into the binary (main.version); the manager logs it at start.
ARG VERSION=dev

WORKDIR /workspace
# Download modules first so source changes do not invalidate the module layer.
COPY go.mod go.mod
COPY go.sum go.sum
RUN go mod download

# Only what the manager is built from (.dockerignore filters the rest).
COPY cmd/ cmd/
COPY api/ api/
COPY internal/ internal/

# GOARCH has no default so the binary matches the platform docker builds for (BuildKit sets
# TARGETARCH); CGO off makes it static, -trimpath drops local paths from it. This is the same
# command `make build` runs.
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o manager ./cmd

# distroless/static has no shell or package manager; :nonroot runs as uid 65532.
# Refer to https://github.com/GoogleContainerTools/distroless for more details.
FROM gcr.io/distroless/static:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.source="https://github.com/heal8s/heal8s" \
      org.opencontainers.image.title="heal8s" \
      org.opencontainers.image.description="Turns Prometheus alerts into safe, reviewed fixes" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
WORKDIR /
COPY --from=builder /workspace/manager .
USER 65532:65532

ENTRYPOINT ["/manager"]
