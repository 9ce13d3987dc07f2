# The producer and the consumer as single binaries (`deno compile`) on a slim
# glibc base, running as a non-root user. One target per program:
#   docker build --target producer -t activity-producer .
#   docker build --target consumer -t activity-consumer .
# docker-compose.yml builds both.

# ---- build: dependencies first (cached while the lockfiles do not change).
# Only the programs' npm packages (deno.programs.lock), into Deno's cache: the
# tests' packages are never fetched and the binaries embed only what they import.
FROM denoland/deno:2.9.6 AS build
WORKDIR /app
COPY deno.json deno.lock deno.programs.lock ./
COPY shared/deno.json shared/
COPY producer/deno.json producer/
COPY consumer/deno.json consumer/
COPY grafana/deno.json grafana/
RUN deno install --frozen --node-modules-dir=none --lock=deno.programs.lock \
  --entrypoint npm:kafkajs@2.2.4 npm:postgres@3.4.9 npm:zod@4.1.12
COPY shared/ shared/
COPY producer/ producer/
COPY consumer/ consumer/
COPY sql/ sql/
COPY tools/compile.ts tools/binary_size.ts tools/cli_flags.ts tools/
# Type-checks both graphs, embeds sql/ into the consumer, writes dist/, prints
# each binary's embedded size and fails above the limit.
RUN deno task compile

# ---- runtime: only the binary, a health check script and a non-root user
FROM debian:12.12-slim AS runtime
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin app
COPY docker/healthcheck.sh /usr/local/bin/healthcheck
ENV LOG_FORMAT=json
USER 10001:10001
WORKDIR /tmp

FROM runtime AS producer
COPY --from=build /app/dist/producer /usr/local/bin/producer
EXPOSE 9464
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD /usr/local/bin/healthcheck "${PRODUCER_METRICS_PORT:-9464}" /healthz
ENTRYPOINT ["/usr/local/bin/producer"]

FROM runtime AS consumer
COPY --from=build /app/dist/consumer /usr/local/bin/consumer
EXPOSE 9465
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD /usr/local/bin/healthcheck "${CONSUMER_METRICS_PORT:-9465}" /healthz
ENTRYPOINT ["/usr/local/bin/consumer"]
