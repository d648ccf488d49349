# syntax=docker/dockerfile:1
# scimd container image: a static binary on an empty base, run as a non-root
# user, with the data directory as the only writable path (run it with a
# read-only root: docker run --read-only, or read_only: true in compose).
#
#   make image            (stamps version, commit and build date from git)
#   docker run --read-only -p 8080:8080 -v scimd-data:/data scimd:latest

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
ARG BUILD_DATE=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.buildDate=${BUILD_DATE}" \
      -o /out/scimd ./cmd/scimd \
 && mkdir -p /out/data

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/scimd /scimd
# The data directory belongs to the unprivileged user the server runs as.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV SCIMD_ADDR=0.0.0.0:8080 \
    SCIMD_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 CMD ["/scimd", "healthcheck"]
ENTRYPOINT ["/scimd"]
CMD ["serve"]
