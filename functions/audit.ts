/**
 * The fleet auditor, run on a schedule: judges every secret this deployment rotates with the status model
 * and reports verdicts as metrics and log lines. Thin entry point: the wiring lives in lib/audit/handler.ts.
 */
import { createAuditHandler } from '../lib/audit/handler.js';

export const handler = createAuditHandler();
