import { z } from 'zod';

/** What a worker process needs to know, passed by environment (validated on both sides). */
export const WorkerEnv = z.object({
  TEMPORAL_ADDRESS: z.string().min(1),
  TASK_QUEUE: z.string().min(1),
  MARKETO_URL: z.url(),
  MARKETO_CLIENT_ID: z.string().min(1),
  MARKETO_CLIENT_SECRET: z.string().min(1),
  /** The emulator's rate window, scaled down from Marketo's 20 s so a 606 costs a short wait. */
  MARKETO_WINDOW_MS: z.coerce.number().int().positive(),
  DATABASE_URL: z.string().min(1),
  WORKFLOW_BUNDLE: z.string().min(1),
});
export type WorkerEnv = z.infer<typeof WorkerEnv>;
