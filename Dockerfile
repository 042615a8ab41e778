# The example service (`observability_example`) as a container image.
#
#   docker build -t megaobs/observability-example:0.1.0 .
#   docker run --rm -p 8000:8000 megaobs/observability-example:0.1.0
#
# Build stage: the workspace, compiled in release mode (ring and SQLite need a C
# compiler, which the rust image has).
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p megaobs --example observability_example \
 && mkdir -p /out/logs \
 && cp target/release/examples/observability_example /out/

# Runtime stage: glibc and CA certificates only, no shell, non-root.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/observability_example /usr/local/bin/observability_example
# A log directory the non-root user owns (LOG_DIR); mount a volume over it to
# keep the files, or make the root filesystem read-only and mount an emptyDir.
COPY --from=build --chown=65532:65532 /out/logs /var/log/megaobs
ENV LOG_DIR=/var/log/megaobs
USER 65532:65532
EXPOSE 8000
# Stops gracefully on SIGTERM (docker stop, Kubernetes). The default arguments
# listen on every interface (127.0.0.1 is unreachable from outside the
# container); arguments given to `docker run` or a pod's `args` replace them.
ENTRYPOINT ["/usr/local/bin/observability_example"]
CMD ["--listen", "0.0.0.0:8000"]
