/**
 * The distributed audit's lister (AuditEngine=distributed): plans a sweep and records it when the batches are judged.
 * Thin entry point: the wiring lives in lib/audit/distributed-handler.ts.
 */
import { createAuditListHandler } from '../lib/audit/distributed-handler.js';

export const handler = createAuditListHandler();
