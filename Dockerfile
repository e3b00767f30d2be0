# The heal8s manager image: a static Go binary on distroless, running as non-root.
#
#   make docker-build IMG=ghcr.io/heal8s/heal8s:v0.1.0 VERSION=v0.1.0
#
# Base images are pinned by the digest of their multi-platform index, with the tag they were taken
# from kept beside it: Dependabot (.github/dependabot.yml, docker) proposes the new digest when the
# tag moves. They stay literal in FROM (no ARG), which is what Dependabot can read. To pull
# through a mirror, configure it in the container runtime.
# golang:1.26, pinned (multi-platform index); Dependabot updates the digest.
FROM golang:1.26@sha256:3aff6657219a4d9c14e27fb1d8976c49c29fddb70ba835014f477e1c70636647 AS builder
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
# gcr.io/distroless/static:nonroot, pinned (multi-platform index); Dependabot updates the digest.
FROM gcr.io/distroless/static:nonroot@sha256:e2e927ec666bae08560abb3c55d0659eceabb657f56b6782ab500a9fc7f555e3
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
