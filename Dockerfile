# The worker (and, later, the webhook receiver) as one image; docker-compose.yml runs it.
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
ENTRYPOINT ["node", "dist/client/cli.js"]
CMD ["worker"]
