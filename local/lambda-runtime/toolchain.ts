import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';

export type LambdaToolchain =
  | { readonly ok: true; readonly node: string; readonly nodeVersion: string; readonly ricEntry: string }
  | { readonly ok: false; readonly reason: string };

/**
 * Node 24 and aws-lambda-ric, installed on first use into the project's .cache/ by scripts/node24.sh and
 * scripts/lambda-ric.sh (npm registry; the RIC is compiled with g++/cmake, about 2 minutes once). Returns why
 * not when they cannot be had: another platform, no compiler, the registry unreachable, a failed build.
 */
export async function findLambdaToolchain(root: string): Promise<LambdaToolchain> {
  if (process.env.PINGONE_SKIP_LAMBDA_RUNTIME === '1') {
    return { ok: false, reason: 'PINGONE_SKIP_LAMBDA_RUNTIME=1 is set' };
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return {
      ok: false,
      reason: `Node 24 from the npm registry is set up for linux-x64 only (this is ${process.platform}-${process.arch})`,
    };
  }
  const missing = ['g++', 'cmake', 'make'].filter(
    (tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0,
  );
  if (missing.length > 0) {
    return { ok: false, reason: `building aws-lambda-ric needs ${missing.join(', ')} on PATH` };
  }
  // Asynchronous: the first RIC build takes minutes, and a test worker must keep answering meanwhile.
  const script = (name: string) =>
    new Promise<{ ok: true; path: string } | { ok: false; reason: string }>((resolve) => {
      execFile(
        join(root, 'scripts', name),
        { encoding: 'utf8', timeout: 600_000 },
        (error, stdout, stderr) => {
          if (!error) {
            resolve({ ok: true, path: stdout.trim().split('\n').at(-1) ?? '' });
            return;
          }
          const detail = `${error.message} ${stderr}`.trim().split('\n').slice(-6).join(' | ');
          resolve({ ok: false, reason: `scripts/${name} failed: ${detail}` });
        },
      );
    });
  const node = await script('node24.sh');
  if (!node.ok) return node;
  const ric = await script('lambda-ric.sh');
  if (!ric.ok) return ric;
  const version = spawnSync(node.path, ['--version'], { encoding: 'utf8' }).stdout.trim();
  return { ok: true, node: node.path, nodeVersion: version, ricEntry: ric.path };
}
