import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporalExecutable } from '../../src/services/temporal-binaries.js';

/** A Temporal CLI dev server (real time, full server) started from the installed binary. */
export function createDevServerEnv(searchAttributes: Parameters<typeof TestWorkflowEnvironment.createLocal>[0] = {}): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    ...searchAttributes,
    server: { ...searchAttributes?.server, executable: temporalExecutable('temporal') },
  });
}

/** The time-skipping test server: timers fire as soon as the workflow is only waiting on them. */
export function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createTimeSkipping({ server: { executable: temporalExecutable('temporal-test-server') } });
}
