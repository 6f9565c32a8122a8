# The globalsvc controller image:
#   docker build -t ghcr.io/globalsvc/globalsvc:$(node -p 'require("./package.json").version') .
# manifests/base and the Helm chart run ghcr.io/globalsvc/globalsvc:<package.json version>.
# Where no registry can be reached, hack/kind/build-product-image.sh builds both bases locally (the same
# Node 24, the same layout) and passes them as BUILD_IMAGE and RUNTIME_IMAGE.
ARG BUILD_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

# Build: the locked dependencies, the TypeScript build, and its bundles (hack/bundle.mjs): each CLI one
# module with every dependency it reaches, so the runtime needs no node_modules.
FROM ${BUILD_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY hack/bundle.mjs ./hack/bundle.mjs
COPY src ./src
RUN npm run build

# Run: Node 24 and nothing else (no shell, no package manager), as uid 65532. Nothing is written at
# runtime, so the root filesystem can be read-only (the manifests make it so).
FROM ${RUNTIME_IMAGE}
WORKDIR /app
ENV NODE_ENV=production
# src/cli/node-flags.ts PROCESS_ENV: two glibc malloc arenas, not one per thread that allocates, and
# glibc's mmap threshold held at its default (128 KiB) instead of rising with each large block freed.
ENV MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072
COPY --from=build /app/dist/globalsvc.mjs /app/dist/globalsvc.mjs.LEGAL.txt /app/dist/kubectl-globalsvc.mjs ./dist/
USER 65532:65532
EXPOSE 9090 8081
# As e2e/testbed/product.ts runs it, with the V8 flags of src/cli/node-flags.ts; the Deployment's args
# are run's flags.
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=1", "--no-sparkplug", "--no-maglev", "--no-turbofan", "dist/globalsvc.mjs", "run"]
