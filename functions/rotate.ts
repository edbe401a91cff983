/**
 * AWS Secrets Manager rotation function for PingOne resource secrets.
 * Thin entry point: the wiring lives in lib/handler.ts, the protocol in lib/rotation/.
 */
import { createRotationHandler } from '../lib/handler.js';

export const handler = createRotationHandler();
