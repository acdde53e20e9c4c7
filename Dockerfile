# syntax=docker/dockerfile:1
# The operator image: docker build -t etcd-operator:dev .
# Node's major version for every stage; the build and runtime stages must agree, and it is the major
# the tests run on (NODE_VERSION in hack/versions.env).
ARG NODE_MAJOR=24

# Compile the TypeScript with the full (dev) dependency tree.
FROM node:${NODE_MAJOR}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Production dependencies only, installed where npm exists (the runtime image has no npm).
FROM node:${NODE_MAJOR}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Runtime: distroless (no shell, no package manager), numeric non-root user so the kubelet can
# check runAsNonRoot. Same Debian release as the stages above.
FROM gcr.io/distroless/nodejs${NODE_MAJOR}-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production
# package.json carries "type": "module", which Node needs to load dist/*.js as ES modules.
COPY --from=deps /app/package.json ./package.json
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
USER 65532:65532
# metrics, then health probes (the defaults of --metrics-bind-address and --health-probe-bind-address)
EXPOSE 8080 8081
# Stack traces point at src/*.ts through the compiled source maps. The young generation is capped
# at 4 MiB a semi-space (V8's default grows it to 32 MiB on a large node): the operator's garbage
# is short-lived pass data, and the default's reserve was about 60 MiB of resident memory that a
# smaller limit does not need (bench/RESULTS.md, many clusters: RSS and where it goes).
# --heap-growing-percent=10: V8 collects the old generation once it has grown 10 % past what the
# last collection left (by default it may let it grow up to fourfold first). Every etcd client
# closed leaves native memory (TLS, HTTP/2) that goes only with its objects and that V8 does not
# count; its own collections are incremental, pauses of a few ms, where the full ones gc() asked
# for until round six held the event loop 100 to 400 ms (bench/RESULTS.md, many clusters).
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=4", "--heap-growing-percent=10", "--enable-source-maps", "dist/main.js"]
