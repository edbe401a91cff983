/**
 * The status model shared by `pingone-rotation status` and the fleet auditor: inspect one secret, get a
 * verdict, its exit code and a report. See model.ts.
 */
export { functionSettingHint, type RotationErrorHint } from './explain.js';
export * from './inspect.js';
export * from './model.js';
