# syntax=docker/dockerfile:1.7
# revisor: the CLI (hook Jobs, init containers) and the operator, on Node 24 LTS.
# The tests build this file as it is (test/e2e/image.test.ts, with buildah); where no
# registry is reachable they first build a stand-in for the base image under its name
# (scripts/image/base-standin.sh).

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Install scripts stay off: the build uses this image's Node 24, not the pinned npm one.
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
COPY tsconfig.json tsconfig.image.json rolldown.config.mjs ./
COPY src src
COPY migrations migrations
COPY bin bin
COPY scripts/stage-image.sh scripts/stage-image.sh
# What the image ships, and nothing else (not the benchmarks, scripts or tests).
RUN npm run build:image
# The runtime layout, exactly as the tests stage it (scripts/stage-image.sh).
RUN bash scripts/stage-image.sh /app

# pg_dump without Debian's postgresql-client package, whose pg_wrapper pulls in Perl
# (47 MB): the binary alone, with libpq. pg_dump must be at least the server's major
# version; an image for newer servers takes that major's client instead.
FROM node:24-bookworm-slim AS pgdump
RUN apt-get update \
    && cd /tmp && apt-get download postgresql-client-15 \
    && dpkg-deb -x postgresql-client-15_*.deb /tmp/client \
    && cp /tmp/client/usr/lib/postgresql/15/bin/pg_dump /usr/local/bin/pg_dump

FROM node:24-bookworm-slim
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="revisor" \
      org.opencontainers.image.description="Safe, reversible PostgreSQL migrations: CLI and Kubernetes operator" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/revisor-dev/revisor"
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log
COPY --from=pgdump /usr/local/bin/pg_dump /usr/local/bin/pg_dump
COPY --from=build /app /app
WORKDIR /app
# Nothing is written outside /tmp (mount an emptyDir there with readOnlyRootFilesystem).
# A pod's /tmp starts empty, so a compile cache there was cold at every init container's
# start: V8's code for the CLI is compiled here instead, and read from the image after.
# Node keys a cache by its version and the uid (and flags that change its code, which the
# heap's do not), so it is made as the uid the image runs as; another uid starts cold.
# Read-only at run time: what Node would add to it is dropped without a word.
RUN install -d -o 10001 -g 10001 /app/.compile-cache
ENV NODE_ENV=production \
    TMPDIR=/tmp \
    NODE_COMPILE_CACHE=/app/.compile-cache
USER 10001:10001
RUN node /app/bin/revisor.js --version >/dev/null \
    && node /app/bin/revisor.js heads >/dev/null
# A young generation of 4 MiB from the start: with V8's 1 MiB the no-op at head collected
# twice while loading (2-3 ms of each init container's start). The controller's
# NODE_OPTIONS (--max-semi-space-size=1, from the chart) caps it again; V8 takes the lower.
ENTRYPOINT ["node", "--min-semi-space-size=4", "/app/bin/revisor.js"]
CMD ["--help"]
