/**
 * The distributed audit's batch worker (AuditEngine=distributed): judges one batch of the fleet per child execution.
 * Thin entry point: the wiring lives in lib/audit/distributed-handler.ts.
 */
import { createAuditWorkerHandler } from '../lib/audit/distributed-handler.js';

export const handler = createAuditWorkerHandler();
