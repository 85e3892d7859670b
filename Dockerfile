# syntax=docker/dockerfile:1.7
# revisor: the CLI (hook Jobs, init containers) and the operator, on Node 24 LTS.

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Install scripts stay off: the build uses this image's Node 24, not the pinned npm one.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json rolldown.config.mjs ./
COPY src src
COPY migrations migrations
COPY bench bench
COPY scripts scripts
COPY test/support/kube/cluster.ts test/support/kube/cluster.ts
COPY bin bin
RUN npm run build
# The runtime layout, exactly as the tests stage it (scripts/stage-image.sh).
RUN bash scripts/stage-image.sh /app

FROM node:24-bookworm-slim
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="revisor" \
      org.opencontainers.image.description="Safe, reversible PostgreSQL migrations: CLI and Kubernetes operator" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/revisor-dev/revisor"
# pg_dump for --backup and spec.backup (Debian's client; pg_dump must be at least the
# server's major version, so an image for newer servers installs that client instead).
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /app /app
WORKDIR /app
# Nothing is written outside /tmp (mount an emptyDir there with readOnlyRootFilesystem):
# the V8 compile cache goes there, and so would anything else.
ENV NODE_ENV=production \
    TMPDIR=/tmp \
    NODE_COMPILE_CACHE=/tmp/node-compile-cache
USER 10001:10001
ENTRYPOINT ["node", "/app/bin/revisor.js"]
CMD ["--help"]
