# syntax=docker/dockerfile:1

# ---- build: compile TypeScript and the native modules, then drop dev dependencies ----
FROM node:24-bookworm-slim AS build
# better-sqlite3 and argon2 compile from source when no prebuilt binary matches the platform.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Dependencies first, so the slow native install stays cached while only the sources change.
COPY package.json package-lock.json ./
# The workspace's manifest, so that npm ci installs the lockfile as it stands; `npm run build` builds it first.
COPY packages/verifier/package.json ./packages/verifier/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY packages ./packages
# src holds the console too (src/console): `npm run build` bundles it into dist/console with
# Vite from the dev dependencies, before they are pruned.
COPY src ./src
COPY projections ./projections
RUN npm run build \
    && npm prune --omit=dev

# ---- runtime: the same base image, so the native modules built above load as they are ----
FROM node:24-bookworm-slim AS runtime
# Production mode makes KEYLEDGER_MASTER_KEY mandatory: a container must never fall back to a
# development key generated into its volume. Listening on every interface makes
# KEYLEDGER_PUBLIC_URL mandatory: a JWT issuer of http://0.0.0.0:4000 names no host.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    KEYLEDGER_DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The application files stay owned by root and read-only to the service user; only the data
# directory (read models, and the embedded event store when no EventStoreDB is configured) is writable.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 4000
# The slim image has no curl; node's own fetch does the probe. /healthz is liveness only:
# readiness (/readyz) drops while EventStoreDB is unreachable, which must not restart the container.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/main.js"]
