import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';

// No Docker engine runs here: the production stack is checked as data. Each service the docs promise
// exists, has a health check, and the wiring between them (addresses, ports, dependencies) is consistent.
const root = new URL('../../', import.meta.url);
// Compose resolves YAML merge keys (`<<: *sync-env`); so must the parser.
const compose = parse(readFileSync(new URL('docker-compose.yml', root), 'utf8'), { merge: true }) as unknown;
const dockerfile = readFileSync(new URL('Dockerfile', root), 'utf8');

const Service = z.object({
  image: z.string().optional(),
  build: z.unknown().optional(),
  command: z.array(z.string()).optional(),
  environment: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
  ports: z.array(z.string()).optional(),
  expose: z.array(z.string()).optional(),
  volumes: z.array(z.string()).optional(),
  depends_on: z.union([z.array(z.string()), z.record(z.string(), z.object({ condition: z.enum(['service_started', 'service_healthy', 'service_completed_successfully']) }))]).optional(),
  healthcheck: z.object({ test: z.union([z.array(z.string()).min(2), z.string()]), interval: z.string(), retries: z.number().int().positive() }).loose(),
}).loose();
const Compose = z.object({ services: z.record(z.string(), Service), volumes: z.record(z.string(), z.unknown().nullable()) });

const stack = Compose.parse(compose);
const s = stack.services;

test('every service of the stack is there and has a health check', () => {
  expect(Object.keys(s).sort()).toEqual(['sync-db', 'temporal', 'temporal-db', 'temporal-ui', 'webhook', 'worker']);
  for (const [name, service] of Object.entries(s)) expect([name, service.healthcheck.test.length > 0]).toEqual([name, true]);
});

test('Temporal runs on its own Postgres, the sync on another, both on named volumes', () => {
  expect(s.temporal!.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'temporal-db' });
  expect(s.temporal!.depends_on).toEqual({ 'temporal-db': { condition: 'service_healthy' } });
  expect(s['temporal-db']!.volumes).toEqual(['temporal-db:/var/lib/postgresql/data']);
  expect(s['sync-db']!.volumes).toEqual(['sync-db:/var/lib/postgresql/data']);
  expect(Object.keys(stack.volumes).sort()).toEqual(['sync-db', 'temporal-db']);
  expect(s['temporal-ui']!.environment).toMatchObject({ TEMPORAL_ADDRESS: 'temporal:7233' });
  expect(s['temporal-ui']!.ports).toContain('8080:8080');
});

test('worker and webhook run this image, reach Temporal and the sync database, and serve what their health checks ask', () => {
  expect(s.worker!.build).toBe('.');
  expect(s.webhook!.image).toBe(s.worker!.image);
  expect(s.worker!.command).toEqual(['worker']);
  expect(s.webhook!.command).toEqual(['webhook', 'serve']);
  const worker = s.worker!.environment!;
  expect(worker).toMatchObject({ TEMPORAL_ADDRESS: 'temporal:7233', MARKETO_LIMITER: 'shared', METRICS_HOST: '0.0.0.0' });
  expect(String(worker.DATABASE_URL)).toMatch(/@sync-db:5432\/sync$/);
  expect(s.worker!.depends_on).toMatchObject({ temporal: { condition: 'service_healthy' }, 'sync-db': { condition: 'service_healthy' } });
  // The health checks hit the ports the services are told to listen on.
  expect(JSON.stringify(s.worker!.healthcheck.test)).toContain(`:${worker.METRICS_PORT}/healthz`);
  expect(s.worker!.expose).toContain(String(worker.METRICS_PORT));
  const hook = s.webhook!.environment!;
  expect(hook).toMatchObject({ TEMPORAL_ADDRESS: 'temporal:7233', WEBHOOK_HOST: '0.0.0.0' });
  expect(String(hook.WEBHOOK_SECRET)).toMatch(/^\$\{WEBHOOK_SECRET:\?/);
  expect(JSON.stringify(s.webhook!.healthcheck.test)).toContain(`:${hook.WEBHOOK_PORT}/healthz`);
  expect(s.webhook!.ports).toContain(`${hook.WEBHOOK_PORT}:${hook.WEBHOOK_PORT}`);
  // Scaling workers must not collide on a host port.
  expect(s.worker!.ports).toBeUndefined();
});

test('the Dockerfile builds the CLI the services run and exposes their ports', () => {
  expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "dist\/client\/cli\.js"\]$/m);
  expect(dockerfile).toMatch(/^EXPOSE 9464 8787$/m);
  for (const dir of ['workflows', 'activities', 'workers', 'client', 'src', 'emulator']) expect(dockerfile).toContain(`COPY ${dir} ${dir}`);
});
