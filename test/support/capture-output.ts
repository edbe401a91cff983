/**
 * Captures everything written to stdout and stderr (Powertools Logger and Metrics write there) so tests can
 * scan the log output for secret material.
 */
export class OutputCapture {
  #chunks: string[] = [];
  #restore: (() => void) | undefined;

  start(): this {
    const { stdout, stderr } = process;
    const originalOut = stdout.write.bind(stdout);
    const originalErr = stderr.write.bind(stderr);
    const capture =
      (original: typeof stdout.write) =>
      (chunk: unknown, ...rest: unknown[]): boolean => {
        this.#chunks.push(
          typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'),
        );
        return process.env.SHOW_CAPTURED_LOGS
          ? (original as (...a: unknown[]) => boolean)(chunk, ...rest)
          : true;
      };
    stdout.write = capture(originalOut) as typeof stdout.write;
    stderr.write = capture(originalErr) as typeof stderr.write;
    this.#restore = () => {
      stdout.write = originalOut;
      stderr.write = originalErr;
    };
    return this;
  }

  stop(): string {
    this.#restore?.();
    this.#restore = undefined;
    return this.text;
  }

  get text(): string {
    return this.#chunks.join('');
  }

  /** Parsed JSON log lines (non-JSON lines are skipped). */
  get records(): Record<string, unknown>[] {
    return this.text
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  }

  clear(): void {
    this.#chunks = [];
  }
}

/** The secrets that appear in `text`, by name. */
export function leakedSecrets(text: string, secrets: Record<string, string>): string[] {
  return Object.entries(secrets)
    .filter(([, value]) => value.length >= 8 && text.includes(value))
    .map(([name]) => name);
}
