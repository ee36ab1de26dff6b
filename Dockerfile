# The sync's one image: `worker` (default) and `webhook serve` run from it (docker-compose.yml).
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY workflows workflows
COPY activities activities
COPY workers workers
COPY client client
COPY src src
COPY emulator emulator
RUN npm run build && npm prune --omit=dev

FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json ./
USER node
# 9464: the worker's /metrics and /healthz (METRICS_PORT); 8787: the webhook receiver (WEBHOOK_PORT).
EXPOSE 9464 8787
# SIGTERM drains the worker (activities in flight finish or heartbeat out) before it exits.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/client/cli.js"]
CMD ["worker"]
