# syntax=docker/dockerfile:1
FROM golang:1.26-alpine AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# The default links the DNS providers most people use (cmd/provisioner/dnsproviders); TAGS=allproviders
# links every lego provider (a larger binary and about 20 MiB more memory). See README, "DNS-01 and wildcards".
ARG TAGS=
RUN CGO_ENABLED=0 go build -trimpath -tags "${TAGS}" \
      -ldflags "-s -w -X github.com/dfp-letsencrypt/provisioner/cmd/provisioner/app.Version=${VERSION}" \
      -o /out/provisioner ./cmd/provisioner \
 && mkdir -p /out/etc/letsencrypt

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/provisioner /provisioner
COPY --from=build --chown=65532:65532 /out/etc/letsencrypt /etc/letsencrypt
VOLUME /etc/letsencrypt
EXPOSE 80 9102
# Port 80 inside the container needs no root: Docker grants unprivileged ports from 0 by default
# (net.ipv4.ip_unprivileged_port_start=0); where it does not, set CHALLENGE_ADDR=:8080 and route DFP there.
USER 65532:65532
# The internal port (METRICS_ADDR, :9102) answers /healthz: the supervisor and the rate limiter
# answer a ping and the responder accepts connections. Swarm replaces a task that stops answering.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["/provisioner", "health"]
ENTRYPOINT ["/provisioner"]
