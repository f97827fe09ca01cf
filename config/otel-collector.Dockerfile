# syntax=docker/dockerfile:1
# The OpenTelemetry Collector (contrib, for its health_check extension) plus a static busybox, so
# docker-compose.yml can probe the extension: the collector image itself has no shell and no wget.
ARG COLLECTOR_IMAGE=otel/opentelemetry-collector-contrib:0.116.0
ARG BUSYBOX_IMAGE=busybox:1.37-musl

FROM ${BUSYBOX_IMAGE} AS busybox

FROM ${COLLECTOR_IMAGE} AS runtime
COPY --from=busybox /bin/busybox /busybox
