// A stand-in Lambda container for the bench: a plain Node process (no tsx, no test tooling) that imports the
// built bundle once, as the Lambda runtime does, then runs the invocations its parent sends over IPC. Its
// memory is therefore the function's: node + the bundle + this small loop. Started by bench/run.ts with
// `fork(…, [bundlePath])`; the function's environment comes from the parent.
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';

const send = (message) => process.send?.(message);
const memory = () => {
  const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
  // Linux reports maxRSS in kilobytes: the kernel's high-water mark for this process.
  const { user, system } = process.cpuUsage();
  return {
    rss,
    heapTotal,
    heapUsed,
    external,
    arrayBuffers,
    maxRss: process.resourceUsage().maxRSS * 1024,
    cpuMs: (user + system) / 1000,
  };
};

const bundlePath = process.argv[2];
if (!bundlePath) throw new Error('usage: function-host.mjs <bundle path>');

const importStarted = process.hrtime.bigint();
const { handler } = await import(pathToFileURL(bundlePath).href);
const importMs = Number(process.hrtime.bigint() - importStarted) / 1e6;
if (typeof handler !== 'function') throw new Error(`${bundlePath} exports no handler`);

/** The Lambda context the runtime would pass; the deadline comes from the parent (the driver's countdown). */
function lambdaContext(message) {
  const deadline = Date.now() + message.remainingMs;
  return {
    functionName: message.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: message.invokedFunctionArn,
    memoryLimitInMB: message.memoryLimitInMB,
    awsRequestId: message.awsRequestId ?? randomUUID(),
    logGroupName: `/aws/lambda/${message.functionName}`,
    logStreamName: 'bench',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

process.on('message', (message) => {
  if (message.type === 'invoke') {
    Promise.resolve()
      .then(() => handler(message.event, lambdaContext(message)))
      .then(
        // The handler's result (the auditor's summary; the rotation function returns nothing).
        (value) => send({ type: 'result', id: message.id, ok: true, value }),
        (error) =>
          send({
            type: 'result',
            id: message.id,
            ok: false,
            name: error?.name ?? 'Error',
            error: error?.message ?? String(error),
          }),
      );
  } else if (message.type === 'memory') {
    // Only when the host runs with --expose-gc (a diagnostic): memory after a full collection.
    if (message.gc && typeof globalThis.gc === 'function') globalThis.gc();
    send({ type: 'memory', id: message.id, ...memory() });
  } else if (message.type === 'exit') {
    process.disconnect();
  }
});
// The parent went away (or told us to go): nothing else keeps this process alive.
process.on('disconnect', () => process.exit(0));

send({ type: 'ready', importMs, ...memory() });
